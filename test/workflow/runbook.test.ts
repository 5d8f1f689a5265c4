import { mkdtempSync, readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type HistoryAndWorkflowId } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { toolPath } from '../../dev/services.js';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { parseConfig } from '../../src/config/load.js';
import { workflowsPath } from '../../src/worker.js';
import type { RunbookProgress, RunbookResult } from '../../src/contracts/runbook.js';
import { createBucket, createRole, getObject, listKeys, pgUrl, repoRoot, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

let w: RunningWorker;
let dir: string;
let taskQueue: string;
let bucket: string;
const marker = () => path.join(dir, 'marks.txt');
const marks = () => (existsSync(marker()) ? readFileSync(marker(), 'utf8').trim().split('\n') : []);

const RUNBOOK = `name: test-basic
description: exercises commands, sql, approval, when, cutover and compensations
params:
  database: { type: string, required: true }
  label: { type: string, default: "\${{ params.database }}-x" }
targets: { rtoMinutes: 60 }
steps:
  - id: first
    type: command
    with: { command: mark, args: ["first"] }
    compensation: { type: command, with: { command: mark, args: ["undo-first"] } }
  - id: check
    type: sql
    with: { database: "\${{ params.database }}", sql: "select count(*) > 0 from shop.orders", assert: true }
  - id: second
    type: command
    with: { command: mark, args: ["second-\${{ params.label }}"] }
    compensation: { type: command, with: { command: mark, args: ["undo-second"] } }
  - id: go
    type: approval
    with: { role: dba }
    timeout: 2m
  - id: never
    type: command
    when: "\${{ params.database == 'nothing' }}"
    with: { command: mark, args: ["never"] }
  - id: final
    type: command
    cutover: true
    with: { command: mark, args: ["final"] }
`;

// A template that renders a bad value; `pause` is good when given as "1s".
const RENDER_RUNBOOK = `name: test-render
params:
  pause: { type: string, default: "soon" }
steps:
  - id: first
    type: command
    with: { command: mark, args: ["render-first"] }
    compensation: { type: command, with: { command: mark, args: ["undo-render-first"] } }
  - id: nap
    type: wait
    with: { duration: "\${{ params.pause }}" }
`;

// An approval nobody gives: escalated after 1 s, timed out after 3 s in all.
const TIMEOUT_RUNBOOK = `name: test-timeout
steps:
  - id: go
    type: approval
    timeout: 3s
    with: { role: dba, escalateAfter: 1s }
`;

// Four eyes asked for by the step itself, on a run that names no database.
const STRICT_RUNBOOK = `name: test-strict
steps:
  - id: go
    type: approval
    with: { role: dba, fourEyes: true }
`;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-runbook-'));
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(path.join(dir, 'runbooks', 'test-basic.yaml'), RUNBOOK);
  writeFileSync(path.join(dir, 'runbooks', 'test-render.yaml'), RENDER_RUNBOOK);
  writeFileSync(path.join(dir, 'runbooks', 'test-timeout.yaml'), TIMEOUT_RUNBOOK);
  writeFileSync(path.join(dir, 'runbooks', 'test-strict.yaml'), STRICT_RUNBOOK);
  const script = path.join(dir, 'mark.cjs');
  writeFileSync(script, "require('fs').appendFileSync(process.argv[2], process.argv[3] + '\\n');\n");
  bucket = await createBucket('lb-rb');
  const role = await createRole('lb_rb');
  const db = uniqueName('lb_rb_shop');
  await createSampleDatabase(services().pg.adminUrl, db, 0.1);
  process.env.LB_RB_URL = pgUrl(db, role);
  process.env.LB_RB_S3 = services().s3.secretAccessKey;
  taskQueue = uniqueName('lb-runbook');
  const cfg = parseConfig({
    temporal: { address: services().temporal.address, taskQueue },
    storage: {
      primary: {
        type: 's3',
        bucket,
        endpoint: services().s3.endpoint,
        forcePathStyle: true,
        accessKeyId: services().s3.accessKeyId,
        secretAccessKey: { env: 'LB_RB_S3' },
      },
    },
    databases: {
      shop: { engine: 'postgres', url: { env: 'LB_RB_URL' }, fourEyes: false },
      prodshop: { engine: 'postgres', url: { env: 'LB_RB_URL' }, environment: 'production' },
    },
    runbooks: {
      paths: [path.join(dir, 'runbooks')],
      roles: { dba: ['alice', 'bob'], 'incident-commander': ['carol'] },
      commands: { mark: { program: process.execPath, args: [script, marker()], allowExtraArgs: true } },
    },
  });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

async function waitFor(handle: { query: (q: string) => Promise<unknown> }, pred: (p: RunbookProgress) => boolean): Promise<RunbookProgress> {
  for (let i = 0; i < 300; i++) {
    const p = (await handle.query('progress').catch(() => undefined)) as RunbookProgress | undefined;
    if (p && pred(p)) return p;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not reached');
}

test('a run waits for approval; a disallowed approver is refused; an allowed one continues; when and cutover are honoured', async () => {
  const id = uniqueName('runbook-basic');
  writeFileSync(marker(), '');
  const handle = await w.client.workflow.start('runRunbook', { taskQueue, workflowId: id, args: [{ runbook: 'test-basic', database: 'shop' }] });
  const waiting = await waitFor(handle, (p) => p.status === 'waiting-approval');
  expect(waiting.waitingFor).toMatchObject({ step: 'go', role: 'dba' });
  expect(marks()).toEqual(['first', 'second-shop-x']);

  const refused = await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'mallory' }] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((refused as WorkflowUpdateFailedError).cause as Error).message).toBe('mallory may not approve step "go": it requires role dba (held by: alice, bob)');
  const wrongStep = await handle.executeUpdate('approve', { args: [{ step: 'final', by: 'alice' }] }).catch((e: unknown) => e);
  expect(((wrongStep as WorkflowUpdateFailedError).cause as Error).message).toBe('Cannot approve step "final": it is not waiting for approval (waiting: go)');

  // The Temporal UI shows a readable status while it waits.
  const meta = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
  expect(meta.currentDetails).toContain('waiting for approval by role **dba**');

  await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'alice' }] });
  const result = (await handle.result()) as RunbookResult;
  expect(result.status).toBe('succeeded');
  expect(marks()).toEqual(['first', 'second-shop-x', 'final']);
  const byId = Object.fromEntries(result.steps.map((s) => [s.id, s]));
  expect(byId.go).toMatchObject({ state: 'succeeded', approvedBy: 'alice' });
  expect(byId.never).toMatchObject({ state: 'skipped' });
  expect(byId.check!.summary).toBe('assertion held');
  expect(result.rtoMs).not.toBeNull(); // the cutover step ends the recovery
  expect(result.met.rto).toBe(true);
});

test('four eyes on a production database: the starter of a live run may not approve its step, even holding the role; another holder may', async () => {
  writeFileSync(marker(), '');
  const handle = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-4eyes'),
    args: [{ runbook: 'test-basic', database: 'prodshop', requestedBy: 'alice' }],
  });
  const waiting = await waitFor(handle, (p) => p.status === 'waiting-approval');
  expect(waiting).toMatchObject({ requestedBy: 'alice', waitingFor: { step: 'go', role: 'dba', fourEyes: true } });
  const refused = await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'alice' }] }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(WorkflowUpdateFailedError);
  expect(((refused as WorkflowUpdateFailedError).cause as Error).message).toBe(
    'alice started this run and may not approve step "go": four eyes apply, another holder of the role must approve',
  );
  expect((await handle.query('progress')) as RunbookProgress).toMatchObject({ status: 'waiting-approval' });
  await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'bob' }] });
  const result = (await handle.result()) as RunbookResult;
  expect(result.steps.find((s) => s.id === 'go')).toMatchObject({ state: 'succeeded', approvedBy: 'bob' });
  expect(marks()).toEqual(['first', 'second-prodshop-x', 'final']);
});

test('four eyes: a starter may approve on a database with fourEyes: false; a step asking for them, or an unknown starter, is refused', async () => {
  writeFileSync(marker(), '');
  const own = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-own'),
    args: [{ runbook: 'test-basic', database: 'shop', requestedBy: 'alice' }],
  });
  expect(await waitFor(own, (p) => p.status === 'waiting-approval')).toMatchObject({ waitingFor: { fourEyes: false } });
  await own.executeUpdate('approve', { args: [{ step: 'go', by: 'alice' }] });
  expect(await own.result()).toMatchObject({ status: 'succeeded' });

  const strict = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-strict'),
    args: [{ runbook: 'test-strict', requestedBy: 'alice' }],
  });
  const anonymous = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-anon'),
    args: [{ runbook: 'test-basic', database: 'prodshop' }],
  });
  await waitFor(strict, (p) => p.status === 'waiting-approval');
  await waitFor(anonymous, (p) => p.status === 'waiting-approval');
  const self = await strict.executeUpdate('approve', { args: [{ step: 'go', by: 'alice' }] }).catch((e: unknown) => e);
  expect(((self as WorkflowUpdateFailedError).cause as Error).message).toBe(
    'alice started this run and may not approve step "go": four eyes apply, another holder of the role must approve',
  );
  const unknown = await anonymous.executeUpdate('approve', { args: [{ step: 'go', by: 'bob' }] }).catch((e: unknown) => e);
  expect(((unknown as WorkflowUpdateFailedError).cause as Error).message).toBe(
    'four eyes apply to step "go" and the starter of this run is unknown: start it with requestedBy, as the CLI does',
  );
  for (const h of [strict, anonymous]) {
    await h.signal('abort', { by: 'test', reason: 'done' });
    await h.result().catch(() => undefined);
  }
});

test('rejection runs the compensations of completed steps in reverse order and fails the run', async () => {
  writeFileSync(marker(), '');
  const handle = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-reject'),
    args: [{ runbook: 'test-basic', params: { database: 'shop', label: 'r' } }],
  });
  await waitFor(handle, (p) => p.status === 'waiting-approval');
  await handle.executeUpdate('reject', { args: [{ step: 'go', by: 'alice', reason: 'restore looks wrong' }] });
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect(((err as WorkflowFailedError).cause as { type?: string }).type).toBe('RUNBOOK_REJECTED');
  expect((err as WorkflowFailedError).cause!.message).toBe('Runbook test-basic rejected: step go: Step go rejected by alice: restore looks wrong');
  expect(marks()).toEqual(['first', 'second-r', 'undo-second', 'undo-first']);
  const p = (await handle.query('progress')) as RunbookProgress;
  expect(p.steps.map((s) => s.state)).toEqual(['compensated', 'succeeded', 'compensated', 'failed', 'pending', 'pending']);
});

test('a drill skips cutover steps; a failing assertion fails the step and compensates', async () => {
  writeFileSync(marker(), '');
  const handle = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-drill'),
    args: [{ runbook: 'test-basic', database: 'shop', drill: true }],
  });
  await waitFor(handle, (p) => p.status === 'waiting-approval');
  await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'alice' }] });
  const result = (await handle.result()) as RunbookResult;
  expect(result.drill).toBe(true);
  expect(result.steps.find((s) => s.id === 'final')).toMatchObject({ state: 'skipped', skippedBecause: 'cutover steps do not run in drills' });
  expect(marks()).not.toContain('final');

  const bad = await w.client.workflow
    .execute('runRunbook', { taskQueue, workflowId: uniqueName('runbook-bad'), args: [{ runbook: 'test-basic', params: { database: 'shop', colour: 'red' } }] })
    .catch((e: unknown) => e);
  const app = ((bad as WorkflowFailedError).cause as { cause?: { type?: string; message?: string } }).cause!;
  expect(app.type).toBe('INVALID_INPUT');
  expect(app.message).toMatch(/params\.colour: not a parameter of test-basic/);
});

test('an abort cancels the waiting step, runs the compensations in reverse order and fails the run as aborted', async () => {
  writeFileSync(marker(), '');
  const handle = await w.client.workflow.start('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-abort'),
    args: [{ runbook: 'test-basic', database: 'shop' }],
  });
  await waitFor(handle, (p) => p.status === 'waiting-approval');
  await handle.signal('abort', { by: 'carol', reason: 'provider is back' });
  const err = await handle.result().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message: string };
  expect(cause.type).toBe('RUNBOOK_ABORTED');
  expect(cause.message).toBe('Runbook test-basic aborted by carol: provider is back');
  expect(marks()).toEqual(['first', 'second-shop-x', 'undo-second', 'undo-first']);
  const p = (await handle.query('progress')) as RunbookProgress;
  expect(p.status).toBe('aborted');
  expect(p.steps.find((s) => s.id === 'go')).toMatchObject({ state: 'failed', summary: 'cancelled by abort' });
});

test('a template that renders a bad value fails its step with INVALID_INPUT naming the step and field; a good one runs', async () => {
  writeFileSync(marker(), '');
  const bad = await w.client.workflow
    .execute('runRunbook', { taskQueue, workflowId: uniqueName('runbook-render-bad'), args: [{ runbook: 'test-render' }] })
    .catch((e: unknown) => e);
  expect(bad).toBeInstanceOf(WorkflowFailedError);
  const cause = (bad as WorkflowFailedError).cause as { type?: string; message: string; details?: unknown[] };
  expect(cause.type).toBe('RUNBOOK_FAILED');
  expect(cause.message).toBe(
    'Runbook test-render failed: step nap: Invalid step nap: with.duration: expected a duration such as "30s", "15m" or "2h" (units w, d, h, m, s, ms) (after rendering templates)',
  );
  const progress = cause.details![0] as RunbookProgress;
  expect(progress.steps.find((s) => s.id === 'nap')).toMatchObject({ state: 'failed', failureType: 'INVALID_INPUT' });
  expect(marks()).toEqual(['render-first', 'undo-render-first']);

  const good = (await w.client.workflow.execute('runRunbook', {
    taskQueue,
    workflowId: uniqueName('runbook-render-ok'),
    args: [{ runbook: 'test-render', params: { pause: '1s' } }],
  })) as RunbookResult;
  expect(good.steps.find((s) => s.id === 'nap')).toMatchObject({ state: 'succeeded', summary: 'waited 1s' });
  expect(Date.parse(good.finishedAt) - Date.parse(good.startedAt)).toBeGreaterThanOrEqual(1000);
});

test('an approval escalates after escalateAfter and times out after the step timeout in all', async () => {
  const id = uniqueName('runbook-timeout');
  const err = await w.client.workflow.execute('runRunbook', { taskQueue, workflowId: id, args: [{ runbook: 'test-timeout' }] }).catch((e: unknown) => e);
  const cause = (err as WorkflowFailedError).cause as { type?: string; message: string; details?: unknown[] };
  expect(cause.type).toBe('RUNBOOK_FAILED');
  expect(cause.message).toBe('Runbook test-timeout failed: step go: Approval of step go timed out after 3s: approval required from role dba');
  const go = (cause.details![0] as RunbookProgress).steps[0]!;
  expect(go).toMatchObject({ state: 'failed', failureType: 'APPROVAL_TIMEOUT', summary: 'escalated to log' });
  // Two timers: the escalation after 1 s, then the rest of the 3 s.
  const history = await w.client.workflow.getHandle(id).fetchHistory();
  const timersMs = history.events!.flatMap((e) => {
    const t = e.timerStartedEventAttributes?.startToFireTimeout;
    return t ? [Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6)] : [];
  });
  expect(timersMs).toHaveLength(2);
  expect(timersMs[0]).toBe(1000);
  expect(timersMs[0]! + timersMs[1]!).toBeLessThanOrEqual(3000);
  expect(w.lines.some((l) => l.includes('Approval of go by dba is overdue (escalated)'))).toBe(true);
});

test('every run is recorded, live runs with drill: false and failed runs with their status', async () => {
  const records = async (runbook: string) => {
    const keys = await listKeys(bucket, `runbooks/${runbook}/runs/`);
    return Promise.all(
      keys.map(async (k) => ({
        key: k,
        ...(JSON.parse((await getObject(bucket, k)).toString()) as { drill: boolean; status: string; workflowId: string; requestedBy?: string }),
      })),
    );
  };
  const basic = await records('test-basic');
  const summary = (rs: typeof basic) => rs.map((r) => `${r.workflowId.replace(/_[0-9a-f]{8}$/, '')} ${r.drill ? 'drill' : 'live'} ${r.status}`).sort();
  expect(summary(basic)).toEqual([
    'runbook-4eyes live succeeded',
    'runbook-abort live aborted',
    'runbook-anon live aborted',
    'runbook-basic live succeeded',
    'runbook-drill drill succeeded',
    'runbook-own live succeeded',
    'runbook-reject live rejected',
  ]);
  expect(basic.every((r) => r.key.includes(r.drill ? '-drill-' : '-live-'))).toBe(true);
  // Who started each run is recorded with it.
  expect(
    basic
      .filter((r) => r.requestedBy === 'alice')
      .map((r) => r.workflowId.replace(/_[0-9a-f]{8}$/, ''))
      .sort(),
  ).toEqual(['runbook-4eyes', 'runbook-own']);
  expect(summary(await records('test-render'))).toEqual(['runbook-render-bad live failed', 'runbook-render-ok live succeeded']);
});

test('recorded runbook histories replay deterministically', async () => {
  const histories = path.join(repoRoot, 'test', 'replay', 'histories');
  const files = existsSync(histories) ? (await import('node:fs')).readdirSync(histories).filter((f) => f.endsWith('.json')) : [];
  // Histories of this run too, so a change that breaks determinism today fails here.
  let ids: string[] = [];
  for (let i = 0; i < 50 && ids.length < 4; i++) {
    ids = [];
    for await (const ex of w.client.workflow.list({ query: `TaskQueue = "${taskQueue}" AND ExecutionStatus != "Running"` })) ids.push(ex.workflowId);
    if (ids.length < 4) await new Promise((r) => setTimeout(r, 200));
  }
  expect(ids.length).toBeGreaterThanOrEqual(4);
  const recorded: HistoryAndWorkflowId[] = [];
  for (const id of ids) {
    const history = await w.client.workflow.getHandle(id).fetchHistory();
    recorded.push({ workflowId: id, history });
    // LIFEBOAT_RECORD_HISTORIES=1 refreshes the committed histories (after an intended change).
    if (process.env.LIFEBOAT_RECORD_HISTORIES) {
      mkdirSync(histories, { recursive: true });
      const json = execFileSync(toolPath('temporal'), ['workflow', 'show', '--workflow-id', id, '--output', 'json', '--address', services().temporal.address]);
      // Stack traces name this checkout's absolute paths; keep the files portable.
      writeFileSync(path.join(histories, `${id.replace(/_[0-9a-f]{8}$/, '')}.json`), json.toString().split(`${repoRoot}/`).join(''));
    }
  }
  // One replay worker (one workflow bundle) for all of this run's histories.
  for await (const r of Worker.runReplayHistories({ workflowsPath: workflowsPath() }, recorded))
    expect({ workflowId: r.workflowId, error: r.error?.message }).toEqual({ workflowId: r.workflowId, error: undefined });
  // The committed histories replay in a plain Node process (protobuf JSON decoding does not work
  // inside Jest's module sandbox).
  const replay = await execa(process.execPath, [path.join(repoRoot, 'dist', 'dev', 'replay.js'), histories], { reject: false });
  expect(replay.stdout.trim().split('\n').sort()).toEqual(files.map((f) => `replayed ${f}`).sort());
  expect(replay.exitCode).toBe(0);
  expect(files.length).toBeGreaterThan(0);
});
