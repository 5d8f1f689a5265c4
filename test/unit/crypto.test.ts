// Encryption at rest through the real age and gpg binaries: keys, round trips, refusals.
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { parseConfig, type ConfigError } from '../../src/config/load.js';
import { ageEncryptFilter } from '../../src/crypto/age.js';
import { gpgEncryptFilter } from '../../src/crypto/gpg.js';
import { matchIdentities, parseIdentity, type Identity } from '../../src/crypto/identities.js';
import { ageIdentityRecipient, parseAgeRecipient, sshIdentityRecipient, type AgeRecipient } from '../../src/crypto/keys.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { decryptStream, restoreDecryption, type Filter } from '../../src/crypto/stream.js';
import { LifeboatError } from '../../src/errors.js';
import { streamBackup, type StreamBackupOptions } from '../../src/pipeline/backup-stream.js';
import { describeExit } from '../../src/pipeline/process.js';
import { FilesystemStorage } from '../../src/storage/filesystem.js';
import { ageKey, gpgKey, removeTempDirs, sshKey, tempDir, writeTemp } from '../harness/keys.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function run(filter: Filter, data: Buffer): Promise<Buffer> {
  const out = buffer(filter.output);
  filter.input.end(data);
  const [result] = await Promise.all([out, filter.done]);
  return result;
}

async function decrypt(ciphertext: Buffer, encryption: { type: 'age' | 'gpg'; recipients: string[] }, identities: Identity[]) {
  const { plaintext, done } = decryptStream({
    source: Readable.from([ciphertext]),
    encryption,
    identities,
    what: 'Restore of shop',
    backupId: 'b1',
    signal: new AbortController().signal,
  });
  const [bytes, stored] = await Promise.all([buffer(plaintext), done]);
  return { bytes, stored };
}

/** Runs `fn` with os.tmpdir() pointing at a fresh directory and returns what is left in it afterwards. */
async function leftoversOf(fn: () => Promise<void>): Promise<string[]> {
  const dir = tempDir('lb-tmpdir-');
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    await fn();
  } finally {
    process.env.TMPDIR = before;
  }
  return readdirSync(dir);
}

afterAll(removeTempDirs);

const signal = () => new AbortController().signal;
const data = Buffer.concat([Buffer.from('CREATE TABLE secret_orders (id int);\n'), randomBytes(300_000)]);

test('age and SSH keys parse to the fingerprints the stock tools print', () => {
  const age = ageKey();
  expect(ageIdentityRecipient(age.identity.match(/AGE-SECRET-KEY-1\S+/)![0])).toBe(age.recipient);
  expect((parseAgeRecipient(age.recipient) as AgeRecipient).fingerprint).toBe(age.recipient);
  const broken = age.recipient.slice(0, -1) + (age.recipient.endsWith('q') ? 'p' : 'q');
  expect(parseAgeRecipient(broken)).toMatch(/checksum/);
  expect(parseAgeRecipient('ecdsa-sha2-nistp256 AAAA')).toMatch(/expected an age recipient/);

  for (const [type, format] of [
    ['ed25519', 'openssh'],
    ['rsa', 'openssh'],
    ['rsa', 'pem'],
  ] as const) {
    const k = sshKey(type, format);
    const fromPublic = parseAgeRecipient(k.publicKey) as AgeRecipient;
    const fromPrivate = sshIdentityRecipient(k.privateKey) as AgeRecipient;
    expect(fromPublic.fingerprint).toBe(`ssh-${type} ${k.fingerprint}`);
    expect(fromPrivate.fingerprint).toBe(fromPublic.fingerprint);
    expect(fromPublic.recipient).not.toContain('lifeboat-test'); // the comment is not recorded
  }
});

test('an age round trip to an age1 and an SSH recipient decrypts with either identity, and removes its key files', async () => {
  const age = ageKey();
  const ssh = sshKey('ed25519');
  const recipients = [parseAgeRecipient(age.recipient), parseAgeRecipient(ssh.publicKey)] as AgeRecipient[];
  const ciphertext = await run(ageEncryptFilter({ recipients: recipients.map((r) => r.recipient), label: 'test', signal: signal() }), data);
  expect(ciphertext.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
  expect(ciphertext.includes(Buffer.from('secret_orders'))).toBe(false);

  const encryption = { type: 'age' as const, recipients: recipients.map((r) => r.fingerprint) };
  for (const text of [age.identity, ssh.privateKey]) {
    const identity = await parseIdentity(text, 'restore.identities.0');
    const left = await leftoversOf(async () => {
      const { bytes, stored } = await decrypt(ciphertext, encryption, [identity]);
      expect(bytes.equals(data)).toBe(true);
      expect(stored).toEqual({ sha256: sha256(ciphertext), storedBytes: ciphertext.length });
    });
    expect(left).toEqual([]);
  }
});

test('without a matching identity decryption is refused before reading, naming the recipients', async () => {
  const used = ageKey();
  const other = ageKey();
  const gpg = gpgKey();
  const encryption = { type: 'age' as const, recipients: [used.recipient] };
  const identities = [await parseIdentity(other.identity, 'restore.identities.0'), await parseIdentity(gpg.secretKey, 'restore.identities.1')];
  expect(identities[1]!.fingerprints).toContain(gpg.fingerprint);
  let read = false;
  const source = new Readable({
    read() {
      read = true;
      this.push(null);
    },
  });
  expect(() => decryptStream({ source, encryption, identities, what: 'Restore of shop', backupId: 'b1', signal: signal() })).toThrow(
    `Restore of shop failed: no identity can decrypt backup b1: it is encrypted with age to ${used.recipient}; restore.identities holds keys for ${other.recipient}, ${identities[1]!.fingerprints.join(', ')}`,
  );
  expect(read).toBe(false);
  expect(() => matchIdentities(encryption, [], 'Verification of shop', 'b1')).toThrow(/restore\.identities is not configured/);
  // A GPG key never matches an age backup, even if a fingerprint string were equal.
  expect(() => matchIdentities({ type: 'gpg', recipients: [other.recipient] }, identities.slice(0, 1), 'Restore of shop', 'b1')).toThrow(/NO|no identity/);
});

test('a tampered or truncated age artifact fails decryption and its plaintext stream never ends normally', async () => {
  const age = ageKey();
  const ciphertext = await run(ageEncryptFilter({ recipients: [age.recipient], label: 'test', signal: signal() }), data);
  const identity = await parseIdentity(age.identity, 'restore.identities.0');
  const encryption = { type: 'age' as const, recipients: [age.recipient] };
  const flipped = Buffer.from(ciphertext);
  flipped[flipped.length - 100]! ^= 1;
  for (const bad of [flipped, ciphertext.subarray(0, ciphertext.length - 1000)]) {
    await expect(decrypt(bad, encryption, [identity])).rejects.toMatchObject({
      code: 'DECRYPT_FAILED',
      message: expect.stringMatching(/^Decryption of backup b1 failed: age exited with code 1/),
    });
  }
});

test('a GPG round trip: encrypted to a public keyring only, decrypted with the secret key in a temporary home', async () => {
  const key = gpgKey();
  const keyring = writeTemp('keys.asc', key.publicKey);
  const ciphertext = await run(gpgEncryptFilter({ keyringFile: keyring, recipients: [key.fingerprint], label: 'test', signal: signal() }), data);
  expect(ciphertext.includes(Buffer.from('secret_orders'))).toBe(false);
  expect(ciphertext[0]! & 0x80).toBe(0x80); // an OpenPGP packet, binary
  const identity = await parseIdentity(key.secretKey, 'restore.identities.0');
  const left = await leftoversOf(async () => {
    const { bytes } = await decrypt(ciphertext, { type: 'gpg', recipients: [key.fingerprint] }, [identity]);
    expect(bytes.equals(data)).toBe(true);
  });
  expect(left).toEqual([]);

  const stranger = gpgKey('Stranger');
  const encrypting = gpgEncryptFilter({ keyringFile: keyring, recipients: [stranger.fingerprint], label: 'backup of shop', signal: signal() });
  await expect(run(encrypting, data)).rejects.toMatchObject({
    code: 'CONFIG_INVALID',
    message: `Encryption of backup of shop failed: GPG recipient ${stranger.fingerprint} is not in the keyring ${keyring}`,
  });
});

test('encryption configuration errors name the field and the problem', () => {
  const base = { storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } } };
  const problems = (db: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    try {
      parseConfig({ ...base, ...extra, databases: { orders: { engine: 'postgres', url: { env: 'X' }, ...db } } }, 'lifeboat.yaml');
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  };
  const age = ageKey();
  expect(problems({ encryption: { age: { recipients: [age.recipient, 'age1qqqq'] } } })).toEqual([
    'databases.orders.encryption.age.recipients.1: is not a valid age recipient (age1… with a correct checksum)',
  ]);
  expect(problems({ encryption: { age: { recipients: [] } } })).toEqual(['databases.orders.encryption.age.recipients: expected at least one recipient']);
  expect(problems({ encryption: {} })).toEqual(['databases.orders.encryption: expected exactly one of "age" or "gpg"']);
  expect(problems({ encryption: { gpg: { recipients: ['0xDEADBEEF'], keyring: 'k.asc' } } })).toEqual([
    'databases.orders.encryption.gpg.recipients.0: expected a GPG key fingerprint (40 hex digits, spaces allowed); key ids and user ids are ambiguous',
  ]);
  expect(problems({}, { restore: { identities: [{ env: 'AGE_KEY' }, 'AGE-SECRET-KEY-1INLINE'] } })).toEqual([
    'restore.identities.1: expected { env: NAME } or { file: PATH }',
  ]);
  const cfg = parseConfig({
    ...base,
    databases: { orders: { engine: 'postgres', url: { env: 'X' }, encryption: { gpg: { recipients: ['abcd '.repeat(10)], keyring: 'k.asc' } } } },
  });
  expect(cfg.databases.orders!.encryption?.gpg?.recipients).toEqual(['ABCD'.repeat(10)]);
});

test('in the backup stream the encryptor sits after compression, the checksum covers its output, and its failure leaves no object', async () => {
  const dir = tempDir('lb-stream-');
  const storage = new FilesystemStorage('local', { type: 'filesystem', path: dir, prefix: '' });
  const age = ageKey();
  const opts = (encrypt: StreamBackupOptions['encrypt']): StreamBackupOptions => ({
    dump: { tool: 'fake_dump', file: '/bin/sh', args: ['-c', 'seq 1 200000'], env: { PATH: process.env.PATH! } },
    compression: { codec: 'zstd', level: 1 },
    storage,
    key: 'db/backups/b1/artifact.age',
    classifyDumpFailure: (exit) => new LifeboatError('DUMP_FAILED', `Backup of db failed: ${exit.tool} ${describeExit(exit)}`),
    encrypt,
  });
  const result = await streamBackup(opts((s) => ageEncryptFilter({ recipients: [age.recipient], label: 'backup of db', signal: s })));
  const stored = readFileSync(path.join(dir, 'db/backups/b1/artifact.age'));
  expect(result.sha256).toBe(sha256(stored));
  expect(result.storedBytes).toBe(stored.length);
  const identity = await parseIdentity(age.identity, 'restore.identities.0');
  const { bytes } = await decrypt(stored, { type: 'age', recipients: [age.recipient] }, [identity]);
  const seq = execFileSync('seq', ['1', '200000'], { maxBuffer: 1 << 26 });
  expect(execFileSync('zstd', ['-d', '-c'], { input: bytes, maxBuffer: 1 << 26 }).equals(seq)).toBe(true);
  expect(result.rawBytes).toBe(seq.length);

  rmSync(path.join(dir, 'db'), { recursive: true });
  const keyring = writeTemp('keys.asc', gpgKey().publicKey);
  const missing = 'AB'.repeat(20);
  const err = await streamBackup(opts((s) => gpgEncryptFilter({ keyringFile: keyring, recipients: [missing], label: 'backup of db', signal: s }))).catch(
    (e) => e,
  );
  expect(err).toMatchObject({
    code: 'CONFIG_INVALID',
    message: `Encryption of backup of db failed: GPG recipient ${missing} is not in the keyring ${keyring}`,
  });
  expect(
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.includes('artifact')),
  ).toEqual([]);
});

test('restoreDecryption checks the configured identities up front and hands back a working decryptor', async () => {
  const age = ageKey();
  const other = ageKey();
  const ciphertext = await run(ageEncryptFilter({ recipients: [age.recipient], label: 'test', signal: signal() }), data);
  const base = { storage: { s: { type: 'filesystem', path: '/tmp' } }, databases: {} };
  const manifest = { backupId: 'b1', artifact: { encryption: { type: 'age', recipients: [age.recipient] } } } as unknown as Manifest;
  const withKeys = (...texts: string[]) => parseConfig({ ...base, restore: { identities: texts.map((t) => ({ file: writeTemp('id.txt', t) })) } });

  expect(
    await restoreDecryption(withKeys(other.identity), { ...manifest, artifact: { ...manifest.artifact, encryption: null } } as Manifest, 'Restore of db'),
  ).toBeUndefined();
  await expect(restoreDecryption(withKeys(other.identity), manifest, 'Restore of db')).rejects.toMatchObject({
    code: 'NO_MATCHING_IDENTITY',
    message: expect.stringContaining(`encrypted with age to ${age.recipient}`),
  });
  await expect(restoreDecryption(parseConfig(base), manifest, 'Restore of db')).rejects.toThrow(/restore\.identities is not configured/);
  const start = await restoreDecryption(withKeys(other.identity, age.identity), manifest, 'Restore of db');
  expect((await run(start!(signal()), ciphertext)).equals(data)).toBe(true);
});
