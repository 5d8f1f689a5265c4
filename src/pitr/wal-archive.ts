// `archive_command` and `restore_command`: one WAL file in or out of the database's first storage
// target. Each file is stored as two objects under `<db>/pitr/wal/`: a record (`<file>.json`, the
// raw SHA-256 and size, how the data is stored) written first, create-if-absent, and the data
// (`<file>.zst[.age|.gpg]`), also create-if-absent. A second push of the same content succeeds;
// a push of different content under a name already recorded is refused.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { backupEncryption, startDecryptor } from '../crypto/stream.js';
import { resolveIdentities } from '../crypto/identities.js';
import { LifeboatError } from '../errors.js';
import { openStorage, type Storage } from '../storage/index.js';
import { throughFilter, zstdBuffer } from './buffer-filter.js';
import { isWalFileName } from './wal-names.js';

export const WalRecordSchema = z.object({
  file: z.string(),
  rawBytes: z.number(),
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/),
  key: z.string(),
  compression: z.object({ codec: z.literal('zstd'), level: z.number() }),
  encryption: z.null().or(z.object({ type: z.enum(['age', 'gpg']), recipients: z.array(z.string()) })),
  archivedAt: z.string(),
});
export type WalRecord = z.infer<typeof WalRecordSchema>;

export const walKeys = {
  prefix: (database: string) => `${database}/pitr/wal/`,
  record: (database: string, file: string) => `${database}/pitr/wal/${file}.json`,
  data: (database: string, file: string, suffix: string) => `${database}/pitr/wal/${file}.zst${suffix}`,
};

/** The storage WAL of `database` is archived to: its first storage target. */
export function walStorage(cfg: LifeboatConfig, database: string): Storage {
  return openStorage(cfg, databaseStorageNames(cfg, database)[0]!);
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function checkName(file: string, what: string): void {
  if (!isWalFileName(file)) throw new LifeboatError('INVALID_INPUT', `${what} refused: "${file}" is not a WAL file name`, { subject: file });
}

export async function readWalRecord(storage: Storage, database: string, file: string): Promise<WalRecord | undefined> {
  const key = walKeys.record(database, file);
  if (!(await storage.head(key))) return undefined;
  const parsed = WalRecordSchema.safeParse(JSON.parse((await storage.getBuffer(key)).toString()));
  if (!parsed.success) throw new LifeboatError('STORAGE_FAILED', `Unreadable WAL record: ${storage.describe(key)}`, { subject: key });
  return parsed.data;
}

export interface PushOutcome {
  file: string;
  /** `archived`: stored now; `already-archived`: the same content was stored before. */
  outcome: 'archived' | 'already-archived';
  rawBytes: number;
  storedBytes: number;
  rawSha256: string;
}

/** Archives the WAL file at `walPath` (`%p`) for `database`. */
export async function pushWal(cfg: LifeboatConfig, database: string, walPath: string, signal = new AbortController().signal): Promise<PushOutcome> {
  const file = path.basename(walPath);
  const what = `WAL archiving of ${file} for ${database}`;
  checkName(file, what);
  const raw = await readFile(walPath);
  const rawSha256 = sha256(raw);
  const storage = walStorage(cfg, database);
  const compression = getDatabase(cfg, database).compression;
  const level = compression.codec === 'zstd' ? compression.level : 3;
  const enc = backupEncryption(cfg, database);
  const record: WalRecord = {
    file,
    rawBytes: raw.length,
    rawSha256,
    key: walKeys.data(database, file, enc?.suffix ?? ''),
    compression: { codec: 'zstd', level },
    encryption: enc?.manifest ?? null,
    archivedAt: new Date().toISOString(),
  };
  const fresh = await storage.putIfAbsent(walKeys.record(database, file), JSON.stringify(record, null, 2), 'application/json');
  const recorded = fresh ? record : await readWalRecord(storage, database, file);
  if (!recorded) throw new LifeboatError('STORAGE_FAILED', `${what} failed: its record vanished while being written`, { subject: file });
  if (recorded.rawSha256 !== rawSha256 || recorded.rawBytes !== raw.length) {
    throw new LifeboatError(
      'MANIFEST_CONFLICT',
      `${what} refused: ${file} is already archived with different content (sha256 ${recorded.rawSha256.slice(0, 16)}…, ${recorded.rawBytes} bytes; this one ${rawSha256.slice(0, 16)}…, ${raw.length} bytes): is another server archiving into the same place?`,
      { subject: file },
    );
  }
  const existing = await storage.head(recorded.key);
  if (existing) return { file, outcome: 'already-archived', rawBytes: raw.length, storedBytes: existing.bytes, rawSha256 };
  let stored = await zstdBuffer(raw, [`-${level}`], what, signal);
  if (enc) stored = await throughFilter(stored, enc.filter(signal));
  const created = await storage.putIfAbsent(recorded.key, stored, 'application/octet-stream');
  return { file, outcome: created ? 'archived' : 'already-archived', rawBytes: raw.length, storedBytes: stored.length, rawSha256 };
}

/** Why `fetchWal` found nothing: PostgreSQL asks for files that may not exist (the next timeline's history). */
export class WalMissing extends Error {
  constructor(public readonly file: string) {
    super(`WAL file ${file} is not in the archive`);
    this.name = 'WalMissing';
  }
}

/** Reads one archived WAL file back: decrypted, decompressed and checked against its recorded SHA-256. */
export async function fetchWalBuffer(cfg: LifeboatConfig, database: string, file: string, signal = new AbortController().signal): Promise<Buffer> {
  const what = `WAL fetch of ${file} for ${database}`;
  checkName(file, what);
  const storage = walStorage(cfg, database);
  const record = await readWalRecord(storage, database, file);
  if (!record || !(await storage.head(record.key))) throw new WalMissing(file);
  let stored = await storage.getBuffer(record.key);
  if (record.encryption) {
    const identities = await resolveIdentities(cfg);
    const decryptor = startDecryptor({ encryption: record.encryption, identities, what, backupId: file, signal });
    stored = await throughFilter(stored, decryptor);
  }
  const raw = await zstdBuffer(stored, ['-d'], what, signal);
  if (sha256(raw) !== record.rawSha256 || raw.length !== record.rawBytes) {
    throw new LifeboatError('CHECKSUM_MISMATCH', `${what} failed: content differs from its recorded sha256 ${record.rawSha256}`, { subject: file });
  }
  return raw;
}

/** `restore_command`: writes WAL file `file` (`%f`) to `dest` (`%p`) atomically (a temporary name, then rename). */
export async function fetchWal(cfg: LifeboatConfig, database: string, file: string, dest: string): Promise<number> {
  const raw = await fetchWalBuffer(cfg, database, file);
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.lifeboat-partial`;
  try {
    await writeFile(tmp, raw, { mode: 0o600 });
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return raw.length;
}
