// Point-in-time recovery end to end: an ephemeral cluster archiving with `lifeboat wal-push`, a
// base backup and recoveries as workflows on a real worker, a recovery point verified, and a gap
// in the archive caught by the archive check and /health/backups.
import { existsSync } from 'node:fs';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import {
  WORKFLOWS,
  failureCause,
  type PitrRestoreResult,
  type RecoveryPointVerification,
  type WorkflowName,
  type WorkflowTypes,
} from '../../src/contracts/index.js';
import { CatalogReader } from '../../src/observability/catalog.js';
import { evaluateFleet } from '../../src/observability/health.js';
import { fetchWalBuffer, readWalRecord, walStorage } from '../../src/pitr/wal-archive.js';
import { stopRecovered } from '../../src/pitr/recover.js';
import { listKeys, s3Client, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';
import { saveHistory } from '../replay/histories.js';
import { queryRecovered, startArchivedCluster, type ArchivedCluster } from './pitr-support.js';

let src: ArchivedCluster;
let atT2: Promise<PitrRestoreResult>;
let verifiedAtT1: Promise<RecoveryPointVerification>;
let worker: RunningWorker;
const recovered: PitrRestoreResult[] = [];
const marks: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs a workflow to its end; with LIFEBOAT_RECORD_HISTORIES=1 and a `history` name, saves its history for the replay test. */
async function run<K extends WorkflowName>(type: K, input: Parameters<WorkflowTypes[K]>[0], history?: string): Promise<Awaited<ReturnType<WorkflowTypes[K]>>> {
  const workflowId = uniqueName(type);
  const result = worker.client.workflow.execute<WorkflowTypes[K]>(type, {
    taskQueue: src.cfg.temporal.taskQueue,
    workflowId,
    args: [input] as Parameters<WorkflowTypes[K]>,
  });
  await result.catch(() => undefined);
  if (history && process.env.LIFEBOAT_RECORD_HISTORIES === '1')
    saveHistory(workflowId, `${type}-${history}`, [src.cluster.password, services().s3.secretAccessKey]);
  return result as Promise<Awaited<ReturnType<WorkflowTypes[K]>>>;
}

async function restore(toTime: string): Promise<PitrRestoreResult> {
  const r = await run(WORKFLOWS.pointInTimeRestore, { database: 'src', toTime });
  recovered.push(r);
  return r;
}

beforeAll(async () => {
  src = await startArchivedCluster();
  worker = await startWorker(src.cfg);
  const base = await run(WORKFLOWS.baseBackup, { database: 'src' }, 'taken');
  marks.base = base.backupId;
  const now = async () => (await src.sql<{ t: Date }>('select clock_timestamp() as t'))[0]!.t.toISOString();
  await src.sql('create table orders (id int primary key, note text)');
  await src.sql(`insert into orders select g, 'T1' from generate_series(1, 3) g`);
  await sleep(300);
  marks.t1t2 = await now();
  await sleep(300);
  await src.sql(`insert into orders select g, 'T2' from generate_series(4, 5) g`);
  await sleep(300);
  marks.t2t3 = await now();
  await sleep(300);
  await src.sql('drop table orders');
  await src.switchAndWait();
  // The two recoveries run side by side (each is mostly waiting on restore_command).
  atT2 = restore(marks.t2t3!);
  verifiedAtT1 = run(WORKFLOWS.verifyRecoveryPoint, { database: 'src', toTime: marks.t1t2 }, 'passed');
  atT2.catch(() => undefined);
  verifiedAtT1.catch(() => undefined);
}, 120_000);

afterAll(async () => {
  for (const r of recovered) await stopRecovered({ dataDir: r.dataDir, binDir: src.cluster.binDir }).catch(() => undefined);
  await worker?.stop();
  await src?.stop();
});

test('restore --to-time between T2 and T3 brings back the dropped table with exactly the rows of T2, on a new promoted server', async () => {
  const r = await atT2;
  const rows = await queryRecovered<{ id: number; note: string }>(src.cluster, r.port, 'select id, note from orders order by id');
  expect(rows.map((x) => `${x.id}:${x.note}`)).toEqual(['1:T1', '2:T1', '3:T1', '4:T2', '5:T2']);
  expect(r.backupId).toBe(marks.base);
  expect(r.port).not.toBe(src.cluster.port);
  expect(Date.parse(r.recoveredTo!)).toBeLessThanOrEqual(Date.parse(marks.t2t3!));
  expect(r.walReplayedBytes).toBeGreaterThan(0);
  expect(r.segmentsRestored).toBeGreaterThan(0);
  expect((await queryRecovered<{ rec: boolean }>(src.cluster, r.port, 'select pg_is_in_recovery() as rec'))[0]!.rec).toBe(false);
});

test('a recovery point between T1 and T2, verified in a scratch server: only the rows of T1, RTO and achieved RPO recorded, server stopped', async () => {
  const v = await verifiedAtT1;
  expect(v.outcome).toBe('passed');
  expect(v.rowCounts['public.orders']).toBe(3);
  expect(v.backupId).toBe(marks.base);
  expect(v.rtoMs).toBeGreaterThan(0);
  // The last commit before the target was the T1 insert, about 300 ms earlier.
  expect(v.achievedRpoMs).toBeGreaterThanOrEqual(200);
  expect(v.achievedRpoMs).toBeLessThan(5_000);
  expect(Date.parse(v.recoveredTo!) + v.achievedRpoMs!).toBe(Date.parse(marks.t1t2!));
  expect(v.serverStopped).toBe(true);
});

test('a restore to a time before every base backup fails with BACKUP_NOT_FOUND; a restore point is recorded with its LSN', async () => {
  const failure = await run(WORKFLOWS.pointInTimeRestore, { database: 'src', toTime: '2001-01-01T00:00:00Z' }, 'no-base-backup').catch((e: unknown) => e);
  expect(failureCause(failure)).toMatchObject({
    type: 'BACKUP_NOT_FOUND',
    message: expect.stringMatching(/found no base backup consistent before 2001-01-01T00:00:00Z/),
  });
  const point = await run(WORKFLOWS.createRestorePoint, { database: 'src', name: 'before-cleanup' }, 'created');
  expect(point.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
  expect(await listKeys(src.bucket, 'src/pitr/restore-points/')).toEqual(['src/pitr/restore-points/before-cleanup.json']);
  const invalid = await run(WORKFLOWS.pointInTimeRestore, { database: 'src', toTime: 'yesterday' } as never).catch((e: unknown) => e);
  expect(failureCause(invalid).type).toBe('INVALID_INPUT');
});

test('every segment PostgreSQL archived is in storage exactly once, with its checksum', async () => {
  const [{ last }] = await src.sql<{ last: string }>('select last_archived_wal as last from pg_stat_archiver');
  const keys = await listKeys(src.bucket, 'src/pitr/wal/');
  const segments = keys.filter((k) => /\/[0-9A-F]{24}\.json$/.test(k)).map((k) => k.slice(-29, -5));
  expect(segments).toContain(last);
  const storage = walStorage(src.cfg, 'src');
  for (const seg of segments) {
    expect(keys.filter((k) => new RegExp(`/${seg}\\.(json|zst(\\.age|\\.gpg)?)$`).test(k))).toEqual([`src/pitr/wal/${seg}.json`, `src/pitr/wal/${seg}.zst`]);
    const record = (await readWalRecord(storage, 'src', seg))!;
    expect(record.rawSha256).toMatch(/^[0-9a-f]{64}$/);
    await expect(fetchWalBuffer(src.cfg, 'src', seg)).resolves.toHaveLength(record.rawBytes);
  }
});

test('a gap in the archived WAL fails the archive check loudly and makes /health/backups unhealthy', async () => {
  const ok = await run(WORKFLOWS.checkWalArchive, { database: 'src' }, 'complete');
  expect(ok.ok).toBe(true);
  const before = evaluateFleet(src.cfg, await new CatalogReader(src.cfg, 0).fleet());
  expect(before.databases[0]!.problems.filter((p) => p.kind === 'wal-archive')).toEqual([]);

  const keys = (await listKeys(src.bucket, 'src/pitr/wal/')).filter((k) => /\/[0-9A-F]{24}\.zst$/.test(k)).sort();
  const victim = keys[Math.floor(keys.length / 2)]!;
  await s3Client().send(new DeleteObjectCommand({ Bucket: src.bucket, Key: victim }));
  const segment = victim.slice(-28, -4);

  const failure = await run(WORKFLOWS.checkWalArchive, { database: 'src' }, 'gap').catch((e: unknown) => e);
  const cause = failureCause(failure);
  expect(cause.type).toBe('ARCHIVE_INCOMPLETE');
  expect(cause.message).toContain(`gap: 1 segment(s) missing from ${segment} to ${segment}`);
  const report = evaluateFleet(src.cfg, await new CatalogReader(src.cfg, 0).fleet());
  expect(report.httpStatus).toBe(503);
  expect(report.databases[0]!.walArchive?.gaps).toEqual([expect.objectContaining({ from: segment, missing: 1 })]);
  expect(report.databases[0]!.problems.map((p) => p.kind)).toContain('wal-archive');
  expect(existsSync(recovered[0]!.dataDir)).toBe(true);
});
