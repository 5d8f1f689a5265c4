// Base backups of the WAL archive: `<db>/pitr/base/<id>/base.tar.zst[.age|.gpg]` (the tar that
// `pg_basebackup -Ft -D -` writes) and `manifest.json`, committed last and create-if-absent.
import { z } from 'zod';
import { ArtifactSchema } from '../catalog/manifest.js';
import { LifeboatError } from '../errors.js';
import type { Storage } from '../storage/index.js';

export const BASE_MANIFEST_FORMAT = 1;

export const BaseManifestSchema = z.object({
  formatVersion: z.literal(BASE_MANIFEST_FORMAT),
  kind: z.literal('base'),
  backupId: z.string(),
  database: z.string(),
  format: z.literal('pg_basebackup-tar'),
  server: z.object({ version: z.string(), walSegmentBytes: z.number() }),
  tool: z.object({ name: z.string(), version: z.string() }),
  label: z.string(),
  startLsn: z.string(),
  startTimeline: z.number(),
  stopLsn: z.string(),
  /** The first WAL segment a restore of this backup needs (the one holding `startLsn`). */
  startSegment: z.string(),
  /** Server time once the backup had ended: a recovery target must not be earlier. */
  consistentAt: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number(),
  rawBytes: z.number(),
  artifact: ArtifactSchema,
  workflow: z.object({ workflowId: z.string(), runId: z.string(), attempt: z.number() }).optional(),
  lifeboatVersion: z.string(),
});
export type BaseManifest = z.infer<typeof BaseManifestSchema>;

export const baseKeys = {
  prefix: (database: string) => `${database}/pitr/base/`,
  backupPrefix: (database: string, id: string) => `${database}/pitr/base/${id}/`,
  manifest: (database: string, id: string) => `${database}/pitr/base/${id}/manifest.json`,
  artifact: (database: string, id: string, tag: string, extension: string) => `${database}/pitr/base/${id}/base-${tag}.tar${extension}`,
};

export async function readBaseManifest(storage: Storage, key: string): Promise<BaseManifest> {
  const parsed = BaseManifestSchema.safeParse(JSON.parse((await storage.getBuffer(key)).toString()));
  if (!parsed.success) throw new LifeboatError('STORAGE_FAILED', `Unreadable base backup manifest: ${storage.describe(key)}`, { subject: key });
  return parsed.data;
}

/** Committed base backups of a database, newest first. */
export async function listBaseBackups(storage: Storage, database: string): Promise<BaseManifest[]> {
  const objects = await storage.list(baseKeys.prefix(database));
  const manifests = await Promise.all(objects.filter((o) => o.key.endsWith('/manifest.json')).map((o) => readBaseManifest(storage, o.key)));
  return manifests.filter((m) => m.database === database).sort((a, b) => b.consistentAt.localeCompare(a.consistentAt));
}

/** The newest base backup a recovery to `targetTime` can start from (consistent at or before it). */
export function baseBackupFor(backups: BaseManifest[], targetTime?: string): BaseManifest | undefined {
  if (targetTime === undefined) return backups[0];
  const t = Date.parse(targetTime);
  return backups.find((b) => Date.parse(b.consistentAt) <= t);
}
