import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { main } from '../../src/cli/main.js';
import { keys } from '../../src/catalog/manifest.js';
import type { BackupWithCopiesResult, CopyBackupResult, VerifyResult } from '../../src/contracts/index.js';
import {
  createBucket,
  createRole,
  listKeys,
  pgUrl,
  s3Client,
  services,
  startWorker,
  testConfig,
  uniqueName,
  withPg,
  type RunningWorker,
} from '../harness/services.js';

// Disaster recovery from any storage target: a database on S3 (primary) and a filesystem target,
// backed up (and copied), verified; then the primary is emptied and `restore --backup
// latest-verified` still finds a verified backup, on the filesystem target.

let bucket: string;
let localDir: string;
let configFile: string;
let cfg: ReturnType<typeof testConfig>;
let w: RunningWorker;
let backup: BackupWithCopiesResult;
let verified: VerifyResult;
const source = uniqueName('lb_dr');

beforeAll(async () => {
  bucket = await createBucket('lb-dr');
  localDir = mkdtempSync(path.join(os.tmpdir(), 'lb-dr-'));
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, source, 0.2);
  cfg = testConfig({
    bucket,
    extraStorage: { local: { type: 'filesystem', path: path.join(localDir, 'store') } },
    databases: { shop: { url: pgUrl(source, role), extra: { storage: ['primary', 'local'] } } },
  });
  const { sourcePath: _s, ...raw } = cfg;
  configFile = path.join(localDir, 'lifeboat.json');
  writeFileSync(configFile, JSON.stringify(raw));
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
});

function run<T>(workflow: string, input: unknown): Promise<T> {
  return w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] });
}

const localRecords = () => {
  const dir = path.join(localDir, 'store', keys.verifications('shop', backup.backupId));
  try {
    return readdirSync(dir).map((f) => path.join(dir, f));
  } catch {
    return [];
  }
};

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (out.push(String(c)), true));
  try {
    return { code: await main(['node', 'lifeboat', '--config', configFile, ...args]), out: out.join('') };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

test('a verification record is written to every target holding the backup, naming the bytes it vouches for', async () => {
  backup = await run<BackupWithCopiesResult>('backupDatabase', { database: 'shop' });
  expect(backup.copies?.map((c) => [c.storage, c.status])).toEqual([['local', 'copied']]);
  verified = await run<VerifyResult>('verifyBackup', { database: 'shop', backup: 'latest' });
  expect(verified).toMatchObject({ outcome: 'passed', sha256: backup.sha256, storage: 'primary' });
  expect(await listKeys(bucket, verified.recordKey)).toEqual([verified.recordKey]);
  const [onLocal] = localRecords();
  expect(JSON.parse(readFileSync(onLocal!, 'utf8'))).toMatchObject({ backupId: backup.backupId, outcome: 'passed', sha256: backup.sha256 });
});

test('copying a backup carries the verification records the destination lacks', async () => {
  const saved = localRecords();
  expect(saved).toHaveLength(1);
  const content = readFileSync(saved[0]!, 'utf8');
  rmSync(saved[0]!);
  const copied = await run<CopyBackupResult>('copyBackup', { database: 'shop', backupId: backup.backupId });
  expect(copied.copies.map((c) => [c.storage, c.status])).toEqual([['local', 'already-present']]);
  expect(localRecords()).toEqual(saved);
  expect(JSON.parse(readFileSync(saved[0]!, 'utf8'))).toEqual(JSON.parse(content));
});

test('with the primary emptied, restore --backup latest-verified restores from the filesystem target', async () => {
  for (const key of await listKeys(bucket)) await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  expect(await listKeys(bucket)).toEqual([]);

  // Without the records on the surviving target, there is no verified backup: the selection really reads them.
  const [record] = localRecords();
  const content = readFileSync(record!, 'utf8');
  rmSync(record!);
  const refused = await cli('restore', 'shop', '--target', uniqueName('lb_dr_none'), '--backup', 'latest-verified', '--wait', '--json');
  expect(refused.code).not.toBe(0);
  expect(refused.out).toContain('whose newest verification passed in primary, local');
  writeFileSync(record!, content);

  const target = uniqueName('lb_dr_restored');
  const restored = await cli('restore', 'shop', '--target', target, '--backup', 'latest-verified', '--wait', '--json');
  expect(restored.code).toBe(0);
  const json = JSON.parse(restored.out.slice(restored.out.indexOf('{'))) as { ok: boolean; backupId: string; target: string };
  expect(json).toMatchObject({ ok: true, backupId: backup.backupId, target });
  const count = (db: string) => withPg(db, (c) => c.query<{ n: string }>('select count(*)::text as n from shop.customers')).then((r) => r.rows[0]!.n);
  expect(await count(target)).toBe(await count(source));
});
