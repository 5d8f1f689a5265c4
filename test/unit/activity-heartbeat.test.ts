// Activities outside a worker, in @temporalio/testing's MockActivityEnvironment: the heartbeat
// shapes `--wait` renders, and cancellation, with the real failure interceptor and a real
// filesystem storage target.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CancelledFailure, Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../activities/index.js';
import { withHeartbeat } from '../../activities/context.js';
import { SafeFailureInterceptor } from '../../activities/failures.js';
import { readManifest } from '../../src/catalog/catalog.js';
import { keys } from '../../src/catalog/manifest.js';
import { parseConfig } from '../../src/config/load.js';
import type { CopyHeartbeat, CopyResult } from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import { captureLogger } from '../harness/services.js';

const BACKUP_ID = '20261123T020000Z-full-1a2b3c4d';

function mockEnv(activityType: string): { env: MockActivityEnvironment; beats: unknown[] } {
  const env = new MockActivityEnvironment(
    { activityType, workflowExecution: { workflowId: 'backup:orders:full:2026-11-23T02:00:00Z', runId: '01a20000-0000-7000-8000-000000000001' } },
    { interceptors: [() => ({ inbound: new SafeFailureInterceptor() })], logger: new DefaultLogger('ERROR') },
  );
  const beats: unknown[] = [];
  env.on('heartbeat', (d: unknown) => beats.push(d));
  return { env, beats };
}

const until = async (what: string, pred: () => boolean) => {
  for (let i = 0; i < 400 && !pred(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!pred()) throw new Error(`${what} did not happen within 2 s`);
};

test('withHeartbeat beats the typed state at once and on every interval, and stops when the work is cancelled', async () => {
  const { env, beats } = mockEnv('copyBackupToTarget');
  let bytes = 0;
  const state = (): CopyHeartbeat => ({ activity: 'copy', phase: 'copying', to: 'offsite', bytes, totalBytes: 1000, elapsedMs: bytes });
  const work = env.run(() =>
    withHeartbeat(5, state, async () => {
      for (;;) {
        bytes += 10;
        await Context.current().sleep(2);
      }
    }),
  );
  expect(beats[0]).toEqual({ activity: 'copy', phase: 'copying', to: 'offsite', bytes: 0, totalBytes: 1000, elapsedMs: 0 });
  await until('three heartbeats', () => beats.length >= 3);
  env.cancel();
  await expect(work).rejects.toBeInstanceOf(CancelledFailure);
  const seen = beats.length;
  await new Promise((r) => setTimeout(r, 30));
  expect(beats.length).toBe(seen); // the interval timer is gone
  const progress = (beats as CopyHeartbeat[]).map((b) => b.bytes);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  expect(progress.at(-1)).toBeGreaterThan(0);
});

describe('copyBackupToTarget against filesystem storage targets', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-activity-'));
  const cfg = parseConfig({
    storage: { primary: { type: 'filesystem', path: path.join(dir, 'primary') }, spare: { type: 'filesystem', path: path.join(dir, 'spare') } },
    databases: { orders: { engine: 'postgres', url: 'postgres://nobody@127.0.0.1:1/orders', storage: ['primary', 'spare'] } },
  });
  const body = randomBytes(48 << 20);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const activities = createActivities({ config: cfg, logger: captureLogger().logger, heartbeatIntervalMs: 1 });
  const input = { database: 'orders', backupId: BACKUP_ID, from: 'primary', to: 'spare' };
  const filesOnSpare = () => {
    const d = path.join(dir, 'spare', 'orders', 'backups', BACKUP_ID);
    try {
      return readdirSync(d);
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    const primary = openStorage(cfg, 'primary');
    const key = keys.artifact('orders', BACKUP_ID, 'a1-000000', '.dump.zst');
    await primary.put(key, body);
    const manifest = {
      formatVersion: 1,
      backupId: BACKUP_ID,
      database: 'orders',
      kind: 'full',
      engine: 'postgres',
      provider: 'self-hosted',
      format: 'pg_dump-custom',
      server: { version: '15.0' },
      tool: { name: 'pg_dump', version: '15.0' },
      startedAt: '2026-11-23T02:00:00.000Z',
      finishedAt: '2026-11-23T02:00:01.000Z',
      durationMs: 1000,
      rawBytes: body.length,
      rowCounts: null,
      workflow: { workflowId: 'synthetic', runId: 'synthetic', attempt: 1 },
      lifeboatVersion: 'test',
      artifact: { storage: 'primary', key, bytes: body.length, sha256, compression: { codec: 'zstd', level: 1 }, encryption: null },
    };
    await primary.putIfAbsent(keys.manifest('orders', BACKUP_ID), JSON.stringify(manifest));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a copy cancelled mid-stream ends cancelled and leaves nothing on the destination', async () => {
    const { env, beats } = mockEnv('copyBackupToTarget');
    env.on('heartbeat', (d: CopyHeartbeat) => {
      if (d.bytes > 0) env.cancel();
    });
    await expect(env.run(activities.copyBackupToTarget, input)).rejects.toBeInstanceOf(CancelledFailure);
    const moving = (beats as CopyHeartbeat[]).find((b) => b.bytes > 0)!;
    expect(moving).toMatchObject({ activity: 'copy', phase: 'copying', to: 'spare', totalBytes: body.length });
    expect(moving.bytes).toBeLessThan(body.length);
    expect(filesOnSpare()).toEqual([]);
  });

  test('a copy heartbeats bytes of the artifact size and commits the manifest last', async () => {
    const { env, beats } = mockEnv('copyBackupToTarget');
    const result: CopyResult = await env.run(activities.copyBackupToTarget, input);
    expect(result).toMatchObject({ storage: 'spare', bytes: body.length, sha256, status: 'copied' });
    expect(beats[0]).toEqual({ activity: 'copy', phase: 'copying', to: 'spare', bytes: 0, totalBytes: 0, elapsedMs: expect.any(Number) });
    for (const b of beats as CopyHeartbeat[]) {
      expect(Object.keys(b).sort()).toEqual(['activity', 'bytes', 'elapsedMs', 'phase', 'to', 'totalBytes']);
      expect(b.bytes).toBeLessThanOrEqual(body.length);
    }
    expect(await readManifest(openStorage(cfg, 'spare'), 'orders', BACKUP_ID)).toMatchObject({
      artifact: { storage: 'spare', key: result.key, sha256 },
      copy: { from: 'primary' },
    });
    expect(filesOnSpare().sort()).toEqual([path.basename(result.key), 'manifest.json'].sort());
  });
});
