import { z } from 'zod';

export const MANIFEST_FORMAT = 1;

/** One file of a directory-format dump (`toc.dat`, `1234.dat`) or a bundle of small ones, stored compressed as `<artifact.key>/<name><suffix>`. */
const FileName = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/);

export const ArtifactFileSchema = z.object({
  name: FileName,
  /** Stored size and SHA-256 (after compression and encryption). */
  bytes: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** The size of the file as the dump tool wrote it (a bundle: of its tar archive). */
  rawBytes: z.number(),
  /** A bundle (`bundle-000001.tar`): the small dump files it holds, in order (src/pipeline/file-bundle.ts). */
  members: z
    .array(z.object({ name: FileName, rawBytes: z.number() }))
    .min(1)
    .optional(),
});
export type ArtifactFile = z.infer<typeof ArtifactFileSchema>;

/**
 * The stored object of a backup: where it is, its size and SHA-256, how it was compressed and
 * encrypted. A directory-format dump is one object per file under `key` as a prefix (`files`);
 * then `bytes` is their sum and `sha256` the SHA-256 of their `sha256sum` lines, sorted by name.
 */
export const ArtifactSchema = z.object({
  storage: z.string(),
  key: z.string(),
  bytes: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.array(ArtifactFileSchema).min(1).optional(),
  compression: z.object({ codec: z.enum(['zstd', 'gzip', 'none']), level: z.number() }),
  /** `age`/`gpg` after compression; `recipients` are public fingerprints (age1…, `ssh-ed25519 SHA256:…`, GPG). */
  encryption: z.null().or(z.object({ type: z.enum(['age', 'gpg']), recipients: z.array(z.string()) })),
});

export const ManifestSchema = z
  .object({
    formatVersion: z.literal(MANIFEST_FORMAT),
    backupId: z.string(),
    database: z.string(),
    kind: z.enum(['full', 'schema', 'data']),
    engine: z.enum(['postgres', 'mysql']),
    provider: z.string(),
    /** `pg_dump-custom`: `pg_restore` reads it; `pg_dump-directory`: `pg_dump -Fd`, one object per file (`artifact.files`); `sql`: plain SQL for `psql`/`mysql`. */
    format: z.enum(['pg_dump-custom', 'pg_dump-directory', 'sql']),
    /** `flavour` (`postgresql`; later `mysql`, `mariadb`) is absent from manifests of older versions. */
    server: z.object({ version: z.string(), flavour: z.string().optional(), sizeBytes: z.number().optional() }),
    tool: z.object({ name: z.string(), version: z.string() }),
    startedAt: z.string(),
    finishedAt: z.string(),
    durationMs: z.number(),
    rawBytes: z.number(),
    artifact: ArtifactSchema,
    rowCounts: z.union([
      z.null(),
      z.object({
        /** `same-snapshot`: counted in the exported snapshot the dump itself read. */
        consistency: z.enum(['same-snapshot', 'separate-snapshot']),
        /** `snapshot-query`: `COUNT(*)` in the dump's snapshot (PostgreSQL); `dump-rows`: the rows of the artifact's INSERT statements (MySQL). */
        counted: z.enum(['snapshot-query', 'dump-rows']).optional(),
        tables: z.record(z.string(), z.number()),
      }),
    ]),
    /** The replication position the dump is consistent with (MySQL GTID set, binlog file:offset), when the engine knows it exactly. */
    position: z.object({ kind: z.string(), value: z.string(), binlog: z.string().optional(), exact: z.boolean().optional() }).optional(),
    /** Options a restore creates the new database with (MySQL: the dumped database's character set and collation). */
    createOptions: z.array(z.string()).optional(),
    /** Definitions that changed while the dump ran (MySQL: `--single-transaction` does not isolate DDL). */
    schemaChanges: z.array(z.object({ object: z.string(), change: z.enum(['created', 'dropped', 'altered']) })).optional(),
    /** Schemas the provider preset left out of the dump (Supabase's managed schemas); a restore adapts to targets without them. */
    excludedSchemas: z.array(z.string()).optional(),
    /**
     * The server's roles, dumped apart (`pg_dumpall --roles-only --no-role-passwords`) and restored
     * only on request; or why they are not there (a provider that does not permit reading them).
     */
    roles: z
      .discriminatedUnion('status', [
        z.object({
          status: z.literal('stored'),
          key: z.string(),
          bytes: z.number(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          tool: z.object({ name: z.string(), version: z.string() }),
        }),
        z.object({ status: z.enum(['not-permitted', 'failed']), reason: z.string() }),
      ])
      .optional(),
    /** What the dump warned about (DDL during the dump, objects a provider preset left out). */
    warnings: z.array(z.string()).optional(),
    workflow: z.object({ workflowId: z.string(), runId: z.string(), attempt: z.number() }),
    lifeboatVersion: z.string(),
    /** Present on copies (3-2-1): where this target's artifact was copied from; sha256 re-checked here. */
    copy: z
      .object({
        from: z.string(),
        sourceKey: z.string(),
        copiedAt: z.string(),
        workflow: z.object({ workflowId: z.string(), runId: z.string(), attempt: z.number() }),
      })
      .optional(),
  })
  .refine((m) => (m.format === 'pg_dump-directory') === (m.artifact.files !== undefined), {
    path: ['artifact', 'files'],
    message: 'a pg_dump-directory artifact lists its files, and only it',
  });

export type Manifest = z.infer<typeof ManifestSchema>;

/** Where things live inside a storage target. All keys are relative to the target's prefix. */
export const keys = {
  databasePrefix: (database: string) => `${database}/backups/`,
  backupPrefix: (database: string, backupId: string) => `${database}/backups/${backupId}/`,
  manifest: (database: string, backupId: string) => `${database}/backups/${backupId}/manifest.json`,
  artifact: (database: string, backupId: string, attemptTag: string, extension: string) =>
    `${database}/backups/${backupId}/${backupId}.${attemptTag}${extension}`,
  /** The server's roles dumped with a backup (plain SQL, no passwords). */
  roles: (database: string, backupId: string) => `${database}/backups/${backupId}/roles.sql`,
  /** Verification records of a backup, one per verify-by-restore run, named so they sort by time. */
  verifications: (database: string, backupId: string) => `${database}/backups/${backupId}/verifications/`,
  verification: (database: string, backupId: string, name: string) => `${database}/backups/${backupId}/verifications/${name}.json`,
};

export function isManifestKey(key: string): boolean {
  return /\/backups\/[^/]+\/manifest\.json$/.test(key);
}

export function isVerificationKey(key: string): boolean {
  return /\/backups\/[^/]+\/verifications\/[^/]+\.json$/.test(key);
}
