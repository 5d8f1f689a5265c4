import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import mysql from 'mysql2/promise';
import { mariadbServerBinaries, startEphemeralMariadb } from '../../dev/mariadb.js';
import { SecretCanary } from '../harness/canary.js';
import { createBucket, pgUrl, repoRoot, services, uniqueName, withPg } from '../harness/services.js';

// `lifeboat init` and `lifeboat doctor` through the CLI against the suite's real Temporal server,
// PostgreSQL and SeaweedFS.

const bin = path.join(repoRoot, 'bin', 'lifeboat.js');
let dir: string;
let database: string;
let role: { name: string; password: string };
const canary = new SecretCanary();
const outputs: string[] = [];
let bucket: string;

async function lifeboat(args: string[], env: Record<string, string>) {
  const clean = { ...process.env };
  for (const k of Object.keys(clean)) if (k.startsWith('TEMPORAL_')) delete clean[k];
  const r = await execa(process.execPath, [bin, ...args], {
    env: { ...clean, TEMPORAL_CONFIG_FILE: path.join(dir, 'none.toml'), ...env },
    reject: false,
    timeout: 90_000,
  });
  outputs.push(String(r.stdout), String(r.stderr));
  return r;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-doctor-'));
  database = uniqueName('doctor');
  role = { name: uniqueName('doctor_role'), password: canary.secret };
  canary.startSampling();
  await withPg('postgres', async (c) => {
    await c.query(`create database ${database}`);
    await c.query(`create role ${role.name} login password '${role.password}'`);
  });
  await withPg(database, async (c) => {
    await c.query(`create table readable (id int primary key); grant select on readable to ${role.name}`);
  });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('init writes a configuration without the password that doctor accepts (exit 0)', async () => {
  const s = services();
  bucket = await createBucket('lb-doctor');
  const file = path.join(dir, 'lifeboat.yaml');
  const url = pgUrl(database, role);
  const init = await lifeboat(
    ['-c', file, 'init', '--env', 'SHOP_DATABASE_URL', '--name', 'shop', '--storage', `s3://${bucket}/prod`, '--s3-endpoint', s.s3.endpoint],
    {
      SHOP_DATABASE_URL: url,
    },
  );
  expect(init.stderr).toBe('');
  expect(init.exitCode).toBe(0);
  expect(init.stdout).toMatch(/Wrote .*lifeboat\.yaml: database shop \(postgres, provider self-hosted\), no password in it/);
  expect(init.stdout).not.toContain(role.password);
  const yaml = readFileSync(file, 'utf8');
  expect(yaml).not.toContain(role.password);
  expect(yaml).toContain('url: { env: SHOP_DATABASE_URL }');
  // A second init does not overwrite the file.
  const again = await lifeboat(['-c', file, 'init', '--env', 'SHOP_DATABASE_URL'], { SHOP_DATABASE_URL: url });
  expect(again.exitCode).toBe(2);
  expect(again.stderr).toMatch(/exists \(pass --force/);

  const env = { SHOP_DATABASE_URL: url, TEMPORAL_ADDRESS: s.temporal.address, S3_ACCESS_KEY_ID: s.s3.accessKeyId, S3_SECRET_ACCESS_KEY: s.s3.secretAccessKey };
  const doctor = await lifeboat(['-c', file, 'doctor', '--json'], env);
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ part: string; check: string; status: string; detail: string }> };
  expect(report.checks.filter((c) => c.status === 'fail')).toEqual([]);
  expect(doctor.exitCode).toBe(0);
  const by = (part: string, check: string) => report.checks.find((c) => c.part === part && c.check === check);
  expect(by('temporal', 'reachable')?.status).toBe('ok');
  expect(by('database shop', 'reachable')?.detail).toMatch(/^PostgreSQL \d+/);
  expect(by('database shop', 'dump tool')?.detail).toMatch(/^pg_dump \d+/);
  expect(by('storage primary', 'conditional write')?.detail).toMatch(/refused/);
  expect(by('scratch space', 'free')?.status).toBe('ok');
  expect(doctor.stdout).not.toContain(role.password);

  // A table the role cannot read would fail every backup: the doctor names it.
  await withPg(database, (c) => c.query('create table secret_stuff (id int)'));
  const denied = await lifeboat(['-c', file, 'doctor'], env);
  expect(denied.exitCode).toBe(1);
  expect(denied.stdout).toMatch(/FAIL\s+database shop\s+privileges\s+.*cannot read 1 relation\(s\): public\.secret_stuff/);
  expect(denied.stdout).toMatch(/grant SELECT on them/);
  await withPg(database, (c) => c.query('drop table secret_stuff'));
});

test('doctor with a wrong password, a missing bucket and a stopped Temporal prints three failures with their fixes and exits 1', async () => {
  const s = services();
  const port = await freePort();
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(
    file,
    `temporal: { address: "127.0.0.1:${port}", taskQueue: lb-doctor }
storage:
  primary: { type: s3, bucket: lb-no-such-bucket-${Date.now()}, endpoint: "${s.s3.endpoint}", forcePathStyle: true, region: us-east-1, accessKeyId: ${s.s3.accessKeyId}, secretAccessKey: { env: DOCTOR_S3_SECRET } }
databases:
  shop: { engine: postgres, url: { env: DOCTOR_DB_URL } }
`,
  );
  const wrong = pgUrl(database, { name: role.name, password: 'not-the-password' });
  const r = await lifeboat(['-c', file, 'doctor'], { DOCTOR_DB_URL: wrong, DOCTOR_S3_SECRET: s.s3.secretAccessKey });
  expect(r.exitCode).toBe(1);
  const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
  expect(failures).toHaveLength(3);
  expect(failures[0]).toMatch(new RegExp(`^FAIL\\s+temporal\\s+reachable\\s+cannot reach Temporal at 127\\.0\\.0\\.1:${port}`));
  expect(failures[1]).toMatch(/^FAIL\s+database shop\s+reachable\s+.*authentication rejected/);
  expect(failures[2]).toMatch(/^FAIL\s+storage primary\s+write, read, delete\s+.*NoSuchBucket/);
  const fixes = r.stdout.slice(r.stdout.indexOf('To fix:'));
  expect(fixes).toMatch(/temporal \(reachable\): start the Temporal server/);
  expect(fixes).toMatch(/database shop \(reachable\): correct the user or password in the URL in DOCTOR_DB_URL/);
  expect(fixes).toMatch(/storage primary \(write, read, delete\): create the bucket \(`aws s3 mb s3:\/\/lb-no-such-bucket-\d+`\)/);
  expect(r.stdout).toMatch(/3 check\(s\) failed\./);
  expect(`${r.stdout}${r.stderr}`).not.toContain('not-the-password');
  expect(`${r.stdout}${r.stderr}`).not.toContain(s.s3.secretAccessKey);
});

const mariadb = mariadbServerBinaries();
if ('missing' in mariadb) console.warn(`doctor's MySQL check is not tested: ${mariadb.missing}`);

('missing' in mariadb ? test.skip : test)('doctor probes a MariaDB database: version, a dump tool of its flavour, privileges', async () => {
  const s = services();
  const server = await startEphemeralMariadb({});
  try {
    const admin = await mysql.createConnection({ host: server.host, port: server.port, user: server.user, password: server.password });
    await admin.query('CREATE DATABASE shop');
    await admin.query('CREATE TABLE shop.items (id INT PRIMARY KEY)');
    await admin.end();
    const bucket = await createBucket('lb-doctor-my');
    const file = path.join(dir, 'mysql.yaml');
    writeFileSync(
      file,
      `temporal: { taskQueue: lb-doctor-my }
storage:
  primary: { type: s3, bucket: ${bucket}, endpoint: "${s.s3.endpoint}", forcePathStyle: true, region: us-east-1, accessKeyId: ${s.s3.accessKeyId}, secretAccessKey: { env: DOCTOR_S3_SECRET } }
databases:
  shop: { engine: mysql, url: { env: DOCTOR_MY_URL } }
`,
    );
    const r = await lifeboat(['-c', file, 'doctor', '--json'], {
      DOCTOR_MY_URL: server.url('shop'),
      DOCTOR_S3_SECRET: s.s3.secretAccessKey,
      TEMPORAL_ADDRESS: s.temporal.address,
    });
    const report = JSON.parse(r.stdout) as { checks: Array<{ part: string; check: string; status: string; detail: string }> };
    const db = report.checks.filter((c) => c.part === 'database shop');
    expect(db.map((c) => [c.check, c.status])).toEqual([
      ['reachable', 'ok'],
      ['dump tool', 'ok'],
      ['privileges', 'ok'],
      ['size', 'ok'],
    ]);
    expect(db[0]!.detail).toMatch(/^MySQL\/MariaDB \d+\.\d+.*MariaDB/);
    expect(db[1]!.detail).toMatch(/^(mariadb-dump|mysqldump) /);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).not.toContain(server.password);
  } finally {
    await server.stop();
  }
});

test('secrets canary: the database password is in no CLI output, written configuration, stored object or sampled argv', async () => {
  expect(canary.stopSampling()).toBeGreaterThan(20);
  await canary.checkBucket(bucket);
  canary.checkText('CLI output', outputs.join('\n'));
  canary.checkText('lifeboat.yaml', readFileSync(path.join(dir, 'lifeboat.yaml'), 'utf8'));
  expect(canary.found).toEqual([]);
  // The check can fail: the secret is really the password doctor logged in with.
  expect(pgUrl(database, role)).toContain(canary.secret);
});
