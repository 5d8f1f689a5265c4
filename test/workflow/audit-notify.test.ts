// Audit records and notifications sent by the workflows themselves: a real worker, PostgreSQL and
// S3, a real HTTP server in the test as the webhook receiver, the audit log read back from storage.
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { listAudit } from '../../src/audit/log.js';
import type { AuditEntry } from '../../src/audit/schema.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { approveRestoreUpdate, restoreProgressQuery, type BackupResult, type RestoreResult } from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import { createBucket, createRole, pgUrl, repoRoot, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: string;
  body: { type: string; id: string; database: string | null; summary: string; workflow: { workflowId: string } | null; facts: Record<string, unknown> };
}

const HMAC = `hmac-${uniqueName('k')}`;
const received: Received[] = [];
let receiver: http.Server;
let w: RunningWorker;
let cfg: LifeboatConfig;
let bucket: string;
const db = { shop: uniqueName('lb_an_shop'), staging: uniqueName('lb_an_staging') };

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as Received['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const port = (receiver.address() as AddressInfo).port;
  bucket = await createBucket('lb-an');
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, db.shop, 0.05);
  await withPg('postgres', (c) => c.query(`create database ${db.staging}`));
  await withPg(db.staging, (c) => c.query(`create table keep_me (id int primary key); insert into keep_me values (1)`));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-an-'));
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(
    path.join(dir, 'runbooks', 'an-short.yaml'),
    `name: an-short\nparams:\n  database: { type: string, required: true }\nsteps:\n  - id: nap\n    type: wait\n    with: { duration: 1s }\n`,
  );
  cfg = testConfig({
    bucket,
    databases: {
      anshop: { url: pgUrl(db.shop, role), extra: { verify: { checks: [{ name: 'no customers', sql: 'select count(*) = 0 from shop.customers' }] } } },
      anbroken: { url: pgUrl(db.shop, { name: role.name, password: 'wrong-password' }) },
    },
  });
  process.env.LB_AN_HMAC = HMAC;
  process.env.LB_AN_STAGING_URL = pgUrl(db.staging, role);
  cfg.targets = { staging: { engine: 'postgres', url: { env: 'LB_AN_STAGING_URL' }, protected: true } } as LifeboatConfig['targets'];
  cfg.approvers = ['alice'];
  cfg.runbooks = { ...cfg.runbooks, paths: [path.join(dir, 'runbooks')] } as LifeboatConfig['runbooks'];
  cfg.notifications = {
    channels: { hook: { type: 'webhook', url: `http://127.0.0.1:${port}/hook`, secret: { env: 'LB_AN_HMAC' }, timeout: '10s' } },
    routes: [{ channels: ['hook'] }],
  };
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
  await new Promise((r) => receiver?.close(r));
});

const start = (workflow: string, input: unknown) =>
  w.client.workflow.start(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] });
const auditOf = async (database: string): Promise<AuditEntry[]> => (await listAudit(openStorage(cfg, 'primary'), { database })).entries;
const of = (workflowId: string) => received.filter((r) => r.body.workflow?.workflowId === workflowId);

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a failed backup is audited with its starter and notified once at the webhook, signed; a good one is audited', async () => {
  const failed = await start('backupDatabase', { database: 'anbroken' });
  await expect(failed.result()).rejects.toThrow();
  const [hook, ...more] = of(failed.workflowId);
  expect(more).toEqual([]);
  expect(hook!.path).toBe('/hook');
  expect(hook!.headers['x-lifeboat-event']).toBe('backup-failed');
  expect(hook!.headers['x-lifeboat-signature']).toBe(`sha256=${createHmac('sha256', HMAC).update(hook!.raw).digest('hex')}`);
  expect(hook!.body).toMatchObject({ type: 'backup-failed', database: 'anbroken', facts: { kind: 'full' } });
  expect(hook!.body.summary).toMatch(/^Backup of anbroken \(full\) failed: Connection to anbroken failed: authentication rejected/);
  expect(hook!.raw).not.toContain('wrong-password');

  const [record] = await auditOf('anbroken');
  expect(record).toMatchObject({
    action: 'backup',
    outcome: 'failed',
    database: 'anbroken',
    actor: { source: 'temporal-identity', identity: expect.stringMatching(/@/) },
    workflow: { workflowId: failed.workflowId, runId: failed.firstExecutionRunId, workflowType: 'backupDatabase' },
  });
  expect(JSON.stringify(record)).not.toContain('wrong-password');

  const good = await start('backupDatabase', { database: 'anshop' });
  const b = (await good.result()) as BackupResult;
  expect(of(good.workflowId)).toEqual([]);
  expect((await auditOf('anshop')).find((e) => e.workflow?.workflowId === good.workflowId)).toMatchObject({
    action: 'backup',
    outcome: 'succeeded',
    target: { backupId: b.backupId, kind: 'full', storage: 'primary' },
    details: { bytes: b.bytes, rawBytes: b.rawBytes },
  });
});

test('a restore waiting for approval notifies; the approval is audited with the typed name and the identity that sent it', async () => {
  // In place: anshop's verify.checks fail on purpose (below), and a swap would run them first.
  const handle = await start('restoreDatabase', {
    database: 'anshop',
    target: 'staging',
    approvalTimeout: '2 minutes',
    requestedBy: 'bob',
    overwrite: 'in-place',
  });
  const waiting = await until('approval-needed at the receiver', () => of(handle.workflowId)[0]);
  expect(waiting.body).toMatchObject({ type: 'approval-needed', database: 'anshop', facts: { target: 'staging' } });
  expect((await handle.query(restoreProgressQuery)).phase).toBe('awaiting-approval');
  const alice = new Client({ connection: w.client.connection, namespace: cfg.temporal.namespace, identity: 'alice@ops-laptop' });
  await alice.workflow.getHandle(handle.workflowId).executeUpdate(approveRestoreUpdate, { args: [{ approver: 'alice', target: 'staging' }] });
  const r = (await handle.result()) as RestoreResult;
  expect(r.approvedBy).toBe('alice');

  const mine = (await auditOf('anshop')).filter((e) => e.workflow?.workflowId === handle.workflowId);
  const actor = { name: 'alice', source: 'approval', identity: 'alice@ops-laptop' };
  expect(mine.map((e) => [e.action, e.outcome])).toEqual([
    ['approval', 'approved'],
    ['restore', 'succeeded'],
  ]);
  expect(mine[0]).toMatchObject({ actor, target: { database: 'staging', backupId: r.backupId } });
  expect(mine[1]).toMatchObject({ actor, target: { database: 'staging', backupId: r.backupId, kind: 'full' }, details: { mode: 'full', created: false } });
});

test('a failed verification is audited and notified (verify-failed) with the failing check', async () => {
  const handle = await start('verifyBackup', { database: 'anshop' });
  await expect(handle.result()).rejects.toThrow('Workflow execution failed');
  const [hook, ...more] = of(handle.workflowId);
  expect(more).toEqual([]);
  expect(hook!.body).toMatchObject({ type: 'verify-failed', database: 'anshop' });
  expect(hook!.body.summary).toMatch(/^Verification of anshop backup \S+ failed: check "no customers" returned false/);
  expect((await auditOf('anshop')).find((e) => e.workflow?.workflowId === handle.workflowId)).toMatchObject({
    action: 'verify',
    outcome: 'failed',
    details: { checks: expect.arrayContaining(['no customers: FAILED', 'restore: ok']) },
  });
});

test('a live runbook run is recorded like a drill, its steps audited, and its end notified (runbook-finished)', async () => {
  const handle = await start('runRunbook', { runbook: 'an-short', params: { database: 'anshop' }, drill: false });
  await handle.result();
  const [hook] = of(handle.workflowId);
  expect(hook!.body).toMatchObject({
    type: 'runbook-finished',
    database: 'anshop',
    summary: 'Runbook an-short succeeded',
    facts: { status: 'succeeded', drill: false },
  });
  const steps = (await auditOf('anshop')).filter((e) => e.workflow?.workflowId === handle.workflowId);
  expect(steps).toEqual([expect.objectContaining({ action: 'runbook-step', outcome: 'succeeded', target: { runbook: 'an-short', step: 'nap' } })]);
  const runs = await openStorage(cfg, 'primary').list('runbooks/an-short/runs/');
  expect(runs.map((o) => o.key)).toEqual([expect.stringMatching(/-live-/)]);
});

/** Runs the CLI with a configuration of the same storage and a Temporal address nothing listens on. */
async function cliWithoutTemporal(databases: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const s = services();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-an-cli-'));
  const file = path.join(dir, 'lifeboat.yaml');
  writeFileSync(
    file,
    `temporal: { address: "127.0.0.1:1", taskQueue: nobody }
storage:
  primary: { type: s3, bucket: ${bucket}, endpoint: ${s.s3.endpoint}, region: ${s.s3.region}, forcePathStyle: true, accessKeyId: ${s.s3.accessKeyId}, secretAccessKey: { env: LB_AN_CLI_S3 } }
databases: ${databases}
`,
  );
  const env = { ...process.env, LB_AN_CLI_S3: s.s3.secretAccessKey };
  const bin = path.join(repoRoot, 'bin', 'lifeboat.js');
  return promisify(execFile)(process.execPath, [bin, '--config', file, ...args], { env, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

test('with Temporal down, `lifeboat audit` lists the approved restore with its approver and identity, and `lifeboat status` reads the health from storage', async () => {
  const dbs =
    '{ anshop: { engine: postgres, url: { env: LB_AN_UNSET } }, anbroken: { engine: postgres, url: { env: LB_AN_UNSET }, environment: development } }';
  const audit = await cliWithoutTemporal(dbs, 'audit', '--database', 'anshop', '--action', 'restore', '--action', 'approval', '--since', '1h', '--json');
  expect(audit.code).toBe(0);
  const entries = JSON.parse(audit.stdout) as AuditEntry[];
  expect(entries.map((e) => [e.action, e.outcome, e.actor.name, e.actor.identity])).toEqual([
    ['approval', 'approved', 'alice', 'alice@ops-laptop'],
    ['restore', 'succeeded', 'alice', 'alice@ops-laptop'],
  ]);
  const text = await cliWithoutTemporal(dbs, 'audit', '--since', '1h');
  expect(text.code).toBe(0);
  expect(text.stdout.split('\n')[0]).toMatch(/^TIME\s+DATABASE\s+ACTION\s+OUTCOME\s+ACTOR\s+TARGET\s+WORKFLOW$/);
  expect(text.stdout).toMatch(/restore\s+succeeded\s+alice \(alice@ops-laptop\)\s+staging /);
  expect(text.stdout).toMatch(/anbroken\s+backup\s+failed/);
  expect((await cliWithoutTemporal(dbs, 'audit', '--since', 'yesterday')).stderr).toMatch(/^Invalid --since "yesterday": expected an ISO time/);

  // anshop's last verification failed: a production database is unhealthy, so exit 1.
  const status = await cliWithoutTemporal(dbs, 'status', '--json');
  expect(status.code).toBe(1);
  const report = JSON.parse(status.stdout) as { status: string; databases: Array<{ database: string; status: string; problems: Array<{ kind: string }> }> };
  expect(report.status).toBe('unhealthy');
  expect(report.databases.find((d) => d.database === 'anshop')!.problems.map((p) => p.kind)).toContain('verify-failed');
  const table = await cliWithoutTemporal(dbs, 'status');
  expect(table.code).toBe(1);
  expect(table.stdout).toMatch(/^DATABASE\s+ENV\s+STATUS/);
  expect(table.stdout).toMatch(/anshop\s+production\s+unhealthy/);
  expect(table.stdout).not.toContain('\u001b['); // no colour when stdout is not a terminal

  // Only a development database (never makes the fleet unhealthy): exit 0, its problems still shown.
  const dev = await cliWithoutTemporal('{ anbroken: { engine: postgres, url: { env: LB_AN_UNSET }, environment: development } }', 'status');
  expect(dev.code).toBe(0);
  expect(dev.stdout).toMatch(/anbroken\s+development\s+unhealthy/);
  expect(dev.stdout).toMatch(/Overall: healthy/);
});
