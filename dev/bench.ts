import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/logger.js';
import { takeBackup } from '../src/backup/backup.js';
import { findPgTool } from '../src/engines/postgres/index.js';
import { startEphemeralPostgres, startS3Server, stopAll } from './services.js';

/**
 * Benchmark: Lifeboat's backup path against the stock shell pipeline
 * `pg_dump -Fc -Z0 | zstd -1 | sha256sum`, on a generated database of BENCH_SIZE_MB (default 512).
 * Prints wall times (median of BENCH_RUNS, default 3), their ratio, and the peak RSS of this
 * process at two database sizes (memory must not grow with the database).
 */
const sizeMb = Number(process.env.BENCH_SIZE_MB ?? 512);
const runs = Number(process.env.BENCH_RUNS ?? 3);

async function fill(adminUrl: string, db: string, mb: number): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${db} with (force)`);
  await admin.query(`create database ${db}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: url.toString() });
  await c.connect();
  // About 1 KiB per row of text, jsonb and bytea, partly compressible like real data.
  await c.query(`create table events (id bigint primary key, body text, attrs jsonb, blob bytea)`);
  const rows = mb * 1024;
  const batch = 100_000;
  for (let start = 1; start <= rows; start += batch) {
    const end = Math.min(rows, start + batch - 1);
    await c.query(`insert into events
      select g, repeat(md5(g::text), 8) || ' event text ' || g,
             jsonb_build_object('n', g, 'tag', md5((g % 1000)::text), 'list', jsonb_build_array(g, g * 2, 'x')),
             decode(repeat(md5((g * 31)::text), 6), 'hex')
        from generate_series(${start}, ${end}) g`);
  }
  await c.query('analyze events');
  const size = await c.query<{ s: string }>(`select pg_size_pretty(pg_database_size(current_database())) as s`);
  await c.end();
  process.stdout.write(`  database ${db}: ${size.rows[0]!.s}\n`);
  return url.toString();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const work = path.join(os.tmpdir(), `lifeboat-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  process.stdout.write(`Lifeboat backup benchmark (${os.cpus().length} cores, ${sizeMb} MiB of rows, median of ${runs})\n`);
  const [pgc, s3] = await Promise.all([
    process.env.BENCH_DATABASE_URL ? Promise.resolve({ url: () => process.env.BENCH_DATABASE_URL! }) : startEphemeralPostgres({}),
    startS3Server({}),
  ]);
  try {
    const adminUrl = pgc.url('postgres');
    const bigUrl = await fill(adminUrl, 'lifeboat_bench', sizeMb);
    const smallUrl = await fill(adminUrl, 'lifeboat_bench_small', Math.max(16, Math.round(sizeMb / 8)));
    await new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    }).send(new CreateBucketCommand({ Bucket: 'bench' }));
    process.env.BENCH_BIG_URL = bigUrl;
    process.env.BENCH_SMALL_URL = smallUrl;
    process.env.BENCH_S3_SECRET = s3.secretAccessKey;
    const cfg = parseConfig({
      storage: {
        fs: { type: 'filesystem', path: path.join(work, 'store') },
        s3: {
          type: 's3',
          bucket: 'bench',
          endpoint: s3.endpoint,
          forcePathStyle: true,
          accessKeyId: s3.accessKeyId,
          secretAccessKey: { env: 'BENCH_S3_SECRET' },
        },
      },
      databases: {
        big: { engine: 'postgres', url: { env: 'BENCH_BIG_URL' }, storage: ['fs'] },
        bigNoCounts: { engine: 'postgres', url: { env: 'BENCH_BIG_URL' }, storage: ['fs'], rowCounts: 'off' },
        bigS3: { engine: 'postgres', url: { env: 'BENCH_BIG_URL' }, storage: ['s3'] },
        small: { engine: 'postgres', url: { env: 'BENCH_SMALL_URL' }, storage: ['fs'] },
      },
    });
    const log = createLogger({ level: 'warn' });
    const u = new URL(bigUrl);
    const pgDump = (await findPgTool('pg_dump', 99, 'bench').catch(() => undefined))?.path ?? 'pg_dump';
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(u.password) };
    const conn = ['-h', u.hostname, '-p', u.port, '-U', decodeURIComponent(u.username), '-d', u.pathname.slice(1)];
    const stock = (sink: string) =>
      execa('bash', ['-o', 'pipefail', '-c', `"${pgDump}" -Fc -Z0 ${conn.join(' ')} | zstd -1 -q -c ${sink} | sha256sum > /dev/null`], { env });

    let n = 0;
    const lifeboat = (database: string) => () =>
      takeBackup(cfg, { database, kind: 'full', backupId: `bench-${++n}`, workflow: { workflowId: 'bench', runId: 'bench', attempt: 1 } }, log);

    const cases: Array<[string, () => Promise<unknown>]> = [
      ['stock: pg_dump -Fc -Z0 | zstd -1 | sha256sum', () => stock('')],
      ['stock, also writing the file: ... | tee FILE | sha256sum', () => stock(`| tee ${path.join(work, 'stock.zst')}`)],
      ['lifeboat -> filesystem, row counts in the snapshot', lifeboat('big')],
      ['lifeboat -> filesystem, no row counts', lifeboat('bigNoCounts')],
      ['lifeboat -> S3 (SeaweedFS on loopback), row counts', lifeboat('bigS3')],
    ];
    // One warm-up of each (page cache, catalogs), then interleaved rounds so drift hits all alike.
    for (const [, fn] of cases) await fn();
    const times = cases.map(() => [] as number[]);
    for (let r = 0; r < runs; r++) for (const [i, [, fn]] of cases.entries()) times[i]!.push(await timeIt(fn));
    const med = times.map(median);
    for (const [i, [name]] of cases.entries()) {
      process.stdout.write(`  ${name.padEnd(58)} ${(med[i]! / 1000).toFixed(2)} s  (runs: ${times[i]!.map((t) => (t / 1000).toFixed(2)).join(', ')})\n`);
    }
    process.stdout.write('\nRatios (median) against the stock pipeline `pg_dump -Fc -Z0 | zstd -1 | sha256sum`:\n');
    for (const [i, [name]] of cases.entries()) if (i > 0) process.stdout.write(`  ${name.padEnd(58)} x${(med[i]! / med[0]!).toFixed(3)}\n`);

    // Memory: peak RSS after small-database backups vs after big ones (filesystem target).
    const fresh = await execa(process.execPath, [new URL(import.meta.url).pathname, '--rss', 'small'], { env: process.env, reject: false });
    const freshBig = await execa(process.execPath, [new URL(import.meta.url).pathname, '--rss', 'big'], { env: process.env, reject: false });
    process.stdout.write(
      `\nPeak RSS of a fresh process backing up the small database: ${fresh.stdout.trim()} MiB; the big one (${sizeMb} MiB+): ${freshBig.stdout.trim()} MiB\n`,
    );
    process.stdout.write(`Peak RSS of this process after all runs (filesystem and S3): ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`);
    writeFileSync(path.join(work, 'config.json'), JSON.stringify(cfg));
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

async function rssOnly(which: string): Promise<void> {
  const work = path.join(os.tmpdir(), `lifeboat-bench-rss-${process.pid}`);
  const cfg = parseConfig({
    storage: { fs: { type: 'filesystem', path: work } },
    databases: { x: { engine: 'postgres', url: { env: which === 'big' ? 'BENCH_BIG_URL' : 'BENCH_SMALL_URL' } } },
  });
  await takeBackup(
    cfg,
    { database: 'x', kind: 'full', backupId: 'rss', workflow: { workflowId: 'b', runId: 'b', attempt: 1 } },
    createLogger({ level: 'warn' }),
  );
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${Math.round(process.resourceUsage().maxRSS / 1024)}\n`);
}

if (process.argv[2] === '--rss') {
  rssOnly(process.argv[3]!).catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
} else {
  main().catch(async (e) => {
    process.stderr.write(`Benchmark failed: ${(e as Error).stack}\n`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  });
}
