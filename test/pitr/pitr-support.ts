// An ephemeral PostgreSQL cluster whose archive_command is `lifeboat wal-push` into the test S3
// bucket, and the configuration file both the cluster and the tests read.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { startEphemeralPostgres, type PostgresCluster } from '../../dev/services.js';
import { loadConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { lifeboatCommand } from '../../src/pitr/recover.js';
import { createBucket, services, uniqueName } from '../harness/services.js';

export interface ArchivedCluster {
  cluster: PostgresCluster;
  cfg: LifeboatConfig;
  configFile: string;
  bucket: string;
  dir: string;
  sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  /** Switches to a new WAL segment and waits until the one switched away from is archived. */
  switchAndWait(): Promise<string>;
  stop(): Promise<void>;
}

export async function startArchivedCluster(database = 'src', extra: Record<string, unknown> = {}): Promise<ArchivedCluster> {
  const s = services();
  const bucket = await createBucket('lb-pitr');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-pitr-cfg-'));
  chmodSync(dir, 0o755);
  const urlEnv = `LB_PITR_URL_${uniqueName('x').slice(2)}`;
  process.env.LB_TEST_S3_SECRET = s.s3.secretAccessKey;
  const raw = {
    temporal: { address: s.temporal.address, namespace: 'default', taskQueue: uniqueName('lifeboat-pitr') },
    storage: {
      primary: {
        type: 's3',
        bucket,
        region: s.s3.region,
        endpoint: s.s3.endpoint,
        forcePathStyle: true,
        accessKeyId: s.s3.accessKeyId,
        secretAccessKey: { env: 'LB_TEST_S3_SECRET' },
      },
    },
    databases: { [database]: { engine: 'postgres', url: { env: urlEnv }, environment: 'production', schedules: false, ...extra } },
    log: { level: 'debug' },
  };
  const configFile = path.join(dir, 'lifeboat.yaml');
  writeFileSync(configFile, stringify(raw), { mode: 0o644 });
  const cluster = await startEphemeralPostgres({
    initdbArgs: ['--wal-segsize=1'],
    settings: {
      archive_mode: 'on',
      archive_command: `${lifeboatCommand()} --config '${configFile}' wal-push --db ${database} "%p"`,
      wal_level: 'replica',
    },
  });
  process.env[urlEnv] = cluster.url('postgres');
  const cfg = loadConfig(configFile);
  const sql = async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => {
    const c = new pg.Client({ connectionString: cluster.url('postgres') });
    await c.connect();
    try {
      return (await c.query<T>(text, values)).rows;
    } finally {
      await c.end();
    }
  };
  const switchAndWait = async () => {
    const [{ seg }] = await sql<{ seg: string }>('select pg_walfile_name(pg_current_wal_lsn()) as seg');
    await sql('select pg_switch_wal()');
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [st] = await sql<{ last: string | null; failed: string | null }>(
        'select last_archived_wal as last, last_failed_wal as failed from pg_stat_archiver',
      );
      if (st!.last && st!.last >= seg!) return seg!;
      if (Date.now() > deadline) throw new Error(`segment ${seg} not archived within 30 s (last ${st!.last}, failed ${st!.failed})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { cluster, cfg, configFile, bucket, dir, sql, switchAndWait, stop: () => cluster.stop() };
}

/** Rows of a query on a recovered server, connecting as the source's superuser. */
export async function queryRecovered<T extends pg.QueryResultRow>(cluster: PostgresCluster, port: number, text: string): Promise<T[]> {
  const u = new URL(cluster.url('postgres'));
  u.port = String(port);
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}
