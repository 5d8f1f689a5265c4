// 3-2-1 copies: a committed backup is copied to another storage target, its sha256 checked while
// streaming (the source) and again by reading the copy back (the destination), and the manifest
// committed last on the destination with a create-if-absent write.
import { pipeline } from 'node:stream';
import { readManifest } from '../catalog/catalog.js';
import { commitArtifact, type StagedArtifact } from '../catalog/commit.js';
import { keys, type Manifest } from '../catalog/manifest.js';
import type { LifeboatConfig } from '../config/schema.js';
import { databaseStorageNames } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { CopyResult } from '../contracts/index.js';
import { copyVerifications } from '../restore/verification.js';
import { hashTap } from '../pipeline/hash-tap.js';
import { partKey, storedParts } from '../catalog/artifact-files.js';

export interface CopyRequest {
  database: string;
  backupId: string;
  from: string;
  to: string;
  workflow: { workflowId: string; runId: string; attempt: number };
}

export interface CopyHooks {
  signal?: AbortSignal;
  /** Bytes copied so far, of the artifact's stored size. */
  onProgress?: (bytes: number, totalBytes: number) => void;
}

/** The storage targets a committed backup is copied to: every target of the database but `from`. */
export function copyTargets(cfg: LifeboatConfig, database: string, from: string): string[] {
  return databaseStorageNames(cfg, database).filter((s) => s !== from);
}

/** `<id>.a1-0f3c2e.dump.zst` -> `.dump.zst` (the artifact's extension, whatever the attempt tag). */
export function artifactExtension(backupId: string, key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const rest = name.startsWith(`${backupId}.`) ? name.slice(backupId.length + 1) : name;
  const dot = rest.indexOf('.');
  return dot >= 0 ? rest.slice(dot) : '';
}

/**
 * Streams the source artifact (every file of a directory artifact) into `key` on the destination, hashing it on the way: a source
 * that no longer matches its manifest is never committed. The manifest to commit is the source's
 * as stored (unknown fields kept), pointing at this target's artifact.
 */
async function streamCopy(
  req: CopyRequest,
  manifest: Manifest,
  src: Storage,
  dst: Storage,
  key: string,
  log: Logger,
  hooks: CopyHooks,
): Promise<StagedArtifact<Record<string, unknown>>> {
  log.info({ backupId: req.backupId, from: src.describe(manifest.artifact.key), to: dst.describe(key) }, 'copy started');
  // A directory artifact is copied file by file, each under the new key as its prefix.
  const parts = storedParts(manifest.artifact).map((p) => ({ ...p, to: p.file ? partKey(key, p.file.name, manifest.artifact) : key }));
  let done = 0;
  for (const part of parts) {
    const tap = hashTap((bytes) => hooks.onProgress?.(done + bytes, manifest.artifact.bytes));
    const source = await src.getStream(part.key, hooks.signal);
    pipeline(source, tap.stream, () => undefined); // a source error destroys `tap`, which fails the upload
    await dst.putStream(part.to, tap.stream, { sizeHint: part.bytes, signal: hooks.signal });
    const streamed = tap.digest();
    const bytes = tap.bytes();
    if (streamed !== part.sha256 || bytes !== part.bytes) {
      throw new LifeboatError(
        'CHECKSUM_MISMATCH',
        `Copy of backup ${req.backupId} failed: the source artifact does not match its manifest (sha256 ${streamed.slice(0, 12)}…, ${bytes} bytes; manifest ${part.sha256.slice(0, 12)}…, ${part.bytes} bytes): ${src.describe(part.key)}`,
        { subject: `${req.database}/${req.backupId}` },
      );
    }
    done += bytes;
  }
  const raw = JSON.parse((await src.getBuffer(keys.manifest(req.database, req.backupId))).toString()) as Record<string, unknown>;
  // The roles dumped with the backup go along (the manifest names their key; restore checks their sha256).
  if (manifest.roles?.status === 'stored') await dst.put(manifest.roles.key, await src.getBuffer(manifest.roles.key), 'application/sql');
  return {
    bytes: manifest.artifact.bytes,
    sha256: manifest.artifact.sha256,
    ...(manifest.artifact.files ? { parts: parts.map((p) => ({ key: p.to, bytes: p.bytes, sha256: p.sha256 })) } : {}),
    manifest: () => ({
      ...raw,
      artifact: { ...(raw.artifact as Record<string, unknown>), storage: req.to, key },
      copy: { from: req.from, sourceKey: manifest.artifact.key, copiedAt: new Date().toISOString(), workflow: req.workflow },
    }),
  };
}

/** The copy carries the source's verification records, so `latest-verified` works from the destination too. */
async function carryVerifications(src: Storage, dst: Storage, manifest: Manifest, log: Logger): Promise<void> {
  const { copied, problems } = await copyVerifications(src, dst, manifest);
  if (copied) log.info({ backupId: manifest.backupId, to: dst.name, records: copied }, 'verification records copied');
  for (const problem of problems) log.warn({ backupId: manifest.backupId, to: dst.name, problem }, 'verification record not copied');
}

/**
 * Copies one committed backup from `from` to `to`. The destination gets its own staging key per
 * attempt and its manifest last, so a destination never shows a backup whose bytes were not
 * confirmed there. Safe to retry and to run twice at once: one manifest wins, the other attempt
 * removes its artifact.
 */
export async function copyBackup(
  cfg: LifeboatConfig,
  req: CopyRequest,
  log: Logger,
  hooks: CopyHooks = {},
  open: (name: string) => Storage = (name) => openStorage(cfg, name),
): Promise<CopyResult> {
  const started = Date.now();
  const subject = `${req.database}/${req.backupId}`;
  if (req.from === req.to)
    throw new LifeboatError('INVALID_INPUT', `Copy of backup ${req.backupId} refused: source and destination are both ${req.to}`, { subject });
  const src = open(req.from);
  const dst = open(req.to);
  const manifest = await readManifest(src, req.database, req.backupId);
  if (!manifest) {
    throw new LifeboatError('BACKUP_NOT_FOUND', `Copy of backup ${req.backupId} failed: no committed backup with this id on ${req.from}`, { subject });
  }
  const result = (key: string, status: CopyResult['status']): CopyResult => ({
    storage: req.to,
    key,
    location: dst.describe(key),
    bytes: manifest.artifact.bytes,
    sha256: manifest.artifact.sha256,
    status,
    durationMs: Date.now() - started,
  });

  const present = await readManifest(dst, req.database, req.backupId);
  if (present) {
    if (present.artifact.sha256 !== manifest.artifact.sha256) {
      throw new LifeboatError(
        'MANIFEST_CONFLICT',
        `Copy of backup ${req.backupId} refused: ${req.to} holds a different backup with this id (sha256 ${present.artifact.sha256.slice(0, 12)}…)`,
        { subject },
      );
    }
    await carryVerifications(src, dst, present, log);
    return result(present.artifact.key, 'already-present');
  }
  const outcome = await commitArtifact<Record<string, unknown>>({
    storage: dst,
    database: req.database,
    backupId: req.backupId,
    attempt: req.workflow.attempt,
    tag: 'c',
    extension: artifactExtension(req.backupId, manifest.artifact.key),
    what: `Copy of backup ${req.backupId}`,
    subject,
    reread: true,
    checksumCode: 'COPY_FAILED',
    noun: 'the copy',
    signal: hooks.signal,
    log,
    stage: (key) => streamCopy(req, manifest, src, dst, key, log, hooks),
    accept: (winner) => winner.artifact.sha256 === manifest.artifact.sha256,
  });
  await carryVerifications(src, dst, manifest, log);
  if (outcome.status === 'lost') return result(outcome.key, 'already-present');
  log.info({ backupId: req.backupId, to: dst.describe(outcome.key), bytes: manifest.artifact.bytes, sha256: manifest.artifact.sha256 }, 'copy committed');
  return result(outcome.key, 'copied');
}
