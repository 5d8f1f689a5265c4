import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { readManifest } from '../catalog/catalog.js';
import { isVerificationKey, keys, type Manifest } from '../catalog/manifest.js';
import type { LifeboatConfig } from '../config/schema.js';
import { databaseStorageNames } from '../config/load.js';
import type { Logger } from '../logger.js';
import { openStorage, type Storage } from '../storage/index.js';
import { compactTimestamp, type VerificationRecord } from '../contracts/index.js';

export const VerificationRecordSchema = z.object({
  formatVersion: z.literal(1),
  database: z.string(),
  backupId: z.string(),
  verifiedAt: z.string(),
  outcome: z.enum(['passed', 'failed']),
  checks: z.array(
    z.object({
      name: z.string(),
      ok: z.boolean(),
      value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
      sql: z.string().optional(),
      skipped: z.boolean().optional(),
    }),
  ),
  restoreDurationMs: z.number().nullable(),
  scratchDatabase: z.string(),
  workflow: z.object({ workflowId: z.string(), runId: z.string() }),
  error: z.string().optional(),
  sha256: z.string().optional(),
  storage: z.string().optional(),
}) satisfies z.ZodType<VerificationRecord>;

function parseRecord(raw: Buffer, where: string): VerificationRecord {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString());
  } catch {
    throw new LifeboatError('STORAGE_FAILED', `Unreadable verification record: not JSON: ${where}`, { subject: where });
  }
  const parsed = VerificationRecordSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new LifeboatError('STORAGE_FAILED', `Unreadable verification record: ${first?.path.join('.')}: ${first?.message}: ${where}`, { subject: where });
  }
  return parsed.data as VerificationRecord;
}

/** Record names sort by time: `20261123T020000Z-passed-<run>`. */
function recordName(record: VerificationRecord): string {
  return `${compactTimestamp(new Date(record.verifiedAt))}-${record.outcome}-${record.workflow.runId.replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`;
}

/** Writes a verification record next to the backup's manifest; returns its key. Never overwrites one. */
export async function writeVerification(storage: Storage, record: VerificationRecord): Promise<string> {
  const parsed = VerificationRecordSchema.parse(record) as VerificationRecord;
  const key = keys.verification(parsed.database, parsed.backupId, recordName(parsed));
  // false when an earlier attempt of the same run wrote it already: the first one stays.
  await storage.putIfAbsent(key, `${JSON.stringify(parsed, null, 2)}\n`);
  return key;
}

/** Keys of every verification record of `database`, grouped by backup id, newest last. */
export async function verificationKeys(storage: Storage, database: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const o of await storage.list(keys.databasePrefix(database))) {
    if (!isVerificationKey(o.key)) continue;
    const backupId = o.key.slice(keys.databasePrefix(database).length).split('/')[0]!;
    const list = out.get(backupId) ?? [];
    list.push(o.key);
    out.set(backupId, list);
  }
  for (const list of out.values()) list.sort();
  return out;
}

export async function readVerification(storage: Storage, key: string): Promise<VerificationRecord> {
  return parseRecord(await storage.getBuffer(key), storage.describe(key));
}

/**
 * The newest verification record of one backup, or undefined when it was never verified.
 * `lifeboat backups` shows it; `latest-verified` restores pick backups whose newest record passed.
 */
export async function latestVerification(storage: Storage, database: string, backupId: string): Promise<VerificationRecord | undefined> {
  const found = (await storage.list(keys.verifications(database, backupId)))
    .map((o) => o.key)
    .filter(isVerificationKey)
    .sort();
  const newest = found[found.length - 1];
  return newest ? readVerification(storage, newest) : undefined;
}

/** A record counts for a target's copy only when it vouches for the same stored bytes (older records name none). */
export function recordApplies(record: VerificationRecord, manifest: Manifest): boolean {
  return (
    record.database === manifest.database && record.backupId === manifest.backupId && (record.sha256 ?? manifest.artifact.sha256) === manifest.artifact.sha256
  );
}

/** The newest record among `recordKeys` (sorted oldest first) that applies to this target's manifest. */
export async function newestApplicable(storage: Storage, recordKeys: string[], manifest: Manifest): Promise<VerificationRecord | undefined> {
  for (let i = recordKeys.length - 1; i >= 0; i--) {
    const record = await readVerification(storage, recordKeys[i]!);
    if (recordApplies(record, manifest)) return record;
  }
  return undefined;
}

/**
 * Copies the verification records of one backup that `dst` lacks (3-2-1: a copy carries its proof).
 * Each record is re-read and re-validated, and only copied when it vouches for `manifest`'s bytes.
 */
export async function copyVerifications(src: Storage, dst: Storage, manifest: Manifest): Promise<{ copied: number; problems: string[] }> {
  const prefix = keys.verifications(manifest.database, manifest.backupId);
  const present = new Set((await dst.list(prefix)).map((o) => o.key));
  let copied = 0;
  const problems: string[] = [];
  for (const o of await src.list(prefix)) {
    if (!isVerificationKey(o.key) || present.has(o.key)) continue;
    let record: VerificationRecord;
    try {
      record = await readVerification(src, o.key);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (!recordApplies(record, manifest)) {
      problems.push(`verification record vouches for other bytes than the manifest, not copied: ${src.describe(o.key)}`);
      continue;
    }
    if (await dst.putIfAbsent(o.key, `${JSON.stringify(record, null, 2)}\n`)) copied++;
  }
  return { copied, problems };
}

/**
 * Writes a verification record to every storage target of the database that holds a committed copy
 * of the backup with the same sha256, so `latest-verified` works from any of them. The target the
 * backup was read from must take it; another target that is unreachable is logged and left for the
 * next copy (which carries missing records). Returns the key (the same on every target).
 */
export async function writeVerificationToTargets(cfg: LifeboatConfig, record: VerificationRecord, from: string, log: Logger): Promise<string> {
  const names = databaseStorageNames(cfg, record.database);
  const first = names.includes(from) ? from : names[0]!;
  const key = await writeVerification(openStorage(cfg, first), record);
  for (const name of names.filter((n) => n !== first)) {
    try {
      const storage = openStorage(cfg, name);
      const manifest = await readManifest(storage, record.database, record.backupId);
      if (manifest && recordApplies(record, manifest)) await writeVerification(storage, record);
    } catch (err) {
      log.warn({ storage: name, backupId: record.backupId, err: (err as Error).message }, 'verification record not written to this target');
    }
  }
  return key;
}
