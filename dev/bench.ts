import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client, Connection } from '@temporalio/client';
import { DATASETS, hasPgbench, makeDataset, type Dataset, type DatasetName } from './bench-datasets.js';
import { makeMariadbWide } from './bench-mariadb.js';
import { startEphemeralMariadb, type MariadbServer } from './mariadb.js';
import { formatSummary, summarize, type DatasetSummary } from './bench-report.js';
import { runDataset, type RunContext } from './bench-run.js';
import { formatFleet, runFleet } from './bench-fleet.js';
import { repoRoot, startEphemeralPostgres, startS3Server, startTemporalDevServer, stopAll, type PostgresCluster } from './services.js';

/**
 * `npm run bench`: Lifeboat end to end (CLI, Temporal, SeaweedFS on loopback) against the raw dump,
 * the stock shell pipeline and the old procedures' way, with restores against raw `pg_restore`.
 * Interleaved rounds after a warm-up; medians; one table per dataset and a JSON file.
 */
const USAGE = `usage: npm run bench -- [--dataset wide,pgbench,many-tables,wide-mariadb] [--size-mb 1024] [--scale 50] [--tables 2000] [--rounds 3] [--backups-only] [--out FILE]
       npm run bench -- --fleet 100 [--fleet-concurrency 4] [--fleet-scale 0.5] [--out FILE]
  --backups-only  backups only: no old way, no restores (for large sizes: memory at 5 GB)
  --fleet N       N small databases, one Schedule each, all triggered at once (see README: Many databases)
  BENCH_DATABASE_URL / BENCH_MARIADB_URL: superuser URLs of existing servers instead of ephemeral ones
  BENCH_PLAIN_WORKER=1: the worker without the worker image's Node settings (--max-semi-space-size=2, MALLOC_ARENA_MAX=2)`;

function options() {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string', default: DATASETS.filter((d) => d !== 'wide-mariadb').join(',') },
      'size-mb': { type: 'string', default: process.env.BENCH_SIZE_MB ?? '1024' },
      scale: { type: 'string', default: '50' },
      tables: { type: 'string', default: '2000' },
      rounds: { type: 'string', default: process.env.BENCH_RUNS ?? '3' },
      out: { type: 'string' },
      'backups-only': { type: 'boolean', default: false },
      fleet: { type: 'string' },
      'fleet-concurrency': { type: 'string', default: '4' },
      'fleet-scale': { type: 'string', default: '0.5' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const datasets = values.dataset.split(',').map((d) => d.trim()) as DatasetName[];
  const bad = datasets.filter((d) => !DATASETS.includes(d));
  if (bad.length) throw new Error(`unknown dataset ${bad.join(', ')}; ${USAGE}`);
  const int = (v: string, name: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a positive integer, got ${v}`);
    return n;
  };
  return {
    datasets,
    sizeMb: int(values['size-mb'], 'size-mb'),
    scale: int(values.scale, 'scale'),
    tables: int(values.tables, 'tables'),
    rounds: int(values.rounds, 'rounds'),
    backupsOnly: values['backups-only'],
    fleet:
      values.fleet === undefined
        ? undefined
        : { count: int(values.fleet, 'fleet'), concurrency: int(values['fleet-concurrency'], 'fleet-concurrency'), scale: fleetScale(values['fleet-scale']) },
    out:
      values.out ?? path.join(repoRoot(), '.lifeboat', 'bench', `bench-${values.fleet ? 'fleet-' : ''}${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  };
}

function fleetScale(v: string): number {
  const n = Number(v);
  if (!(n > 0 && n <= 20)) throw new Error(`--fleet-scale expects a number in (0, 20], got ${v}`);
  return n;
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const opts = options();
  const work = path.join(os.tmpdir(), `lifeboat-bench-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  say(
    `Lifeboat benchmark on ${machine}: ${opts.fleet ? `a fleet of ${opts.fleet.count} databases` : `${opts.datasets.join(', ')}, ${opts.rounds} interleaved rounds after a warm-up`}; worker ${process.env.BENCH_PLAIN_WORKER === '1' ? 'with plain Node settings' : "with the worker image's Node settings"}`,
  );
  const needsPg = opts.fleet !== undefined || opts.datasets.some((d) => d !== 'wide-mariadb');
  const needsMariadb = opts.fleet === undefined && opts.datasets.includes('wide-mariadb') && !process.env.BENCH_MARIADB_URL;
  const [temporal, s3, cluster, mariadb] = await Promise.all([
    startTemporalDevServer({ headless: true }),
    startS3Server({}),
    process.env.BENCH_DATABASE_URL || !needsPg ? Promise.resolve(undefined) : startEphemeralPostgres({}),
    needsMariadb ? startEphemeralMariadb({}) : Promise.resolve<MariadbServer | undefined>(undefined),
  ]);
  const connection = await Connection.connect({ address: temporal.address });
  try {
    await new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    }).send(new CreateBucketCommand({ Bucket: 'bench' }));
    const pgAdminUrl = process.env.BENCH_DATABASE_URL ?? (cluster as PostgresCluster | undefined)?.url('postgres') ?? '';
    const mariadbAdminUrl = process.env.BENCH_MARIADB_URL ?? mariadb?.url();
    const client = new Client({ connection });
    const ctx: RunContext = {
      work,
      temporal,
      s3,
      pgAdminUrl,
      cluster,
      mariadbAdminUrl,
      mariadb,
      client,
      rounds: opts.rounds,
      backupsOnly: opts.backupsOnly,
      say,
    };
    if (opts.fleet) {
      mkdirSync(path.dirname(opts.out), { recursive: true });
      say(formatFleet(await runFleet(ctx, opts.fleet, opts.out)));
      say(`Results: ${path.relative(process.cwd(), opts.out)}`);
      return;
    }
    const summaries: DatasetSummary[] = [];
    for (const name of opts.datasets) {
      if (name === 'pgbench' && !(await hasPgbench())) {
        say('  pgbench: skipped, the pgbench program is not installed (Debian: postgresql-contrib or the server package)');
        continue;
      }
      say(`Generating ${name}…`);
      const ds: Dataset =
        name === 'wide-mariadb'
          ? await makeMariadbWide(mariadbAdminUrl!, opts.sizeMb)
          : await makeDataset(pgAdminUrl, name, { sizeMb: opts.sizeMb, pgbenchScale: opts.scale, tables: opts.tables });
      const summary = summarize(await runDataset(ctx, ds));
      summaries.push(summary);
      say('');
      say(formatSummary(summary));
      say('');
    }
    mkdirSync(path.dirname(opts.out), { recursive: true });
    writeFileSync(opts.out, `${JSON.stringify({ machine, at: new Date().toISOString(), rounds: opts.rounds, datasets: summaries }, null, 2)}\n`);
    say(`Results: ${path.relative(process.cwd(), opts.out)}`);
  } finally {
    await connection.close();
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch(async (e: unknown) => {
  process.stderr.write(`Benchmark failed: ${(e as Error).message}\n`);
  await stopAll().catch(() => undefined);
  process.exit(1);
});
