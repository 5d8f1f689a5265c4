// The stored objects of an artifact: one for a single-stream dump, one per file for a
// directory-format dump (`<artifact.key>/<name><suffix>`), and the one checksum that stands for them.
import { createHash } from 'node:crypto';
import type { Manifest } from './manifest.js';

type Artifact = Manifest['artifact'];

/** One stored object of an artifact, with the size and SHA-256 it must have. */
export interface StoredPart {
  key: string;
  bytes: number;
  sha256: string;
  /** For a file of a directory dump: its name in the dump directory (`toc.dat`) and raw size; a bundle's members. */
  file?: { name: string; rawBytes: number; members?: Array<{ name: string; rawBytes: number }> };
}

/** The key suffix of every stored file of a directory artifact: compression, then encryption (`.zst.age`). */
export function partSuffix(a: Pick<Artifact, 'compression' | 'encryption'>): string {
  const c = a.compression.codec;
  return `${c === 'zstd' ? '.zst' : c === 'gzip' ? '.gz' : ''}${a.encryption ? `.${a.encryption.type}` : ''}`;
}

/** The key of one file of a directory artifact stored under `prefix`. */
export function partKey(prefix: string, name: string, a: Pick<Artifact, 'compression' | 'encryption'>): string {
  return `${prefix}/${name}${partSuffix(a)}`;
}

/** Every object an artifact consists of. */
export function storedParts(a: Artifact): StoredPart[] {
  if (!a.files) return [{ key: a.key, bytes: a.bytes, sha256: a.sha256 }];
  return a.files.map((f) => ({
    key: partKey(a.key, f.name, a),
    bytes: f.bytes,
    sha256: f.sha256,
    file: { name: f.name, rawBytes: f.rawBytes, ...(f.members ? { members: f.members } : {}) },
  }));
}

/** Whether `key` is (part of) the artifact. */
export function isArtifactObject(a: Artifact, key: string): boolean {
  return key === a.key || (a.files !== undefined && key.startsWith(`${a.key}/`));
}

/**
 * The checksum of a directory artifact: SHA-256 over its files' `sha256sum` lines
 * (`<sha256>  <stored name>\n`) sorted by name, so `sha256sum -c` checks the downloaded files.
 */
export function directoryChecksum(files: Array<{ name: string; sha256: string }>, a: Pick<Artifact, 'compression' | 'encryption'>): string {
  return createHash('sha256').update(checksumLines(files, a)).digest('hex');
}

/** The `sha256sum` lines of a directory artifact's stored files, sorted by stored name (bytewise, as `LC_ALL=C sort`). */
export function checksumLines(files: Array<{ name: string; sha256: string }>, a: Pick<Artifact, 'compression' | 'encryption'>): string {
  const suffix = partSuffix(a);
  return files
    .map((f) => `${f.sha256}  ${f.name}${suffix}\n`)
    .sort((x, y) => (x.slice(66) < y.slice(66) ? -1 : x.slice(66) > y.slice(66) ? 1 : 0))
    .join('');
}
