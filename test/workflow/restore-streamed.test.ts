import { mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createSampleDatabase } from '../../dev/sample-data.js';
import type { BackupResult, RestoreInput, RestoreResult } from '../../src/contracts/index.js';
import {
  createBucket,
  createRole,
  getObject,
  pgUrl,
  s3Client,
  services,
  startWorker,
  testConfig,
  uniqueName,
  withPg,
  type RunningWorker,
} from '../harness/services.js';
import { databaseExists, failureOf } from '../harness/assertions.js';

const STREAMED = 'streamed from storage into the restore tool (no temporary file)';

let bucket: string;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let tempDir: string;
const source = uniqueName('lb_stream');

beforeAll(async () => {
  bucket = await createBucket();
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, source, 0.2);
  cfg = testConfig({
    bucket,
    databases: {
      zstd: { url: pgUrl(source, role) },
      // Uncompressed: a flipped byte in a row still restores; only the checksum at the end can tell.
      plain: { url: pgUrl(source, role), compression: { codec: 'none' } },
    },
  });
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'lb-stream-tmp-'));
  cfg.restore = { ...cfg.restore, tempDir };
  w = await startWorker(cfg, { heartbeatIntervalMs: 300 });
});

afterAll(async () => {
  await w?.stop();
});

const run = <T>(workflow: string, input: unknown) =>
  w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] }) as Promise<T>;
const backup = (database: string) => run<BackupResult>('backupDatabase', { database });
const restore = (input: RestoreInput) => run<RestoreResult>('restoreDatabase', input);
const ordersIn = (db: string) => withPg(db, async (c) => (await c.query(`select count(*)::int as n from shop.orders`)).rows[0].n as number);

test('a whole backup streams from S3 into a new database with no temporary file; the row counts match', async () => {
  const b = await backup('zstd');
  const target = uniqueName('lb_streamed');
  const r = await restore({ database: 'zstd', target });
  expect(r.notes).toContain(STREAMED);
  expect(r.created).toBe(true);
  expect(r.rowCounts?.compared).toBeGreaterThan(3);
  expect(r.rowCounts?.mismatches).toEqual([]);
  expect(r.rawBytes).toBeGreaterThan(r.bytes);
  // zstd wrote into pg_restore's stdin itself; its own count of what it decompressed is the dump's size.
  expect(r.rawBytes).toBe(b.rawBytes);
  expect(await ordersIn(target)).toBe(await ordersIn(source));
  expect(readdirSync(tempDir)).toEqual([]);
});

test('with jobs asked for, the restore goes through the checksummed temporary file instead', async () => {
  const target = uniqueName('lb_filed');
  const r = await restore({ database: 'zstd', target, jobs: 2 });
  expect(r.notes).not.toContain(STREAMED);
  expect(r.rowCounts?.mismatches).toEqual([]);
  expect(await ordersIn(target)).toBe(await ordersIn(source));
});

/** Backs up `database`, flips a byte of its stored artifact (`at` picks it), restores into a new database: it must fail the checksum and leave nothing. */
async function expectCorruptRestoreDropped(database: string, at: (stored: Buffer) => number, bit: number): Promise<void> {
  const b = await backup(database);
  const stored = await getObject(bucket, b.key);
  const i = at(stored);
  expect(i).toBeGreaterThan(0);
  stored[i] ^= bit;
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: b.key, Body: stored }));

  const target = uniqueName('lb_dropped');
  const f = await failureOf(restore({ database, target }));
  expect(f.type).toBe('CHECKSUM_MISMATCH');
  expect(f.message).toContain(`Restore of ${database} into ${target} failed: checksum mismatch`);
  expect(await databaseExists(target)).toBe(false);
  expect(readdirSync(tempDir)).toEqual([]);
}

test('a flipped byte in a row of an uncompressed artifact restores cleanly but fails the checksum at the end: the new database is dropped', async () => {
  // "example" -> "dxample": still valid text for pg_restore
  await expectCorruptRestoreDropped('plain', (stored) => stored.indexOf(Buffer.from('@example.com')) + 1, 0x01);
});

test('a flipped byte inside a zstd frame: zstd stops the stream into pg_restore, the checksum names the cause, the new database is dropped', async () => {
  await expectCorruptRestoreDropped('zstd', (stored) => Math.floor(stored.length / 2), 0x40);
});
