// Public-key parsing for encryption at rest: age and SSH recipients, the public half of age and
// SSH identities, the fingerprints a manifest records, and 256-bit symmetric keys. Pure (no I/O).
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { LifeboatError } from '../errors.js';

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

function convertBits(data: number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & ((1 << to) - 1));
    }
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & ((1 << to) - 1));
  else if (!pad && (bits >= from || ((acc << (to - bits)) & ((1 << to) - 1)) !== 0)) return undefined;
  return out;
}

/** Decodes a Bech32 string (age uses it without the 90-character limit); undefined when invalid. */
export function bech32Decode(text: string): { hrp: string; bytes: Buffer } | undefined {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) return undefined;
  const s = text.toLowerCase();
  const sep = s.lastIndexOf('1');
  if (sep < 1 || s.length - sep < 7) return undefined;
  const hrp = s.slice(0, sep);
  const words = [...s.slice(sep + 1)].map((c) => BECH32.indexOf(c));
  if (words.some((w) => w < 0) || polymod([...hrpExpand(hrp), ...words]) !== 1) return undefined;
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  return bytes ? { hrp, bytes: Buffer.from(bytes) } : undefined;
}

export function bech32Encode(hrp: string, bytes: Buffer): string {
  const words = convertBits([...bytes], 8, 5, true)!;
  const chk = polymod([...hrpExpand(hrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const check = Array.from({ length: 6 }, (_, i) => (chk >>> (5 * (5 - i))) & 31);
  return `${hrp}1${[...words, ...check].map((w) => BECH32[w]).join('')}`;
}

/** A parsed recipient: what to pass to `age -r`, and the fingerprint the manifest records. */
export interface AgeRecipient {
  kind: 'x25519' | 'ssh-ed25519' | 'ssh-rsa';
  /** The recipient as `age -r` takes it (an SSH key without its comment). */
  recipient: string;
  /** `age1…` itself for native keys; `ssh-ed25519 SHA256:…` (OpenSSH's fingerprint) for SSH keys. */
  fingerprint: string;
}

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function sshFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function readSshString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

function sshRecipient(type: 'ssh-ed25519' | 'ssh-rsa', blob: Buffer): AgeRecipient {
  return { kind: type, recipient: `${type} ${blob.toString('base64')}`, fingerprint: `${type} ${sshFingerprint(blob)}` };
}

/**
 * Parses an age recipient: `age1…` (X25519) or an SSH public key line (`ssh-ed25519 AAAA… [comment]`,
 * `ssh-rsa AAAA… [comment]`). Returns the problem as a string when it is not one.
 */
export function parseAgeRecipient(text: string): AgeRecipient | string {
  const s = text.trim();
  if (/^age1/i.test(s)) {
    const d = bech32Decode(s);
    if (!d || d.hrp !== 'age' || d.bytes.length !== 32) return 'is not a valid age recipient (age1… with a correct checksum)';
    return { kind: 'x25519', recipient: s.toLowerCase(), fingerprint: s.toLowerCase() };
  }
  const m = /^(ssh-ed25519|ssh-rsa)\s+([A-Za-z0-9+/]+={0,2})(\s.*)?$/.exec(s);
  if (!m) return 'expected an age recipient (age1…) or an SSH public key (ssh-ed25519 … / ssh-rsa …)';
  const type = m[1] as 'ssh-ed25519' | 'ssh-rsa';
  const blob = Buffer.from(m[2]!, 'base64');
  const inner = readSshString(blob, 0);
  if (!inner || inner.value.toString() !== type) return `is not a valid ${type} public key (its key data does not say ${type})`;
  return sshRecipient(type, blob);
}

const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The recipient (`age1…`) of a native age identity (`AGE-SECRET-KEY-1…`); undefined when invalid. */
export function ageIdentityRecipient(identity: string): string | undefined {
  const d = bech32Decode(identity.trim());
  if (!d || d.hrp !== 'age-secret-key-' || d.bytes.length !== 32) return undefined;
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, d.bytes]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return bech32Encode('age', spki.subarray(spki.length - 32));
}

function mpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, 'base64url');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function sshString(s: string): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(Buffer.byteLength(s));
  return Buffer.concat([len, Buffer.from(s)]);
}

/**
 * The public half of an SSH private key as an age recipient, read without decrypting anything:
 * the OpenSSH format stores the public key in the clear; a PEM RSA key is derived by node:crypto.
 * Returns the problem as a string for keys age cannot use here (passphrase-protected, other types).
 */
export function sshIdentityRecipient(pem: string): AgeRecipient | string {
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]+?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (openssh) {
    const buf = Buffer.from(openssh[1]!.replace(/\s+/g, ''), 'base64');
    const magic = Buffer.from('openssh-key-v1\0');
    if (!buf.subarray(0, magic.length).equals(magic)) return 'is not an OpenSSH private key';
    const cipher = readSshString(buf, magic.length);
    const kdf = cipher && readSshString(buf, cipher.next);
    const kdfOptions = kdf && readSshString(buf, kdf.next);
    const pub = kdfOptions && readSshString(buf, kdfOptions.next + 4);
    if (!pub) return 'is a truncated OpenSSH private key';
    if (cipher.value.toString() !== 'none')
      return 'is a passphrase-protected SSH key; age cannot use it without a terminal (store an unprotected copy as a secret)';
    const type = readSshString(pub.value, 0)?.value.toString();
    if (type !== 'ssh-ed25519' && type !== 'ssh-rsa') return `is an SSH key of type ${type ?? 'unknown'}; age supports ssh-ed25519 and ssh-rsa`;
    return sshRecipient(type, pub.value);
  }
  if (/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
    let jwk: { kty?: string; n?: string; e?: string };
    try {
      jwk = createPublicKey(pem).export({ format: 'jwk' });
    } catch {
      return 'is not a readable PEM private key (passphrase-protected keys are not supported)';
    }
    if (jwk.kty !== 'RSA') return `is a PEM ${jwk.kty ?? 'unknown'} key; age supports RSA and OpenSSH ed25519 keys`;
    return sshRecipient('ssh-rsa', Buffer.concat([sshString('ssh-rsa'), mpint(jwk.e!), mpint(jwk.n!)]));
  }
  return 'is not an SSH private key';
}

/** A GPG v4 (40 hex digits) or v5 (64) fingerprint, upper case without spaces; undefined when not one. */
export function normalizeGpgFingerprint(text: string): string | undefined {
  const s = text.replace(/\s+/g, '').toUpperCase();
  return /^([0-9A-F]{40}|[0-9A-F]{64})$/.test(s) ? s : undefined;
}

/** Reads a 256-bit key written as base64 (`openssl rand -base64 32`) or as 64 hex digits. */
export function parse256BitKey(value: string, label: string): Buffer {
  const s = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(s) ? Buffer.from(s, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(s) ? Buffer.from(s, 'base64') : undefined;
  if (!key || key.length !== 32) {
    throw new LifeboatError('CONFIG_INVALID', `Secret ${label} is unusable: expected a 256-bit key as base64 (openssl rand -base64 32) or 64 hex digits`, {
      subject: label,
    });
  }
  return key;
}
