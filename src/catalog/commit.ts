// The commit sequence of backups and copies: a backup (on one storage target) exists once its
// manifest is committed there, and a retried or doubled attempt never makes a second one.
import { randomBytes } from 'node:crypto';
import { LifeboatError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Confirmation, Storage } from '../storage/index.js';
import { readManifest } from './catalog.js';
import { keys, type Manifest } from './manifest.js';
import { ensureRecoveryReadme } from './readme.js';
import type { StoredPart } from './artifact-files.js';
import { mapLimit } from '../map-limit.js';

export interface StagedArtifact<M extends object> {
  bytes: number;
  sha256: string;
  /** A directory artifact: its objects under `<key>/`, each confirmed on its own (`bytes`/`sha256` then stand for them all). */
  parts?: StoredPart[];
  /** The manifest to commit (it names the staging key), built once the artifact is confirmed. */
  manifest(): M;
}

export interface CommitRequest<M extends object> {
  storage: Storage;
  database: string;
  backupId: string;
  /** The activity attempt (1-based): a later attempt first clears what earlier ones left. */
  attempt: number;
  /** Staging keys say who wrote them: `a` backups, `c` copies. */
  tag: 'a' | 'c';
  /** The artifact's extension, `.dump.zst`. */
  extension: string;
  /** What failures name: `Backup of orders`, `Copy of backup <id>`. */
  what: string;
  subject: string;
  /** Read the artifact back and hash it even when the storage target is not configured to. */
  reread: boolean;
  /** The error code of an artifact whose bytes read back differ. */
  checksumCode: ErrorCode;
  /** The artifact in messages: `the artifact`, `the copy`. */
  noun: string;
  signal?: AbortSignal;
  log: Logger;
  /** Writes the artifact to `key`; returns its size, sha256 and the manifest that will commit it. */
  stage(key: string): Promise<StagedArtifact<M>>;
  /** Whether the manifest another attempt committed first stands for the same backup (a copy: same sha256). */
  accept?(winner: Manifest): boolean;
  onPhase?(phase: 'confirming' | 'committing'): void;
}

export type CommitOutcome<M extends object> =
  | { status: 'committed'; key: string; manifest: M }
  /** Another attempt committed first: its manifest stands, this attempt's artifact is deleted. */
  | { status: 'lost'; key: string; manifest: Manifest };

/** Removes what earlier attempts left under the backup's prefix (no manifest there means it is all garbage). */
export async function clearEarlierAttempts(storage: Storage, database: string, backupId: string, log: Logger): Promise<void> {
  const prefix = keys.backupPrefix(database, backupId);
  for (const u of await storage.listIncompleteUploads(prefix)) {
    log.info({ key: u.key }, 'aborting an incomplete upload of an earlier attempt');
    await storage.abortIncompleteUpload(u);
  }
  for (const o of await storage.list(prefix)) {
    log.info({ key: o.key }, 'deleting an uncommitted artifact of an earlier attempt');
    await storage.delete(o.key);
  }
}

/** A fresh staging key per attempt: `<id>.a2-0f3c2e.dump.zst`. */
export function stagingKey(database: string, backupId: string, tag: 'a' | 'c', attempt: number, extension: string): string {
  return keys.artifact(database, backupId, `${tag}${attempt}-${randomBytes(3).toString('hex')}`, extension);
}

function confirmationError<M extends object>(
  req: CommitRequest<M>,
  key: string,
  staged: { bytes: number; sha256: string },
  found: Exclude<Confirmation, { ok: true }>,
): LifeboatError {
  const where = req.storage.describe(key);
  if (found.problem === 'missing')
    return new LifeboatError('STORAGE_FAILED', `${req.what} failed: ${req.noun} is missing after the upload: ${where}`, { subject: req.subject });
  if (found.problem === 'size') {
    return new LifeboatError('STORAGE_FAILED', `${req.what} failed: ${req.noun} is stored with ${found.bytes} bytes, expected ${staged.bytes}: ${where}`, {
      subject: req.subject,
    });
  }
  return new LifeboatError(
    req.checksumCode,
    `${req.what} failed: reading ${req.noun} back gives sha256 ${found.sha256.slice(0, 12)}… (${found.bytes} bytes), expected ${staged.sha256.slice(0, 12)}… (${staged.bytes} bytes): ${where}`,
    { subject: req.subject },
  );
}

/** Deletes a staged artifact: its key and, for a directory artifact, everything under `<key>/`. */
async function deleteStaged(storage: Storage, key: string): Promise<void> {
  await storage.delete(key).catch(() => undefined);
  const under = await storage.list(`${key}/`).catch(() => []);
  for (const o of under) await storage.delete(o.key).catch(() => undefined);
}

/** Confirms every stored object of the staged artifact (each part of a directory artifact). */
async function confirmStaged<M extends object>(req: CommitRequest<M>, key: string, staged: StagedArtifact<M>): Promise<void> {
  if (staged.parts && !req.reread && req.storage.rereadsUploads === false) {
    // Sizes only: one listing confirms every file of a directory artifact.
    const listed = new Map((await req.storage.list(`${key}/`)).map((o) => [o.key, o.bytes]));
    for (const part of staged.parts) {
      const bytes = listed.get(part.key);
      if (bytes === undefined) throw confirmationError(req, part.key, part, { ok: false, problem: 'missing' });
      if (bytes !== part.bytes) throw confirmationError(req, part.key, part, { ok: false, problem: 'size', bytes });
    }
    return;
  }
  // The files of a directory artifact are confirmed a few at a time.
  await mapLimit(staged.parts ?? [{ key, bytes: staged.bytes, sha256: staged.sha256 }], 8, async (part) => {
    const found = await req.storage.confirm(part.key, part, { reread: req.reread, signal: req.signal });
    if (!found.ok) throw confirmationError(req, part.key, part, found);
  });
}

async function settleLoss<M extends object>(req: CommitRequest<M>, key: string): Promise<CommitOutcome<M>> {
  await deleteStaged(req.storage, key);
  const winner = await readManifest(req.storage, req.database, req.backupId);
  if (!winner || (req.accept && !req.accept(winner))) {
    throw new LifeboatError('MANIFEST_CONFLICT', `${req.what} failed: another manifest for backup ${req.backupId} was committed on ${req.storage.name} first`, {
      subject: req.subject,
    });
  }
  req.log.info({ backupId: req.backupId, storage: req.storage.name }, 'another attempt committed this backup first; discarded this attempt');
  return { status: 'lost', key: winner.artifact.key, manifest: winner };
}

/**
 * Stages an artifact under a fresh key of this attempt, confirms its stored size (and, when
 * asked or configured, its sha256 read back), then commits the manifest with a create-if-absent
 * write. The loser of a race deletes its artifact and returns the winner's manifest; a failure
 * before the commit deletes the staged artifact. The caller returns an already committed backup
 * before calling this.
 */
export async function commitArtifact<M extends object>(req: CommitRequest<M>): Promise<CommitOutcome<M>> {
  if (req.attempt > 1) await clearEarlierAttempts(req.storage, req.database, req.backupId, req.log);
  const key = stagingKey(req.database, req.backupId, req.tag, req.attempt, req.extension);
  let committed = false;
  try {
    const staged = await req.stage(key);
    req.onPhase?.('confirming');
    await confirmStaged(req, key, staged);
    req.onPhase?.('committing');
    const manifest = staged.manifest();
    const won = await req.storage.putIfAbsent(keys.manifest(req.database, req.backupId), `${JSON.stringify(manifest, null, 2)}\n`);
    committed = true;
    if (!won) return await settleLoss(req, key);
    await ensureRecoveryReadme(req.storage, req.log);
    return { status: 'committed', key, manifest };
  } catch (err) {
    if (!committed) await deleteStaged(req.storage, key);
    throw err;
  }
}
