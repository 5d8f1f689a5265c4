// Immutable and encrypted S3 storage: Object Lock retention on every object as it is written,
// server-side encryption (SSE-S3, SSE-KMS, SSE-C by secret reference) and upload checksums.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SecretRef } from '../config/refs.js';
import { resolveSecret } from '../config/secrets.js';
import { parse256BitKey } from '../crypto/keys.js';

/** `objectLock`, `sse` and `uploadChecksum` of an S3 storage target (spread into its schema). */
export const s3ProtectionShape = (secretRef: z.ZodType<SecretRef>) => ({
  /** Retention set on every artifact and manifest as it is written; the bucket needs Object Lock enabled. */
  objectLock: z
    .strictObject({
      mode: z.enum(['governance', 'compliance'], { error: 'expected governance or compliance' }),
      days: z
        .int({ error: 'expected a whole number of days from 1 to 36500' })
        .min(1, 'expected a whole number of days from 1 to 36500')
        .max(36500, 'expected a whole number of days from 1 to 36500'),
    })
    .optional(),
  /** Server-side encryption: `{ type: aws:kms, kmsKeyId }`, `{ type: AES256 }`, or `{ type: customer, key: { env } }` (SSE-C). */
  sse: z
    .discriminatedUnion(
      'type',
      [
        z.strictObject({ type: z.literal('aws:kms'), kmsKeyId: z.string().min(1).optional() }),
        z.strictObject({ type: z.literal('AES256') }),
        z.strictObject({ type: z.literal('customer'), key: secretRef }),
      ],
      { error: 'expected type "aws:kms", "AES256" or "customer"' },
    )
    .optional(),
  /** `sha256`: the server checks an x-amz-checksum-sha256 of every upload (implied by objectLock). */
  uploadChecksum: z.enum(['none', 'sha256'], { error: 'expected none or sha256' }).default('none'),
});

export interface S3ProtectionConfig {
  objectLock?: { mode: 'governance' | 'compliance'; days: number };
  sse?: { type: 'aws:kms'; kmsKeyId?: string } | { type: 'AES256' } | { type: 'customer'; key: SecretRef };
  uploadChecksum: 'none' | 'sha256';
}

/** SSE-C request fields (needed on reads as well as writes). */
export interface SseCustomerParams {
  SSECustomerAlgorithm?: 'AES256';
  SSECustomerKey?: string;
  SSECustomerKeyMD5?: string;
}

/** Parameters every write (PutObject, CreateMultipartUpload and its parts) carries. */
export interface S3WriteParams extends SseCustomerParams {
  ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  ObjectLockRetainUntilDate?: Date;
  ChecksumAlgorithm?: 'SHA256';
  ServerSideEncryption?: 'aws:kms' | 'AES256';
  SSEKMSKeyId?: string;
}

/** Resolves a target's protection settings once (the SSE-C key is a secret, resolved on the worker). */
export class S3Protection {
  readonly read: SseCustomerParams;

  constructor(
    private readonly cfg: S3ProtectionConfig,
    label: string,
    baseDir?: string,
  ) {
    if (cfg.sse?.type === 'customer') {
      const keyLabel = `${label}.sse.key`;
      const key = parse256BitKey(resolveSecret(cfg.sse.key, keyLabel, baseDir), keyLabel);
      this.read = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: key.toString('base64'), SSECustomerKeyMD5: createHash('md5').update(key).digest('base64') };
    } else {
      this.read = {};
    }
  }

  get locked(): boolean {
    return this.cfg.objectLock !== undefined;
  }

  /** The retain-until date of an object written now. */
  retainUntil(now = Date.now()): Date | undefined {
    return this.cfg.objectLock ? new Date(now + this.cfg.objectLock.days * 86_400_000) : undefined;
  }

  /** Parameters for a write made now. S3 requires a checksum on writes with Object Lock. */
  write(now = Date.now()): S3WriteParams {
    const out: S3WriteParams = { ...this.read };
    const lock = this.cfg.objectLock;
    if (lock) {
      out.ObjectLockMode = lock.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE';
      out.ObjectLockRetainUntilDate = this.retainUntil(now);
    }
    if (lock || this.cfg.uploadChecksum === 'sha256') out.ChecksumAlgorithm = 'SHA256';
    if (this.cfg.sse?.type === 'aws:kms') {
      out.ServerSideEncryption = 'aws:kms';
      if (this.cfg.sse.kmsKeyId) out.SSEKMSKeyId = this.cfg.sse.kmsKeyId;
    } else if (this.cfg.sse?.type === 'AES256') {
      out.ServerSideEncryption = 'AES256';
    }
    return out;
  }
}
