// Downloads a directory-format artifact (one stored object per dump file) into a local dump
// directory: every file decrypted, decompressed and proven by its own SHA-256 and raw size; a
// bundle of small files is unpacked once proven.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../errors.js';
import type { Manifest } from '../catalog/manifest.js';
import { directoryChecksum, storedParts, type StoredPart } from '../catalog/artifact-files.js';
import type { Storage } from '../storage/index.js';
import type { Filter } from '../crypto/filter.js';
import { checkFound, fetchArtifact, type FetchProgress, type FetchResult } from './artifact.js';
import { mapLimit } from '../map-limit.js';
import { unpackBundle } from '../pipeline/file-bundle.js';

/** Files downloaded at once. */
const PARALLEL = 4;

/**
 * Fetches every file of `manifest`'s directory artifact into `dir` (created here), at most
 * {@link PARALLEL} at once. The first failure (a missing file: BACKUP_NOT_FOUND; a corrupt one:
 * CHECKSUM_MISMATCH) stops the others and is thrown; nothing reads `dir` before this returns.
 */
export async function fetchDirectory(opts: {
  storage: Storage;
  manifest: Manifest;
  dir: string;
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: FetchProgress) => void;
  decrypt?: (signal: AbortSignal) => Filter;
}): Promise<FetchResult> {
  const { manifest: m, label } = opts;
  const files = m.artifact.files ?? [];
  const where = opts.storage.describe(m.artifact.key);
  if (directoryChecksum(files, m.artifact) !== m.artifact.sha256) {
    throw new LifeboatError('CHECKSUM_MISMATCH', `Restore of ${label} failed: the manifest's file list does not match its artifact sha256: ${where}`, {
      subject: where,
    });
  }
  const started = Date.now();
  await mkdir(opts.dir, { recursive: true, mode: 0o700 });
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const seen = new Map<string, FetchProgress>();
  const total = (): FetchProgress => {
    const t = { storedBytes: 0, rawBytes: 0 };
    for (const p of seen.values()) {
      t.storedBytes += p.storedBytes;
      t.rawBytes += p.rawBytes;
    }
    return t;
  };
  const one = (part: StoredPart): Manifest => ({
    ...m,
    rawBytes: part.file!.rawBytes,
    artifact: { ...m.artifact, key: part.key, bytes: part.bytes, sha256: part.sha256, files: undefined },
  });
  const parts = storedParts(m.artifact);
  // One listing finds every file with its stored size before any download.
  const listed = new Map((await opts.storage.list(`${m.artifact.key}/`)).map((o) => [o.key, o]));
  for (const part of parts) checkFound(listed.get(part.key), one(part), label, opts.storage.describe(part.key));
  try {
    try {
      await mapLimit(parts, PARALLEL, async (part) => {
        const { name, members } = part.file!;
        await fetchArtifact({
          storage: opts.storage,
          manifest: one(part),
          present: true,
          file: path.join(opts.dir, name),
          label,
          signal: ac.signal,
          decrypt: opts.decrypt,
          onProgress: (p) => {
            seen.set(name, { ...p });
            opts.onProgress?.(total());
          },
        })
          .then(() => members && unpackBundle(path.join(opts.dir, name), opts.dir, members, opts.storage.describe(part.key)))
          .catch((err: unknown) => {
            ac.abort(); // the first failure stops the other downloads
            throw err;
          });
      });
    } catch (err) {
      if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `Restore of ${label} cancelled while downloading ${where}`, { subject: label });
      throw err;
    }
    const t = total();
    return { ...t, rawBytes: m.rawBytes, sha256: m.artifact.sha256, ms: Date.now() - started };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
