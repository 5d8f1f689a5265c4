import type { Readable } from 'node:stream';
import type * as S3Module from '@aws-sdk/client-s3';
import type { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import { confirmObject } from './confirm.js';
import type { Confirmation, ConfirmOptions, ExpectedObject, IncompleteUpload, PutStreamOptions, Storage, StoredObject } from './types.js';
import { S3Protection } from './s3-protection.js';
import { uploadStream } from './s3-upload.js';

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;

type S3Sdk = typeof S3Module;
let sdk: Promise<S3Sdk> | undefined;
/** The AWS SDK is loaded on first use: commands that never reach S3 don't pay for it. */
function loadSdk(): Promise<S3Sdk> {
  return (sdk ??= import('@aws-sdk/client-s3'));
}

/**
 * Chooses a multipart part size so that `sizeHint` bytes (with 50% headroom for growth during the
 * dump) fit in `maxParts` parts (S3: 10,000; some providers: 1,000); at least 8 MiB. An upload
 * holds about (queueSize + 1) x part size in memory.
 */
export function choosePartSize(sizeHint: number | undefined, configuredMiB?: number, maxParts = MAX_PARTS): number {
  if (configuredMiB) return configuredMiB * MiB;
  const needed = Math.ceil(((sizeHint ?? 0) * 1.5) / (maxParts - Math.ceil(maxParts / 100)));
  return Math.max(8 * MiB, Math.ceil(needed / MiB) * MiB);
}

/** Whether uploads to `cfg` sign their payload: asked for, or plain http to a host other than loopback. */
export function signsPayload(cfg: Pick<S3StorageConfig, 'endpoint' | 'signPayload'>): boolean {
  if (cfg.signPayload !== undefined) return cfg.signPayload;
  if (!cfg.endpoint) return false; // AWS over https
  const u = new URL(cfg.endpoint);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return u.protocol === 'http:' && !(host === 'localhost' || host === '::1' || /^127\./.test(host));
}

const UNSIGNED_BODIES = new Set(['PutObjectCommand', 'UploadPartCommand']);

/** Sends PutObject and UploadPart as `UNSIGNED-PAYLOAD`: the signer takes the header as it finds it. */
export function unsignedPayloads(client: S3Client): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const req = args.request as { headers?: Record<string, string> };
      if (UNSIGNED_BODIES.has(context.commandName ?? '') && req.headers) req.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      return next(args);
    },
    { step: 'build', name: 'lifeboatUnsignedPayload' },
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as S3ServiceException;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function isPreconditionFailed(err: unknown): boolean {
  const e = err as S3ServiceException;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

export class S3Storage implements Storage {
  private clientPromise?: Promise<S3Client>;
  private readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  private readonly prefix: string;
  /** Object Lock, server-side encryption and upload checksums of this target. */
  private readonly protection: S3Protection;

  constructor(
    public readonly name: string,
    private readonly cfg: S3StorageConfig,
    baseDir?: string,
  ) {
    const label = `storage.${name}`;
    const accessKeyId = cfg.accessKeyId ? resolveSecret(cfg.accessKeyId, `${label}.accessKeyId`, baseDir) : undefined;
    const secretAccessKey = cfg.secretAccessKey ? resolveSecret(cfg.secretAccessKey, `${label}.secretAccessKey`, baseDir) : undefined;
    const sessionToken = cfg.sessionToken ? resolveSecret(cfg.sessionToken, `${label}.sessionToken`, baseDir) : undefined;
    this.credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken } : undefined;
    this.prefix = cfg.prefix && !cfg.prefix.endsWith('/') ? `${cfg.prefix}/` : cfg.prefix;
    this.protection = new S3Protection(cfg, label, baseDir);
  }

  private client(): Promise<S3Client> {
    return (this.clientPromise ??= loadSdk().then(({ S3Client }) => {
      const client = new S3Client({
        region: this.cfg.region,
        endpoint: this.cfg.endpoint,
        forcePathStyle: this.cfg.forcePathStyle,
        credentials: this.credentials,
        // Integrity is ours (sha256 over the stored bytes); don't rely on server-side checksums.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        // A hung server fails the request (and the activity retries) instead of stalling a backup.
        requestHandler: { connectionTimeout: 30_000, requestTimeout: this.cfg.requestTimeoutSeconds * 1000, throwOnRequestTimeout: true },
      });
      if (!signsPayload(this.cfg)) unsignedPayloads(client);
      return client;
    }));
  }

  private full(key: string): string {
    return `${this.prefix}${key}`;
  }

  private rel(fullKey: string): string {
    return fullKey.startsWith(this.prefix) ? fullKey.slice(this.prefix.length) : fullKey;
  }

  describe(key: string): string {
    return `s3://${this.cfg.bucket}/${this.full(key)}`;
  }

  private fail(action: string, key: string, err: unknown): LifeboatError {
    const e = err as S3ServiceException;
    const status = e?.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
    return new LifeboatError('STORAGE_FAILED', `${action} failed: ${e?.name ?? 'Error'}: ${e?.message ?? String(err)}${status}: ${this.describe(key)}`, {
      subject: this.describe(key),
      cause: err,
    });
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions = {}): Promise<{ bytes: number }> {
    const [sdkModule, client] = await Promise.all([loadSdk(), this.client()]);
    const onAbort = () => body.destroy(new LifeboatError('CANCELLED', 'Upload cancelled'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let written: { bytes: number };
    try {
      written = await uploadStream(
        {
          sdk: sdkModule,
          client,
          params: { Bucket: this.cfg.bucket, Key: this.full(key), ContentType: options.contentType ?? 'application/octet-stream', ...this.protection.write() },
          partSize: choosePartSize(options.sizeHint, this.cfg.partSizeMiB, this.cfg.maxParts),
          queueSize: this.cfg.queueSize,
          maxParts: this.cfg.maxParts,
          signal: options.signal,
        },
        body,
      );
    } catch (err) {
      // Make sure nothing stays half-uploaded, even if the upload could not abort itself.
      await this.abortUploadsFor(key).catch(() => undefined);
      if (err instanceof LifeboatError) throw err;
      throw this.fail('Upload', key, err);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    await this.confirmRetention(key);
    return written;
  }

  /** Some servers ignore Object Lock headers on multipart uploads: set the retention explicitly then. */
  private async confirmRetention(key: string): Promise<void> {
    const until = this.protection.retainUntil();
    if (!until || (await this.head(key))?.retainUntil) return;
    const { ObjectLockMode } = this.protection.write();
    try {
      await (
        await this.client()
      ).send(
        new (await loadSdk()).PutObjectRetentionCommand({
          Bucket: this.cfg.bucket,
          Key: this.full(key),
          Retention: { Mode: ObjectLockMode, RetainUntilDate: until },
        }),
      );
    } catch (err) {
      throw this.fail('Object Lock retention', key, err);
    }
  }

  private async abortUploadsFor(key: string): Promise<void> {
    for (const u of await this.listIncompleteUploads(key)) {
      if (u.key === key) await this.abortIncompleteUpload(u);
    }
  }

  private async putObject(key: string, data: Buffer | string, contentType: string, ifAbsent: boolean): Promise<void> {
    const { PutObjectCommand } = await loadSdk();
    const body = { Bucket: this.cfg.bucket, Key: this.full(key), Body: data, ContentType: contentType, ...this.protection.write() };
    await (await this.client()).send(new PutObjectCommand(ifAbsent ? { ...body, IfNoneMatch: '*' } : body));
  }

  async putIfAbsent(key: string, data: Buffer | string, contentType = 'application/json'): Promise<boolean> {
    try {
      await this.putObject(key, data, contentType, true);
      return true;
    } catch (err) {
      if (isPreconditionFailed(err) || (err as S3ServiceException)?.$metadata?.httpStatusCode === 409) return false;
      throw this.fail('Conditional write', key, err);
    }
  }

  async put(key: string, data: Buffer | string, contentType = 'application/json'): Promise<void> {
    try {
      await this.putObject(key, data, contentType, false);
    } catch (err) {
      throw this.fail('Write', key, err);
    }
  }

  async getStream(key: string, signal?: AbortSignal): Promise<Readable> {
    try {
      const res = await (
        await this.client()
      ).send(new (await loadSdk()).GetObjectCommand({ Bucket: this.cfg.bucket, Key: this.full(key), ...this.protection.read }), {
        abortSignal: signal,
      });
      return res.Body as Readable;
    } catch (err) {
      throw this.fail('Read', key, err);
    }
  }

  async getBuffer(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async head(key: string): Promise<StoredObject | undefined> {
    try {
      const res = await (
        await this.client()
      ).send(new (await loadSdk()).HeadObjectCommand({ Bucket: this.cfg.bucket, Key: this.full(key), ...this.protection.read }));
      const retainUntil = res.ObjectLockMode ? res.ObjectLockRetainUntilDate : undefined;
      return { key, bytes: res.ContentLength ?? 0, lastModified: res.LastModified, ...(retainUntil ? { retainUntil } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail('Head', key, err);
    }
  }

  /** Collects every page of a listing; `page(cursor)` returns its items and the next cursor. */
  private async paginate<T, C>(action: string, prefix: string, page: (cursor: C | undefined) => Promise<{ items: T[]; next?: C }>): Promise<T[]> {
    const out: T[] = [];
    let cursor: C | undefined;
    try {
      do {
        const res = await page(cursor);
        out.push(...res.items);
        cursor = res.next;
      } while (cursor !== undefined);
    } catch (err) {
      throw this.fail(action, prefix, err);
    }
    return out;
  }

  async list(prefix: string): Promise<StoredObject[]> {
    return this.paginate<StoredObject, string>('List', prefix, async (token) => {
      const res = await (
        await this.client()
      ).send(new (await loadSdk()).ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: this.full(prefix), ContinuationToken: token }));
      const items = (res.Contents ?? []).filter((o) => o.Key).map((o) => ({ key: this.rel(o.Key!), bytes: o.Size ?? 0, lastModified: o.LastModified }));
      return { items, next: res.IsTruncated ? res.NextContinuationToken : undefined };
    });
  }

  /**
   * Deletes `key`. On an Object Lock target (a versioned bucket) every version of it is deleted:
   * a plain delete would only hide the object behind a delete marker and free nothing; a version
   * still under retention is refused by the server (AccessDenied).
   */
  async delete(key: string): Promise<void> {
    try {
      if (!this.protection.locked) {
        await (await this.client()).send(new (await loadSdk()).DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: this.full(key) }));
        return;
      }
      const res = await (await this.client()).send(new (await loadSdk()).ListObjectVersionsCommand({ Bucket: this.cfg.bucket, Prefix: this.full(key) }));
      for (const v of [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])]) {
        if (v.Key === this.full(key))
          await (await this.client()).send(new (await loadSdk()).DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: v.Key, VersionId: v.VersionId }));
      }
    } catch (err) {
      throw this.fail('Delete', key, err);
    }
  }

  get rereadsUploads(): boolean {
    return this.cfg.verifyUpload;
  }

  /** Size from a head request; with `verifyUpload` configured (or `reread`), the object is read back and hashed too. */
  async confirm(key: string, expected: ExpectedObject, options: ConfirmOptions = {}): Promise<Confirmation> {
    return confirmObject(this, key, expected, options.reread === true || this.cfg.verifyUpload, options.signal);
  }

  async listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]> {
    return this.paginate<IncompleteUpload, { key?: string; id?: string }>('List multipart uploads', prefix, async (m) => {
      const res = await (
        await this.client()
      ).send(
        new (await loadSdk()).ListMultipartUploadsCommand({ Bucket: this.cfg.bucket, Prefix: this.full(prefix), KeyMarker: m?.key, UploadIdMarker: m?.id }),
      );
      const items = (res.Uploads ?? [])
        .filter((u) => u.Key && u.UploadId)
        .map((u) => ({ key: this.rel(u.Key!), uploadId: u.UploadId!, initiated: u.Initiated }));
      return { items, next: res.IsTruncated && res.NextKeyMarker ? { key: res.NextKeyMarker, id: res.NextUploadIdMarker } : undefined };
    });
  }

  async abortIncompleteUpload(upload: IncompleteUpload): Promise<void> {
    try {
      await (
        await this.client()
      ).send(new (await loadSdk()).AbortMultipartUploadCommand({ Bucket: this.cfg.bucket, Key: this.full(upload.key), UploadId: upload.uploadId }));
    } catch (err) {
      if (!isNotFound(err)) throw this.fail('Abort multipart upload', upload.key, err);
    }
  }

  /** The bucket's versioning state and default Object Lock retention, as `lifeboat doctor` reports them. */
  async bucketProtection(): Promise<BucketProtection> {
    const v = await (await this.client()).send(new (await loadSdk()).GetBucketVersioningCommand({ Bucket: this.cfg.bucket })).catch((err: unknown) => {
      throw this.fail('Reading bucket versioning', '', err);
    });
    let objectLock = 'off';
    try {
      const l = await (await this.client()).send(new (await loadSdk()).GetObjectLockConfigurationCommand({ Bucket: this.cfg.bucket }));
      const rule = l.ObjectLockConfiguration?.Rule?.DefaultRetention;
      if (l.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled')
        objectLock = rule
          ? `on (default ${rule.Mode?.toLowerCase()} ${rule.Days ?? rule.Years ?? '?'} ${rule.Days ? 'days' : 'years'})`
          : 'on (no default retention)';
    } catch (err) {
      if (!/ObjectLockConfigurationNotFound|NotFound|NotImplemented/i.test((err as Error).name ?? ''))
        throw this.fail('Reading Object Lock configuration', '', err);
    }
    return {
      versioning: v.Status ?? 'never enabled',
      objectLock,
      configuredLock: this.cfg.objectLock ? `${this.cfg.objectLock.mode} ${this.cfg.objectLock.days} days` : undefined,
    };
  }
}

export interface BucketProtection {
  versioning: string;
  objectLock: string;
  /** The target's `objectLock` setting, if any. */
  configuredLock?: string;
}
