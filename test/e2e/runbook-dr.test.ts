import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { execa } from 'execa';
import { createSampleDatabase } from '../../dev/sample-data.js';
import type { RunbookProgress, RunbookResult } from '../../src/contracts/runbook.js';
import { SecretCanary } from '../harness/canary.js';
import { createBucket, createRole, pgUrl, repoRoot, services, uniqueName, withPg } from '../harness/services.js';

// Disaster-recovery runbooks end to end: worker processes, the CLI, real PostgreSQL, S3, Temporal.

const bin = path.join(repoRoot, 'bin', 'lifeboat.js');
let dir: string;
let configFile: string;
let health: Server;
let healthUrl: string;
let client: Client;
const env: Record<string, string> = {};
const workers: ChildProcess[] = [];
const output: string[] = [];
const canary = new SecretCanary();
let bucket: string;
const dbs = { orders: uniqueName('lb_dr_orders'), big: uniqueName('lb_dr_big') };
const marks = () => (existsSync(path.join(dir, 'marks.txt')) ? readFileSync(path.join(dir, 'marks.txt'), 'utf8').trim().split('\n') : []);

function startWorker(): ChildProcess {
  const child = spawn(process.execPath, [bin, '--config', configFile, 'worker'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
  workers.push(child);
  return child;
}

async function waitForLog(text: string, from = 0): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (output.join('').indexOf(text, from) >= 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`worker did not log "${text}":\n${output.join('').slice(-2000)}`);
}

async function lifeboat(args: string[]) {
  const r = await execa(process.execPath, [bin, '--config', configFile, ...args], { env: { ...process.env, ...env }, reject: false, timeout: 240_000 });
  output.push(String(r.stdout), String(r.stderr));
  return r;
}

beforeAll(async () => {
  const s = services();
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-dr-'));
  const role = await createRole('lb_dr', canary.secret);
  canary.startSampling();
  await createSampleDatabase(s.pg.adminUrl, dbs.orders, 0.5);
  await createSampleDatabase(s.pg.adminUrl, dbs.big, 6);
  health = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', () => r()));
  healthUrl = `http://127.0.0.1:${(health.address() as { port: number }).port}/health`;
  const mark = path.join(dir, 'mark.cjs');
  writeFileSync(mark, "require('fs').appendFileSync(process.argv[2], process.argv.slice(3).join(' ') + '\\n');\n");
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(
    path.join(dir, 'runbooks', 'restore-then-mark.yaml'),
    `name: restore-then-mark
params:
  database: { type: string, required: true }
steps:
  - { id: before, type: command, with: { command: mark, args: ["before"] } }
  - id: restore
    type: restore
    with: { database: "\${{ params.database }}", backup: latest, target: "\${{ params.database }}_copy_\${{ run.id }}" }
  - { id: after, type: command, with: { command: mark, args: ["after", "\${{ steps.restore.output.target }}"] } }
`,
  );
  Object.assign(env, { DR_ORDERS_URL: pgUrl(dbs.orders, role), DR_BIG_URL: pgUrl(dbs.big, role), DR_S3: s.s3.secretAccessKey });
  configFile = path.join(dir, 'lifeboat.yaml');
  bucket = await createBucket('lb-dr');
  const markCmd = (label: string) =>
    `{ program: "${process.execPath}", args: ["${mark}", "${path.join(dir, 'marks.txt')}", "${label}"], allowExtraArgs: true }`;
  writeFileSync(
    configFile,
    `temporal: { address: "${s.temporal.address}", taskQueue: ${uniqueName('lb-dr')} }
storage:
  primary: { type: s3, bucket: ${bucket}, endpoint: ${s.s3.endpoint}, forcePathStyle: true, accessKeyId: ${s.s3.accessKeyId}, secretAccessKey: { env: DR_S3 } }
databases:
  orders: { engine: postgres, url: { env: DR_ORDERS_URL } }
  big: { engine: postgres, url: { env: DR_BIG_URL } }
approvers: [carol]
runbooks:
  paths: ["${path.join(dir, 'runbooks')}"]
  roles: { incident-commander: [carol, "${os.userInfo().username}"], dba: [alice] }
  targets: { rtoMinutes: 60, rpoMinutes: 60 }
  commands:
    mark: { program: "${process.execPath}", args: ["${mark}", "${path.join(dir, 'marks.txt')}"], allowExtraArgs: true }
    stop-app: ${markCmd('stop-app')}
    start-app: ${markCmd('start-app')}
    migrate: ${markCmd('migrate')}
    cutover: ${markCmd('cutover')}
`,
  );
  const connection = await Connection.connect({ address: s.temporal.address });
  client = new Client({ connection });
  startWorker();
  await waitForLog('worker started');
  for (const db of ['orders', 'big']) {
    const b = await lifeboat(['backup', db, '--wait', '--json']);
    expect(b.exitCode).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await client?.connection.close();
  await new Promise((r) => health?.close(r));
});

test('a provider-outage drill runs on real databases, takes approval from the CLI (refusing a disallowed role), and records RTO and RPO', async () => {
  const id = uniqueName('drill-provider-outage');
  const run = lifeboat([
    'runbook',
    'start',
    'provider-outage',
    '--param',
    'database=orders',
    '--param',
    'target=orders_standby',
    '--param',
    'backup=latest',
    '--param',
    `health_url=${healthUrl}`,
    '--drill',
    '--wait',
    '--json',
    '--id',
    id,
  ]);
  const handle = client.workflow.getHandle(id);
  let p: RunbookProgress | undefined;
  for (let i = 0; i < 600 && p?.status !== 'waiting-approval'; i++) {
    p = (await handle.query('progress').catch(() => undefined)) as RunbookProgress | undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!p?.waitingFor)
    throw new Error(`the drill did not reach its approval: ${JSON.stringify(p)}\n${(await run.catch((e: unknown) => e as never))?.stderr ?? ''}`);
  expect(p.waitingFor).toMatchObject({ step: 'approve-cutover', role: 'incident-commander' });

  const me = os.userInfo().username;
  const impostor = await lifeboat(['runbook', 'approve', id, '--step', 'approve-cutover', '--as', 'carol']);
  expect(impostor.exitCode).toBe(2);
  expect(impostor.stderr.trim()).toBe(`--as carol refused: runbook decisions are made as the OS user running lifeboat (${me}); run lifeboat as carol instead`);
  const refused = await handle.executeUpdate('approve', { args: [{ step: 'approve-cutover', by: 'alice' }] }).catch((e: unknown) => e as Error);
  expect((refused as { cause?: Error }).cause?.message).toBe(
    `alice may not approve step "approve-cutover": it requires role incident-commander (held by: carol, ${me})`,
  );
  const status = await lifeboat(['runbook', 'status', id]);
  expect(status.stdout).toMatch(/restore\s+restore\s+succeeded/);
  const approved = await lifeboat(['runbook', 'approve', id, '--step', 'approve-cutover']);
  expect(approved.exitCode).toBe(0);

  const res = await run;
  expect(res.exitCode).toBe(0);
  const result = JSON.parse(res.stdout) as RunbookResult & { ok: boolean };
  expect(result.ok).toBe(true);
  expect(result.drill).toBe(true);
  expect(result.rtoMs).toBeGreaterThan(0);
  expect(result.rpoMs).toBeGreaterThan(0);
  expect(result.met).toEqual({ rto: true, rpo: true });
  const states = Object.fromEntries(result.steps.map((s) => [s.id, s.state]));
  expect(states).toMatchObject({
    'stop-app': 'skipped',
    restore: 'succeeded',
    migrate: 'succeeded',
    health: 'succeeded',
    'approve-cutover': 'succeeded',
    cutover: 'skipped',
    restart: 'skipped',
  });
  // Only the non-cutover command ran, against the drill's scratch database, which is gone again.
  const migrated = marks().filter((m) => m.startsWith('migrate'));
  expect(migrated).toHaveLength(1);
  expect(migrated[0]).toMatch(/^migrate orders_standby_drill_[0-9a-f]{8}$/);
  expect(marks().some((m) => /^(cutover|stop-app|start-app)/.test(m))).toBe(false);
  const scratch = migrated[0]!.split(' ')[1]!;
  expect(await withPg('postgres', async (c) => (await c.query('select 1 from pg_database where datname = $1', [scratch])).rowCount)).toBe(0);

  const drills = await lifeboat(['drills', 'provider-outage']);
  expect(drills.exitCode).toBe(0);
  // RTO and RPO as the CLI prints durations: `850 ms`, `12.3 s`, `1 min 05 s`, `2 h 03 min`.
  const duration = String.raw`(\d+ ms|\d+(\.\d)? s|\d+ min \d\d s|\d+ h \d\d min)`;
  expect(drills.stdout).toMatch(new RegExp(String.raw`drill\s+succeeded\s+${duration}\s+${duration}\s+met`));
}, 300_000);

test('a worker killed (SIGKILL) during the restore step: after a restart the runbook continues at that step, and no earlier step runs twice', async () => {
  writeFileSync(path.join(dir, 'marks.txt'), '');
  const id = uniqueName('runbook-kill');
  const handle = await client.workflow.start('runRunbook', {
    taskQueue: /taskQueue: (\S+) }/.exec(readFileSync(configFile, 'utf8'))![1]!,
    workflowId: id,
    args: [{ runbook: 'restore-then-mark', database: 'big' }],
  });
  // Wait until pg_restore works for this run, then kill the worker outright.
  const pgRestoreRunning = () =>
    readdirSync('/proc').some((pid) => {
      try {
        return (
          /^\d+$/.test(pid) &&
          readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pg_restore' &&
          readFileSync(`/proc/${pid}/environ`, 'utf8')
            .split('\0')
            .some((v) => v.startsWith('PGDATABASE=big_copy_'))
        );
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 3000 && !pgRestoreRunning(); i++) await new Promise((r) => setTimeout(r, 20));
  expect(pgRestoreRunning()).toBe(true);
  const victim = workers[workers.length - 1]!;
  victim.kill('SIGKILL');
  await new Promise((r) => victim.once('exit', r));
  expect(marks()).toEqual(['before']);

  const from = output.join('').length;
  startWorker();
  await waitForLog('worker started', from);
  const result = (await handle.result()) as RunbookResult;
  expect(result.status).toBe('succeeded');
  const byId = Object.fromEntries(result.steps.map((s) => [s.id, s]));
  expect(byId.before).toMatchObject({ state: 'succeeded', attempts: 1 });
  expect(byId.restore!.state).toBe('succeeded');
  expect(marks()).toEqual(['before', `after ${(byId.restore!.summary ?? '').split(' into ')[1]}`]);
  // The command of the first step ran exactly once in the whole history.
  const history = await handle.fetchHistory();
  const commands = history.events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runbookCommand');
  expect(commands).toHaveLength(2);
}, 300_000);

test('live runs are recorded too: lifeboat drills lists them next to the drills', async () => {
  const drills = await lifeboat(['drills', 'restore-then-mark', '--json']);
  expect(drills.exitCode).toBe(0);
  const runs = JSON.parse(drills.stdout) as Array<{ drill: boolean; status: string; rtoMs: number | null; rpoMs: number | null }>;
  expect(runs.map((r) => `${r.drill ? 'drill' : 'live'} ${r.status}`)).toEqual(['live succeeded']);
  expect(runs[0]!.rtoMs).toBeGreaterThan(0);
  expect(runs[0]!.rpoMs).toBeGreaterThan(0);
});

test('secrets canary: the database password is in no workflow history, memo, search attribute, log, CLI output, stored object or sampled argv', async () => {
  expect(canary.stopSampling()).toBeGreaterThan(100);
  expect(await canary.checkHistories(/taskQueue: (\S+) }/.exec(readFileSync(configFile, 'utf8'))![1]!)).toBeGreaterThan(3);
  expect(await canary.checkBucket(bucket)).toBeGreaterThan(3);
  canary.checkText('worker logs and CLI output', output.join(''));
  expect(canary.found).toEqual([]);
  // The check can fail: the secret is really where the configuration points.
  expect(env.DR_ORDERS_URL).toContain(canary.secret);
});
