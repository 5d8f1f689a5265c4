import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { openStorage } from '../../src/storage/index.js';
import type { Storage } from '../../src/storage/types.js';
import { createBucket, getObject, listKeys, listMultipart, s3Client, s3Target, testConfig } from '../harness/services.js';

// S3Storage.putStream against the suite's real S3 server: parts of a fixed size from a fixed set
// of buffers, every byte stored in order, one PutObject for a stream within one part, and a
// cancelled upload leaving nothing.

const MiB = 1024 * 1024;

function storageFor(bucket: string, extra: Record<string, unknown>): Storage {
  return openStorage(testConfig({ bucket, databases: {}, extraStorage: { tuned: { ...s3Target(bucket), ...extra } } }), 'tuned');
}

/** `total` bytes in chunks of uneven sizes (part boundaries fall inside chunks), from `source` repeated. */
function body(source: Buffer, total: number): Readable {
  let sent = 0;
  let turn = 0;
  return new Readable({
    read() {
      if (sent >= total) return void this.push(null);
      const size = Math.min(total - sent, [65_536, 1_000_003, 333_333][turn++ % 3]!, source.length);
      sent += size;
      this.push(source.subarray(0, size));
    },
  });
}

function sha256(chunks: Buffer[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

describe('S3Storage.putStream', () => {
  test('a stream of several parts is stored byte for byte, with per-part SHA-256 checksums', async () => {
    const bucket = await createBucket('lb-s3-parts');
    const storage = storageFor(bucket, { partSizeMiB: 5, queueSize: 2, uploadChecksum: 'sha256' });
    const source = randomBytes(1_000_003);
    const total = 17 * MiB + 12_345;
    const written = await storage.putStream('db/backups/1/1.a1-x.dump.zst', body(source, total));
    expect(written.bytes).toBe(total);
    const stored = await getObject(bucket, 'db/backups/1/1.a1-x.dump.zst');
    const expected: Buffer[] = [];
    for await (const c of body(source, total)) expected.push(c as Buffer);
    expect({ bytes: stored.length, sha256: sha256([stored]) }).toEqual({ bytes: total, sha256: sha256(expected) });
    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'db/backups/1/1.a1-x.dump.zst' }));
    expect(head.ETag).toMatch(/-4"$/); // four parts: 5 + 5 + 5 + 2 MiB
    expect(await listMultipart(bucket)).toEqual([]);
  });

  test.each([true, false])(
    'signPayload %s: a multipart stream is stored byte for byte (over loopback the default sends UNSIGNED-PAYLOAD)',
    async (signPayload) => {
      const bucket = await createBucket('lb-s3-signed');
      const storage = storageFor(bucket, { partSizeMiB: 5, signPayload });
      const data = randomBytes(11 * MiB + 7);
      expect(await storage.putStream('db/s.zst', Readable.from([data]))).toEqual({ bytes: data.length });
      expect(sha256([await getObject(bucket, 'db/s.zst')])).toBe(sha256([data]));
      await storage.put('db/small.json', Buffer.from('{}'), 'application/json');
      expect((await getObject(bucket, 'db/small.json')).toString()).toBe('{}');
    },
  );

  test('a stream within one part is a single PutObject', async () => {
    const bucket = await createBucket('lb-s3-single');
    const storage = storageFor(bucket, { partSizeMiB: 5 });
    const data = randomBytes(3 * MiB);
    expect(await storage.putStream('db/x.zst', Readable.from([data.subarray(0, MiB), data.subarray(MiB)]))).toEqual({ bytes: 3 * MiB });
    expect((await getObject(bucket, 'db/x.zst')).equals(data)).toBe(true);
    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: 'db/x.zst' }));
    expect(head.ETag).not.toMatch(/-\d+"$/);
  });

  test('memory stays at (queueSize + 1) part buffers however long the stream', async () => {
    const bucket = await createBucket('lb-s3-memory');
    const storage = storageFor(bucket, { partSizeMiB: 5, queueSize: 2 });
    const source = randomBytes(1_000_003);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const before = process.memoryUsage().arrayBuffers;
    try {
      expect(await storage.putStream('db/long.zst', body(source, 60 * MiB))).toEqual({ bytes: 60 * MiB });
    } finally {
      clearInterval(sampler);
    }
    // Three 5 MiB buffers and little else (lib-storage's concatenated parts peaked at about 34 MiB here).
    expect(peak - before).toBeLessThan(3 * 5 * MiB + 3 * MiB);
  });

  test('a cancelled upload leaves no object and no unfinished multipart upload', async () => {
    const bucket = await createBucket('lb-s3-cancel');
    const storage = storageFor(bucket, { partSizeMiB: 5, queueSize: 2 });
    const ac = new AbortController();
    const source = randomBytes(MiB);
    let sent = 0;
    const slow = new Readable({
      read() {
        sent += MiB;
        if (sent === 12 * MiB) setTimeout(() => ac.abort(), 50);
        if (sent > 12 * MiB) return; // stalls: only the cancellation ends it
        this.push(source);
      },
    });
    await expect(storage.putStream('db/cancelled.zst', slow, { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await listMultipart(bucket)).toEqual([]);
    expect(await listKeys(bucket)).toEqual([]);
  });
});
