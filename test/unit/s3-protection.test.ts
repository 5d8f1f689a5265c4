// The request parameters of Object Lock, server-side encryption and upload checksums, and their
// configuration errors. (The S3 server's side of them is in test/workflow/object-lock.test.ts.)
import { createHash, randomBytes } from 'node:crypto';
import { parseConfig, type ConfigError } from '../../src/config/load.js';
import { S3Protection } from '../../src/storage/s3-protection.js';

function problems(storage: Record<string, unknown>): string[] {
  try {
    parseConfig({ storage: { vault: { type: 's3', bucket: 'lifeboat-vault', ...storage } }, databases: {} }, 'lifeboat.yaml');
  } catch (err) {
    return (err as ConfigError).problems;
  }
  return [];
}

test('objectLock sets the mode, a retain-until date of now + days, and the checksum S3 requires with it', () => {
  const now = Date.parse('2026-11-23T02:00:00Z');
  const p = new S3Protection({ objectLock: { mode: 'compliance', days: 35 }, uploadChecksum: 'none' }, 'storage.vault');
  expect(p.write(now)).toEqual({ ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: new Date('2026-12-28T02:00:00Z'), ChecksumAlgorithm: 'SHA256' });
  expect(p.locked).toBe(true);
  expect(new S3Protection({ uploadChecksum: 'none' }, 'storage.vault').write(now)).toEqual({});
  expect(new S3Protection({ uploadChecksum: 'sha256', sse: { type: 'aws:kms', kmsKeyId: 'alias/lb' } }, 'storage.vault').write(now)).toEqual({
    ChecksumAlgorithm: 'SHA256',
    ServerSideEncryption: 'aws:kms',
    SSEKMSKeyId: 'alias/lb',
  });
});

test('SSE-C takes its key from a secret reference and sends it, with its MD5, on reads and writes', () => {
  const key = randomBytes(32);
  process.env.LB_TEST_SSE_C = key.toString('hex');
  const p = new S3Protection({ uploadChecksum: 'none', sse: { type: 'customer', key: { env: 'LB_TEST_SSE_C' } } }, 'storage.vault');
  const expected = {
    SSECustomerAlgorithm: 'AES256',
    SSECustomerKey: key.toString('base64'),
    SSECustomerKeyMD5: createHash('md5').update(key).digest('base64'),
  };
  expect(p.read).toEqual(expected);
  expect(p.write()).toEqual(expected);
  process.env.LB_TEST_SSE_C = 'not-a-key';
  expect(() => new S3Protection({ uploadChecksum: 'none', sse: { type: 'customer', key: { env: 'LB_TEST_SSE_C' } } }, 'storage.vault')).toThrow(
    'Secret storage.vault.sse.key is unusable: expected a 256-bit key as base64 (openssl rand -base64 32) or 64 hex digits',
  );
});

test('protection options are validated by path', () => {
  expect(problems({ objectLock: { mode: 'legal-hold', days: 0 } })).toEqual([
    'storage.vault.objectLock.mode: expected governance or compliance',
    'storage.vault.objectLock.days: expected a whole number of days from 1 to 36500',
  ]);
  expect(problems({ sse: { type: 'customer', key: 'inline-key' } })).toEqual(['storage.vault.sse.key: expected { env: NAME } or { file: PATH }']);
  expect(problems({ sse: { type: 'rot13' } })).toEqual(['storage.vault.sse.type: expected type "aws:kms", "AES256" or "customer"']);
  expect(problems({ uploadChecksum: 'md5' })).toEqual(['storage.vault.uploadChecksum: expected none or sha256']);
  expect(problems({ objectLock: { mode: 'governance', days: 30 }, sse: { type: 'aws:kms' }, uploadChecksum: 'sha256' })).toEqual([]);
});
