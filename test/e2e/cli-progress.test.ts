import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createFilledDatabase } from '../../dev/sample-data.js';
import { parseConfig } from '../../src/config/load.js';
import { runbookProgressQuery, type WorkflowTypes } from '../../src/contracts/index.js';
import { createBucket, createRole, pgUrl, repoRoot, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

// What an operator sees through the CLI: live progress of every phase of `backup --wait` (the
// copy to a second target included), a failure in one line, `runbook approve` without --step.
// The worker runs in-process with 200 ms heartbeats; the CLI finds Temporal through
// TEMPORAL_ADDRESS or a TOML profile, as Temporal's own CLI does (the config file names none).

const bin = path.join(repoRoot, 'bin', 'lifeboat.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-cli-progress-'));
const configFile = path.join(dir, 'lifeboat.json');
const taskQueue = uniqueName('lb-cli-progress');
const db = { big: uniqueName('lb_prog_big'), gone: uniqueName('lb_prog_gone') };
const ROWS = 48_000; // about 48 MiB of text, stored uncompressed: the copy takes a few heartbeats
let offsite: string;
let w: RunningWorker;
let env: Record<string, string>;

const RUNBOOK = `name: cli-approve
description: one approval, nothing else
params: {}
steps:
  - id: go
    type: approval
    with: { role: dba }
    timeout: 2m
`;

beforeAll(async () => {
  const s = services();
  const [primary, second, role] = await Promise.all([createBucket('lb-prog'), createBucket('lb-prog-off'), createRole('lb_prog')]);
  offsite = second;
  await createFilledDatabase(
    s.pg.adminUrl,
    db.big,
    `create table filler as select g as id, repeat(md5(g::text), 32) as body from generate_series(1, ${ROWS}) g;`,
  );
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(path.join(dir, 'runbooks', 'cli-approve.yaml'), RUNBOOK);
  process.env.LB_PROG_BIG_URL = pgUrl(db.big, role);
  process.env.LB_PROG_GONE_URL = pgUrl(db.gone, role);
  process.env.LB_PROG_S3 = s.s3.secretAccessKey;
  const bucket = (name: string) => ({
    type: 's3',
    bucket: name,
    region: s.s3.region,
    endpoint: s.s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s.s3.accessKeyId,
    secretAccessKey: { env: 'LB_PROG_S3' },
  });
  const raw = {
    temporal: { taskQueue },
    storage: { primary: bucket(primary), offsite: bucket(second) },
    databases: {
      big: { engine: 'postgres', url: { env: 'LB_PROG_BIG_URL' }, storage: ['primary', 'offsite'], compression: { codec: 'none' }, rowCounts: 'off' },
      gone: { engine: 'postgres', url: { env: 'LB_PROG_GONE_URL' }, storage: ['primary'] },
    },
    runbooks: { paths: [path.join(dir, 'runbooks')], roles: { dba: [os.userInfo().username] } },
    log: { level: 'warn' },
  };
  writeFileSync(configFile, JSON.stringify(raw));
  w = await startWorker(parseConfig({ ...raw, temporal: { address: s.temporal.address, namespace: 'default', taskQueue } }), { heartbeatIntervalMs: 200 });
  env = {
    LIFEBOAT_CONFIG: '',
    TEMPORAL_ADDRESS: s.temporal.address,
    TEMPORAL_CONFIG_FILE: path.join(dir, 'no-such.toml'),
    LIFEBOAT_PROGRESS_INTERVAL_MS: '200',
  };
}, 120_000);

afterAll(async () => {
  await w?.stop();
});

function lifeboat(args: string[], extra: Record<string, string> = {}) {
  return execa(process.execPath, [bin, '--config', configFile, ...args], {
    env: { ...process.env, ...env, ...extra },
    extendEnv: false,
    reject: false,
    timeout: 110_000,
  });
}

test('backup --wait shows each phase with real numbers, the copy to the second target included, never "undefined"', async () => {
  const res = await lifeboat(['backup', 'big', '--wait']);
  expect(res).toMatchObject({ exitCode: 0 });
  const lines = res.stderr.split('\n');
  expect(lines[0]).toMatch(/^Backing up big \(full\): backup:big:full:\S+$/);
  // The dump, then the copy: bytes of the artifact's size, to the target it goes to.
  expect(lines.some((l) => /^(dumping|confirming|committing) +\d+(\.\d)? (B|KiB|MiB) read, \d+(\.\d)? (B|KiB|MiB) stored, /.test(l))).toBe(true);
  const copying = lines.filter((l) => l.startsWith('copying'));
  expect(copying.length).toBeGreaterThan(0);
  expect(copying.some((l) => /^copying +\d+(\.\d)? (B|KiB|MiB) of 4\d\.\d MiB to offsite, \d+(\.\d)? (B|KiB|MiB)\/s, \d+%/.test(l))).toBe(true);
  expect(res.stderr).not.toMatch(/undefined|NaN/);
  expect(res.stdout).toMatch(/^Backup \S+ of big committed$/m);
  expect(res.stdout).toMatch(new RegExp(`^  copied to  s3://${offsite}/big/backups/\\S+ \\(\\d`, 'm'));
  expect(res.stdout).toMatch(/^ {2}took {7}(\d+ ms|\d+(\.\d)? s|\d+ min \d\d s)$/m);
});

// `script` (util-linux) runs the CLI on a pseudo-terminal, as an operator's shell would.
const script = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
(script ? test : test.skip)('on a terminal, the progress line is redrawn in place with a bar (skipped without util-linux script)', async () => {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, bin, '--config', configFile, 'backup', 'big', '--wait'].map(quote).join(' ');
  const res = await execa(script!, ['-qfec', command, '/dev/null'], {
    env: { ...process.env, ...env, LIFEBOAT_PROGRESS_INTERVAL_MS: '300' },
    extendEnv: false,
    reject: false,
    timeout: 110_000,
  });
  expect(res).toMatchObject({ exitCode: 0 });
  const frames = res.stdout.split('\r\x1b[2K').map((f) => f.trim());
  expect(frames.some((f) => /^copying +\d+(\.\d)? (B|KiB|MiB) of 4\d\.\d MiB to offsite, \S+ \S+\/s, \[#*-*\] \d+%/.test(f))).toBe(true);
  expect(frames.at(-1)).toMatch(/^Backup \S+ of big committed\r?\n/); // the line is cleared before the result
  expect(res.stdout).not.toMatch(/undefined|NaN/);
});

test('a failed backup prints its subject once, the cause, and the code', async () => {
  const res = await lifeboat(['backup', 'gone', '--wait']);
  expect(res.exitCode).toBe(1);
  expect(res.stderr).toMatch(
    new RegExp(`^Backup of gone failed: Connection to gone failed: database "${db.gone}" does not exist \\[DATABASE_NOT_FOUND\\]$`, 'm'),
  );
  expect(res.stderr.match(/Backup of gone/g)).toHaveLength(1);
  const json = await lifeboat(['backup', 'gone', '--wait', '--json']);
  expect(json.exitCode).toBe(1);
  expect(JSON.parse(json.stdout)).toMatchObject({
    ok: false,
    error: { type: 'DATABASE_NOT_FOUND', message: `Connection to gone failed: database "${db.gone}" does not exist` },
  });
});

test('runbook approve picks the only step waiting for approval; with none waiting it says so (Temporal found through a TOML profile)', async () => {
  const profile = path.join(dir, 'temporal.toml');
  writeFileSync(profile, `[profile.ci]\naddress = "${services().temporal.address}"\nnamespace = "default"\n`);
  const viaProfile = { TEMPORAL_ADDRESS: '', TEMPORAL_CONFIG_FILE: profile, TEMPORAL_PROFILE: 'ci' };
  const id = uniqueName('cli-approve');
  const started = await lifeboat(['runbook', 'start', 'cli-approve', '--id', id], viaProfile);
  expect(started).toMatchObject({ exitCode: 0, stdout: expect.stringContaining(`Started runbook cli-approve: ${id}`) });
  const handle = w.client.workflow.getHandle<WorkflowTypes['runRunbook']>(id);
  for (let i = 0; i < 200 && (await handle.query(runbookProgressQuery).catch(() => undefined))?.status !== 'waiting-approval'; i++)
    await new Promise((r) => setTimeout(r, 100));

  const me = os.userInfo().username;
  const impostor = await lifeboat(['runbook', 'approve', id, '--as', `not-${me}`], viaProfile);
  expect(impostor).toMatchObject({
    exitCode: 2,
    stderr: `--as not-${me} refused: runbook decisions are made as the OS user running lifeboat (${me}); run lifeboat as not-${me} instead`,
  });
  const approved = await lifeboat(['runbook', 'approve', id, '--json'], viaProfile);
  expect(approved).toMatchObject({ exitCode: 0 });
  expect(JSON.parse(approved.stdout)).toEqual({ ok: true, workflowId: id, step: 'go', approvedBy: me });
  expect(await handle.result()).toMatchObject({ runbook: 'cli-approve', status: 'succeeded' });

  const again = await lifeboat(['runbook', 'approve', id, '--as', me], viaProfile);
  expect(again).toMatchObject({ exitCode: 1, stderr: `Nothing to approve: no step of ${id} waits for approval (the run is succeeded)` });
});
