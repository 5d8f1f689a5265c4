import { z } from 'zod';

/** A reference to a secret that is resolved on the worker, never stored in Temporal. */
export const SecretRefSchema = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
    z.strictObject({ file: z.string().min(1, 'expected a file path') }),
  ],
  { error: 'expected { env: NAME } or { file: PATH }' },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** A value that may be written inline (not secret) or referenced like a secret. */
const ValueOrRefSchema = z.union([z.string().min(1), SecretRefSchema], {
  error: 'expected a string, { env: NAME } or { file: PATH }',
});
export type ValueOrRef = z.infer<typeof ValueOrRefSchema>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const NAME_MESSAGE = 'expected a name of letters, digits, "_" or "-" (at most 63 characters)';

export const TemporalConfigSchema = z.strictObject({
  address: z.string().min(1).default('127.0.0.1:7233'),
  namespace: z.string().min(1).default('default'),
  taskQueue: z.string().min(1).default('lifeboat'),
  /** Web UI base URL for links (defaults to the dev server's: gRPC port + 1000 on loopback). */
  uiUrl: z.url().optional(),
  /** Temporal Cloud / self-hosted API key, e.g. `{ env: TEMPORAL_API_KEY }`. */
  apiKey: SecretRefSchema.optional(),
  tls: z
    .strictObject({
      serverName: z.string().optional(),
      serverRootCACert: ValueOrRefSchema.optional(),
      clientCert: ValueOrRefSchema.optional(),
      clientKey: SecretRefSchema.optional(),
    })
    .optional(),
});

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
  /** Multipart part size; by default derived from the database size (S3 allows 10,000 parts). */
  partSizeMiB: z.int({ error: 'expected an integer from 5 to 5120' }).min(5, 'expected an integer from 5 to 5120').max(5120, 'expected an integer from 5 to 5120').optional(),
  queueSize: z.int().min(1).max(16).default(4),
  /** Re-read the stored object after upload and compare its sha256 (costs one extra download). */
  verifyUpload: z.boolean().default(false),
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

export const PROVIDERS = ['self-hosted', 'supabase', 'neon', 'railway', 'vercel', 'rds', 'digitalocean', 'planetscale'] as const;
export const ENGINES = ['postgres', 'mysql'] as const;
export const ENVIRONMENTS = ['production', 'staging', 'development'] as const;
export const BACKUP_KINDS = ['full', 'schema', 'data'] as const;

const CompressionSchema = z
  .strictObject({
    codec: z.enum(['zstd', 'gzip', 'none']).default('zstd'),
    level: z.unknown().optional(),
  })
  .transform((c, ctx) => {
    const range = c.codec === 'zstd' ? [1, 19] : c.codec === 'gzip' ? [1, 9] : [0, 0];
    const fallback = c.codec === 'zstd' ? 1 : c.codec === 'gzip' ? 1 : 0;
    if (c.level === undefined) return { codec: c.codec, level: fallback };
    if (c.codec === 'none') {
      ctx.addIssue({ code: 'custom', path: ['level'], message: 'has no meaning with codec "none"' });
      return z.NEVER;
    }
    const level = c.level;
    if (typeof level !== 'number' || !Number.isInteger(level) || level < range[0]! || level > range[1]!) {
      ctx.addIssue({ code: 'custom', path: ['level'], message: `expected an integer from ${range[0]} to ${range[1]}` });
      return z.NEVER;
    }
    return { codec: c.codec, level };
  });
export type CompressionConfig = z.infer<typeof CompressionSchema>;

const VerifySchema = z.strictObject({
  checks: z
    .array(z.strictObject({ name: z.string().min(1), sql: z.string().min(1) }))
    .default([]),
  server: z.string().optional(),
});

const ScheduleSchema = z.strictObject({
  kind: z.enum([...BACKUP_KINDS, 'verify', 'retention']),
  cron: z.string().min(1).optional(),
  every: z.string().min(1).optional(),
  timezone: z.string().optional(),
});

const RetentionSchema = z.strictObject({
  keepLast: z.int().min(0).optional(),
  keepWithin: z.string().optional(),
  daily: z.int().min(0).optional(),
  weekly: z.int().min(0).optional(),
  monthly: z.int().min(0).optional(),
  yearly: z.int().min(0).optional(),
  minKeep: z.int().min(1).default(3),
});

export const DatabaseSchema = z.strictObject({
  engine: z.enum(ENGINES, { error: `expected one of ${ENGINES.join(', ')}` }),
  provider: z.enum(PROVIDERS, { error: `expected one of ${PROVIDERS.join(', ')}` }).optional(),
  /** Connection URL. Inline only without a password; otherwise `{ env }` or `{ file }`. */
  url: ValueOrRefSchema,
  environment: z.enum(ENVIRONMENTS, { error: `expected one of ${ENVIRONMENTS.join(', ')}` }).default('production'),
  storage: z.array(z.string().regex(NAME_RE, NAME_MESSAGE)).min(1, 'expected at least one storage target').optional(),
  compression: CompressionSchema.default({ codec: 'zstd', level: 1 }),
  protected: z.boolean().default(false),
  /** Per-table row counts in the manifest: `exact` counts every table in the dump's snapshot. */
  rowCounts: z.enum(['exact', 'off']).default('exact'),
  /** Directory holding pg_dump/pg_restore/psql when not the newest installed ones. */
  toolsDir: z.string().optional(),
  verify: VerifySchema.optional(),
  schedules: z.array(ScheduleSchema).optional(),
  retention: RetentionSchema.optional(),
});
export type DatabaseConfig = z.infer<typeof DatabaseSchema>;

export const LogSchema = z.strictObject({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export const ConfigSchema = z
  .strictObject({
    temporal: TemporalConfigSchema.default({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lifeboat' }),
    storage: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), StorageSchema),
    databases: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), DatabaseSchema),
    log: LogSchema.default({ level: 'info' }),
  })
  .superRefine((cfg, ctx) => {
    const storageNames = Object.keys(cfg.storage);
    if (storageNames.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['storage'], message: 'expected at least one storage target' });
    }
    for (const [name, db] of Object.entries(cfg.databases)) {
      for (const [i, s] of (db.storage ?? []).entries()) {
        if (!cfg.storage[s]) {
          ctx.addIssue({
            code: 'custom',
            path: ['databases', name, 'storage', i],
            message: `unknown storage target "${s}" (defined: ${storageNames.join(', ') || 'none'})`,
          });
        }
      }
      if (!db.storage && storageNames.length > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['databases', name, 'storage'],
          message: `required when several storage targets are defined (${storageNames.join(', ')})`,
        });
      }
      if (typeof db.url === 'string') {
        const problem = inlineUrlProblem(db.url);
        if (problem) ctx.addIssue({ code: 'custom', path: ['databases', name, 'url'], message: problem });
      }
    }
  });

/** The validated configuration, with relative paths resolved against the config file. */
export type LifeboatConfig = z.infer<typeof ConfigSchema> & { sourcePath?: string };

function inlineUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'expected a connection URL such as postgres://user@host:5432/dbname';
  }
  if (parsed.password) {
    return 'contains a password; reference the URL as a secret with { env: NAME } or { file: PATH }';
  }
  return undefined;
}
