import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, LifeboatError, shortMessage } from '../../src/errors.js';
import { failureCause, lifeboatFailure } from '../../src/contracts/failures.js';
import { registerSecret, redactSecrets, resolveSecret } from '../../src/config/secrets.js';
import { detectProvider } from '../../src/engines/providers.js';
import { parsePostgresUrl } from '../../src/engines/postgres/index.js';
import { choosePartSize } from '../../src/storage/s3.js';
import { BackupInputSchema, backupWorkflowId, compactTimestamp } from '../../src/contracts/index.js';

test('errors carry their code and subject', () => {
  const e = new LifeboatError('AUTH_FAILED', 'Backup of orders failed: password authentication failed', { subject: 'orders' });
  expect(e).toMatchObject({ code: 'AUTH_FAILED', subject: 'orders', nonRetryable: true });
  expect(shortMessage('a\n  b\tc')).toBe('a b c');
  expect(shortMessage('x'.repeat(1000)).length).toBe(600);
});

test('secrets are redacted from text, raw and URL-encoded, and URL passwords are masked', () => {
  registerSecret('s3cr3t/p@ss');
  expect(redactSecrets('failed with s3cr3t/p@ss and s3cr3t%2Fp%40ss')).toBe('failed with *** and ***');
  expect(redactSecrets('postgres://app:other@db:5432/x')).toBe('postgres://app:***@db:5432/x');
});

test('secret references: env and file, with clear errors that never show the value', () => {
  process.env.LB_UNIT_SECRET = 'value-from-env';
  expect(resolveSecret({ env: 'LB_UNIT_SECRET' }, 'databases.x.url')).toBe('value-from-env');
  expect(() => resolveSecret({ env: 'LB_UNIT_MISSING' }, 'databases.x.url')).toThrow(
    'Secret databases.x.url is unavailable: environment variable LB_UNIT_MISSING is not set on the worker',
  );
  expect(() => resolveSecret({ file: '/nonexistent/secret' }, 'databases.x.url')).toThrow(/cannot read \/nonexistent\/secret: ENOENT/);
});

test('hosted providers are detected from the host and get TLS by default', () => {
  expect(detectProvider('ep-cool-1.us-east-2.aws.neon.tech')).toBe('neon');
  expect(detectProvider('db.abcd.supabase.co')).toBe('supabase');
  expect(detectProvider('mydb.c9akciq32.us-east-1.rds.amazonaws.com')).toBe('rds');
  expect(detectProvider('db-postgresql-nyc3-1.b.db.ondigitalocean.com')).toBe('digitalocean');
  expect(detectProvider('127.0.0.1')).toBe('self-hosted');
  const neon = parsePostgresUrl('postgres://u:p%40ss@ep-x-pooler.eu-central-1.aws.neon.tech/app');
  expect(neon).toMatchObject({ user: 'u', password: 'p@ss', database: 'app', port: 5432, sslmode: 'require' });
  expect(neon.preset.poolerHint).toMatch(/direct endpoint/);
  expect(parsePostgresUrl('postgres://u@localhost:6543/x?sslmode=disable').sslmode).toBe('disable');
});

test('multipart part size grows with the database so 10,000 parts always suffice', () => {
  const MiB = 1024 * 1024;
  expect(choosePartSize(undefined)).toBe(8 * MiB);
  expect(choosePartSize(10 * 1024 * MiB)).toBe(8 * MiB);
  const tib = 1024 * 1024 * MiB;
  const part = choosePartSize(tib);
  expect(Math.ceil((tib * 1.5) / part)).toBeLessThanOrEqual(10_000);
  expect(choosePartSize(tib, 64)).toBe(64 * MiB);
  // A provider limited to 1,000 parts: 100 GiB needs parts of about 155 MiB.
  const small = choosePartSize(100 * 1024 * MiB, undefined, 1000);
  expect(Math.ceil((100 * 1024 * MiB * 1.5) / small)).toBeLessThanOrEqual(1000);
  expect(small).toBeGreaterThan(choosePartSize(100 * 1024 * MiB));
});

test('backup inputs and ids', () => {
  expect(BackupInputSchema.parse({ database: 'orders' })).toEqual({ database: 'orders', kind: 'full' });
  expect(BackupInputSchema.safeParse({ database: 'orders', extra: 1 }).success).toBe(false);
  expect(BackupInputSchema.safeParse({ database: '../etc' }).success).toBe(false);
  const at = new Date('2026-11-23T02:00:00.123Z');
  expect(backupWorkflowId('orders', 'full', at)).toBe('backup:orders:full:2026-11-23T02:00:00Z');
  expect(compactTimestamp(at)).toBe('20261123T020000Z');
});

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name));
}

test('every failure type raised anywhere is in the catalogue, and workflows fail only through lifeboatFailure', () => {
  const root = path.resolve(import.meta.dirname, '../..');
  const files = ['src', 'workflows', 'activities'].flatMap((d) => sources(path.join(root, d)));
  const used = new Set<string>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/(?:lifeboatFailure|new LifeboatError)\(\s*'([A-Z_]+)'/g)) used.add(m[1]!);
    if (f.includes(`${path.sep}workflows${path.sep}`)) expect([f, /ApplicationFailure\.create/.test(text)]).toEqual([f, false]);
  }
  expect(used.size).toBeGreaterThan(20);
  expect([...used].filter((t) => !(t in ERROR_CODES))).toEqual([]);
});

test('a workflow failure takes its retryability from the catalogue; the cause walker finds the innermost message and type', () => {
  expect(lifeboatFailure('AUTH_FAILED', 'x').nonRetryable).toBe(true);
  expect(lifeboatFailure('STORAGE_FAILED', 'x').nonRetryable).toBe(false);
  const inner = lifeboatFailure('CHECKSUM_MISMATCH', 'Restore of a failed: checksum mismatch');
  const outer = Object.assign(new Error('Activity task failed'), { cause: inner });
  expect(failureCause(Object.assign(new Error('Workflow execution failed'), { cause: outer }))).toEqual({
    type: 'CHECKSUM_MISMATCH',
    message: 'Restore of a failed: checksum mismatch',
  });
});
