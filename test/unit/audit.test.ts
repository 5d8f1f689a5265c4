import { mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendAudit, listAudit, recordAudit } from '../../src/audit/log.js';
import type { AuditEvent } from '../../src/audit/schema.js';
import { parseConfig } from '../../src/config/load.js';
import { registerSecret } from '../../src/config/secrets.js';
import { FilesystemStorage } from '../../src/storage/filesystem.js';
import type { PurgeAuditRecord } from '../../src/contracts/index.js';

function storage(): { dir: string; s: FilesystemStorage } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-audit-'));
  return { dir, s: new FilesystemStorage('primary', { type: 'filesystem', path: dir, prefix: '' }) };
}

const restore: AuditEvent = {
  action: 'restore',
  outcome: 'succeeded',
  database: 'orders',
  at: '2026-11-23T02:00:05.250Z',
  actor: { name: 'alice', source: 'approval', identity: 'alice@ops-laptop' },
  target: { database: 'orders_restore', backupId: '20261123T020000Z-full-1a2b3c4d' },
  workflow: { workflowId: 'restore:orders:1', runId: 'run-1', workflowType: 'restoreDatabase' },
  details: { mode: 'full', tables: ['public.users'] },
};

test('an event becomes one object <db>/audit/<time>-<action>-<outcome>-<random>.json, never rewritten', async () => {
  const { dir, s } = storage();
  const a = await appendAudit(s, restore);
  const b = await appendAudit(s, restore);
  expect(a.key).toMatch(/^orders\/audit\/20261123T020005Z-restore-succeeded-[0-9a-f]{12}\.json$/);
  expect(b.key).not.toBe(a.key);
  expect([a.written, b.written]).toEqual([true, true]);
  const stored = JSON.parse(readFileSync(path.join(dir, a.key), 'utf8'));
  const { at, ...rest } = restore;
  expect(stored).toEqual({ formatVersion: 1, ...rest, at });
  expect(readdirSync(path.join(dir, 'orders/audit'))).toHaveLength(2);
});

test('with an idempotency key, a retried append writes nothing new', async () => {
  const { dir, s } = storage();
  const first = await appendAudit(s, { ...restore, idempotencyKey: 'wf/run/activity-3' });
  const retry = await appendAudit(s, { ...restore, idempotencyKey: 'wf/run/activity-3' });
  expect(retry).toEqual({ key: first.key, written: false });
  expect(readdirSync(path.join(dir, 'orders/audit'))).toEqual([path.basename(first.key)]);
  expect(JSON.parse(readFileSync(path.join(dir, first.key), 'utf8'))).not.toHaveProperty('idempotencyKey');
});

test('bad events are refused with the field and the problem; secret-looking details are refused, secret values scrubbed', async () => {
  const { dir, s } = storage();
  await expect(appendAudit(s, { ...restore, at: undefined, idempotencyKey: 'k' })).rejects.toThrow(
    'Invalid audit event: at: required with idempotencyKey (a retried append must name the same record)',
  );
  await expect(appendAudit(s, { ...restore, details: { dbPassword: 'x' } })).rejects.toThrow(
    'Invalid audit event: details.dbPassword: looks like a secret; audit details must never carry secrets',
  );
  await expect(appendAudit(s, { ...restore, action: 'drop' as never })).rejects.toMatchObject({
    code: 'INVALID_INPUT',
    message: expect.stringContaining('action: expected one of backup, verify, restore'),
  });
  registerSecret('hunter2-very-secret');
  const { key } = await appendAudit(s, { ...restore, message: 'connected with postgres://bob:hunter2-very-secret@db/orders' });
  const text = readFileSync(path.join(dir, key), 'utf8');
  expect(text).not.toContain('hunter2-very-secret');
  expect(JSON.parse(text).message).toBe('connected with postgres://bob:***@db/orders');
});

test('listAudit filters by database, time and action, reads purge records, reports unreadable ones', async () => {
  const { dir, s } = storage();
  await appendAudit(s, { ...restore, at: '2026-11-20T10:00:00Z' });
  await appendAudit(s, { ...restore, action: 'approval', outcome: 'approved', at: '2026-11-22T10:00:00Z' });
  await appendAudit(s, { ...restore, action: 'backup', outcome: 'failed', at: '2026-11-23T10:00:00Z', target: { kind: 'full' } });
  await appendAudit(s, { ...restore, database: 'billing', at: '2026-11-23T11:00:00Z' });
  const purge: PurgeAuditRecord = {
    formatVersion: 1,
    action: 'purge',
    database: 'orders',
    before: '2026-01-01T00:00:00Z',
    reason: 'erasure request 4711',
    requestedBy: 'bob',
    approvedBy: 'carol',
    approvedAt: '2026-11-21T09:05:00Z',
    status: 'completed',
    workflow: { workflowId: 'purge:orders', runId: 'p1' },
    requestedAt: '2026-11-21T09:00:00Z',
    completedAt: '2026-11-21T09:10:00Z',
    targets: [{ storage: 'primary', deleted: ['b1', 'b2'], leftovers: 1, uploads: 0, bytes: 2048, problems: [] }],
  };
  mkdirSync(path.join(dir, 'orders/audit'), { recursive: true });
  writeFileSync(path.join(dir, 'orders/audit/20261121T090000Z-purge.json'), JSON.stringify(purge));
  writeFileSync(path.join(dir, 'orders/audit/20261123T120000Z-verify-failed-0123456789ab.json'), '{ not json');

  const all = await listAudit(s, { database: 'orders' });
  expect(all.entries.map((e) => `${e.at} ${e.action} ${e.outcome}`)).toEqual([
    '2026-11-20T10:00:00.000Z restore succeeded',
    '2026-11-21T09:10:00Z purge succeeded',
    '2026-11-22T10:00:00.000Z approval approved',
    '2026-11-23T10:00:00.000Z backup failed',
  ]);
  expect(all.problems).toEqual([expect.stringMatching(/^Unreadable audit record: not JSON: .*20261123T120000Z-verify-failed-0123456789ab\.json$/)]);
  expect(all.entries[1]).toMatchObject({
    origin: 'purge-record',
    actor: { name: 'carol', source: 'approval' },
    message: 'erasure request 4711',
    details: { deleted: 2, bytes: 2048, requestedBy: 'bob' },
  });

  expect((await listAudit(s, { database: 'orders', since: new Date('2026-11-22T00:00:00Z') })).entries.map((e) => e.action)).toEqual(['approval', 'backup']);
  expect((await listAudit(s, { database: 'orders', actions: ['backup', 'purge'] })).entries.map((e) => e.action)).toEqual(['purge', 'backup']);
  expect((await listAudit(s)).entries.map((e) => e.database).sort()).toEqual(['billing', 'orders', 'orders', 'orders', 'orders']);
});

test('recordAudit writes the record on every storage target of the database', async () => {
  const a = storage();
  const b = storage();
  const cfg = parseConfig({
    storage: { primary: { type: 'filesystem', path: a.dir }, copy: { type: 'filesystem', path: b.dir } },
    databases: { orders: { engine: 'postgres', url: 'postgres://u@h/orders', storage: ['primary', 'copy'] } },
  });
  const written = await recordAudit(cfg, restore);
  expect(written).toHaveLength(2);
  expect(readdirSync(path.join(a.dir, 'orders/audit'))).toEqual(readdirSync(path.join(b.dir, 'orders/audit')));
});
