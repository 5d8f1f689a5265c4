// Chaos: the database ends the dump's session mid-dump (pg_terminate_backend on PostgreSQL, KILL
// on MariaDB). The attempt fails loudly; a retry may commit, but never a manifest of the killed
// attempt, and never more than one.
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { RowDataPacket } from 'mysql2';
import { mariadbServerBinaries, startEphemeralMariadb, type MariadbServer } from '../../dev/mariadb.js';
import { WORKFLOWS, type BackupResult } from '../../src/contracts/index.js';
import { adminClient, createDb } from '../e2e/mysql-support.js';
import { createBucket, listKeys, listMultipart, pgUrl, uniqueName, withPg } from '../harness/services.js';
import {
  sleep,
  checkCommitted,
  connectClient,
  createSlowDatabase,
  manifestKeys,
  processesNamed,
  processesWithEnv,
  startChaosWorker,
  step,
  waitUntil,
  writeChaosConfig,
  type ChaosWorker,
} from './support.js';

const pgDb = uniqueName('lb_chaos_term');
const bins = mariadbServerBinaries();
if ('missing' in bins) console.warn(`MariaDB backend termination is skipped: ${bins.missing}`);
let bucket: string;
let mariadb: MariadbServer | undefined;
let worker: ChaosWorker;
let taskQueue: string;
let conn: Awaited<ReturnType<typeof connectClient>>;

beforeAll(async () => {
  bucket = await createBucket('lb-chaos-db');
  await createSlowDatabase(pgDb);
  const databases: Parameters<typeof writeChaosConfig>[0]['databases'] = {
    pgnoise: { url: pgUrl(pgDb), extra: { compression: { codec: 'zstd', level: 15 } } },
  };
  if (!('missing' in bins)) {
    mariadb = await startEphemeralMariadb({});
    await createDb(mariadb, 'noise', async (c) => {
      await c.query('CREATE TABLE noise (id BIGINT PRIMARY KEY, hex CHAR(32) NOT NULL)');
      await c.query('INSERT INTO noise SELECT seq, MD5(RAND()) FROM seq_1_to_1200000');
    });
    databases.mynoise = { url: mariadb.url('noise'), engine: 'mysql', extra: { compression: { codec: 'zstd', level: 15 } } };
  }
  const setup = writeChaosConfig({ bucket, databases });
  taskQueue = setup.taskQueue;
  worker = await startChaosWorker(setup.configFile, setup.env);
  conn = await connectClient();
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await conn?.close();
  await mariadb?.stop();
});

/** Runs a backup, ends its database session once the dump streams, and checks the outcome. */
async function backupWithKilledSession(database: string, dumping: () => boolean, terminate: () => Promise<number>): Promise<void> {
  const handle: WorkflowHandle = await conn.client.workflow.start(WORKFLOWS.backupDatabase, {
    taskQueue,
    workflowId: uniqueName('chaos-term'),
    args: [{ database }],
  });
  await waitUntil('the dump runs', dumping, 90_000);
  await sleep(1_500);
  expect(dumping()).toBe(true);
  expect(await terminate()).toBeGreaterThan(0);
  step(`${database}: session of the dump terminated`);
  let result: BackupResult | undefined;
  let failure: unknown;
  try {
    result = (await handle.result()) as BackupResult;
  } catch (err) {
    failure = err;
  }
  const history = await handle.fetchHistory();
  // Retried attempts leave no event of their own: the last start records the previous failure.
  const starts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
  const finalFailure = history.events!.find((e) => e.activityTaskFailedEventAttributes)?.activityTaskFailedEventAttributes?.failure;
  const failed = [starts[0]?.lastFailure?.message ?? finalFailure?.message ?? ''];
  expect(failed[0]).toMatch(new RegExp(`^Backup of ${database} failed: .*(exited with code|terminat|Lost connection|killed|server has gone away)`, 's'));
  const manifests = await manifestKeys(bucket, database);
  if (result) {
    expect(manifests).toEqual([`${database}/backups/${result.backupId}/manifest.json`]);
    const manifest = await checkCommitted(bucket, manifests[0]!);
    expect(manifest.workflow.attempt).toBeGreaterThan(1);
  } else {
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect(manifests).toEqual([]);
  }
  step(`${database}: ${result ? `committed by attempt ${starts[0]?.attempt}` : 'failed'}; attempt 1: ${failed[0]!.slice(0, 160)}`);
  await waitUntil('no upload left open', async () => !(await listMultipart(bucket)).some((k) => k.startsWith(`${database}/`)), 30_000);
  const artifacts = (await listKeys(bucket, `${database}/backups/`)).filter((k) => !k.endsWith('/manifest.json'));
  expect(artifacts).toHaveLength(result ? 1 : 0);
}

test('PostgreSQL: pg_terminate_backend of the dump mid-dump fails the attempt; never a manifest from it', async () => {
  await backupWithKilledSession(
    'pgnoise',
    () => processesWithEnv('pg_dump', `PGDATABASE=${pgDb}`).length > 0,
    () =>
      withPg('postgres', async (c) => {
        const r = await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [pgDb]);
        return r.rowCount ?? 0;
      }),
  );
}, 240_000);

('missing' in bins ? test.skip : test)(
  'MariaDB (skipped when its server binaries are missing): KILL of the dump session mid-dump fails the attempt; never a manifest from it',
  async () => {
    const server = mariadb!;
    const admin = await adminClient(server);
    try {
      await backupWithKilledSession(
        'mynoise',
        () => processesNamed('mariadb-dump').length + processesNamed('mysqldump').length > 0,
        async () => {
          const [rows] = await admin.query<Array<{ ID: number } & RowDataPacket>>(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 'noise' AND ID <> CONNECTION_ID()",
          );
          for (const r of rows) await admin.query(`KILL ${Number(r.ID)}`);
          return rows.length;
        },
      );
    } finally {
      await admin.end();
    }
  },
  240_000,
);
