// One dataset through every contender: the raw dump (the bound), the stock shell pipeline, the old
// procedures' way, Lifeboat end to end through the CLI, Temporal and the S3 server; and restores.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import pg from 'pg';
import { backupBreakdown, type Breakdown } from './bench-breakdown.js';
import type { Dataset } from './bench-datasets.js';
import { measure, peakRssMiB, q, type Measured, type Watched } from './bench-measure.js';
import { repoRoot, type PostgresCluster, type S3Server, type TemporalDevServer } from './services.js';

export interface RunContext {
  work: string;
  temporal: TemporalDevServer;
  s3: S3Server;
  pgAdminUrl: string;
  cluster?: PostgresCluster;
  client: Client;
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
  workerPeakRssMiB: number;
}

/** Starts `lifeboat worker` on `configFile`; `ready` resolves on its "worker started" line. */
export function startWorker(configFile: string, env: NodeJS.ProcessEnv): { child: ChildProcess; lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, [path.join(repoRoot(), 'bin', 'lifeboat.js'), '-c', configFile, 'worker'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  d: { engine: postgres, url: { env: BENCH_DATABASE }, compression: { codec: zstd, level: 1 }, schedules: false }
log: { level: debug }
`,
  );
  return file;
}

/** The contenders as bash scripts, in the order each round runs them. */
function contenders(
  ctx: RunContext,
  ds: Dataset,
  configFile: string,
  local: string,
): Array<{ name: string; kind: 'backup' | 'restore'; script: (n: number) => string }> {
  const u = new URL(ds.url);
  const conn = `-h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} -d ${q(u.pathname.slice(1))}`;
  const cli = `${q(process.execPath)} ${q(path.join(repoRoot(), 'bin', 'lifeboat.js'))} -c ${q(configFile)}`;
  const old = path.join(ctx.work, 'old.dump');
  const oldUrl = `${ctx.s3.endpoint}/bench/old/${ds.name}.dump`;
  return [
    { name: 'raw pg_dump -Fc -Z0 > /dev/null (the bound)', kind: 'backup', script: () => `pg_dump -Fc -Z0 ${conn} > /dev/null` },
    { name: 'stock pg_dump -Fc -Z0 | zstd -1 | sha256sum', kind: 'backup', script: () => `pg_dump -Fc -Z0 ${conn} | zstd -1 -q -c | sha256sum > /dev/null` },
    {
      name: "old procedures' way: pg_dump -Fc to a file, then upload",
      kind: 'backup',
      script: () =>
        `pg_dump -Fc ${conn} -f ${q(old)} && curl -sSf --aws-sigv4 'aws:amz:us-east-1:s3' --user "$BENCH_S3_KEY:$BENCH_S3_SECRET" -T ${q(old)} ${q(oldUrl)} > /dev/null && rm -f ${q(old)}`,
    },
    { name: 'lifeboat backup --wait (CLI, Temporal, S3)', kind: 'backup', script: () => `${cli} backup d --wait --json` },
    {
      name: 'raw pg_restore of a local uncompressed file',
      kind: 'restore',
      script: (n) =>
        `psql -q ${conn} -c 'create database bench_raw_${n}' && pg_restore -d bench_raw_${n} -h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} ${q(local)}`,
    },
    {
      name: 'lifeboat restore --wait from S3 into a new database',
      kind: 'restore',
      script: (n) => `${cli} restore d --target bench_lb_${n} --backup latest --wait --json`,
    },
  ];
}

/** Runs one dataset: a warm-up of every contender, then `rounds` interleaved rounds. */
export async function runDataset(ctx: RunContext, ds: Dataset): Promise<DatasetResult> {
  const configFile = writeConfig(ctx, ds);
  const u = new URL(ds.url);
  const env = {
    ...process.env,
    PGPASSWORD: decodeURIComponent(u.password),
    BENCH_DATABASE: ds.url,
    BENCH_S3_KEY: ctx.s3.accessKeyId,
    BENCH_S3_SECRET: ctx.s3.secretAccessKey,
  };
  const worker = startWorker(configFile, env);
  await worker.ready;
  const local = path.join(ctx.work, `${ds.name}.local.dump`);
  await measure(`pg_dump -Fc -Z0 -h ${u.hostname} -p ${u.port} -U ${q(decodeURIComponent(u.username))} -d ${q(u.pathname.slice(1))} -f ${q(local)}`, env, []);
  const watched: Watched[] = [
    { name: 'worker', pid: worker.child.pid! },
    { name: 's3', pid: ctx.s3.pid },
    { name: 'temporal', pid: ctx.temporal.pid },
  ];
  const pm = postmasterPid(ctx.cluster);
  if (pm) watched.push({ name: 'postgres', pid: pm });
  const list = contenders(ctx, ds, configFile, local);
  const results: ContenderRuns[] = list.map((c) => ({ name: c.name, kind: c.kind, runs: [] }));
  const breakdowns: Breakdown[] = [];
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
        if (c.kind === 'restore') await dropDatabase(ctx.pgAdminUrl, c.name.startsWith('raw') ? `bench_raw_${id}` : `bench_lb_${id}`);
        if (round > 0) results[i]!.runs.push(m);
      }
    }
    return { dataset: ds, rawBytes, storedBytes, contenders: results, breakdowns, workerPeakRssMiB: peakRssMiB(worker.child.pid!) };
  } finally {
    worker.child.kill('SIGTERM');
    await new Promise((r) => worker.child.once('exit', r));
  }
}
