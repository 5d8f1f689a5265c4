// Directory-format backups (`pg_dump -Fd -j 2`) through the real worker, PostgreSQL and S3 server:
// one stored object per dump file, each checksummed in the manifest; restored with pg_restore -j 2
// into a new database; corrupt or missing files refused; a dump killed mid-way commits nothing.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import pg from 'pg';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { readManifest } from '../../src/catalog/catalog.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { directoryChecksum, partKey, storedParts } from '../../src/catalog/artifact-files.js';
import { takeBackup } from '../../src/backup/backup.js';
import { deleteBackup, findOrphanObjects } from '../../src/retention/prune.js';
import { readInventory } from '../../src/retention/inventory.js';
import { openStorage } from '../../src/storage/index.js';
import { LifeboatError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { BackupWithCopiesResult, RestoreInput, RestoreResult, VerifyResult } from '../../src/contracts/index.js';
import { ageKey, removeTempDirs, tempDir, writeTemp } from '../harness/keys.js';
import { databaseExists, failureOf } from '../harness/assertions.js';
import {
  createBucket,
  getObject,
  listKeys,
  pgUrl,
  repoRoot,
  s3Client,
  services,
  startWorker,
  testConfig,
  uniqueName,
  withPg,
  type RunningWorker,
} from '../harness/services.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const EXTRA_TABLES = 6;

let bucket: string;
let dbName: string;
const killDb = uniqueName('lb_fdir_kill');
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
const age = ageKey();
const keys = tempDir('lb-fdir-keys-');
const scratch = mkdtempSync(path.join(os.tmpdir(), 'lb-fdir-scratch-'));
const localDir = tempDir('lb-fdir-local-');

beforeAll(async () => {
  bucket = await createBucket();
  dbName = uniqueName('lb_fdir');
  await createSampleDatabase(services().pg.adminUrl, dbName, 0.2);
  await withPg(dbName, async (c) => {
    for (let i = 0; i < EXTRA_TABLES; i++) {
      await c.query(
        `create table public.extra_${i} (id int primary key, note text); insert into public.extra_${i} select g, repeat('n', ${i}) from generate_series(1, ${100 * (i + 1)}) g`,
      );
    }
    await c.query(`create table public.empty_one (id int)`);
    await c.query(
      `create table public.big (id int, body text); insert into public.big select g, md5(g::text) || repeat('x', 200) from generate_series(1, 400000) g`,
    );
  });
  // For the dump that fails mid-way: tables pg_dump dumps first (their size known from VACUUM),
  // then `late`, whose size is unknown to it (relpages 0), so it is dumped last.
  await withPg('postgres', (c) => c.query(`create database ${killDb}`));
  await withPg(killDb, async (c) => {
    for (let i = 0; i < 6; i++) await c.query(`create table first_${i} as select g, md5(g::text) as m from generate_series(1, 500000) g`);
    await c.query('vacuum analyze');
    await c.query(`create table late (id int) with (autovacuum_enabled = false); insert into late select generate_series(1, 1000)`);
  });
  const url = pgUrl(dbName);
  const dump = { format: 'directory', jobs: 2 };
  cfg = testConfig({
    bucket,
    databases: {
      fdir: { url, extra: { dump, storage: ['primary', 'local'] } },
      fdirgz: { url, compression: { codec: 'gzip', level: 1 }, extra: { dump } },
      fdirage: { url, extra: { dump, encryption: { age: { recipients: [age.recipient] } } } },
      fdirkill: { url: pgUrl(killDb), extra: { dump } },
    },
    extraStorage: { local: { type: 'filesystem', path: localDir } },
  });
  cfg.restore = { tempDir: scratch, jobs: 2, identities: [{ file: writeTemp('age.txt', age.identity, keys) }] };
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
  removeTempDirs();
  rmSync(scratch, { recursive: true, force: true });
});

const run = <T>(workflow: string, input: unknown) =>
  w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] }) as Promise<T>;
const backup = (database: string) => run<BackupWithCopiesResult>('backupDatabase', { database });
const restore = (input: RestoreInput) => run<RestoreResult>('restoreDatabase', input);
const manifestOf = async (database: string, id: string, storage = 'primary') => (await readManifest(openStorage(cfg, storage), database, id))!;
const leftovers = () => readdirSync(scratch).filter((n) => n.startsWith('lifeboat-'));

async function countRows(database: string, table: string): Promise<number> {
  return withPg(database, async (c) => Number((await c.query(`select count(*) from ${table}`)).rows[0].count));
}

/** Every stored file hashes to its manifest entry; the artifact sha256 is over their lines. */
async function expectStoredFiles(m: Manifest): Promise<void> {
  expect(m.format).toBe('pg_dump-directory');
  const names = m.artifact.files!.map((f) => f.name);
  expect(names).toContain('toc.dat');
  // The small files (the extras, empty_one, most sample tables) are stored together in a bundle.
  const bundles = m.artifact.files!.filter((f) => f.members);
  expect(bundles.map((f) => f.name)).toEqual(['bundle-000001.tar']);
  const dumped = m.artifact.files!.flatMap((f) => f.members ?? [f]);
  expect(bundles[0]!.members!.length).toBeGreaterThanOrEqual(EXTRA_TABLES + 1);
  // One data file per table with data at least (sample tables, extras, big, empty_one).
  expect(dumped.filter((f) => /^\d+\.dat$/.test(f.name)).length).toBeGreaterThanOrEqual(EXTRA_TABLES + 5);
  expect(new Set(dumped.map((f) => f.name)).size).toBe(dumped.length);
  expect(m.artifact.bytes).toBe(m.artifact.files!.reduce((n, f) => n + f.bytes, 0));
  expect(m.rawBytes).toBe(dumped.reduce((n, f) => n + f.rawBytes, 0));
  expect(m.artifact.sha256).toBe(directoryChecksum(m.artifact.files!, m.artifact));
  for (const part of storedParts(m.artifact)) {
    const stored = await getObject(bucket, part.key);
    expect([part.key, stored.length, sha256(stored)]).toEqual([part.key, part.bytes, part.sha256]);
    if (part.file?.members && !m.artifact.encryption) {
      // A bundle is a plain tar archive: the stock tar lists its members in the manifest's order and sizes.
      const tar = execFileSync(m.artifact.compression.codec === 'gzip' ? 'gzip' : 'zstd', ['-d', '-c'], { input: stored, maxBuffer: 1 << 30 });
      expect(tar.length).toBe(part.file.rawBytes);
      const listing = execFileSync('tar', ['-tv'], { input: tar }).toString().trim().split('\n');
      expect(listing.map((l) => [l.split(/\s+/)[5], Number(l.split(/\s+/)[2])])).toEqual(part.file.members.map((f) => [f.name, f.rawBytes]));
    }
  }
  expect((await listKeys(bucket, `${m.artifact.key}/`)).length).toBe(names.length);
}

test.each(['fdir', 'fdirgz', 'fdirage'])(
  'a directory backup (%s) stores every file checksummed, restores with -j 2 with equal row counts, and verifies',
  async (database) => {
    const b = await backup(database);
    const m = await manifestOf(database, b.backupId);
    expect(b.sha256).toBe(m.artifact.sha256);
    await expectStoredFiles(m);
    if (database === 'fdirage') {
      const toc = await getObject(bucket, partKey(m.artifact.key, 'toc.dat', m.artifact));
      expect(toc.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
      expect(m.artifact.encryption?.type).toBe('age');
      // The stock tools read every stored file back: age, then zstd, to the raw size.
      const idFile = writeTemp('age-cli.txt', age.identity, keys);
      for (const part of storedParts(m.artifact)) {
        const plain = execFileSync('age', ['--decrypt', '--identity', idFile], { input: await getObject(bucket, part.key), maxBuffer: 1 << 30 });
        expect([part.file!.name, execFileSync('zstd', ['-d', '-c'], { input: plain, maxBuffer: 1 << 30 }).length]).toEqual([
          part.file!.name,
          part.file!.rawBytes,
        ]);
      }
    }
    expect(m.rowCounts?.consistency).toBe('same-snapshot');
    expect(leftovers()).toEqual([]);

    const target = uniqueName(`lb_fdir_${database}`);
    const r = await restore({ database, backup: b.backupId, target });
    expect(r).toMatchObject({ backupId: b.backupId, created: true, bytes: m.artifact.bytes, rawBytes: m.rawBytes });
    expect(r.rowCounts!.compared).toBeGreaterThan(EXTRA_TABLES + 4);
    expect(r.rowCounts!.mismatches).toEqual([]);
    expect(await countRows(target, 'public.big')).toBe(400000);
    expect(await countRows(target, 'public.extra_5')).toBe(600);
    expect(leftovers()).toEqual([]);

    const v = await run<VerifyResult>('verifyBackup', { database, backup: b.backupId });
    expect(v).toMatchObject({ backupId: b.backupId, outcome: 'passed' });
  },
);

test('a directory backup restores some tables only (pg_restore -L over the dump directory)', async () => {
  const b = await backup('fdirgz');
  const target = uniqueName('lb_fdir_tables');
  const r = await restore({ database: 'fdirgz', backup: b.backupId, target, mode: 'tables', tables: ['public.extra_2', 'public.big'] });
  expect(r.rowCounts).toEqual({ compared: 2, mismatches: [] });
  expect(await countRows(target, 'public.extra_2')).toBe(300);
  expect(await countRows(target, 'public.big')).toBe(400000);
  expect(await withPg(target, async (c) => (await c.query(`select to_regclass('public.extra_3') as t`)).rows[0].t)).toBeNull();
});

/** The `manual-restore:<name>` shell block of docs/manual-restore.md. */
function docBlock(name: string): string {
  const doc = readFileSync(path.join(repoRoot, 'docs/manual-restore.md'), 'utf8');
  const m = new RegExp(`<!-- manual-restore:${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/manual-restore.md has no manual-restore:${name} block`);
  return m[1]!;
}

test('the documented stock-tool restore of a directory backup (sha256sum -c, zstd, pg_restore -j 4) gives the same rows', async () => {
  const b = await backup('fdir');
  const m = await manifestOf('fdir', b.backupId);
  const dir = tempDir('lb-fdir-manual-');
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  for (const part of storedParts(m.artifact)) writeFileSync(path.join(dir, path.basename(part.key)), await getObject(bucket, part.key));
  const target = uniqueName('lb_fdir_manual');
  const u = new URL(services().pg.adminUrl);
  const pgEnv = {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: 'postgres',
  };
  execFileSync('bash', ['-euo', 'pipefail', '-c', docBlock('directory').replaceAll('orders_restore', target)], {
    cwd: dir,
    env: { PATH: process.env.PATH!, HOME: dir, ...pgEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const [table, n] of Object.entries(m.rowCounts!.tables)) {
    const [schema, name] = table.split('.');
    expect([table, await countRows(target, `only "${schema}"."${name}"`)]).toEqual([table, n]);
  }
  // A corrupt file makes the documented check fail before anything is restored.
  const toc = path.join(dir, 'toc.dat.zst');
  writeFileSync(toc, Buffer.concat([readFileSync(toc), Buffer.from('x')]));
  const again = uniqueName('lb_fdir_manual_bad');
  expect(() =>
    execFileSync('bash', ['-euo', 'pipefail', '-c', `rm -rf dump\n${docBlock('directory').replaceAll('orders_restore', again)}`], {
      cwd: dir,
      env: { PATH: process.env.PATH!, HOME: dir, ...pgEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  ).toThrow(/SHA256SUMS|FAILED/);
  expect(await databaseExists(again)).toBe(false);
});

test('the copy to a second target holds every file, re-checked; retention deletes every file and the orphan sweep spares them', async () => {
  const b = await backup('fdir');
  expect(b.copies?.map((c) => [c.storage, c.status, c.sha256])).toEqual([['local', 'copied', b.sha256]]);
  const copy = await manifestOf('fdir', b.backupId, 'local');
  expect(copy.artifact).toMatchObject({ storage: 'local', sha256: b.sha256, files: (await manifestOf('fdir', b.backupId)).artifact.files });
  for (const part of storedParts(copy.artifact)) expect(sha256(readFileSync(path.join(localDir, part.key)))).toBe(part.sha256);

  const primary = openStorage(cfg, 'primary');
  const inv = await readInventory(primary, 'fdir');
  expect(findOrphanObjects(inv, 'fdir', Date.now() + 3600_000).map((o) => o.key)).toEqual([]);
  const parts = storedParts(copy.artifact).length;
  const deleted = await deleteBackup(primary, 'fdir', b.backupId);
  expect(deleted.objects).toBeGreaterThanOrEqual(parts + 1);
  expect(await listKeys(bucket, `fdir/backups/${b.backupId}/`)).toEqual([]);
});

test('a corrupt or missing stored file fails restore (CHECKSUM_MISMATCH, BACKUP_NOT_FOUND) and verification; no database is left', async () => {
  const b = await backup('fdirgz');
  const m = await manifestOf('fdirgz', b.backupId);
  const data = storedParts(m.artifact).find((p) => p.file!.name !== 'toc.dat' && p.bytes > 1000)!;
  const original = await getObject(bucket, data.key);
  const corrupt = Buffer.from(original);
  corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: data.key, Body: corrupt }));

  const target = uniqueName('lb_fdir_bad');
  const bad = await failureOf(restore({ database: 'fdirgz', backup: b.backupId, target }));
  expect(bad.type).toBe('CHECKSUM_MISMATCH');
  expect(bad.message).toContain(data.key);
  expect(await databaseExists(target)).toBe(false);
  const v = await run<VerifyResult>('verifyBackup', { database: 'fdirgz', backup: b.backupId }).catch((e: unknown) => e);
  expect(JSON.stringify(v instanceof Error ? { type: (await failureOf(Promise.reject(v))).type } : v)).toMatch(/CHECKSUM_MISMATCH/);

  await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: data.key }));
  const missing = await failureOf(restore({ database: 'fdirgz', backup: b.backupId, target }));
  expect(missing.type).toBe('BACKUP_NOT_FOUND');
  expect(await databaseExists(target)).toBe(false);
  expect(leftovers()).toEqual([]);
});

/**
 * Starts a backup and, once some of its files are stored, asks for an exclusive lock on `late`:
 * the pg_dump worker that reaches it then fails to lock it (NOWAIT), and pg_dump fails.
 */
async function backupFailingMidway(): Promise<{ backupId: string; err: unknown; storedAtLock: number }> {
  const backupId = uniqueName('fdir-failed');
  let stored = 0;
  const outcome = takeBackup(
    cfg,
    { database: 'fdirkill', kind: 'full', backupId, workflow: { workflowId: 'w', runId: 'r', attempt: 1 } },
    createLogger({ level: 'silent' }),
    {
      onProgress: (p) => (stored = p.storedBytes),
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  let done = false;
  void outcome.finally(() => (done = true));
  while (!done && stored === 0) await new Promise((r) => setTimeout(r, 5));
  const storedAtLock = stored;
  const locker = new pg.Client({ connectionString: pgUrl(killDb) });
  await locker.connect();
  try {
    await locker.query('begin');
    const locking = locker.query('lock table late in access exclusive mode').catch(() => undefined); // granted once pg_dump is gone
    const err = await outcome;
    await locking;
    return { backupId, err, storedAtLock };
  } finally {
    await locker.end();
  }
}

test('pg_dump failing mid-way (a table it cannot lock) commits nothing and leaves no stored file and no scratch directory', async () => {
  // The dump may reach `late` before the lock is asked for on a fast machine: then try again.
  let r = await backupFailingMidway();
  for (let i = 0; i < 4 && r.err === undefined; i++) r = await backupFailingMidway();
  expect({ storedAtLock: r.storedAtLock > 0, err: String(r.err) }).toEqual({
    storedAtLock: true,
    err: expect.stringMatching(/could not obtain lock on relation/),
  });
  expect(r.err).toBeInstanceOf(LifeboatError);
  expect(await listKeys(bucket, `fdirkill/backups/${r.backupId}/`)).toEqual([]);
  expect(leftovers()).toEqual([]);
});

test('a cancelled directory backup stops pg_dump and its workers, stores nothing and removes its scratch directory', async () => {
  const backupId = uniqueName('fdir-cancelled');
  const ac = new AbortController();
  let stored = 0;
  const outcome = takeBackup(
    cfg,
    { database: 'fdirkill', kind: 'full', backupId, workflow: { workflowId: 'w', runId: 'r', attempt: 1 } },
    createLogger({ level: 'silent' }),
    {
      signal: ac.signal,
      onProgress: (p) => {
        stored = p.storedBytes;
        if (stored > 0) ac.abort();
      },
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  const err = await outcome;
  expect(stored).toBeGreaterThan(0);
  expect(err).toMatchObject({ code: 'CANCELLED' });
  const sessions = async () =>
    withPg('postgres', async (c) =>
      Number((await c.query(`select count(*) as n from pg_stat_activity where application_name = $1`, [`lifeboat:fdirkill:${backupId}`])).rows[0].n),
    );
  for (let i = 0; i < 50 && (await sessions()) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(await sessions()).toBe(0);
  expect(await listKeys(bucket, `fdirkill/backups/${backupId}/`)).toEqual([]);
  expect(leftovers()).toEqual([]);
});
