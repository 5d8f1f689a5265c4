import { createHash } from 'node:crypto';
import { mkdtempSync, utimesSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { type WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { listBackups } from '../../src/catalog/catalog.js';
import { main } from '../../src/cli/main.js';
import { openStorage } from '../../src/storage/index.js';
import type { PurgeAuditRecord, PurgeResult, PurgeState } from '../../src/contracts/index.js';
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { sweepOrphans } from '../../src/retention/prune.js';
import { createBucket, listMultipart, s3Client, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

// GDPR purge on every copy: approval by an allowed approver (not the requester), database typed
// out, audit record on every target.

let cfg: ReturnType<typeof testConfig>;
let w: RunningWorker;
let localDir: string;
let configFile: string;

async function commit(storageName: string, startedAt: string, database = 'shop'): Promise<string> {
  const s = openStorage(cfg, storageName);
  const id = `${startedAt.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-full-${createHash('sha1').update(startedAt).digest('hex').slice(0, 8)}`;
  const body = Buffer.from(`personal data as of ${startedAt}`);
  const key = `${database}/backups/${id}/${id}.a1-000000.dump.zst`;
  await s.put(key, body);
  const manifest = {
    formatVersion: 1,
    backupId: id,
    database,
    kind: 'full',
    engine: 'postgres',
    provider: 'self-hosted',
    format: 'pg_dump-custom',
    server: { version: '15.0' },
    tool: { name: 'pg_dump', version: '15.0' },
    startedAt,
    finishedAt: startedAt,
    durationMs: 1,
    rawBytes: body.length,
    artifact: {
      storage: storageName,
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
  await s.putIfAbsent(`${database}/backups/${id}/manifest.json`, JSON.stringify(manifest));
  return id;
}

const OLD = ['2024-03-01T02:00:00.000Z', '2024-06-01T02:00:00.000Z', '2024-12-31T23:59:00.000Z'];
const NEW = ['2026-01-15T02:00:00.000Z', '2026-02-15T02:00:00.000Z'];
const BEFORE = '2025-01-01T00:00:00.000Z';

beforeAll(async () => {
  const bucket = await createBucket('lb-purge');
  localDir = mkdtempSync(path.join(os.tmpdir(), 'lb-purge-'));
  cfg = testConfig({
    bucket,
    extraStorage: { local: { type: 'filesystem', path: localDir } },
    databases: {
      shop: {
        url: 'postgres://nobody@127.0.0.1:1/none',
        extra: { storage: ['primary', 'local'], retention: { purgeApprovers: ['alice', 'bob', os.userInfo().username] } },
      },
      open: { url: 'postgres://nobody@127.0.0.1:1/none', extra: { storage: ['primary'] } },
    },
  });
  for (const t of [...OLD, ...NEW]) for (const s of ['primary', 'local']) await commit(s, t);
  // A leftover artifact from 2024 (no manifest) on the filesystem copy.
  const leftover = path.join(localDir, 'shop', 'backups', 'abandoned', 'abandoned.a1-1.dump.zst');
  mkdirSync(path.dirname(leftover), { recursive: true });
  writeFileSync(leftover, 'personal data');
  utimesSync(leftover, new Date('2024-05-05T00:00:00Z'), new Date('2024-05-05T00:00:00Z'));
  configFile = path.join(localDir, '..', `${path.basename(localDir)}.json`);
  const { sourcePath: _s, ...raw } = cfg;
  writeFileSync(configFile, JSON.stringify(raw));
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const se = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (err.push(String(c)), true));
  try {
    const code = await main(['node', 'lifeboat', '--config', configFile, ...args]);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

async function awaitingApproval(handle: WorkflowHandle): Promise<PurgeState> {
  for (let i = 0; i < 200; i++) {
    const s = await handle.query<PurgeState>('progress').catch(() => undefined);
    if (s && s.phase !== 'planning') return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('purge never reached approval');
}

const ids = async (storage: string) => (await listBackups(openStorage(cfg, storage), 'shop')).backups.map((b) => b.startedAt).sort();

test('a dry run lists every copy older than the time and deletes nothing', async () => {
  const r = await w.client.workflow.execute<(i: unknown) => Promise<PurgeResult>>('purgeBackups', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('purge-dry'),
    args: [{ database: 'shop', before: BEFORE, dryRun: true }],
  });
  expect(r.plan.map((t) => [t.storage, t.backups.map((b) => b.startedAt), t.leftovers, t.remaining])).toEqual([
    ['primary', [...OLD].reverse(), 0, 2],
    ['local', [...OLD].reverse(), 1, 2],
  ]);
  expect(r.targets).toEqual([]);
  expect(await ids('primary')).toEqual([...OLD, ...NEW]);
});

test('approval: wrong approver, the requester and a mistyped database are refused; an allowed approver via the CLI purges every copy and leaves an audit record', async () => {
  const handle = await w.client.workflow.start('purgeBackups', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('purge'),
    args: [{ database: 'shop', before: BEFORE, reason: 'erasure request 4711', requestedBy: 'alice', approvalTimeout: '10 minutes' }],
    memo: { database: 'shop' },
  });
  const state = await awaitingApproval(handle);
  expect(state).toMatchObject({ phase: 'awaiting-approval', approvers: ['alice', 'bob', os.userInfo().username] });
  const refused = async (arg: unknown) => {
    const e = await handle.executeUpdate('approve', { args: [arg] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(WorkflowUpdateFailedError);
    return ((e as WorkflowUpdateFailedError).cause as Error).message;
  };
  expect(await refused({ approver: 'mallory', database: 'shop' })).toBe(
    `Approval rejected: mallory may not approve purges of shop (allowed: alice, bob, ${os.userInfo().username})`,
  );
  expect(await refused({ approver: 'alice', database: 'shop' })).toBe('Approval rejected: alice requested this purge and may not approve it');
  expect(await refused({ approver: 'bob', database: 'shops' })).toBe('Approval rejected: the database typed out ("shops") is not "shop"');
  expect(await ids('primary')).toEqual([...OLD, ...NEW]); // refused approvals touched nothing

  const typo = await cli(['purge', 'shop', '--approve', 'shpo', '--id', handle.workflowId]);
  expect(typo).toMatchObject({ code: 2, err: 'Approval refused: --approve must repeat the database name "shop" (got "shpo")\n' });

  // The CLI approves as the OS user (an allowed approver here), never as a name typed out.
  const asSomeoneElse = await cli(['purge', 'shop', '--approve', 'shop', '--approver', 'bob', '--id', handle.workflowId]);
  expect(asSomeoneElse).toMatchObject({ code: 2, err: expect.stringContaining('--approver bob refused: approvals are made as the OS user') });
  const ok = await cli(['purge', 'shop', '--approve', 'shop', '--wait']);
  expect(ok.err).toContain(`Approved by ${os.userInfo().username}.`);
  expect(ok.out).toMatch(new RegExp(`^Purged shop before 2025-01-01T00:00:00.000Z, approved by ${os.userInfo().username}:`));
  expect(ok.code).toBe(0);
  const result = (await handle.result()) as PurgeResult;
  expect(result.targets.map((t) => [t.storage, t.deleted.length, t.leftovers])).toEqual([
    ['primary', 3, 0],
    ['local', 3, 1],
  ]);
  expect(await ids('primary')).toEqual(NEW);
  expect(await ids('local')).toEqual(NEW);
  expect(existsSync(path.join(localDir, 'shop', 'backups', 'abandoned', 'abandoned.a1-1.dump.zst'))).toBe(false);

  for (const s of ['primary', 'local']) {
    const storage = openStorage(cfg, s);
    const all = (await storage.list('shop/audit/')).map((o) => o.key);
    // The approval has its own record too (with the identity that sent it); purge's record is one.
    expect(all.filter((k) => /-approval-approved-[0-9a-f]{12}\.json$/.test(k))).toHaveLength(1);
    const audit = all.filter((k) => k.endsWith('-purge.json'));
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatch(/^shop\/audit\/\d{8}T\d{6}Z-purge\.json$/);
    const record = JSON.parse((await storage.getBuffer(audit[0]!)).toString()) as PurgeAuditRecord;
    expect(record).toMatchObject({
      action: 'purge',
      database: 'shop',
      before: BEFORE,
      reason: 'erasure request 4711',
      requestedBy: 'alice',
      approvedBy: os.userInfo().username,
      status: 'completed',
    });
    expect(record.targets.map((t) => t.deleted.length)).toEqual([3, 3]);
  }
});

test('without approval in time nothing is deleted; without approvers a purge cannot even start waiting', async () => {
  const run = (database: string, approvalTimeout: string) =>
    w.client.workflow
      .execute('purgeBackups', {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: uniqueName('purge-timeout'),
        args: [{ database, before: new Date().toISOString(), approvalTimeout }],
      })
      .catch((e: unknown) => (e as WorkflowFailedError).cause as { type?: string; message?: string });
  const before = await ids('primary');
  const timedOut = await run('shop', '2s');
  expect(timedOut).toMatchObject({
    type: 'NOT_APPROVED',
    message: `Purge not approved: no approval within 2s (approvers: alice, bob, ${os.userInfo().username}); nothing deleted`,
  });
  expect(await ids('primary')).toEqual(before);
  // `open` has no approvers (neither retention.purgeApprovers nor approvers): refused at once.
  await commit('primary', '2024-01-01T00:00:00.000Z', 'open');
  const noApprovers = await run('open', '1 hour');
  expect(noApprovers).toMatchObject({
    type: 'NOT_APPROVED',
    message: 'Purge not approved: nobody may approve purges of open (set retention.purgeApprovers or approvers); nothing deleted',
  });
  expect((await listBackups(openStorage(cfg, 'primary'), 'open')).backups).toHaveLength(1);
});

test('the orphan sweep aborts multipart uploads initiated before the grace, unless their backup started within it', async () => {
  const storage = openStorage(cfg, 'primary');
  const bucket = (cfg.storage.primary as { bucket: string }).bucket;
  const id = (t: Date) =>
    `${t
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, '')}-full-deadbeef`;
  const keyOf = (b: string) => `shop/backups/${b}/${b}.a1-abcdef.dump.zst`;
  const hour = 3_600_000;
  const grace = 48 * hour;
  const now = Date.now();
  const old = id(new Date('2024-01-01T00:00:00Z'));
  const current = id(new Date(now));
  // A backup id 48.5 h ahead: seen from `now + 49 h`, that backup started within the grace although
  // the server says its upload was initiated before the cutoff (as with a server clock behind ours,
  // or a server that reports a fixed initiation time).
  const ahead = id(new Date(now + 48.5 * hour));
  for (const b of [old, current, ahead]) await s3Client().send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: keyOf(b) }));
  const listed = await storage.listIncompleteUploads('shop/');
  expect(listed).toHaveLength(3);
  // The server reports the real initiation time (moto reported 2010 for every upload).
  for (const u of listed) expect(Math.abs(u.initiated!.getTime() - now)).toBeLessThan(10 * 60_000);

  // Initiated within the grace: nothing is aborted, whatever the time in the backup id.
  const fresh = await sweepOrphans(storage, 'shop', { now, graceMs: grace, dryRun: false });
  expect(fresh.uploads).toEqual([]);
  expect(fresh.objects).toEqual([]); // committed backups are never orphans
  expect((await listMultipart(bucket)).sort()).toEqual([keyOf(old), keyOf(current), keyOf(ahead)].sort());

  const later = await sweepOrphans(storage, 'shop', { now: now + 49 * hour, graceMs: grace, dryRun: false });
  expect(later.uploads.map((u) => u.key).sort()).toEqual([keyOf(old), keyOf(current)].sort());
  expect(await listMultipart(bucket)).toEqual([keyOf(ahead)]);

  const last = await sweepOrphans(storage, 'shop', { now: now + 97 * hour, graceMs: grace, dryRun: false });
  expect(last.uploads.map((u) => u.key)).toEqual([keyOf(ahead)]);
  expect(await listMultipart(bucket)).toEqual([]);
});
