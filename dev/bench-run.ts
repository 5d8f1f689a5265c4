// One dataset through every contender: the raw dump (the bound), the stock shell pipeline, the old
// procedures' way, Lifeboat end to end through the CLI, Temporal and the S3 server; and restores.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { backupBreakdown, restoreBreakdown, type Breakdown, type RestoreBreakdown } from './bench-breakdown.js';
import type { Dataset } from './bench-datasets.js';
import { dropMariadbDatabase, mariadbConn, mariadbdPid, mariadbLocalDumpScript, mariadbScripts } from './bench-mariadb.js';
import { measure, peakRssMiB, q, type Measured, type Watched } from './bench-measure.js';
import { directoryConfigLine, directoryContenders, type BenchContender } from './bench-directory.js';
import type { MariadbServer } from './mariadb.js';
import { repoRoot, type PostgresCluster, type S3Server, type TemporalDevServer } from './services.js';

export interface RunContext {
  work: string;
  temporal: TemporalDevServer;
  s3: S3Server;
  pgAdminUrl: string;
  cluster?: PostgresCluster;
  /** The MariaDB server of `wide-mariadb` (an ephemeral one, unless BENCH_MARIADB_URL names one). */
  mariadbAdminUrl?: string;
  mariadb?: MariadbServer;
  client: Client;
  /** Only the backups of the raw dump, the stock pipeline and Lifeboat (no old way, no restores). */
  backupsOnly?: boolean;
  rounds: number;
  say: (line: string) => void;
}

export interface ContenderRuns {
  name: string;
  kind: 'backup' | 'restore';
  runs: Measured[];
}

export interface DatasetResult {
  dataset: Dataset;
  rawBytes: number;
  storedBytes: number;
  contenders: ContenderRuns[];
  breakdowns: Breakdown[];
  /** Of the streamed Lifeboat restore. */
  restoreBreakdowns: RestoreBreakdown[];
  workerPeakRssMiB: number;
}

/** Starts `lifeboat worker` on `configFile`; `ready` resolves on its "worker started" line. */
/**
 * The Node settings of the worker image (deploy/worker.Dockerfile), which the benchmark's worker
 * runs with unless BENCH_PLAIN_WORKER=1: a 2 MiB V8 semi-space and two malloc arenas.
 */
export function workerImageEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (process.env.BENCH_PLAIN_WORKER === '1') return env;
  return { ...env, NODE_OPTIONS: [env.NODE_OPTIONS, '--max-semi-space-size=2'].filter(Boolean).join(' '), MALLOC_ARENA_MAX: '2' };
}

export function startWorker(configFile: string, env: NodeJS.ProcessEnv): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'lifeboat.js'), '-c', configFile, 'worker'], {
    env: workerImageEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      if (parts.some((l) => l.includes('worker started'))) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the worker exited with ${code}: ${lines.slice(-5).join('\n')}`)));
  });
  child.stderr!.resume();
  return { child, lines, ready };
}

function postmasterPid(cluster?: PostgresCluster): number | undefined {
  if (!cluster) return undefined;
  return Number(readFileSync(path.join(cluster.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

async function dropDatabase(adminUrl: string, db: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`drop database if exists ${db} with (force)`);
  await c.end();
}

function writeConfig(ctx: RunContext, ds: Dataset): string {
  const file = path.join(ctx.work, `${ds.name}.yaml`);
  writeFileSync(
    file,
    `temporal: { address: "${ctx.temporal.address}", taskQueue: bench-${ds.name} }
storage:
  s3: { type: s3, bucket: bench, prefix: "${ds.name}/", endpoint: "${ctx.s3.endpoint}", region: us-east-1, forcePathStyle: true, accessKeyId: ${ctx.s3.accessKeyId}, secretAccessKey: { env: BENCH_S3_SECRET } }
databases:
  d: { engine: ${ds.engine}, url: { env: BENCH_DATABASE }, compression: { codec: zstd, level: 1 }, schedules: false }
  uncounted: { engine: ${ds.engine}, url: { env: BENCH_DATABASE }, compression: { codec: zstd, level: 1 }, rowCounts: off, schedules: false }
${ds.engine === 'postgres' ? directoryConfigLine() : ''}log: { level: debug }
`,
  );
  return file;
}

type Contender = BenchContender;

/** The raw tools' contenders of a dataset's engine: raw dump, stock pipeline, old way, raw restore. */
function rawContenders(ctx: RunContext, ds: Dataset, local: string): { raw: Contender; stock: Contender; old: Contender; rawRestore: Contender } {
  const old = path.join(ctx.work, 'old.dump');
  const oldUrl = `${ctx.s3.endpoint}/bench/old/${ds.name}.dump`;
  const upload = `curl -sSf --aws-sigv4 'aws:amz:us-east-1:s3' --user "$BENCH_S3_KEY:$BENCH_S3_SECRET" -T ${q(old)} ${q(oldUrl)} > /dev/null && rm -f ${q(old)}`;
  if (ds.engine === 'mysql') {
    const m = mariadbScripts(ds, old, upload, local);
    return {
      raw: { name: m.raw.name, kind: 'backup', script: () => m.raw.script },
      stock: { name: m.stock.name, kind: 'backup', script: () => m.stock.script },
      old: { name: m.old.name, kind: 'backup', script: () => m.old.script },
      rawRestore: { name: m.rawRestore(0).name, kind: 'restore', script: (n) => m.rawRestore(n).script },
    };
  }
  const u = new URL(ds.url);
  const conn = `-h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} -d ${q(u.pathname.slice(1))}`;
  return {
    raw: { name: 'raw pg_dump -Fc -Z0 > /dev/null (the bound)', kind: 'backup', script: () => `pg_dump -Fc -Z0 ${conn} > /dev/null` },
    stock: {
      name: 'stock pg_dump -Fc -Z0 | zstd -1 | sha256sum',
      kind: 'backup',
      script: () => `pg_dump -Fc -Z0 ${conn} | zstd -1 -q -c | sha256sum > /dev/null`,
    },
    old: { name: "old procedures' way: pg_dump -Fc to a file, then upload", kind: 'backup', script: () => `pg_dump -Fc ${conn} -f ${q(old)} && ${upload}` },
    rawRestore: {
      name: 'raw pg_restore of a local uncompressed file',
      kind: 'restore',
      script: (n) =>
        `psql -q ${conn} -c 'create database bench_raw_${n}' && pg_restore -d bench_raw_${n} -h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} ${q(local)}`,
    },
  };
}

/** The contenders as bash scripts, in the order each round runs them (the raw dump first, the stock pipeline second). */
function contenders(ctx: RunContext, ds: Dataset, configFile: string, local: string): Contender[] {
  const cli = `${q(process.execPath)} ${q(path.join(repoRoot(), 'bin', 'lifeboat.js'))} -c ${q(configFile)}`;
  const r = rawContenders(ctx, ds, local);
  const backup: Contender = { name: 'lifeboat backup --wait (CLI, Temporal, S3)', kind: 'backup', script: () => `${cli} backup d --wait --json` };
  // What the same-snapshot row counts cost: the same backup with `rowCounts: off` (wide shapes only).
  const uncounted: Contender[] = ds.name.startsWith('wide')
    ? [{ name: 'Lifeboat backup with rowCounts: off', kind: 'backup', script: () => `${cli} backup uncounted --wait --json` }]
    : [];
  const directory = ds.engine === 'postgres' ? directoryContenders(ds.name, { cli, conn: pgConn(ds.url), work: ctx.work }) : [];
  if (ctx.backupsOnly) return [r.raw, r.stock, backup, ...uncounted, ...directory.filter((c) => c.kind === 'backup')];
  return [
    r.raw,
    r.stock,
    r.old,
    backup,
    ...uncounted,
    r.rawRestore,
    {
      name: 'lifeboat restore --wait from S3 into a new database',
      kind: 'restore',
      script: (n) => `${cli} restore d --target bench_lb_${n} --backup latest --wait --json`,
    },
    ...directory,
  ];
}

/** `psql`-style connection options of a PostgreSQL URL (the password goes through PGPASSWORD). */
function pgConn(url: string): string {
  const u = new URL(url);
  return `-h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} -d ${q(u.pathname.slice(1))}`;
}

/** The engine's admin URL, the server process to watch, and the script writing the local dump raw restores read. */
function engineSide(ctx: RunContext, ds: Dataset, local: string): { adminUrl: string; serverPid?: number; localDump: string; env: Record<string, string> } {
  if (ds.engine === 'mysql') {
    return {
      adminUrl: ctx.mariadbAdminUrl!,
      serverPid: ctx.mariadb ? mariadbdPid(ctx.mariadb.pid) : undefined,
      localDump: mariadbLocalDumpScript(ds, local),
      env: mariadbConn(ds.url).env,
    };
  }
  const u = new URL(ds.url);
  return {
    adminUrl: ctx.pgAdminUrl,
    serverPid: postmasterPid(ctx.cluster),
    localDump: `pg_dump -Fc -Z0 -h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} -d ${q(u.pathname.slice(1))} -f ${q(local)}`,
    env: { PGPASSWORD: decodeURIComponent(u.password) },
  };
}

/** Runs one dataset: a warm-up of every contender, then `rounds` interleaved rounds. */
export async function runDataset(ctx: RunContext, ds: Dataset): Promise<DatasetResult> {
  const configFile = writeConfig(ctx, ds);
  const local = path.join(ctx.work, `${ds.name}.local.dump`);
  const side = engineSide(ctx, ds, local);
  const env = {
    ...process.env,
    ...side.env,
    BENCH_DATABASE: ds.url,
    BENCH_S3_KEY: ctx.s3.accessKeyId,
    BENCH_S3_SECRET: ctx.s3.secretAccessKey,
  };
  const worker = startWorker(configFile, env);
  await worker.ready;
  if (!ctx.backupsOnly) await measure(side.localDump, env, []);
  const watched: Watched[] = [
    { name: 'worker', pid: worker.child.pid!, children: 'worker tools' },
    { name: 's3', pid: ctx.s3.pid },
    { name: 'temporal', pid: ctx.temporal.pid },
  ];
  if (side.serverPid) watched.push({ name: ds.engine === 'mysql' ? 'mariadb' : 'postgres', pid: side.serverPid });
  const list = contenders(ctx, ds, configFile, local);
  const results: ContenderRuns[] = list.map((c) => ({ name: c.name, kind: c.kind, runs: [] }));
  const breakdowns: Breakdown[] = [];
  const restoreBreakdowns: RestoreBreakdown[] = [];
  let rawBytes = 0;
  let storedBytes = 0;
  let n = 0;
  try {
    for (let round = 0; round <= ctx.rounds; round++) {
      ctx.say(`  ${ds.label}: ${round === 0 ? 'warm-up' : `round ${round} of ${ctx.rounds}`}`);
      for (const [i, c] of list.entries()) {
        const id = ++n;
        const m = await measure(c.script(id), env, watched);
        if (c.name.startsWith('lifeboat backup')) {
          const r = JSON.parse(m.stdout) as { workflowId: string; backupId: string; rawBytes: number; bytes: number };
          rawBytes = r.rawBytes;
          storedBytes = r.bytes;
          if (round > 0) breakdowns.push(await backupBreakdown(ctx.client, r.workflowId, r.backupId, m, worker.lines));
        }
        if (c.name.startsWith('lifeboat restore') && round > 0) {
          const r = JSON.parse(m.stdout) as { workflowId: string; restoreDurationMs: number };
          restoreBreakdowns.push(await restoreBreakdown(ctx.client, r.workflowId, r, m));
        }
        if (c.kind === 'restore') {
          const db = c.restoredInto?.(id) ?? (c.name.startsWith('raw') ? `bench_raw_${id}` : `bench_lb_${id}`);
          await (ds.engine === 'mysql' ? dropMariadbDatabase(side.adminUrl, db) : dropDatabase(side.adminUrl, db));
        }
        if (round > 0) results[i]!.runs.push(m);
      }
    }
    return { dataset: ds, rawBytes, storedBytes, contenders: results, breakdowns, restoreBreakdowns, workerPeakRssMiB: peakRssMiB(worker.child.pid!) };
  } finally {
    worker.child.kill('SIGTERM');
    await new Promise((r) => worker.child.once('exit', r));
  }
}
