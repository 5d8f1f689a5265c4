import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { listBackups } from '../../src/catalog/catalog.js';
import { openStorage } from '../../src/storage/index.js';
import type { BackupResult } from '../../src/contracts/index.js';
import {
  createBucket,
  createRole,
  getObject,
  listKeys,
  listMultipart,
  pgUrl,
  services,
  startWorker,
  testConfig,
  uniqueName,
  withPg,
  type RunningWorker,
} from '../harness/services.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let bucket: string;
let role: { name: string; password: string };
let dbName: string;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;

beforeAll(async () => {
  bucket = await createBucket();
  role = await createRole();
  dbName = uniqueName('lb_shop');
  await createSampleDatabase(services().pg.adminUrl, dbName, 1);
  cfg = testConfig({
    bucket,
    prefix: 'prod/',
    databases: {
      shop: { url: pgUrl(dbName, role) },
      badpass: { url: pgUrl(dbName, { name: role.name, password: 'definitely-wrong-password' }) },
      gz: { url: pgUrl(dbName, role), compression: { codec: 'gzip', level: 6 } },
    },
  });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

async function runBackup(input: unknown, id = uniqueName('backup-test')): Promise<BackupResult> {
  return w.client.workflow.execute('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: id, args: [input] });
}

async function manifestOf(result: BackupResult): Promise<Manifest> {
  const key = `prod/${result.key.replace(/[^/]+$/, 'manifest.json')}`;
  return JSON.parse((await getObject(bucket, key)).toString()) as Manifest;
}

test('a full backup is stored as zstd pg_dump custom format whose sha256 matches its manifest and whose restore list names every table', async () => {
  const result = await runBackup({ database: 'shop', kind: 'full' });
  expect(result.database).toBe('shop');
  expect(result.location).toBe(`s3://${bucket}/prod/${result.key}`);

  const stored = await getObject(bucket, `prod/${result.key}`);
  const manifest = await manifestOf(result);
  expect(stored.length).toBe(manifest.artifact.bytes);
  expect(sha256(stored)).toBe(manifest.artifact.sha256);
  expect(result.sha256).toBe(manifest.artifact.sha256);
  expect(manifest.artifact.compression).toEqual({ codec: 'zstd', level: 1 });
  expect(manifest.server.version).toMatch(/^\d+\.\d+/);
  expect(manifest.tool.name).toBe('pg_dump');
  expect(manifest.workflow.workflowId).toBeTruthy();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-test-'));
  const dumpFile = path.join(dir, 'backup.dump');
  writeFileSync(dumpFile, execFileSync('zstd', ['-d', '-c'], { input: stored, maxBuffer: 1 << 30 }));
  expect(readFileSync(dumpFile).length).toBe(manifest.rawBytes);
  const list = execFileSync('pg_restore', ['--list', dumpFile]).toString();

  const tables = await withPg(dbName, async (c) =>
    (
      await c.query<{ t: string }>(
        `select schemaname || '.' || tablename as t from pg_tables where schemaname not in ('pg_catalog','information_schema') order by 1`,
      )
    ).rows.map((r) => r.t),
  );
  expect(tables.length).toBe(5);
  for (const t of tables) {
    const [schema, name] = t.split('.');
    expect(list).toMatch(new RegExp(`TABLE DATA ${schema!.replace(/"/g, '')} ${name}\\b`));
  }
  // Row counts were taken in the dump's snapshot and equal the source's.
  expect(manifest.rowCounts?.consistency).toBe('same-snapshot');
  expect(manifest.rowCounts?.counted).toBe('snapshot-query');
  for (const t of tables) {
    const [schema, name] = t.split('.');
    const n = await withPg(dbName, async (c) => Number((await c.query(`select count(*) from "${schema}"."${name}"`)).rows[0].count));
    expect(manifest.rowCounts?.tables[t]).toBe(n);
  }
});

test('schema-only and gzip backups are listed newest first from committed manifests only', async () => {
  const schema = await runBackup({ database: 'shop', kind: 'schema' });
  const gz = await runBackup({ database: 'gz' });
  expect(gz.key).toMatch(/\.dump\.gz$/);
  const gzBytes = await getObject(bucket, `prod/${gz.key}`);
  expect(gzBytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  expect(sha256(gzBytes)).toBe(gz.sha256);

  const later = await runBackup({ database: 'shop', kind: 'full' });
  const storage = openStorage(cfg, 'primary');
  const { backups, problems } = await listBackups(storage, 'shop');
  expect(problems).toEqual([]);
  const ids = backups.map((b) => b.backupId);
  expect(ids.indexOf(later.backupId)).toBeLessThan(ids.indexOf(schema.backupId));
  expect(backups.find((b) => b.backupId === schema.backupId)?.rowCounts).toBeNull();
  expect(backups.every((b) => b.database === 'shop')).toBe(true);
  // An artifact without a manifest is not a backup.
  await storage.put('shop/backups/20000101T000000Z-full-orphan/x.dump.zst', 'garbage');
  const again = await listBackups(storage, 'shop');
  expect(again.backups.map((b) => b.backupId)).not.toContain('20000101T000000Z-full-orphan');
});

test('a wrong password fails at once with a non-retryable error naming the database, and commits nothing', async () => {
  const id = uniqueName('backup-badpass');
  const err = await runBackup({ database: 'badpass' }, id).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activityFailure = (err as WorkflowFailedError).cause as { cause?: { type?: string; message?: string; nonRetryable?: boolean } };
  const app = activityFailure.cause!;
  expect(app.type).toBe('AUTH_FAILED');
  expect(app.nonRetryable).toBe(true);
  expect(app.message).toMatch(/badpass/);
  expect(app.message).toMatch(/password authentication failed/);
  // Nothing but the audit record of the failure.
  expect((await listKeys(bucket, 'prod/badpass/')).filter((k) => !k.startsWith('prod/badpass/audit/'))).toEqual([]);
  // It was not retried.
  const history = await w.client.workflow.getHandle(id).fetchHistory();
  const backupEvent = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBackup')!.eventId!.toString();
  const scheduled = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === backupEvent);
  expect(scheduled).toHaveLength(1);
  expect(scheduled[0]!.activityTaskStartedEventAttributes!.attempt).toBe(1);
});

test('invalid workflow input is rejected with a non-retryable INVALID_INPUT failure', async () => {
  const err = await runBackup({ database: 'shop', kind: 'nightly' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message?: string; nonRetryable?: boolean };
  expect(cause.type).toBe('INVALID_INPUT');
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toBe('Invalid input for backupDatabase: kind: expected "full", "schema" or "data"');

  const unknown = await runBackup({ database: 'nosuchdb' }).catch((e: unknown) => e);
  const app = ((unknown as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } }).cause!;
  expect(app.type).toBe('UNKNOWN_DATABASE');
  expect(app.message).toMatch(/Unknown database "nosuchdb"/);
});

test('workflow history, worker logs and the error path never contain the database password', async () => {
  const id = uniqueName('backup-secret');
  await runBackup({ database: 'shop' }, id);
  const badId = uniqueName('backup-secret-bad');
  await runBackup({ database: 'badpass' }, badId).catch(() => undefined);
  for (const wid of [id, badId]) {
    const history = JSON.stringify(await w.client.workflow.getHandle(wid).fetchHistory());
    expect(history).not.toContain(role.password);
    expect(history).not.toContain('definitely-wrong-password');
    expect(history).not.toContain(encodeURIComponent(role.password));
  }
  const logs = w.lines.join('');
  expect(logs).toContain('backup committed');
  expect(logs).not.toContain(role.password);
  expect(logs).not.toContain('definitely-wrong-password');
});

test('pg_dump killed midway: the attempt fails, its upload is aborted, and the retry commits exactly one backup', async () => {
  // A bigger database compressed at zstd -19 keeps pg_dump alive long enough to be killed mid-stream.
  const bigDb = uniqueName('lb_big');
  await createSampleDatabase(services().pg.adminUrl, bigDb, 4);
  const bigCfg = testConfig({ bucket, prefix: 'kill/', databases: { big: { url: pgUrl(bigDb, role), compression: { codec: 'zstd', level: 19 } } } });
  const bw = await startWorker(bigCfg, { heartbeatIntervalMs: 300 });
  try {
    const id = uniqueName('backup-kill');
    const handle = await bw.client.workflow.start('backupDatabase', { taskQueue: bigCfg.temporal.taskQueue, workflowId: id, args: [{ database: 'big' }] });
    // Wait until the dump process of this backup has written bytes, then SIGKILL it.
    let killed = false;
    for (let i = 0; i < 1500 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 10));
      killed = killDumpOf(bigDb, 256 * 1024);
    }
    expect(killed).toBe(true);
    // While the retry waits out its backoff, the failed attempt has left nothing behind.
    for (let i = 0; i < 100; i++) {
      const pending = (await handle.describe()).raw.pendingActivities?.[0];
      if (pending?.lastFailure) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const between = await handle.describe();
    expect(between.raw.pendingActivities?.[0]?.lastFailure?.message).toMatch(/Backup of big failed: pg_dump was killed by SIGKILL/);
    expect(await listKeys(bucket, 'kill/big/')).toEqual([]);
    expect(await listMultipart(bucket)).toEqual([]);

    const result = (await handle.result()) as BackupResult;

    const history = await handle.fetchHistory();
    const runBackup = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBackup')!.eventId!.toString();
    const started = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === runBackup);
    // Attempts are recorded on the final started event; the first one failed with the kill.
    expect(started[started.length - 1]!.activityTaskStartedEventAttributes!.attempt).toBe(2);
    const failure = started[started.length - 1]!.activityTaskStartedEventAttributes!.lastFailure;
    expect(failure?.message).toMatch(/pg_dump was killed by SIGKILL/);

    const keys = (await listKeys(bucket, 'kill/big/')).filter((k) => !k.startsWith('kill/big/audit/'));
    expect(keys.filter((k) => k.endsWith('manifest.json'))).toHaveLength(1);
    expect(keys).toHaveLength(2); // one manifest + the one artifact it names
    expect(keys).toContain(`kill/${result.key}`);
    expect(await listMultipart(bucket)).toEqual([]);
  } finally {
    await bw.stop();
  }
}, 180_000);

/**
 * SIGKILLs the pg_dump process dumping `database` (found through its PGDATABASE environment)
 * once it has written at least `minBytes` to its output.
 */
function killDumpOf(database: string, minBytes: number): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'pg_dump') continue;
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      if (!env.includes(`PGDATABASE=${database}`)) continue;
      const written = Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
      if (written < minBytes) return false;
      return spawnSync('kill', ['-KILL', pid]).status === 0;
    } catch {
      /* process gone */
    }
  }
  return false;
}
