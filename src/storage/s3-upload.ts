// A stream into one S3 object with a fixed set of part buffers: the stream's chunks are copied once
// into a part buffer, each full part is sent as an UploadPart of a Buffer, and a buffer is reused
// once its part is stored. Memory stays at (queueSize + 1) x part size however large the stream;
// a stream that fits in one part is a single PutObject. A failed or cancelled stream aborts the
// multipart upload: an object is only completed after the stream ended normally.
import type { Readable } from 'node:stream';
import type * as S3Module from '@aws-sdk/client-s3';
import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { LifeboatError } from '../errors.js';
import type { S3WriteParams } from './s3-protection.js';

export interface StreamUpload {
  sdk: typeof S3Module;
  client: S3Client;
  /** Bucket, key, content type and the target's write parameters (Object Lock, SSE, checksum). */
  params: S3WriteParams & { Bucket: string; Key: string; ContentType: string };
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
  maxParts: number;
  signal?: AbortSignal;
}

/**
 * Part buffers left by finished uploads, by size: back-to-back backups reuse them instead of
 * allocating new ones while the old ones wait for a garbage collection. Dropped after a minute
 * without uploads, so an idle worker gives the memory back.
 */
const spare = new Map<number, Buffer[]>();
let dropSpare: NodeJS.Timeout | undefined;

/** Part buffers of one upload, allocated on first use up to `limit`, handed out and given back. */
class PartPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(b: Buffer) => void> = [];
  private readonly all: Buffer[] = [];

  constructor(
    private readonly size: number,
    private readonly limit: number,
  ) {
    clearTimeout(dropSpare);
  }

  take(): Buffer | Promise<Buffer> {
    const b = this.free.pop();
    if (b) return b;
    if (this.all.length < this.limit) {
      const fresh = spare.get(this.size)?.pop() ?? Buffer.allocUnsafeSlow(this.size);
      this.all.push(fresh);
      return fresh;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  give(b: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(b);
    else this.free.push(b);
  }

  /** Hands every buffer to the next upload; call once no part is in flight. */
  release(): void {
    spare.set(this.size, [...(spare.get(this.size) ?? []), ...this.all]);
    this.all.length = 0;
    clearTimeout(dropSpare);
    dropSpare = setTimeout(() => spare.clear(), 60_000).unref();
  }
}

/** A stored part as CompleteMultipartUpload lists it: its ETag and the checksums the server returned. */
function completedPart(r: Omit<CompletedPart, 'PartNumber'>, partNumber: number): CompletedPart {
  if (!r.ETag) throw new Error(`Part ${partNumber} is missing an ETag in the UploadPart response`);
  const { ChecksumCRC32, ChecksumCRC32C, ChecksumSHA1, ChecksumSHA256 } = r;
  return {
    PartNumber: partNumber,
    ETag: r.ETag,
    ...(ChecksumCRC32 && { ChecksumCRC32 }),
    ...(ChecksumCRC32C && { ChecksumCRC32C }),
    ...(ChecksumSHA1 && { ChecksumSHA1 }),
    ...(ChecksumSHA256 && { ChecksumSHA256 }),
  };
}

/** The multipart side of an upload: parts sent as they fill, at most `queueSize` at once. */
class MultipartWriter {
  private uploadId?: Promise<string>;
  private readonly parts: CompletedPart[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure?: unknown;
  private readonly ac = new AbortController();

  constructor(
    private readonly u: StreamUpload,
    private readonly pool: PartPool,
  ) {
    u.signal?.addEventListener('abort', () => this.ac.abort(), { once: true });
  }

  get failed(): unknown {
    return this.failure;
  }

  private create(): Promise<string> {
    return (this.uploadId ??= this.u.client.send(new this.u.sdk.CreateMultipartUploadCommand(this.u.params), { abortSignal: this.ac.signal }).then((r) => {
      if (!r.UploadId) throw new Error('CreateMultipartUpload returned no UploadId');
      return r.UploadId;
    }));
  }

  /** Sends part `partNumber` from `buf[0, length)`; resolves once a slot is free for the next one. */
  async send(partNumber: number, buf: Buffer, length: number): Promise<void> {
    if (partNumber > this.u.maxParts) throw new LifeboatError('STORAGE_FAILED', `The upload needs more than ${this.u.maxParts} parts (maxParts)`);
    const task = (async () => {
      try {
        const UploadId = await this.create();
        const r = await this.u.client.send(
          new this.u.sdk.UploadPartCommand({ ...this.u.params, UploadId, PartNumber: partNumber, Body: buf.subarray(0, length), ContentLength: length }),
          { abortSignal: this.ac.signal },
        );
        this.parts.push(completedPart(r, partNumber));
      } catch (err) {
        this.fail(err);
      } finally {
        this.pool.give(buf);
      }
    })();
    this.inFlight.add(task);
    void task.then(() => this.inFlight.delete(task));
    if (this.inFlight.size >= this.u.queueSize) await Promise.race(this.inFlight);
  }

  fail(err: unknown): void {
    this.failure ??= err;
    this.ac.abort();
  }

  async settle(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  async complete(): Promise<void> {
    await this.settle();
    if (this.failure) throw this.failure;
    const UploadId = await this.create();
    this.parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const { ContentType: _type, ...params } = this.u.params;
    await this.u.client.send(new this.u.sdk.CompleteMultipartUploadCommand({ ...params, UploadId, MultipartUpload: { Parts: this.parts } }), {
      abortSignal: this.ac.signal,
    });
  }

  /** Aborts the multipart upload if one was created (its parts are deleted). */
  async abort(): Promise<void> {
    this.ac.abort();
    await this.settle();
    const id = await this.uploadId?.catch(() => undefined);
    if (!id) return;
    await this.u.client.send(new this.u.sdk.AbortMultipartUploadCommand({ Bucket: this.u.params.Bucket, Key: this.u.params.Key, UploadId: id }));
  }
}

/**
 * Uploads `body` to one object; returns the bytes read from it. The object is written only when
 * `body` ends normally: a stream that errors (or `signal` aborting) aborts the upload.
 */
export async function uploadStream(u: StreamUpload, body: Readable): Promise<{ bytes: number }> {
  const pool = new PartPool(u.partSize, u.queueSize + 1);
  const writer = new MultipartWriter(u, pool);
  let buf = await pool.take();
  let filled = 0;
  let partNumber = 0;
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(buf, filled, at);
        filled += n;
        at += n;
        if (filled === u.partSize) {
          await writer.send(++partNumber, buf, filled);
          if (writer.failed) throw writer.failed;
          buf = await pool.take();
          filled = 0;
        }
      }
    }
    if (partNumber === 0) {
      await u.client.send(new u.sdk.PutObjectCommand({ ...u.params, Body: buf.subarray(0, filled), ContentLength: filled }), { abortSignal: u.signal });
      return { bytes };
    }
    if (filled > 0) await writer.send(++partNumber, buf, filled);
    await writer.complete();
    return { bytes };
  } catch (err) {
    writer.fail(err);
    await writer.abort().catch(() => undefined);
    throw err;
  } finally {
    await writer.settle();
    pool.release();
  }
}
