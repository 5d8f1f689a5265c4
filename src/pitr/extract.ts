// Unpacks a stored base backup into a data directory: the stored bytes are hashed (and compared
// with the manifest), decrypted when encrypted, decompressed and untarred, without a local copy.
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LifeboatConfig } from '../config/schema.js';
import { resolveIdentities } from '../crypto/identities.js';
import { startDecryptor } from '../crypto/stream.js';
import { LifeboatError } from '../errors.js';
import { startChild, startZstd } from '../pipeline/child.js';
import { describeExit } from '../pipeline/process.js';
import type { Storage } from '../storage/index.js';
import type { BaseManifest } from './base-manifest.js';
import { hashTap } from '../pipeline/hash-tap.js';

export async function extractBaseBackup(opts: {
  cfg: LifeboatConfig;
  storage: Storage;
  manifest: BaseManifest;
  dataDir: string;
  what: string;
  signal: AbortSignal;
  onBytes?: (stored: number) => void;
}): Promise<void> {
  const { manifest: m, what } = opts;
  if (m.artifact.compression.codec !== 'zstd') throw new LifeboatError('UNSUPPORTED', `${what} refused: base backup ${m.backupId} is not zstd-compressed`);
  const identities = m.artifact.encryption ? await resolveIdentities(opts.cfg) : [];
  const decryptor = m.artifact.encryption
    ? startDecryptor({ encryption: m.artifact.encryption, identities, what, backupId: m.backupId, signal: opts.signal })
    : undefined;
  const source = await opts.storage.getStream(m.artifact.key, opts.signal);
  const tap = hashTap(opts.onBytes);
  const zstd = startZstd(['-d'], opts.signal);
  const tar = startChild({ tool: 'tar', args: ['-x', '-f', '-', '-C', opts.dataDir, '--no-same-owner'] }, opts.signal);
  tar.output.resume();
  const into = (w: Writable) => pipeline(source, tap.stream, w);
  const feeds = decryptor ? [into(decryptor.input), pipeline(decryptor.output, zstd.input)] : [into(zstd.input)];
  const results = await Promise.allSettled([...feeds, pipeline(zstd.output, tar.input), decryptor?.done, zstd.exit, tar.exit]);
  const [zExit, tExit] = [await zstd.exit, await tar.exit];
  if (!zExit.ok) throw new LifeboatError('DECOMPRESS_FAILED', `${what} failed: zstd ${describeExit(zExit)}`, { subject: m.backupId });
  if (!tExit.ok) throw new LifeboatError('RESTORE_FAILED', `${what} failed: tar ${describeExit(tExit)}`, { subject: m.backupId });
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed)
    throw failed.reason instanceof LifeboatError ? failed.reason : new LifeboatError('RESTORE_FAILED', `${what} failed: ${(failed.reason as Error).message}`);
  const sha = tap.digest();
  const stored = tap.bytes();
  if (sha !== m.artifact.sha256 || stored !== m.artifact.bytes) {
    throw new LifeboatError(
      'CHECKSUM_MISMATCH',
      `${what} failed: base backup ${m.backupId} read back with sha256 ${sha}, its manifest says ${m.artifact.sha256}`,
      {
        subject: m.backupId,
      },
    );
  }
}
