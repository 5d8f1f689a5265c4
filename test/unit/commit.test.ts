import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { commitArtifact, type CommitRequest } from '../../src/catalog/commit.js';
import { keys, type Manifest } from '../../src/catalog/manifest.js';
import { readManifest } from '../../src/catalog/catalog.js';
import { parseConfig } from '../../src/config/load.js';
import { FilesystemStorage } from '../../src/storage/filesystem.js';
import { openStorage, type Storage } from '../../src/storage/index.js';
import { captureLogger, createBucket, s3Client, services } from '../harness/services.js';

// The commit sequence shared by backups and copies, on a real directory; upload confirmation on a
// real directory and a real S3 server.

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fsStorage(): FilesystemStorage {
  return new FilesystemStorage('local', { type: 'filesystem', path: mkdtempSync(path.join(os.tmpdir(), 'lb-commit-')), prefix: '' });
}

function manifestFor(key: string, body: Buffer, attempt = 1): Manifest {
  const at = '2026-11-23T02:00:00.000Z';
  return {
    formatVersion: 1,
    backupId: 'b1',
    database: 'shop',
    kind: 'full',
    engine: 'postgres',
    provider: 'self-hosted',
    format: 'pg_dump-custom',
    server: { version: '16.4', flavour: 'postgresql' },
    tool: { name: 'pg_dump', version: '16.4' },
    startedAt: at,
    finishedAt: at,
    durationMs: 1,
    rawBytes: body.length,
    artifact: { storage: 'local', key, bytes: body.length, sha256: sha256(body), compression: { codec: 'none', level: 0 }, encryption: null },
    rowCounts: null,
    workflow: { workflowId: 'w', runId: 'r', attempt },
    lifeboatVersion: 'test',
  };
}

function request(
  storage: Storage,
  attempt: number,
  stage: CommitRequest<Manifest>['stage'],
  extra: Partial<CommitRequest<Manifest>> = {},
): CommitRequest<Manifest> {
  return {
    storage,
    database: 'shop',
    backupId: 'b1',
    attempt,
    tag: 'a',
    extension: '.dump',
    what: 'Backup of shop',
    subject: 'shop',
    reread: false,
    checksumCode: 'CHECKSUM_MISMATCH',
    noun: 'the artifact',
    log: captureLogger().logger,
    stage,
    ...extra,
  };
}

/** A stage that writes `body` to the staging key it is given. */
const writes =
  (storage: Storage, body: Buffer, claimed = body) =>
  async (key: string) => {
    await storage.putStream(key, Readable.from([body]));
    return { bytes: claimed.length, sha256: sha256(claimed), manifest: () => manifestFor(key, body) };
  };

test('an attempt stages under its own key, confirms the size and commits the manifest last', async () => {
  const storage = fsStorage();
  const body = Buffer.from('PGDMP and then some bytes');
  const phases: string[] = [];
  const out = await commitArtifact(request(storage, 1, writes(storage, body), { onPhase: (p) => phases.push(p) }));
  expect(out.status).toBe('committed');
  expect(out.key).toMatch(/^shop\/backups\/b1\/b1\.a1-[0-9a-f]{6}\.dump$/);
  expect(phases).toEqual(['confirming', 'committing']);
  expect((await readManifest(storage, 'shop', 'b1'))?.artifact).toMatchObject({ key: out.key, bytes: body.length, sha256: sha256(body) });
  expect((await storage.list('shop/')).map((o) => o.key).sort()).toEqual([keys.manifest('shop', 'b1'), out.key].sort());
});

test('a retry clears what earlier attempts left, a failing stage or a wrong size leaves nothing', async () => {
  const storage = fsStorage();
  await storage.put('shop/backups/b1/b1.a1-abcdef.dump', 'half of an earlier attempt');
  const boom = new Error('pg_dump exited with code 1');
  await expect(
    commitArtifact(
      request(storage, 2, async (key) => {
        await storage.putStream(key, Readable.from([Buffer.from('partial')]));
        throw boom;
      }),
    ),
  ).rejects.toBe(boom);
  expect(await storage.list('shop/')).toEqual([]);

  const body = Buffer.from('0123456789');
  const claimed = Buffer.from('0123456789AB');
  const err = await commitArtifact(request(storage, 3, writes(storage, body, claimed))).catch((e: unknown) => e);
  expect(err).toMatchObject({
    code: 'STORAGE_FAILED',
    message: expect.stringMatching(
      /^Backup of shop failed: the artifact is stored with 10 bytes, expected 12: \/.*\/shop\/backups\/b1\/b1\.a3-[0-9a-f]{6}\.dump$/,
    ),
  });
  expect(await storage.list('shop/')).toEqual([]);
});

test('two attempts racing: the loser deletes its artifact and returns the winner; a winner of another backup is a conflict', async () => {
  const storage = fsStorage();
  const body = Buffer.from('the same dump, twice');
  const winnerKey = 'shop/backups/b1/b1.a1-000000.dump';
  const racing = (accept?: (m: Manifest) => boolean) =>
    request(
      storage,
      2,
      async (key) => {
        // The timed-out first attempt commits while this one is still uploading.
        await storage.putStream(winnerKey, Readable.from([body]));
        await storage.putIfAbsent(keys.manifest('shop', 'b1'), JSON.stringify(manifestFor(winnerKey, body)));
        return writes(storage, body)(key);
      },
      { accept },
    );
  const out = await commitArtifact(racing());
  expect(out).toMatchObject({ status: 'lost', key: winnerKey, manifest: { artifact: { key: winnerKey } } });
  expect((await storage.list('shop/')).map((o) => o.key).sort()).toEqual([winnerKey, keys.manifest('shop', 'b1')].sort());

  await storage.delete(keys.manifest('shop', 'b1'));
  await expect(commitArtifact(racing(() => false))).rejects.toMatchObject({
    code: 'MANIFEST_CONFLICT',
    message: 'Backup of shop failed: another manifest for backup b1 was committed on local first',
  });
});

test('upload confirmation: size always, the bytes read back when asked or when the S3 target has verifyUpload', async () => {
  const s = services().s3;
  const bucket = await createBucket('lb-confirm');
  const s3 = (verifyUpload: boolean) =>
    openStorage(
      parseConfig({
        storage: {
          primary: {
            type: 's3',
            bucket,
            region: s.region,
            endpoint: s.endpoint,
            forcePathStyle: true,
            accessKeyId: s.accessKeyId,
            secretAccessKey: { env: 'LB_UNIT_S3_SECRET' },
            verifyUpload,
          },
        },
        databases: {},
      }),
      'primary',
    );
  process.env.LB_UNIT_S3_SECRET = s.secretAccessKey;
  const good = Buffer.from('stored bytes');
  const expected = { bytes: good.length, sha256: sha256(good) };
  const tampered = Buffer.from(good);
  tampered[0] ^= 0x01;
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: tampered }));
  expect(await s3(false).confirm('k', expected)).toEqual({ ok: true, reread: false });
  expect(await s3(true).confirm('k', expected)).toEqual({ ok: false, problem: 'checksum', bytes: good.length, sha256: sha256(tampered) });
  expect(await s3(false).confirm('k', expected, { reread: true })).toMatchObject({ ok: false, problem: 'checksum' });
  expect(await s3(false).confirm('missing', expected)).toEqual({ ok: false, problem: 'missing' });
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: good }));
  expect(await s3(true).confirm('k', expected)).toEqual({ ok: true, reread: true });

  const local = fsStorage();
  await local.put('k', tampered);
  expect(await local.confirm('k', expected)).toEqual({ ok: true, reread: false });
  expect(await local.confirm('k', expected, { reread: true })).toMatchObject({ ok: false, problem: 'checksum' });
  expect(await local.confirm('k', { ...expected, bytes: 3 })).toEqual({ ok: false, problem: 'size', bytes: good.length });
});
