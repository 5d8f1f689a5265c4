import { z } from 'zod';
import { RunbooksConfigSchema } from '../runbooks/schema.js';
import { cronProblem } from '../schedules/cron.js';
import { DURATION_MESSAGE, parseDuration } from '../contracts/duration.js';
import { resolveTemporalSection } from '../temporal-env.js';
import { EncryptionSchema } from '../crypto/config.js';
import { payloadCodecSchema } from '../temporal/codec-config.js';
import { SecretRefSchema, ValueOrRefSchema } from './refs.js';
import { ObservabilitySchema, databaseHealthShape } from '../observability/config.js';
import { NotificationsSchema, routeDatabaseProblems } from '../notify/config.js';
import { DumpSchema } from './dump-schema.js';
import { WorkerSettingsSchema } from './worker-schema.js';

export { SecretRefSchema, ValueOrRefSchema, type SecretRef, type ValueOrRef } from './refs.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const NAME_MESSAGE = 'expected a name of letters, digits, "_" or "-" (at most 63 characters)';

/** Where the worker and the CLI connect; an omitted address or namespace follows Temporal's conventions (src/temporal-env.ts). */
export const TemporalConfigSchema = z
  .strictObject({
    address: z.string().min(1).optional(),
    namespace: z.string().min(1).optional(),
    taskQueue: z.string().min(1).default('lifeboat'),
    restoreTaskQueue: z.string().min(1).optional(), // restore workers holding restore.identities (worker --restore-only)
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
    /** AES-256-GCM encryption of every payload (src/temporal/codec.ts); the first key encrypts. */
    payloadCodec: payloadCodecSchema(SecretRefSchema).optional(),
  })
  .transform(resolveTemporalSection);

export { StorageSchema, type FilesystemStorageConfig, type S3StorageConfig, type StorageConfig } from './storage-schema.js';
import { StorageSchema } from './storage-schema.js';

export const PROVIDERS = ['self-hosted', 'supabase', 'neon', 'railway', 'vercel', 'rds', 'digitalocean', 'planetscale', 'azure'] as const;
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
  checks: z.array(z.strictObject({ name: z.string().min(1), sql: z.string().min(1) })).default([]),
  /** Maintenance-database URL of the server that hosts scratch databases; the source's server by default. */
  server: ValueOrRefSchema.optional(),
});

/** What a schedule starts: a backup of a kind, a verification, a retention run, a base backup or a WAL archive check. */
export const SCHEDULE_KINDS = [...BACKUP_KINDS, 'verify', 'retention', 'base', 'wal-check'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
/** Temporal's overlap policies; Lifeboat uses `SKIP` unless told otherwise. */
export const OVERLAP_POLICIES = ['SKIP', 'BUFFER_ONE', 'BUFFER_ALL', 'CANCEL_OTHER', 'TERMINATE_OTHER', 'ALLOW_ALL'] as const;

const DurationSchema = z.string({ error: DURATION_MESSAGE }).refine((s) => parseDuration(s) !== undefined, DURATION_MESSAGE);

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
const TimeZoneSchema = z.string().refine(isTimeZone, 'expected an IANA time zone such as "UTC" or "Europe/Berlin"');

/**
 * One Temporal Schedule of a database: `{ kind: full, cron: "0 2 * * *" }`. Entries replace the
 * environment preset's entry of the same kind; `enabled: false` removes the preset's.
 */
const ScheduleSchema = z
  .strictObject({
    kind: z.enum(SCHEDULE_KINDS, { error: `expected one of ${SCHEDULE_KINDS.join(', ')}` }),
    /** Five-field cron expression(s) or @daily-style shorthands, evaluated in `timezone`. */
    cron: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** A fixed interval instead of cron, e.g. "6h"; `offset` shifts it from the epoch. */
    every: DurationSchema.optional(),
    offset: DurationSchema.optional(),
    /** IANA time zone for cron; UTC by default. */
    timezone: TimeZoneSchema.optional(),
    /** Random delay added to each run (spreads load when many databases share a time). */
    jitter: DurationSchema.optional(),
    /** How late a missed run (server down) may still start; older ones are skipped. */
    catchupWindow: DurationSchema.optional(),
    overlap: z.enum(OVERLAP_POLICIES, { error: `expected one of ${OVERLAP_POLICIES.join(', ')}` }).optional(),
    pauseOnFailure: z.boolean().optional(),
    enabled: z.boolean().default(true),
  })
  .superRefine((s, ctx) => {
    if (s.cron !== undefined && s.every !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: 'use either "cron" or "every", not both' });
    }
    if (s.enabled && s.cron === undefined && s.every === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected "cron" or "every" (or enabled: false)' });
    }
    const crons = s.cron === undefined ? [] : Array.isArray(s.cron) ? s.cron : [s.cron];
    crons.forEach((c, i) => {
      const problem = cronProblem(c);
      if (problem) ctx.addIssue({ code: 'custom', path: Array.isArray(s.cron) ? ['cron', i] : ['cron'], message: `${problem}: "${c}"` });
    });
    if (s.offset !== undefined && s.every === undefined) {
      ctx.addIssue({ code: 'custom', path: ['offset'], message: 'only applies with "every"' });
    }
  });
export type ScheduleEntry = z.infer<typeof ScheduleSchema>;

const SchedulesSchema = z.union([z.array(ScheduleSchema), z.literal(false)]).superRefine((list, ctx) => {
  if (list === false) return;
  const seen = new Map<string, number>();
  list.forEach((s, i) => {
    const first = seen.get(s.kind);
    if (first !== undefined) {
      ctx.addIssue({ code: 'custom', path: [i, 'kind'], message: `duplicates entry ${first} ("${s.kind}"): give one entry several times with cron: [...]` });
    } else seen.set(s.kind, i);
  });
});

/**
 * Keep rules and safety bounds of a retention policy. Keep rules (keepLast, keepWithin and the
 * hourly/daily/weekly/monthly/yearly buckets) replace the rules of the level below as a set;
 * `minKeep`, `freshness` and `timezone` are inherited one by one.
 */
const retentionShape = {
  keepLast: z.int().min(0).optional(),
  keepWithin: DurationSchema.optional(),
  hourly: z.int().min(0).optional(),
  daily: z.int().min(0).optional(),
  weekly: z.int().min(0).optional(),
  monthly: z.int().min(0).optional(),
  yearly: z.int().min(0).optional(),
  minKeep: z.int().min(1, 'must be at least 1: retention never deletes the last good backup').optional(),
  /** Nothing is deleted while the newest good backup is older than this (backups are failing). */
  freshness: DurationSchema.optional(),
  /** Time zone of the calendar buckets (days, weeks, months); UTC by default. */
  timezone: TimeZoneSchema.optional(),
};
export const RETENTION_KEEP_RULES = ['keepLast', 'keepWithin', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const RetentionPolicySchema = z.strictObject(retentionShape);
export type RetentionPolicyConfig = z.infer<typeof RetentionPolicySchema>;
const KindPoliciesSchema = z.strictObject({
  full: RetentionPolicySchema.optional(),
  schema: RetentionPolicySchema.optional(),
  data: RetentionPolicySchema.optional(),
});
const TargetRetentionSchema = z.strictObject({ ...retentionShape, kinds: KindPoliciesSchema.optional() });

const RetentionSchema = z.strictObject({
  ...retentionShape,
  /** Per backup kind, e.g. `kinds: { schema: { keepLast: 8 } }`. */
  kinds: KindPoliciesSchema.optional(),
  /** Per storage target, e.g. `storage: { local: { keepLast: 3 } }` (3-2-1 copies). */
  storage: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), TargetRetentionSchema).optional(),
  /** Artifacts without a manifest (and unfinished uploads) older than this are removed; 48h by default. */
  orphanGrace: DurationSchema.optional(),
  /** Who may approve a GDPR purge of this database (`lifeboat purge`). */
  purgeApprovers: z.array(z.string().min(1)).optional(),
});
export type RetentionConfig = z.infer<typeof RetentionSchema>;

export const DatabaseSchema = z.strictObject({
  engine: z.enum(ENGINES, { error: `expected one of ${ENGINES.join(', ')}` }),
  provider: z.enum(PROVIDERS, { error: `expected one of ${PROVIDERS.join(', ')}` }).optional(),
  /** Connection URL. Inline only without a password; otherwise `{ env }` or `{ file }`. */
  url: ValueOrRefSchema,
  environment: z.enum(ENVIRONMENTS, { error: `expected one of ${ENVIRONMENTS.join(', ')}` }).default('production'),
  storage: z.array(z.string().regex(NAME_RE, NAME_MESSAGE)).min(1, 'expected at least one storage target').optional(),
  compression: CompressionSchema.default({ codec: 'zstd', level: 1 }),
  /** `{ format: directory, jobs: 2 }`: parallel `pg_dump -Fd` (PostgreSQL only); one `-Fc` stream by default. */
  dump: DumpSchema.optional(),
  /** Encryption at rest after compression: `{ age: { recipients } }` or `{ gpg: { recipients, keyring } }`. */
  encryption: EncryptionSchema.optional(),
  protected: z.boolean().default(false),
  /** Four eyes: the requester of a restore over a protected target or this database may not approve it (default: on for production). */
  fourEyes: z.boolean().optional(),
  /** Per-table row counts in the manifest: `exact` counts every table in the dump's snapshot. */
  rowCounts: z.enum(['exact', 'off']).default('exact'),
  /** Directory holding pg_dump/pg_restore/psql when not the newest installed ones. */
  toolsDir: z.string().optional(),
  /** Dump the server's roles beside each backup (`pg_dumpall --roles-only`, no passwords); default: on for Supabase. */
  roles: z.boolean().optional(),
  verify: VerifySchema.optional(),
  /** Temporal Schedules; the environment's preset when omitted, `false` for none. */
  schedules: SchedulesSchema.optional(),
  retention: RetentionSchema.optional(),
  ...databaseHealthShape,
});
export type DatabaseConfig = z.infer<typeof DatabaseSchema>;

/** A database a backup may be restored into by name (`lifeboat restore orders --target NAME`). */
const RestoreTargetSchema = z.strictObject({
  engine: z.enum(ENGINES, { error: `expected one of ${ENGINES.join(', ')}` }).default('postgres'),
  provider: z.enum(PROVIDERS, { error: `expected one of ${PROVIDERS.join(', ')}` }).optional(),
  /** Connection URL of the target database (created by the restore when it does not exist). */
  url: ValueOrRefSchema,
  /** Overwriting a protected target needs an approval. */
  protected: z.boolean().default(false),
  toolsDir: z.string().optional(),
});
export type RestoreTargetConfig = z.infer<typeof RestoreTargetSchema>;

const RestoreSettingsSchema = z.strictObject({
  /** Where a restore keeps its decompressed dump (needs the backup's dumped size free); the OS temp dir by default. */
  tempDir: z.string().min(1).optional(),
  /** `pg_restore` jobs into a new database; unset (and no `--jobs`), a whole backup streams in with no temp file. */
  jobs: z.int().min(1).max(32).optional(),
  /** Keys that decrypt encrypted backups (age, SSH or GPG secret keys); several during a rotation. */
  identities: z.array(SecretRefSchema).min(1, 'expected at least one identity').optional(),
});

export const LogSchema = z.strictObject({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') });

export const ConfigSchema = z
  .strictObject({
    temporal: TemporalConfigSchema.prefault({}),
    storage: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), StorageSchema),
    databases: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), DatabaseSchema),
    log: LogSchema.default({ level: 'info' }),
    runbooks: RunbooksConfigSchema.optional(),
    targets: z.record(z.string().regex(NAME_RE, NAME_MESSAGE), RestoreTargetSchema).optional(),
    /** Who may approve a restore into a protected or non-empty database, or over the source itself. */
    approvers: z.array(z.string().min(1)).optional(),
    restore: RestoreSettingsSchema.optional(),
    observability: ObservabilitySchema.optional(),
    notifications: NotificationsSchema.optional(),
    /** Concurrency of each worker process: activities, workflow tasks, dumps in all and per database host. */
    worker: WorkerSettingsSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    for (const p of routeDatabaseProblems(cfg.notifications, Object.keys(cfg.databases))) ctx.addIssue({ code: 'custom', ...p });
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
      const targets = db.storage ?? storageNames.slice(0, 1);
      for (const s of Object.keys(db.retention?.storage ?? {})) {
        if (!targets.includes(s)) {
          ctx.addIssue({
            code: 'custom',
            path: ['databases', name, 'retention', 'storage', s],
            message: `is not a storage target of this database (its targets: ${targets.join(', ')})`,
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
      if (db.dump?.format === 'directory' && db.engine !== 'postgres') {
        ctx.addIssue({
          code: 'custom',
          path: ['databases', name, 'dump', 'format'],
          message: `"directory" is a PostgreSQL format (pg_dump -Fd); engine ${db.engine} dumps plain SQL`,
        });
      }
      if (typeof db.url === 'string') {
        const problem = inlineUrlProblem(db.url);
        if (problem) ctx.addIssue({ code: 'custom', path: ['databases', name, 'url'], message: problem });
      }
      const verifyServer = db.verify?.server;
      const verifyProblem = typeof verifyServer === 'string' ? inlineUrlProblem(verifyServer) : undefined;
      if (verifyProblem) ctx.addIssue({ code: 'custom', path: ['databases', name, 'verify', 'server'], message: verifyProblem });
    }
    for (const [name, t] of Object.entries(cfg.targets ?? {})) {
      const problem = typeof t.url === 'string' ? inlineUrlProblem(t.url) : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: ['targets', name, 'url'], message: problem });
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
