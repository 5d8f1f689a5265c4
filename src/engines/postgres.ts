import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { LifeboatError } from '../errors.js';
import { describeExit, type ExitInfo } from '../pipeline/process.js';
import { providerPreset, type ProviderPreset } from './providers.js';
import type { DatabaseConfig } from '../config/schema.js';

/** Connection settings parsed from a `postgres://` URL. The password stays in memory only. */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  database: string;
  password?: string;
  sslmode?: string;
  sslrootcert?: string;
  preset: ProviderPreset;
}

export function parsePostgresUrl(url: string, provider?: DatabaseConfig['provider']): PgConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LifeboatError('CONFIG_INVALID', 'Invalid connection URL: cannot be parsed (expected postgres://user:password@host:5432/dbname)');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new LifeboatError('CONFIG_INVALID', `Invalid connection URL: scheme ${u.protocol} is not postgres:`);
  }
  const host = decodeURIComponent(u.hostname || u.searchParams.get('host') || 'localhost').replace(/^\[|\]$/g, '');
  const preset = providerPreset(provider, host);
  return {
    host,
    port: u.port ? Number(u.port) : 5432,
    user: decodeURIComponent(u.username || 'postgres'),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username || 'postgres'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    sslmode: u.searchParams.get('sslmode') ?? preset.sslmode,
    sslrootcert: u.searchParams.get('sslrootcert') ?? undefined,
    preset,
  };
}

/** A copy of the connection pointing at another database on the same server. */
export function withDatabase(conn: PgConnection, database: string): PgConnection {
  return { ...conn, database };
}

function escapePass(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/**
 * Runs `fn` with an environment for libpq tools: connection settings as `PG*` variables and the
 * password in a 0600 passfile that is removed afterwards. Nothing goes into argv.
 */
export async function withLibpqEnv<T>(conn: PgConnection, fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: conn.database,
    PGAPPNAME: 'lifeboat',
    PGCONNECT_TIMEOUT: '20',
  };
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  if (conn.sslrootcert) env.PGSSLROOTCERT = conn.sslrootcert;
  if (process.env.TZ) env.TZ = process.env.TZ;
  let dir: string | undefined;
  try {
    dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pg-'));
    await chmod(dir, 0o700);
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, conn.password ? `*:*:*:*:${escapePass(conn.password)}\n` : '', { mode: 0o600 });
    env.PGPASSFILE = passfile;
    return await fn(env);
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

export function pgClientConfig(conn: PgConnection): pg.ClientConfig {
  const ssl =
    conn.sslmode === 'require' || conn.sslmode === 'prefer-remote'
      ? { rejectUnauthorized: false }
      : conn.sslmode === 'verify-ca' || conn.sslmode === 'verify-full'
        ? { rejectUnauthorized: true }
        : false;
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl,
    application_name: 'lifeboat',
    connectionTimeoutMillis: 20_000,
  };
}

/** Maps a `pg` client error to a Lifeboat error naming the database (never the URL). */
export function classifyPgError(err: unknown, database: string, action = 'Connection'): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  if (e.code === '28P01' || e.code === '28000') {
    return new LifeboatError('AUTH_FAILED', `${action} to ${database} failed: authentication rejected: ${msg}`, { subject: database });
  }
  if (e.code === '3D000') {
    return new LifeboatError('DATABASE_NOT_FOUND', `${action} to ${database} failed: ${msg}`, { subject: database });
  }
  return new LifeboatError('CONNECTION_FAILED', `${action} to ${database} failed: ${msg}`, { subject: database });
}

export async function connectPg(conn: PgConnection, label: string): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(conn));
  client.on('error', () => undefined); // surfaced by the failing query instead
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw classifyPgError(err, label);
  }
  return client;
}

/** Turns a failed `pg_dump`/`pg_restore`/`psql` run into a classified error. */
export function classifyToolFailure(exit: ExitInfo, database: string, action: string): LifeboatError {
  const detail = `${exit.tool} ${describeExit(exit)}`;
  const text = `${action} of ${database} failed: ${detail}`;
  if (exit.spawnError) return new LifeboatError('TOOL_MISSING', text, { subject: database });
  if (/password authentication failed|no password supplied|authentication failed/i.test(exit.stderr)) {
    return new LifeboatError('AUTH_FAILED', text, { subject: database });
  }
  if (/database ".*" does not exist/i.test(exit.stderr)) return new LifeboatError('DATABASE_NOT_FOUND', text, { subject: database });
  if (/server version mismatch|aborting because of server version/i.test(exit.stderr)) {
    return new LifeboatError('TOOL_TOO_OLD', text, { subject: database });
  }
  return new LifeboatError('DUMP_FAILED', text, { subject: database });
}

export interface PgTool {
  path: string;
  version: string;
  major: number;
}

const toolCache = new Map<string, PgTool | null>();

async function probeTool(file: string): Promise<PgTool | null> {
  if (toolCache.has(file)) return toolCache.get(file)!;
  let result: PgTool | null = null;
  try {
    const { stdout } = await execa(file, ['--version'], { timeout: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    if (m) result = { path: file, version: m[2] ? `${m[1]}.${m[2]}` : m[1]!, major: Number(m[1]) };
  } catch {
    result = null;
  }
  toolCache.set(file, result);
  return result;
}

function candidateDirs(toolsDir?: string): string[] {
  const dirs: string[] = [];
  if (toolsDir) dirs.push(toolsDir);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(path.join(base, v, 'bin'));
  }
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (d) dirs.push(d);
  return dirs;
}

/**
 * Finds `pg_dump`/`pg_restore`/`psql` able to talk to a server of `serverMajor`: the same major
 * when installed, else the newest newer one. An older tool is refused (it cannot read newer
 * catalogs and may produce an incomplete dump).
 */
export async function findPgTool(name: 'pg_dump' | 'pg_restore' | 'psql', serverMajor: number, database: string, toolsDir?: string): Promise<PgTool> {
  const found: PgTool[] = [];
  for (const dir of candidateDirs(toolsDir)) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    const t = await probeTool(file);
    if (t && !found.some((f) => f.path === t.path)) found.push(t);
  }
  if (found.length === 0) {
    throw new LifeboatError('TOOL_MISSING', `${name} not found on the worker: install postgresql-client`, { subject: database });
  }
  const exact = found.find((t) => t.major === serverMajor);
  const newer = found.filter((t) => t.major > serverMajor).sort((a, b) => b.major - a.major)[0];
  const pick = exact ?? newer;
  if (!pick) {
    const have = [...new Set(found.map((t) => t.version))].join(', ');
    throw new LifeboatError(
      'TOOL_TOO_OLD',
      `Backup of ${database} refused: ${name} ${have} is older than the server (PostgreSQL ${serverMajor}); install postgresql-client-${serverMajor} or set toolsDir`,
      { subject: database },
    );
  }
  return pick;
}

export interface ServerInfo {
  version: string;
  versionNum: number;
  major: number;
  sizeBytes: number;
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const r = await client.query<{ v: string; n: string; size: string }>(
    `select current_setting('server_version') as v, current_setting('server_version_num') as n, pg_database_size(current_database())::text as size`,
  );
  const row = r.rows[0]!;
  const versionNum = Number(row.n);
  return { version: row.v.split(' ')[0]!, versionNum, major: Math.floor(versionNum / 10000), sizeBytes: Number(row.size) };
}

/** Ordinary tables that pg_dump dumps (no catalogs, no extension members, no partitioned parents). */
export async function listTables(client: pg.Client): Promise<Array<{ schema: string; name: string }>> {
  const r = await client.query<{ schema: string; name: string }>(`
    select n.nspname as schema, c.relname as name
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r'
       and n.nspname <> 'information_schema' and n.nspname !~ '^pg_'
       and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
     order by 1, 2`);
  return r.rows;
}

export function qualifiedName(schema: string, name: string): string {
  return `${schema}.${name}`;
}

/** Exact row counts of every table, read with `client` (call inside the dump's snapshot). */
export async function countRows(client: pg.Client, tables: Array<{ schema: string; name: string }>): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const r = await client.query<{ n: string }>(
      `select count(*)::text as n from only ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.name)}`,
    );
    out[qualifiedName(t.schema, t.name)] = Number(r.rows[0]!.n);
  }
  return out;
}
