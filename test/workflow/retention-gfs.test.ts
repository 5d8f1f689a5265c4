import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { WorkflowFailedError } from '@temporalio/client';
import { main } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { listBackups } from '../../src/catalog/catalog.js';
import { openStorage } from '../../src/storage/index.js';
import { deleteBackup } from '../../src/retention/prune.js';
import type { Storage } from '../../src/storage/index.js';
import type { ApplyRetentionResult } from '../../src/contracts/index.js';
import { services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

// A synthetic two-year catalog on a filesystem target, pruned by the real applyRetention workflow.

const DAY = 86_400_000;
let dir: string;
let cfg: LifeboatConfig;
let w: RunningWorker;
let configFile: string;

function backupId(startedAt: string, kind: string): string {
  return `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${kind}-${createHash('sha1')
    .update(startedAt + kind)
    .digest('hex')
    .slice(0, 8)}`;
}

/** Writes a committed backup (artifact + manifest) straight into the target's directory. */
function commit(root: string, database: string, startedAt: string, kind = 'full'): string {
  const id = backupId(startedAt, kind);
  const bdir = path.join(root, database, 'backups', id);
  mkdirSync(bdir, { recursive: true });
  const body = Buffer.from(`dump of ${database} at ${startedAt}`);
  const key = `${database}/backups/${id}/${id}.a1-000000.dump.zst`;
  writeFileSync(path.join(root, key), body);
  const manifest = {
    formatVersion: 1,
    backupId: id,
    database,
    kind,
    engine: 'postgres',
    provider: 'self-hosted',
    format: 'pg_dump-custom',
    server: { version: '15.0' },
    tool: { name: 'pg_dump', version: '15.0' },
    startedAt,
    finishedAt: startedAt,
    durationMs: 1000,
    rawBytes: body.length,
    artifact: {
      storage: 'disk',
      key,
      bytes: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      compression: { codec: 'zstd', level: 1 },
      encryption: null,
    },
    rowCounts: null,
    workflow: { workflowId: 'synthetic', runId: 'synthetic', attempt: 1 },
    lifeboatVersion: 'test',
  };
  writeFileSync(path.join(bdir, 'manifest.json'), JSON.stringify(manifest));
  return id;
}

function verify(root: string, database: string, id: string, outcome: 'passed' | 'failed', verifiedAt: string): void {
  const vdir = path.join(root, database, 'backups', id, 'verifications');
  mkdirSync(vdir, { recursive: true });
  const record = {
    formatVersion: 1,
    database,
    backupId: id,
    verifiedAt,
    outcome,
    checks: [],
    restoreDurationMs: 1000,
    scratchDatabase: 'x',
    workflow: { workflowId: 'v', runId: 'v' },
  };
  writeFileSync(path.join(vdir, `${verifiedAt.replace(/[-:]/g, '')}-${outcome}.json`), JSON.stringify(record));
}

function age(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  utimesSync(file, t, t);
}

const iso = (day: string, time = '02:00') => `${day}T${time}:00.000Z`;
function days(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(from); t <= Date.parse(to); t += DAY) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-gfs-'));
  process.env.LB_GFS_UNUSED_URL = 'postgres://nobody@127.0.0.1:1/none';
  const raw = {
    temporal: { address: services().temporal.address, taskQueue: uniqueName('lb-retention') },
    storage: { disk: { type: 'filesystem', path: dir } },
    databases: {
      shop: {
        engine: 'postgres',
        url: { env: 'LB_GFS_UNUSED_URL' },
        retention: { daily: 7, weekly: 5, monthly: 12, yearly: 3, minKeep: 3, freshness: '2000d', kinds: { schema: { keepLast: 4 } } },
      },
      // Backups stopped ten days ago: retention must delete nothing and say so loudly.
      stale: { engine: 'postgres', url: { env: 'LB_GFS_UNUSED_URL' }, retention: { keepLast: 2, minKeep: 1 } },
    },
    log: { level: 'warn' },
  };
  cfg = parseConfig(raw);
  configFile = path.join(dir, 'lifeboat.json');
  writeFileSync(configFile, JSON.stringify(raw));
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

function run(input: unknown): Promise<ApplyRetentionResult> {
  return w.client.workflow.execute('applyRetention', { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName('retention-test'), args: [input] });
}

test('a two-year catalog pruned with GFS keeps exactly the hand-computed set, deletes manifest and artifact, and a second run deletes nothing', async () => {
  const root = dir;
  // Full backups daily at 02:00 through 2024 and 2025, except ten failed days (21-30 June 2025);
  // a second one at 14:00 on the first of each month of 2025 and on 28 December 2025.
  const fullDays = days('2024-01-01', '2025-12-31').filter((d) => !(d >= '2025-06-21' && d <= '2025-06-30'));
  for (const d of fullDays) commit(root, 'shop', iso(d));
  for (let m = 1; m <= 12; m++) commit(root, 'shop', iso(`2025-${String(m).padStart(2, '0')}-01`, '14:00'));
  commit(root, 'shop', iso('2025-12-28', '14:00'));
  // Schema backups every Sunday at 01:00.
  const sundays = days('2024-01-07', '2025-12-28').filter((_d, i) => i % 7 === 0);
  for (const d of sundays) commit(root, 'shop', iso(d, '01:00'), 'schema');
  // Verification records: two passed; two whose latest record failed (corrupt: never counted).
  verify(root, 'shop', backupId(iso('2024-12-31'), 'full'), 'passed', '2025-01-02T00:00:00Z');
  verify(root, 'shop', backupId(iso('2025-03-15'), 'full'), 'passed', '2025-03-16T00:00:00Z');
  verify(root, 'shop', backupId(iso('2025-11-30'), 'full'), 'failed', '2025-12-01T00:00:00Z');
  verify(root, 'shop', backupId(iso('2025-12-21'), 'full'), 'passed', '2025-12-22T00:00:00Z');
  verify(root, 'shop', backupId(iso('2025-12-21'), 'full'), 'failed', '2025-12-29T00:00:00Z');
  verify(root, 'shop', backupId(iso('2025-12-30'), 'full'), 'failed', '2025-12-31T00:00:00Z');
  const total = fullDays.length + 13 + sundays.length;
  expect(total).toBe(838);

  // Written by hand from the policy (daily 7, weekly 5, monthly 12, yearly 3, minKeep 3; schema: last 4).
  const expected: Record<string, string> = {
    '2025-12-31T02:00 full': 'daily 2025-12-31, weekly 2026-W01, monthly 2025-12, yearly 2025, minKeep 3',
    '2025-12-29T02:00 full': 'daily 2025-12-29, minKeep 3', // 30 Dec failed verification: its day does not count
    '2025-12-28T14:00 full': 'daily 2025-12-28, weekly 2025-W52, minKeep 3', // the later of the two that day
    '2025-12-27T02:00 full': 'daily 2025-12-27',
    '2025-12-26T02:00 full': 'daily 2025-12-26',
    '2025-12-25T02:00 full': 'daily 2025-12-25',
    '2025-12-24T02:00 full': 'daily 2025-12-24',
    '2025-12-20T02:00 full': 'weekly 2025-W51', // 21 Dec passed, then failed a later verification
    '2025-12-14T02:00 full': 'weekly 2025-W50',
    '2025-12-07T02:00 full': 'weekly 2025-W49',
    '2025-11-29T02:00 full': 'monthly 2025-11', // 30 Nov failed verification
    '2025-10-31T02:00 full': 'monthly 2025-10',
    '2025-09-30T02:00 full': 'monthly 2025-09',
    '2025-08-31T02:00 full': 'monthly 2025-08',
    '2025-07-31T02:00 full': 'monthly 2025-07',
    '2025-06-20T02:00 full': 'monthly 2025-06', // the last backup before the failed days
    '2025-05-31T02:00 full': 'monthly 2025-05',
    '2025-04-30T02:00 full': 'monthly 2025-04',
    '2025-03-31T02:00 full': 'monthly 2025-03',
    '2025-03-15T02:00 full': 'newest verified',
    '2025-02-28T02:00 full': 'monthly 2025-02',
    '2025-01-31T02:00 full': 'monthly 2025-01',
    '2024-12-31T02:00 full': 'yearly 2024', // only two years exist: yearly 3 keeps two
    '2025-12-28T01:00 schema': 'last 4, minKeep 3',
    '2025-12-21T01:00 schema': 'last 4, minKeep 3',
    '2025-12-14T01:00 schema': 'last 4, minKeep 3',
    '2025-12-07T01:00 schema': 'last 4',
  };
  const label = (e: { startedAt: string; kind: string }) => `${e.startedAt.slice(0, 16)} ${e.kind}`;

  const dry = await run({ database: 'shop', dryRun: true });
  const t = dry.targets[0]!;
  expect(dry.dryRun).toBe(true);
  expect(Object.fromEntries(t.keep.map((e) => [label(e), e.reasons.join(', ')]))).toEqual(expected);
  expect(t.keep.length + t.delete.length).toBe(total);
  expect(t.halted).toEqual([]);
  expect(t.policies).toEqual({
    full: 'daily 7, weekly 5, monthly 12, yearly 3; minKeep 3, fresh 2000d',
    schema: 'last 4; minKeep 3, fresh 2000d',
    data: 'daily 7, weekly 5, monthly 12, yearly 3; minKeep 3, fresh 2000d',
  });
  expect(t.warnings).toContain('no verified schema backup');
  const storage = openStorage(cfg, 'disk');
  expect((await listBackups(storage, 'shop')).backups).toHaveLength(total); // the dry run deleted nothing

  const real = await run({ database: 'shop' });
  expect(real.targets[0]!.delete).toHaveLength(total - Object.keys(expected).length);
  expect(real.targets[0]!.skipped).toEqual([]);
  const left = (await listBackups(storage, 'shop')).backups;
  expect(left.map((m) => label(m)).sort()).toEqual(Object.keys(expected).sort());
  // Nothing but the kept backups' files remain; deleted backups left no artifact behind.
  const files = readdirSync(path.join(root, 'shop', 'backups'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  const owners = new Set(files.map((f) => path.relative(path.join(root, 'shop', 'backups'), f.parentPath).split(path.sep)[0]));
  expect([...owners].sort()).toEqual(left.map((m) => m.backupId).sort());
  for (const m of left) expect(existsSync(path.join(root, m.artifact.key))).toBe(true);

  const again = await run({ database: 'shop' });
  expect(again.targets[0]!.delete).toEqual([]);
  expect(again.targets[0]!.keep).toHaveLength(Object.keys(expected).length);

  // What an operator sees: `lifeboat prune shop --dry-run`.
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  let code: number;
  try {
    code = await main(['node', 'lifeboat', '--config', configFile, 'prune', 'shop', '--dry-run']);
  } finally {
    spy.mockRestore();
  }
  expect(code).toBe(0);
  const text = out.join('');
  expect(text).toMatch(
    /^Retention of shop \(dry run: nothing deleted\), planned at \S+:\n  disk:\n    policy full   daily 7, weekly 5, monthly 12, yearly 3; minKeep 3, fresh 2000d\n/,
  );
  expect(text).toMatch(/keep +\S+-full-\S+ +full +2025-03-15T02:00:00Z +verified +newest verified\n/);
  expect(text).toContain('    27 kept, 0 to delete (0 B), 0 orphan object(s) and 0 unfinished upload(s) to remove');
});

test('orphans: an interrupted deletion, an abandoned attempt and an unfinished upload are swept after the grace period, fresh ones are not', async () => {
  const root = dir;
  const storage = openStorage(cfg, 'disk');
  // A deletion interrupted after its manifest went: the artifact stays, no manifest names it.
  const victim = commit(root, 'shop', iso('2023-06-01'));
  const failing: Storage = Object.create(storage, {
    delete: { value: async (key: string) => (key.endsWith('manifest.json') ? storage.delete(key) : Promise.reject(new Error('worker crashed'))) },
  });
  await expect(deleteBackup(failing, 'shop', victim)).rejects.toThrow('worker crashed');
  expect((await listBackups(storage, 'shop')).backups.map((m) => m.backupId)).not.toContain(victim);
  const leftover = path.join(root, 'shop', 'backups', victim, `${victim}.a1-000000.dump.zst`);
  expect(existsSync(leftover)).toBe(true);
  age(leftover, 3 * DAY);
  // An attempt that never committed, long ago; and one that may still be running.
  mkdirSync(path.join(root, 'shop', 'backups', 'old-attempt'), { recursive: true });
  writeFileSync(path.join(root, 'shop', 'backups', 'old-attempt', 'old-attempt.a1-1.dump.zst'), 'x');
  age(path.join(root, 'shop', 'backups', 'old-attempt', 'old-attempt.a1-1.dump.zst'), 3 * DAY);
  mkdirSync(path.join(root, 'shop', 'backups', 'running'), { recursive: true });
  writeFileSync(path.join(root, 'shop', 'backups', 'running', 'running.a1-1.dump.zst'), 'x');
  // A stray attempt beside a committed backup, and an unfinished upload (partial file).
  const kept = (await listBackups(storage, 'shop')).backups[0]!;
  const stray = path.join(root, 'shop', 'backups', kept.backupId, `${kept.backupId}.a2-ffffff.dump.zst`);
  writeFileSync(stray, 'y');
  age(stray, 3 * DAY);
  const partial = path.join(root, 'shop', 'backups', kept.backupId, `${kept.backupId}.a3-eeeeee.dump.zst.partial-0123456789ab`);
  writeFileSync(partial, 'z');
  age(partial, 3 * DAY);

  const dry = await run({ database: 'shop', dryRun: true });
  expect(dry.targets[0]!.orphans).toMatchObject({ objects: 3, uploads: 1 });
  expect(existsSync(leftover)).toBe(true);

  const real = await run({ database: 'shop' });
  expect(real.targets[0]!.orphans).toMatchObject({ objects: 3, uploads: 1 });
  expect(real.targets[0]!.delete).toEqual([]);
  for (const f of [leftover, stray, partial]) expect(existsSync(f)).toBe(false);
  expect(existsSync(path.join(root, 'shop', 'backups', 'running', 'running.a1-1.dump.zst'))).toBe(true);
  expect(existsSync(path.join(root, kept.artifact.key))).toBe(true);
  expect((await listBackups(storage, 'shop')).backups).toHaveLength(27);
});

test('stale backups halt retention: nothing is deleted, the dry run says why, the real run fails loudly', async () => {
  const ids: string[] = [];
  for (let i = 10; i < 20; i++) ids.push(commit(dir, 'stale', new Date(Date.now() - i * DAY).toISOString()));
  const dry = await run({ database: 'stale', dryRun: true });
  expect(dry.targets[0]!.halted).toEqual([
    {
      kind: 'full',
      reason: 'stale',
      message: expect.stringMatching(/^newest good full backup \S+ is 10d\d*h? old \(freshness bound 1d12h\); nothing deleted$/),
    },
  ]);
  expect(dry.targets[0]!.delete).toEqual([]);
  const err = await run({ database: 'stale' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message?: string; nonRetryable?: boolean };
  expect(cause.type).toBe('RETENTION_HALTED');
  expect(cause.message).toMatch(/^Retention halted for stale: disk: newest good full backup .* nothing deleted$/);
  expect((await listBackups(openStorage(cfg, 'disk'), 'stale')).backups).toHaveLength(10);
});

test('bad input is rejected at once with a clear message', async () => {
  const err = await run({ database: 'shop', dryRun: 'yes' }).catch((e: unknown) => e);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message?: string };
  expect(cause.type).toBe('INVALID_INPUT');
  expect(cause.message).toBe('Invalid input for applyRetention: dryRun: expected true or false');
});
