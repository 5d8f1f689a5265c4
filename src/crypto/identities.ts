// Identities that decrypt backups (`restore.identities`), what public keys they answer to, and
// which of them can open a given backup: decided before anything touches a restore target.
import path from 'node:path';
import type { Manifest } from '../catalog/manifest.js';
import type { LifeboatConfig } from '../config/schema.js';
import { registerSecret, resolveSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import { gpgKeysOf } from './gpg.js';
import { ageIdentityRecipient, sshIdentityRecipient } from './keys.js';

/** How a backup was encrypted, as its manifest records it. */
export type ArtifactEncryption = NonNullable<Manifest['artifact']['encryption']>;

/** A resolved identity: its secret text (kept on the worker) and the recipient fingerprints it opens. */
export interface Identity {
  type: 'age' | 'gpg';
  /** Where it is configured, e.g. `restore.identities.1`. */
  label: string;
  secret: string;
  /** Recipient fingerprints in the manifest's form (age1…, `ssh-ed25519 SHA256:…`, GPG fingerprints). */
  fingerprints: string[];
}

const GPG_SECRET = /-----BEGIN PGP PRIVATE KEY BLOCK-----/;
const SSH_SECRET = /-----BEGIN (OPENSSH |RSA )?PRIVATE KEY-----/;
const AGE_SECRET = /AGE-SECRET-KEY-1[0-9A-Z]+/g;

/**
 * Reads one identity's text: age keys (a file may hold several, as `age-keygen` writes them), an
 * unencrypted SSH private key (ed25519 or RSA), or GPG secret keys (armored). The problem is
 * reported by `label`, never with the key.
 */
export async function parseIdentity(text: string, label: string): Promise<Identity> {
  const bad = (why: string) => new LifeboatError('CONFIG_INVALID', `Identity ${label} is unusable: ${why}`, { subject: label });
  if (GPG_SECRET.test(text)) {
    const keys = (await gpgKeysOf(text).catch(() => [])).filter((k) => k.secret);
    if (keys.length === 0) throw bad('it is not a readable GPG secret key (passphrase-protected keys need a terminal)');
    return { type: 'gpg', label, secret: text, fingerprints: keys.flatMap((k) => k.fingerprints) };
  }
  if (SSH_SECRET.test(text)) {
    const r = sshIdentityRecipient(text);
    if (typeof r === 'string') throw bad(`it ${r}`);
    return { type: 'age', label, secret: text, fingerprints: [r.fingerprint] };
  }
  const ageKeys = text.match(AGE_SECRET) ?? [];
  if (ageKeys.length > 0) {
    const recipients = ageKeys.map((k) => ageIdentityRecipient(k));
    if (recipients.some((r) => r === undefined)) throw bad('it holds an age secret key with a wrong checksum');
    for (const k of ageKeys) registerSecret(k);
    return { type: 'age', label, secret: ageKeys.join('\n'), fingerprints: recipients as string[] };
  }
  throw bad('expected an age identity (AGE-SECRET-KEY-1…), an SSH private key or a GPG secret key block');
}

/** Resolves every `restore.identities` entry on the worker (secrets are registered for redaction). */
export async function resolveIdentities(cfg: LifeboatConfig): Promise<Identity[]> {
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  const refs = cfg.restore?.identities ?? [];
  return Promise.all(refs.map((ref, i) => parseIdentity(resolveSecret(ref, `restore.identities.${i}`, base), `restore.identities.${i}`)));
}

/**
 * The identities that can decrypt an artifact encrypted as `encryption` (of the same type, holding
 * a key for one of its recipients). Pure. Throws `NO_MATCHING_IDENTITY`, naming the backup's
 * recipients and the configured identities' public keys, when there is none.
 */
export function matchIdentities(encryption: ArtifactEncryption, identities: Identity[], what: string, backupId: string): Identity[] {
  const wanted = new Set(encryption.recipients);
  const matching = identities.filter((i) => i.type === encryption.type && i.fingerprints.some((f) => wanted.has(f)));
  if (matching.length > 0) return matching;
  const have = identities.flatMap((i) => i.fingerprints);
  throw new LifeboatError(
    'NO_MATCHING_IDENTITY',
    `${what} failed: no identity can decrypt backup ${backupId}: it is encrypted with ${encryption.type} to ${encryption.recipients.join(', ')}; ` +
      (have.length ? `restore.identities holds keys for ${have.join(', ')}` : 'restore.identities is not configured'),
    { subject: backupId },
  );
}
