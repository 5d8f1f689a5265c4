// The benchmark's `wide` shape on MariaDB: the same kinds of columns (text, JSON, random binary, a
// decimal ledger), dumped by mariadb-dump with the options Lifeboat's MySQL engine uses.
import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { Dataset } from './bench-datasets.js';
import { q } from './bench-measure.js';

/** The dump options src/engines/mysql/dump-args.ts picks for a MariaDB with its binary log on (the connection comes from the command line). */
export const MARIADB_DUMP_OPTIONS =
  '--single-transaction --quick --hex-blob --default-character-set=utf8mb4 --no-tablespaces --max-allowed-packet=1G --routines --events --triggers --master-data=2 --gtid';

function dbUrl(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

async function connect(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  return mysql.createConnection({
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1) || undefined,
    multipleStatements: true,
  });
}

/** Creates (or recreates) `wide-mariadb`: about `sizeMb` MiB of InnoDB data in two tables. */
export async function makeMariadbWide(adminUrl: string, sizeMb: number): Promise<Dataset> {
  const db = 'lifeboat_bench_wide_mariadb';
  const admin = await connect(adminUrl);
  try {
    await admin.query(`drop database if exists ${db}; create database ${db} character set utf8mb4`);
    await admin.query(`use ${db}`);
    await admin.query(`create table events (id bigint primary key, body text, attrs json, payload varbinary(48)) engine=innodb`);
    await admin.query(
      `create table ledger (id bigint primary key, account int not null, amount decimal(18,4) not null, booked_at datetime(6) not null) engine=innodb`,
    );
    const rows = Math.round(sizeMb * 1024 * 1.4);
    const batch = 100_000;
    for (let start = 1; start <= rows; start += batch) {
      const end = Math.min(rows, start + batch - 1);
      // seq_N_to_M is MariaDB's built-in SEQUENCE engine.
      await admin.query(`insert into events
        select seq, concat(repeat(md5(seq), 8), ' event text ', seq),
               json_object('n', seq, 'tag', md5(seq % 1000), 'list', json_array(seq, seq * 2, 'x')),
               random_bytes(48)
          from seq_${start}_to_${end}`);
      await admin.query(`insert into ledger
        select seq, seq % 5000, round(rand() * 100000, 4), now(6) - interval seq second
          from seq_${start}_to_${end}`);
    }
    await admin.query(`analyze table events, ledger`);
    const [size] = await admin.query<mysql.RowDataPacket[]>(
      `select sum(data_length + index_length) as s from information_schema.tables where table_schema = ?`,
      [db],
    );
    return { name: 'wide-mariadb', engine: 'mysql', url: dbUrl(adminUrl, db), label: `wide-mariadb ${sizeMb} MiB`, bytes: Number(size[0]!.s) };
  } finally {
    await admin.end();
  }
}

export async function dropMariadbDatabase(adminUrl: string, db: string): Promise<void> {
  const c = await connect(adminUrl);
  try {
    await c.query(`drop database if exists ${db}`);
  } finally {
    await c.end();
  }
}

/** The client programs' connection options; the password goes through MYSQL_PWD in the environment. */
export function mariadbConn(url: string): { args: string; env: Record<string, string> } {
  const u = new URL(url);
  return {
    args: `-h ${u.hostname} -P ${u.port || '3306'} -u ${q(decodeURIComponent(u.username))} --protocol=tcp`,
    env: { MYSQL_PWD: decodeURIComponent(u.password) },
  };
}

/** The local plain dump raw restores read. */
export function mariadbLocalDumpScript(ds: Dataset, file: string): string {
  const u = new URL(ds.url);
  return `mariadb-dump ${mariadbConn(ds.url).args} ${MARIADB_DUMP_OPTIONS} ${q(u.pathname.slice(1))} > ${q(file)}`;
}

/** The raw-tool contenders for MariaDB, in the order of the PostgreSQL ones (raw, stock, old way, raw restore). */
export function mariadbScripts(ds: Dataset, old: string, upload: string, local: string) {
  const { args } = mariadbConn(ds.url);
  const db = q(new URL(ds.url).pathname.slice(1));
  const dump = `mariadb-dump ${args} ${MARIADB_DUMP_OPTIONS} ${db}`;
  return {
    raw: { name: 'raw mariadb-dump > /dev/null (the bound)', script: `${dump} > /dev/null` },
    stock: { name: 'stock mariadb-dump | zstd -1 | sha256sum', script: `${dump} | zstd -1 -q -c | sha256sum > /dev/null` },
    old: {
      name: 'old way: mariadb-dump | gzip to a file, then upload',
      script: `${dump} | gzip -c > ${q(old)} && ${upload}`,
    },
    rawRestore: (n: number) => ({
      name: 'raw mariadb < a local uncompressed file',
      script: `mariadb ${args} -e 'create database bench_raw_${n}' && mariadb ${args} bench_raw_${n} < ${q(local)}`,
    }),
  };
}

/** The server process's pid under `runuser` (its only child), for its CPU seconds. */
export function mariadbdPid(spawnedPid: number): number {
  try {
    const children = readFileSync(`/proc/${spawnedPid}/task/${spawnedPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : spawnedPid;
  } catch {
    return spawnedPid;
  }
}
