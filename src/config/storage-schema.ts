// The storage targets of the configuration: S3-compatible buckets and local directories.
import { z } from 'zod';
import { s3ProtectionShape } from '../storage/s3-protection.js';
import { SecretRefSchema, ValueOrRefSchema } from './refs.js';

const PART_SIZE_RANGE = 'expected an integer from 5 to 5120';
const S3StorageSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().min(3, 'expected a bucket name'),
  prefix: z
    .string()
    .default('')
    .refine((p) => !p.startsWith('/'), 'must not start with "/"'),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.url({ protocol: /^https?$/, error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
  forcePathStyle: z.boolean().default(false),
  accessKeyId: ValueOrRefSchema.optional(),
  secretAccessKey: SecretRefSchema.optional(),
  sessionToken: SecretRefSchema.optional(),
  /** Multipart part size; by default from the database size so that a dump fits in `maxParts`. */
  partSizeMiB: z.int({ error: PART_SIZE_RANGE }).min(5, PART_SIZE_RANGE).max(5120, PART_SIZE_RANGE).optional(),
  /** The provider's multipart part limit: 10,000 on S3, lower on some (e.g. 1,000). */
  maxParts: z.int().min(100).max(10_000).default(10_000),
  /** Parts in flight; the worker buffers about (queueSize + 1) x part size per upload. */
  queueSize: z.int().min(1).max(16).default(4),
  /**
   * Sign the bytes of each upload into the request (SigV4 payload hash): one more SHA-256 pass on
   * the worker and on the server. By default only over plain http to a host other than loopback;
   * TLS already protects the body in transit (as the AWS CLI decides), and the artifact's own
   * sha256 is Lifeboat's either way.
   */
  signPayload: z.boolean().optional(),
  /** Re-read the stored object after upload and compare its sha256 (costs one extra download). */
  verifyUpload: z.boolean().default(false),
  /** A request idle this long fails (and is retried): a hung server cannot stall a backup. */
  requestTimeoutSeconds: z.int().min(1).max(3600).default(300),
  ...s3ProtectionShape(SecretRefSchema),
});

const FilesystemStorageSchema = z.strictObject({
  type: z.literal('filesystem'),
  path: z.string().min(1, 'expected a directory path'),
  prefix: z.string().default(''),
});

export const StorageSchema = z.discriminatedUnion('type', [S3StorageSchema, FilesystemStorageSchema], {
  error: 'expected type "s3" or "filesystem"',
});
export type StorageConfig = z.infer<typeof StorageSchema>;
export type S3StorageConfig = z.infer<typeof S3StorageSchema>;
export type FilesystemStorageConfig = z.infer<typeof FilesystemStorageSchema>;
