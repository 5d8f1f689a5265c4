import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { takeBackup } from '../../src/backup/backup.js';
import { listAudit } from '../../src/audit/log.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import type { RestoreResult } from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import { SecretCanary } from '../harness/canary.js';
import { captureLogger, createBucket, createRole, pgUrl, repoRoot, services, testConfig, uniqueName, withPg } from '../harness/services.js';

const exec = promisify(execFile);

let configFile: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let role: { name: string; password: string };
let bucket: string;
let cfg: LifeboatConfig;
const canary = new SecretCanary();
const outputs: string[] = [];
const db = { shop: uniqueName('lb_lshop'), prot: uniqueName('lb_lprot') };

/** A port nothing listens on: the configured Temporal server is down. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

beforeAll(async () => {
  const s = services();
  bucket = await createBucket();
  role = await createRole(undefined, canary.secret);
  canary.startSampling();
  await createSampleDatabase(s.pg.adminUrl, db.shop, 0.2);
  await withPg('postgres', (c) => c.query(`create database ${db.prot}`));
  await withPg(db.prot, (c) => c.query(`create table keep_me (id int); insert into keep_me values (7)`));

  // The backup is taken without Temporal too, straight through the backup code.
  cfg = testConfig({ bucket, databases: { shop: { url: pgUrl(db.shop, role) }, shop4: { url: pgUrl(db.shop, role) } } });
  for (const database of ['shop', 'shop4']) {
    await takeBackup(
      cfg,
      { database, kind: 'full', backupId: '20260101T000000Z-full-local001', workflow: { workflowId: 'test', runId: 'test', attempt: 1 } },
      captureLogger().logger,
    );
  }

  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-local-'));
  configFile = path.join(dir, 'lifeboat.yaml');
  writeFileSync(
    configFile,
    `temporal: { address: 127.0.0.1:${await closedPort()}, namespace: default, taskQueue: nowhere }
storage:
  primary:
    type: s3
    bucket: ${bucket}
    region: ${s.s3.region}
    endpoint: ${s.s3.endpoint}
    forcePathStyle: true
    accessKeyId: ${s.s3.accessKeyId}
    secretAccessKey: { env: LB_E2E_S3_SECRET }
databases:
  shop:
    engine: postgres
    url: { env: LB_E2E_SHOP_URL }
    fourEyes: false
  shop4:
    engine: postgres
    url: { env: LB_E2E_SHOP_URL }
targets:
  prot: { url: { env: LB_E2E_PROT_URL }, protected: true }
restore: { tempDir: ${dir}, jobs: 2 }
approvers: [${os.userInfo().username}]
`,
  );
  env = {
    ...process.env,
    LB_E2E_S3_SECRET: s.s3.secretAccessKey,
    LB_E2E_SHOP_URL: pgUrl(db.shop, role),
    LB_E2E_PROT_URL: pgUrl(db.prot, role),
    LIFEBOAT_CONFIG: '',
  };
});

async function lifeboat(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, [path.join(repoRoot, 'bin/lifeboat.js'), '--config', configFile, ...args], { env, timeout: 60_000 });
    outputs.push(r.stdout, r.stderr);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    outputs.push(e.stdout ?? '', e.stderr ?? '');
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const count = (d: string, table: string) => withPg(d, async (c) => (await c.query(`select count(*)::int as n from ${table}`)).rows[0].n as number);

test('--local restores with the Temporal server down, through the same checks, and prints a JSON result', async () => {
  const target = uniqueName('lb_local_restored');
  // What a worker killed mid-restore leaves behind: removed by the next restore.
  const stale = path.join(dir, 'lifeboat-restore-stale');
  mkdirSync(stale);
  writeFileSync(path.join(stale, 'backup.dump'), 'x');
  writeFileSync(path.join(stale, 'owner'), `${os.hostname()} ${spawnSync('true').pid}\n`);
  const r = await lifeboat('restore', 'shop', '--target', target, '--local', '--json');
  expect(r).toMatchObject({ code: 0 }); // on failure, shows the CLI's output too
  const result = JSON.parse(r.stdout) as RestoreResult & { ok: boolean; local: boolean };
  expect(result).toMatchObject({ ok: true, local: true, database: 'shop', backupId: '20260101T000000Z-full-local001', target, created: true });
  expect(result.rowCounts).toEqual({ compared: 5, mismatches: [] });
  expect(await count(target, 'shop.orders')).toBe(await count(db.shop, 'shop.orders'));
  // The dump was downloaded into restore.tempDir and removed afterwards, like the stale one.
  expect(readdirSync(dir)).toEqual(['lifeboat.yaml']);
  expect(JSON.stringify(r)).not.toContain(role.password);
});

test('--local keeps the safety rules: a protected target needs --approve with its name typed out', async () => {
  const refused = await lifeboat('restore', 'shop', '--target', 'prot', '--local');
  expect(refused).toMatchObject({
    code: 1,
    stderr: expect.stringContaining(
      'Restore of shop into prot refused: approval required (prot is protected; prot exists and is not empty (1 objects)); nothing was changed',
    ),
  });
  const typo = await lifeboat('restore', 'shop', '--target', 'prot', '--local', '--approve', 'prto');
  expect(typo).toMatchObject({ code: 2, stderr: expect.stringContaining('--approve must repeat the target name exactly: expected "prot", got "prto"') });
  expect(await count(db.prot, 'keep_me')).toBe(1);
  await expect(count(db.prot, 'shop.orders')).rejects.toThrow(/does not exist/);

  // The approval is the OS user's, never a name typed out: another name is refused.
  const someoneElse = await lifeboat('restore', 'shop', '--target', 'prot', '--local', '--approve', 'prot', '--approver', 'mallory-not-me');
  expect(someoneElse).toMatchObject({ code: 2, stderr: expect.stringContaining('--approver mallory-not-me refused: approvals are made as the OS user') });
  // With four eyes (shop4: production by default), the requester cannot approve; --local has no second person.
  const selfApproved = await lifeboat('restore', 'shop4', '--target', 'prot', '--local', '--approve', 'prot');
  expect(selfApproved).toMatchObject({
    code: 1,
    stderr: expect.stringContaining(
      `Restore of shop4 into prot refused: ${os.userInfo().username} requested this restore and may not approve it: four eyes apply (databases.shop4.fourEyes), another approver must approve; --local has no second person`,
    ),
  });
  expect(await count(db.prot, 'keep_me')).toBe(1);
  await expect(count(db.prot, 'shop.orders')).rejects.toThrow(/does not exist/);

  const approved = await lifeboat('restore', 'shop', '--target', 'prot', '--local', '--approve', 'prot', '--overwrite', 'in-place', '--json');
  expect(approved).toMatchObject({ code: 0 });
  expect(JSON.parse(approved.stdout)).toMatchObject({ ok: true, created: false, approvedBy: os.userInfo().username });
  expect(await count(db.prot, 'shop.orders')).toBe(await count(db.shop, 'shop.orders'));
  expect(await count(db.prot, 'keep_me')).toBe(1);
});

test('--local writes the same audit records as the workflow: approvals, refusals with their reason, and each outcome, by the OS user', async () => {
  const me = os.userInfo().username;
  const { entries, problems } = await listAudit(openStorage(cfg, 'primary'), { database: ['shop', 'shop4'] });
  expect(problems).toEqual([]);
  const brief = entries.map(
    (e) => `${e.database} ${e.action} ${e.outcome} ${e.target?.database?.startsWith('lb_local_restored') ? 'new' : e.target?.database}`,
  );
  expect(brief).toEqual(['shop restore succeeded new', 'shop4 approval rejected prot', 'shop approval approved prot', 'shop restore succeeded prot']);
  for (const e of entries) {
    expect(e.actor).toEqual({ name: me, source: 'cli', identity: expect.stringMatching(new RegExp(`^${me}@.+ \\(lifeboat, pid \\d+\\)$`)) });
    expect(e.target?.backupId).toBe('20260101T000000Z-full-local001');
    expect(e.details?.workflow).toBe('restore --local');
  }
  expect(entries[1]!.message).toContain(`${me} requested this restore and may not approve it: four eyes apply (databases.shop4.fourEyes)`);
  expect(entries[2]!.details).toMatchObject({ reasons: ['prot is protected', 'prot exists and is not empty (1 objects)'], requestedBy: me });
  expect(entries[3]!.details).toMatchObject({ approvedBy: me, created: false });
  expect(entries[0]!.details).toMatchObject({ approvedBy: null, created: true });
});

test('secrets canary: the database password is in no CLI output, stored object, object metadata or sampled argv', async () => {
  expect(canary.stopSampling()).toBeGreaterThan(20);
  expect(await canary.checkBucket(bucket)).toBeGreaterThan(5);
  canary.checkText('CLI output', outputs.join('\n'));
  expect(canary.found).toEqual([]);
  // The check can fail: the secret is really where the configuration points.
  expect(env.LB_E2E_SHOP_URL).toContain(canary.secret);
});
