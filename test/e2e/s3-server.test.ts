import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadBucketCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type S3ServiceException,
} from '@aws-sdk/client-s3';
import { openStorage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/types.js';
import { createBucket, getObject, listKeys, listMultipart, s3Client, testConfig } from '../harness/services.js';

// The S3 behaviours Lifeboat relies on, proven against the suite's real S3 server (SeaweedFS):
// create-if-absent writes, no bucket created by a write, multipart uploads that leave nothing
// when aborted, and Object Lock.

const MiB = 1024 * 1024;

function storageFor(bucket: string): Storage {
  return openStorage(testConfig({ bucket, databases: {} }), 'primary');
}

async function rejection(p: Promise<unknown>): Promise<S3ServiceException> {
  try {
    await p;
  } catch (err) {
    return err as S3ServiceException;
  }
  throw new Error('expected the request to be refused, but it succeeded');
}

describe('conditional writes', () => {
  test('putIfAbsent writes once; a second write to the key is refused and the first body stays', async () => {
    const storage = storageFor(await createBucket('lb-s3-cond'));
    expect(await storage.putIfAbsent('db/backups/1/manifest.json', '{"first":true}')).toBe(true);
    expect(await storage.putIfAbsent('db/backups/1/manifest.json', '{"second":true}')).toBe(false);
    expect((await storage.getBuffer('db/backups/1/manifest.json')).toString()).toBe('{"first":true}');
  });

  test('the server answers a second If-None-Match: * write with 412 PreconditionFailed', async () => {
    const bucket = await createBucket('lb-s3-412');
    await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'a', IfNoneMatch: '*' }));
    const err = await rejection(s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'b', IfNoneMatch: '*' })));
    expect({ name: err.name, status: err.$metadata?.httpStatusCode }).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect((await getObject(bucket, 'k')).toString()).toBe('a');
  });
});

describe('missing buckets', () => {
  test('writes to a bucket that does not exist fail with NoSuchBucket instead of creating it', async () => {
    const bucket = `lb-s3-missing-${randomBytes(4).toString('hex')}`;
    const storage = storageFor(bucket);
    await expect(storage.putIfAbsent('db/backups/1/manifest.json', '{}')).rejects.toMatchObject({
      code: 'STORAGE_FAILED',
      message: expect.stringMatching(/NoSuchBucket/),
    });
    await expect(storage.putStream('db/backups/1/1.a1-x.dump.zst', Readable.from([randomBytes(1024)]))).rejects.toThrow(/NoSuchBucket/);
    const err = await rejection(s3Client().send(new HeadBucketCommand({ Bucket: bucket })));
    expect(err.$metadata?.httpStatusCode).toBe(404);
  });
});

describe('multipart uploads', () => {
  test('an upload aborted after a part was stored leaves no object and no unfinished upload', async () => {
    const bucket = await createBucket('lb-s3-abort');
    const c = s3Client();
    const { UploadId } = await c.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big.dump' }));
    await c.send(new UploadPartCommand({ Bucket: bucket, Key: 'big.dump', UploadId, PartNumber: 1, Body: randomBytes(6 * MiB) }));
    expect(await listMultipart(bucket)).toEqual(['big.dump']);
    await c.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: 'big.dump', UploadId }));
    expect(await listMultipart(bucket)).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
  });

  test('S3Storage.putStream whose body fails after the first part aborts the upload: nothing is left', async () => {
    const bucket = await createBucket('lb-s3-fail');
    const storage = storageFor(bucket);
    let sent = 0;
    let uploadsSeenBeforeFailing: string[] = [];
    const body = new Readable({
      read() {
        if (sent < 12 * MiB) {
          sent += MiB;
          this.push(randomBytes(MiB));
          return;
        }
        // Fail only once the server holds the multipart upload (its first 8 MiB part is on the way).
        void (async () => {
          for (let i = 0; i < 100 && uploadsSeenBeforeFailing.length === 0; i++) {
            uploadsSeenBeforeFailing = await listMultipart(bucket);
            if (uploadsSeenBeforeFailing.length === 0) await new Promise((r) => setTimeout(r, 100));
          }
          this.destroy(new Error('pg_dump exited with code 1'));
        })();
      },
    });
    await expect(storage.putStream('db/backups/1/1.a1-x.dump.zst', body)).rejects.toThrow(/pg_dump exited with code 1/);
    expect(uploadsSeenBeforeFailing).toEqual(['db/backups/1/1.a1-x.dump.zst']);
    expect(await listMultipart(bucket)).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
  });
});

describe('Object Lock', () => {
  let bucket: string;

  beforeAll(async () => {
    bucket = `lb-s3-lock-${randomBytes(4).toString('hex')}`;
    await s3Client().send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  });

  test('a COMPLIANCE-retained version cannot be deleted or have its retention shortened before its date', async () => {
    const c = s3Client();
    const until = new Date(Date.now() + 3_600_000);
    until.setUTCMilliseconds(0);
    const put = await c.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'locked.dump', Body: 'backup bytes', ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: until }),
    );
    expect(put.VersionId).toBeTruthy();
    const VersionId = put.VersionId!;
    const retention = await c.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: 'locked.dump', VersionId }));
    expect(retention.Retention).toEqual({ Mode: 'COMPLIANCE', RetainUntilDate: until });

    const del = await rejection(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked.dump', VersionId })));
    expect(del.name).toBe('AccessDenied');
    // COMPLIANCE cannot be bypassed (only GOVERNANCE can, with the permission).
    const bypass = await rejection(c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked.dump', VersionId, BypassGovernanceRetention: true })));
    expect(bypass.name).toBe('AccessDenied');
    const shorten = await rejection(
      c.send(
        new PutObjectRetentionCommand({
          Bucket: bucket,
          Key: 'locked.dump',
          VersionId,
          Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date(Date.now() + 1_000) },
        }),
      ),
    );
    expect(shorten.name).toBe('AccessDenied');

    // A delete without a version id only adds a delete marker; the retained version stays readable.
    const marker = await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'locked.dump' }));
    expect(marker.DeleteMarker).toBe(true);
    const got = await c.send(new GetObjectCommand({ Bucket: bucket, Key: 'locked.dump', VersionId }));
    expect(await got.Body!.transformToString()).toBe('backup bytes');
  });

  test('in the same bucket a version without retention can be deleted (the refusal above is the lock)', async () => {
    const c = s3Client();
    const put = await c.send(new PutObjectCommand({ Bucket: bucket, Key: 'free.dump', Body: 'scratch' }));
    await c.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'free.dump', VersionId: put.VersionId }));
    const versions = await c.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'free.dump' }));
    expect((versions.Versions ?? []).map((v) => v.VersionId)).not.toContain(put.VersionId);
  });
});
