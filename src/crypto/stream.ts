// The two ends of encryption at rest: the backup-side stage (compressed bytes in, ciphertext out)
// and the restore-side decryption (stored bytes in, compressed plaintext out, checksum over the
// stored bytes).
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { ageDecryptFilter, ageEncryptFilter } from './age.js';
import type { Filter } from './filter.js';
import { gpgDecryptFilter, gpgEncryptFilter } from './gpg.js';
import { matchIdentities, resolveIdentities, type ArtifactEncryption, type Identity } from './identities.js';
import type { Manifest } from '../catalog/manifest.js';
import { parseAgeRecipient, type AgeRecipient } from './keys.js';
import { hashTap } from '../pipeline/hash-tap.js';

export type { Filter } from './filter.js';

/** What a backup of an encrypted database needs: the key suffix, the manifest entry, the stage. */
export interface BackupEncryption {
  /** `.age` or `.gpg`, appended to the artifact key. */
  suffix: string;
  /** `artifact.encryption` of the manifest: the method and recipient fingerprints, no key material. */
  manifest: ArtifactEncryption;
  /** Starts the encryptor; it is fed the compressor's output and feeds the checksum and upload. */
  filter: (signal: AbortSignal) => Filter;
}

/** The encryption stage of a database's backups, or undefined when it stores plaintext. */
export function backupEncryption(cfg: LifeboatConfig, database: string): BackupEncryption | undefined {
  const enc = getDatabase(cfg, database).encryption;
  const label = `backup of ${database}`;
  if (enc?.age) {
    const recipients = enc.age.recipients.map((r) => parseAgeRecipient(r) as AgeRecipient);
    return {
      suffix: '.age',
      manifest: { type: 'age', recipients: recipients.map((r) => r.fingerprint) },
      filter: (signal) => ageEncryptFilter({ recipients: recipients.map((r) => r.recipient), label, signal }),
    };
  }
  if (enc?.gpg) {
    const { recipients, keyring } = enc.gpg;
    const keyringFile = path.resolve(cfg.sourcePath ? path.dirname(cfg.sourcePath) : process.cwd(), keyring);
    return {
      suffix: '.gpg',
      manifest: { type: 'gpg', recipients },
      filter: (signal) => gpgEncryptFilter({ keyringFile, recipients, label, signal }),
    };
  }
  return undefined;
}

/**
 * A decryptor for an artifact encrypted as `encryption`, with only the identities that match its
 * recipients. Throws `NO_MATCHING_IDENTITY` at once (before any byte is read) when none does.
 * `what` leads error messages (`Restore of orders`).
 */
export function startDecryptor(opts: { encryption: ArtifactEncryption; identities: Identity[]; what: string; backupId: string; signal: AbortSignal }): Filter {
  const matching = matchIdentities(opts.encryption, opts.identities, opts.what, opts.backupId);
  const label = `backup ${opts.backupId}`;
  const secrets = matching.map((i) => i.secret);
  return opts.encryption.type === 'age'
    ? ageDecryptFilter({ identities: secrets, label, signal: opts.signal })
    : gpgDecryptFilter({ secretKeys: secrets, label, signal: opts.signal });
}

/**
 * The restore side's entry point: undefined for a plaintext backup; otherwise resolves
 * `restore.identities` and checks now, before any target is touched, that one of them matches the
 * backup's recipients (`NO_MATCHING_IDENTITY` naming them otherwise). The returned factory starts
 * the decryptor that goes between the checksum (over the stored bytes) and decompression.
 */
export async function restoreDecryption(cfg: LifeboatConfig, manifest: Manifest, what: string): Promise<((signal: AbortSignal) => Filter) | undefined> {
  const encryption = manifest.artifact.encryption;
  if (!encryption) return undefined;
  const identities = await resolveIdentities(cfg);
  matchIdentities(encryption, identities, what, manifest.backupId);
  return (signal) => startDecryptor({ encryption, identities, what, backupId: manifest.backupId, signal });
}

/**
 * Decrypts a stored artifact as a stream. `plaintext` yields the decrypted (still compressed)
 * bytes and ends only when decryption succeeded; `done` resolves with the SHA-256 and size of
 * the stored (encrypted) bytes, which the caller compares with the manifest before trusting
 * anything it read. Identity matching happens before the source is read.
 */
export function decryptStream(opts: {
  source: Readable;
  encryption: ArtifactEncryption;
  identities: Identity[];
  what: string;
  backupId: string;
  signal: AbortSignal;
}): { plaintext: Readable; done: Promise<{ sha256: string; storedBytes: number }> } {
  const decryptor = startDecryptor(opts);
  const tap = hashTap();
  const feeding = pipeline(opts.source, tap.stream, decryptor.input);
  const done = Promise.all([
    decryptor.done,
    feeding.catch(async (err: Error) => {
      await decryptor.done; // the decryptor's own failure explains a broken pipe best
      throw err;
    }),
  ]).then(() => ({ sha256: tap.digest(), storedBytes: tap.bytes() }));
  done.catch(() => undefined);
  return { plaintext: decryptor.output, done };
}
