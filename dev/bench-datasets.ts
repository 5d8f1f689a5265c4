// The benchmark's datasets, generated in the database server: `wide` (text, jsonb, random bytea
// and a numeric ledger), `pgbench` (pgbench -i), `many-tables` (2,000 small tables); the `wide` shape
// on MariaDB is in bench-mariadb.ts.
import { execa } from 'execa';
import pg from 'pg';

export type DatasetName = 'wide' | 'pgbench' | 'many-tables' | 'wide-mariadb';
export const DATASETS: DatasetName[] = ['wide', 'pgbench', 'many-tables', 'wide-mariadb'];

export interface Dataset {
  name: DatasetName;
  /** The Lifeboat engine that backs it up. */
  engine: 'postgres' | 'mysql';
  url: string;
  /** What it is, for the report: "wide 1024 MiB". */
  label: string;
  bytes: number;
}

export interface DatasetOptions {
  sizeMb: number;
  pgbenchScale: number;
  tables: number;
}

function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function recreate(adminUrl: string, db: string): Promise<pg.Client> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${db} with (force)`);
  await admin.query(`create database ${db}`);
  await admin.end();
  const c = new pg.Client({ connectionString: dbUrl(adminUrl, db) });
  await c.connect();
  return c;
}

async function sizeOf(c: pg.Client): Promise<number> {
  return Number((await c.query<{ s: string }>('select pg_database_size(current_database())::text as s')).rows[0]!.s);
}

async function fillWide(c: pg.Client, mb: number): Promise<void> {
  // About 1 KiB per event row, partly compressible like real data; random bytea does not compress.
  await c.query(`create table events (id bigint primary key, body text, attrs jsonb, blob bytea)`);
  await c.query(`create table ledger (id bigint primary key, account int not null, amount numeric(18,4) not null, booked_at timestamptz not null)`);
  const rows = Math.round(mb * 1024 * 1.6); // about mb MiB of database with both tables
  const batch = 100_000;
  for (let start = 1; start <= rows; start += batch) {
    const end = Math.min(rows, start + batch - 1);
    await c.query(`insert into events
      select g, repeat(md5(g::text), 8) || ' event text ' || g,
             jsonb_build_object('n', g, 'tag', md5((g % 1000)::text), 'list', jsonb_build_array(g, g * 2, 'x')),
             decode(md5(random()::text) || md5(random()::text) || md5(random()::text), 'hex')
        from generate_series(${start}, ${end}) g`);
    await c.query(`insert into ledger
      select g, g % 5000, round((random() * 100000)::numeric, 4), now() - (g || ' seconds')::interval
        from generate_series(${start}, ${end}) g`);
  }
  await c.query('analyze');
}

async function fillManyTables(c: pg.Client, tables: number): Promise<void> {
  for (let i = 0; i < tables; i += 100) {
    const sql: string[] = [];
    for (let t = i; t < Math.min(tables, i + 100); t++) {
      sql.push(`create table t${t} (id int primary key, name text, qty int, price numeric(10,2))`);
      sql.push(`insert into t${t} select g, 'item ' || g || ' of ${t}', g % 17, g * 1.25 from generate_series(1, 200) g`);
    }
    await c.query(sql.join(';\n'));
  }
  await c.query('analyze');
}

async function fillPgbench(adminUrl: string, db: string, scale: number): Promise<void> {
  const u = new URL(dbUrl(adminUrl, db));
  await execa('pgbench', ['-i', '-q', '-s', String(scale), '-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), db], {
    env: { ...process.env, PGPASSWORD: decodeURIComponent(u.password) },
  });
}

/** Creates (or recreates) a dataset's database and fills it. */
export async function makeDataset(adminUrl: string, name: Exclude<DatasetName, 'wide-mariadb'>, opts: DatasetOptions): Promise<Dataset> {
  const db = `lifeboat_bench_${name.replace('-', '_')}`;
  const c = await recreate(adminUrl, db);
  try {
    let label: string;
    if (name === 'wide') {
      await fillWide(c, opts.sizeMb);
      label = `wide ${opts.sizeMb} MiB`;
    } else if (name === 'many-tables') {
      await fillManyTables(c, opts.tables);
      label = `many-tables ${opts.tables}`;
    } else {
      await fillPgbench(adminUrl, db, opts.pgbenchScale);
      label = `pgbench scale ${opts.pgbenchScale}`;
    }
    return { name, engine: 'postgres', url: dbUrl(adminUrl, db), label, bytes: await sizeOf(c) };
  } finally {
    await c.end();
  }
}

/** Whether `pgbench` can be run (Debian ships it with the PostgreSQL server packages). */
export async function hasPgbench(): Promise<boolean> {
  return (await execa('pgbench', ['--version'], { reject: false })).exitCode === 0;
}
