import { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { isVerificationKey, keys } from '../catalog/manifest.js';
import type { Storage } from '../storage/index.js';
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
