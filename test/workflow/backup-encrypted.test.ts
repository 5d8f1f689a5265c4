// Encrypted backups through the real worker, PostgreSQL and S3 server; decrypted with Lifeboat's
// restore-side stream and with the stock-tool commands of docs/manual-restore.md.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { WorkflowFailedError } from '@temporalio/client';
import { createSampleDatabase } from '../../dev/sample-data.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { resolveIdentities } from '../../src/crypto/identities.js';
import { decryptStream } from '../../src/crypto/stream.js';
import type { BackupResult } from '../../src/contracts/index.js';
import { ageKey, gpgKey, removeTempDirs, sshKey, tempDir, writeTemp } from '../harness/keys.js';
import {
  createBucket,
  getObject,
  listKeys,
  listMultipart,
  pgUrl,
  repoRoot,
  services,
  startWorker,
  testConfig,
  uniqueName,
  withPg,
  type RunningWorker,
} from '../harness/services.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let bucket: string;
let dbName: string;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
const age = ageKey();
const ssh = sshKey('ed25519');
const gpg = gpgKey();
const keyring = writeTemp('recipients.asc', gpg.publicKey);
const localDir = tempDir('lb-enc-local-');
const STRANGER = 'AB'.repeat(20);

beforeAll(async () => {
  bucket = await createBucket();
  dbName = uniqueName('lb_enc');
  await createSampleDatabase(services().pg.adminUrl, dbName, 0.2);
  const url = pgUrl(dbName);
  cfg = testConfig({
    bucket,
    databases: {
      // No compression, so that the plaintext dump would show its table data if it were stored.
      plain: { url, compression: { codec: 'none' } },
      aged: { url, compression: { codec: 'none' }, extra: { encryption: { age: { recipients: [age.recipient, ssh.publicKey] } } } },
      agezst: { url, extra: { storage: ['primary', 'local'], encryption: { age: { recipients: [age.recipient] } } } },
      gpged: { url, extra: { encryption: { gpg: { recipients: [gpg.fingerprint], keyring } } } },
      strangers: { url, extra: { encryption: { gpg: { recipients: [STRANGER], keyring } } } },
    },
    extraStorage: { local: { type: 'filesystem', path: localDir } },
  });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
  removeTempDirs();
});

async function backup(database: string): Promise<{ result: BackupResult; stored: Buffer; manifest: Manifest }> {
  const result: BackupResult = await w.client.workflow.execute('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: uniqueName('enc'),
    args: [{ database, kind: 'full' }],
  });
  const stored = await getObject(bucket, result.key);
  const manifest = JSON.parse((await getObject(bucket, result.key.replace(/[^/]+$/, 'manifest.json'))).toString()) as Manifest;
  return { result, stored, manifest };
}

/** The restore-side decryption with the configured identities, then the dump's table of contents. */
async function decryptWith(identityFiles: string[], m: Manifest, stored: Buffer): Promise<{ plaintext: Buffer; sha256: string }> {
  const identities = await resolveIdentities({ ...cfg, restore: { identities: identityFiles.map((file) => ({ file })) } });
  const d = decryptStream({
    source: Readable.from([stored]),
    encryption: m.artifact.encryption!,
    identities,
    what: 'Restore of aged',
    backupId: m.backupId,
    signal: new AbortController().signal,
  });
  const [plaintext, done] = await Promise.all([buffer(d.plaintext), d.done]);
  return { plaintext, sha256: done.sha256 };
}

function docBlock(name: string): string {
  const doc = readFileSync(path.join(repoRoot, 'docs/manual-restore.md'), 'utf8');
  const m = new RegExp(`<!-- manual-restore:${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!m) throw new Error(`docs/manual-restore.md has no manual-restore:${name} block`);
  return m[1]!;
}

/** Runs a documented block in `dir` (target database name substituted), as an operator's shell would. */
function runDocBlock(name: string, dir: string, target: string, env: Record<string, string> = {}): void {
  const u = new URL(services().pg.adminUrl);
  const pgEnv = {
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username),
    PGPASSWORD: decodeURIComponent(u.password),
    PGDATABASE: 'postgres',
  };
  const script = docBlock(name).replaceAll('orders_restore', target);
  execFileSync('bash', ['-euo', 'pipefail', '-c', script], {
    cwd: dir,
    env: { PATH: process.env.PATH!, HOME: dir, ...pgEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function expectRowCounts(database: string, m: Manifest): Promise<void> {
  const tables = Object.entries(m.rowCounts!.tables);
  expect(tables.length).toBeGreaterThan(3);
  for (const [t, n] of tables) {
    const [schema, name] = t.split('.').map((p) => p.replace(/^"|"$/g, ''));
    const count = await withPg(database, async (c) => Number((await c.query(`select count(*) from only "${schema}"."${name}"`)).rows[0].count));
    expect([t, count]).toEqual([t, n]);
  }
}

test('an age-encrypted backup is stored with the age header and no table data, and decrypts with either identity', async () => {
  const plain = await backup('plain');
  expect(plain.stored.includes(Buffer.from('user99@example.com'))).toBe(true); // what encryption must hide

  const { result, stored, manifest } = await backup('aged');
  expect(result.key).toMatch(/\.dump\.age$/);
  expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
  expect(stored.includes(Buffer.from('user99@example.com'))).toBe(false);
  expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);
  expect(sha256(stored)).toBe(manifest.artifact.sha256);
  expect(stored.length).toBe(manifest.artifact.bytes);
  expect(manifest.artifact.encryption).toEqual({ type: 'age', recipients: [age.recipient, `ssh-ed25519 ${ssh.fingerprint}`] });
  expect(JSON.stringify(manifest)).not.toMatch(/AGE-SECRET-KEY|PRIVATE KEY/);

  const dir = tempDir();
  for (const file of [writeTemp('age.txt', age.identity, dir), writeTemp('id_ed25519', ssh.privateKey, dir)]) {
    const { plaintext, sha256: storedSha } = await decryptWith([file], manifest, stored);
    expect(storedSha).toBe(manifest.artifact.sha256);
    expect(plaintext.length).toBe(manifest.rawBytes);
    expect(plaintext.subarray(0, 5).toString()).toBe('PGDMP');
    expect(plaintext.includes(Buffer.from('user99@example.com'))).toBe(true);
  }
});

test('without a matching identity decryption is refused before any byte is read, naming the recipients', async () => {
  const { manifest, stored } = await backup('aged');
  const stranger = ageKey();
  const file = writeTemp('stranger.txt', stranger.identity);
  await expect(decryptWith([file], manifest, stored)).rejects.toMatchObject({
    code: 'NO_MATCHING_IDENTITY',
    message: `Restore of aged failed: no identity can decrypt backup ${manifest.backupId}: it is encrypted with age to ${age.recipient}, ssh-ed25519 ${ssh.fingerprint}; restore.identities holds keys for ${stranger.recipient}`,
  });
});

test('the documented stock-tool commands restore an age-encrypted backup, whose copy on another target is the same ciphertext', async () => {
  const { result, stored, manifest } = await backup('agezst');
  expect(result.key).toMatch(/\.dump\.zst\.age$/);
  // The copy on the second target is the same ciphertext (copies never decrypt), under the same manifest entry.
  const copyDir = path.join(localDir, 'agezst', 'backups', manifest.backupId);
  const copyManifest = JSON.parse(readFileSync(path.join(copyDir, 'manifest.json'), 'utf8')) as Manifest;
  expect(copyManifest.artifact.encryption).toEqual(manifest.artifact.encryption);
  expect(readFileSync(path.join(localDir, copyManifest.artifact.key)).equals(stored)).toBe(true);

  const dir = tempDir();
  writeFileSync(path.join(dir, 'backup.dump.zst.age'), stored);
  writeFileSync(path.join(dir, 'key.txt'), age.identity, { mode: 0o600 });
  const target = uniqueName('lb_manual_age');
  runDocBlock('age', dir, target);
  await expectRowCounts(target, manifest);
});

test('a GPG-encrypted backup round-trips: Lifeboat decrypts it, and so do the documented gpg commands', async () => {
  const { result, stored, manifest } = await backup('gpged');
  expect(result.key).toMatch(/\.dump\.zst\.gpg$/);
  expect(manifest.artifact.encryption).toEqual({ type: 'gpg', recipients: [gpg.fingerprint] });
  expect(sha256(stored)).toBe(manifest.artifact.sha256);
  expect(stored.includes(Buffer.from('PGDMP'))).toBe(false);

  const dir = tempDir();
  const { plaintext } = await decryptWith([writeTemp('secret.asc', gpg.secretKey, dir)], manifest, stored);
  expect(execFileSync('zstd', ['-d', '-c'], { input: plaintext, maxBuffer: 1 << 30 }).length).toBe(manifest.rawBytes);

  writeFileSync(path.join(dir, 'backup.dump.zst.gpg'), stored);
  writeFileSync(path.join(dir, 'private-key.asc'), gpg.secretKey, { mode: 0o600 });
  const gnupgHome = tempDir('lb-operator-gnupg-');
  const target = uniqueName('lb_manual_gpg');
  try {
    runDocBlock('gpg', dir, target, { GNUPGHOME: gnupgHome });
  } finally {
    execFileSync('gpgconf', ['--kill', 'all'], { env: { PATH: process.env.PATH!, GNUPGHOME: gnupgHome } });
  }
  await expectRowCounts(target, manifest);
});

test('a GPG recipient missing from the keyring fails the backup once, non-retryably, naming it, and leaves nothing stored', async () => {
  const workflowId = uniqueName('enc-bad');
  const err = await w.client.workflow
    .execute('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId, args: [{ database: 'strangers', kind: 'full' }] })
    .catch((e: unknown) => e);
  const history = await w.client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events!;
  const backupScheduled = new Set(
    events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runBackup').map((e) => String(e.eventId)),
  );
  const attempts = events
    .filter((e) => e.activityTaskStartedEventAttributes && backupScheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt);
  expect(attempts).toEqual([1]);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  let cause = (err as WorkflowFailedError).cause as { type?: string; message?: string; cause?: unknown } | undefined;
  while (cause?.cause) cause = cause.cause as typeof cause;
  expect(cause).toMatchObject({
    type: 'CONFIG_INVALID',
    message: `Encryption of backup of strangers failed: GPG recipient ${STRANGER} is not in the keyring ${keyring}`,
  });
  expect((await listKeys(bucket, 'strangers/')).filter((k) => !k.startsWith('strangers/audit/'))).toEqual([]);
  expect((await listMultipart(bucket)).filter((k) => k.startsWith('strangers/'))).toEqual([]);
});
