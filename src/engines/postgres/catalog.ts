// What Lifeboat reads from a PostgreSQL server's catalogs: version and size, tables, row counts,
// user objects, the server's identity.
import type pg from 'pg';
import { tableKey, type ServerInfo, type TableRef } from '../types.js';

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const r = await client.query<{ v: string; n: string; size: string }>(
    `select current_setting('server_version') as v, current_setting('server_version_num') as n, pg_database_size(current_database())::text as size`,
  );
  const row = r.rows[0]!;
  const versionNum = Number(row.n);
  return { version: row.v.split(' ')[0]!, major: Math.floor(versionNum / 10000), flavour: 'postgresql', sizeBytes: Number(row.size) };
}

/**
 * `CREATE DATABASE` options recreating the current database's encoding and locale, as pg_dump
 * writes them (for a restore that streams the archive and cannot read them from it first).
 */
export async function createOptions(client: pg.Client): Promise<string[]> {
  const r = await client.query<{ enc: string; d: Record<string, string | null> }>(
    'select pg_encoding_to_char(encoding) as enc, to_jsonb(d) as d from pg_database d where datname = current_database()',
  );
  const row = r.rows[0];
  if (!row) return [];
  const lit = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const out = [`ENCODING = ${lit(row.enc)}`];
  const provider = { c: 'libc', i: 'icu', b: 'builtin' }[row.d.datlocprovider ?? ''];
  if (provider) out.push(`LOCALE_PROVIDER = ${provider}`);
  if (row.d.datcollate) out.push(`LC_COLLATE = ${lit(row.d.datcollate)}`);
  if (row.d.datctype) out.push(`LC_CTYPE = ${lit(row.d.datctype)}`);
  const icu = row.d.datlocale ?? row.d.daticulocale;
  if (icu && provider === 'icu') out.push(`ICU_LOCALE = ${lit(icu)}`);
  if (icu && provider === 'builtin') out.push(`BUILTIN_LOCALE = ${lit(icu)}`);
  return out;
}

/** Ordinary tables that pg_dump dumps (no catalogs, no extension members, no partitioned parents). */
export async function listTables(client: pg.Client, excludeSchemas: string[] = []): Promise<TableRef[]> {
  // `pg_dump --exclude-schema` patterns as LIKE patterns (`graphql*` -> `graphql%`, `_` literal).
  const like = excludeSchemas.map((p) => p.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%'));
  const r = await client.query<TableRef>(
    `
    select n.nspname as schema, c.relname as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r'
       and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
       and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
       and not (n.nspname like any ($1::text[]))
     order by 1, 2`,
    [like],
  );
  return r.rows;
}

/** Exact row counts of `tables`, read with `client` (inside the dump's snapshot when it holds it). */
export async function countRows(client: pg.Client, tables: TableRef[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  // 100 tables a query: a database of thousands of small tables pays for few round trips.
  for (let at = 0; at < tables.length; at += 100) {
    const batch = tables.slice(at, at + 100);
    const sql = batch
      .map((t, i) => `select ${i} as i, count(*)::text as n from only ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`)
      .join(' union all ');
    const r = await client.query<{ i: number; n: string }>(sql);
    for (const row of r.rows) out[tableKey(batch[row.i]!)] = Number(row.n);
  }
  return out;
}

/** Leaf tables holding the rows of `tables` (a partitioned table stands for its partitions). */
export async function leafTables(client: pg.Client, tables: TableRef[]): Promise<TableRef[]> {
  const out = new Map<string, TableRef>();
  for (const t of tables) {
    const r = await client.query<TableRef>(
      `select n.nspname as schema, k.relname as name
         from pg_partition_tree(format('%I.%I', $1::text, $2::text)::regclass) p
         join pg_class k on k.oid = p.relid join pg_namespace n on n.oid = k.relnamespace
        where k.relkind = 'r'`,
      [t.schema, t.name],
    );
    if (r.rows.length === 0) out.set(tableKey(t), t);
    for (const row of r.rows) out.set(tableKey(row), row);
  }
  return [...out.values()];
}

const USER_OBJECTS_SQL = `
  select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_')
       + (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_')
       + (select count(*) from pg_namespace n
           where n.nspname not in ('public', 'pg_catalog', 'information_schema') and n.nspname !~ '^pg_') as n`;

/** Relations, functions and schemas (other than `public`) outside the system schemas. */
export async function userObjects(client: pg.Client): Promise<number> {
  return Number((await client.query<{ n: string }>(USER_OBJECTS_SQL)).rows[0]!.n);
}

/** `<system identifier>/<database>`: the same for a database reached under any host name. */
export async function identity(client: pg.Client): Promise<string | undefined> {
  const r = await client.query<{ id: string }>(`select system_identifier::text || '/' || current_database() as id from pg_control_system()`);
  return r.rows[0]?.id;
}

/** Runs `sql` in a read-only transaction with a statement timeout; the first column of its first row. */
export async function readOnlyValue(client: pg.Client, sql: string, timeoutMs: number): Promise<unknown> {
  try {
    await client.query('begin read only');
    await client.query(`set local statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    const r = await client.query({ text: sql, rowMode: 'array' });
    return (r.rows[0] as unknown[] | undefined)?.[0];
  } finally {
    await client.query('rollback').catch(() => undefined);
  }
}

/** The comment of a database (Lifeboat's ownership marker), and whether it exists. */
export async function databaseComment(client: pg.Client, name: string): Promise<{ exists: boolean; marker: string | null }> {
  const r = await client.query<{ c: string | null }>(`select shobj_description(oid, 'pg_database') as c from pg_database where datname = $1`, [name]);
  return r.rows.length === 0 ? { exists: false, marker: null } : { exists: true, marker: r.rows[0]!.c };
}
