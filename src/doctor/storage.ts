import { randomBytes } from 'node:crypto';
import type { LifeboatConfig } from '../config/schema.js';
import { openStorage } from '../storage/index.js';
import { S3Storage } from '../storage/s3.js';
import { fail, ok, warn, within, type DoctorCheck } from './types.js';

function fixFor(message: string, name: string, cfg: LifeboatConfig): string {
  const t = cfg.storage[name]!;
  if (t.type === 'filesystem') return `create ${t.path} and make it writable by the worker, or correct storage.${name}.path`;
  if (/NoSuchBucket|bucket does not exist|specified bucket/i.test(message))
    return `create the bucket (\`aws s3 mb s3://${t.bucket}\`) or correct storage.${name}.bucket`;
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|403/i.test(message))
    return `check storage.${name}.accessKeyId/secretAccessKey and that the key may put, get and delete objects under the prefix`;
  if (/not set|cannot be read|SECRET/i.test(message)) return `set the secret storage.${name} refers to`;
  return `check storage.${name}.endpoint, region and the network`;
}

/** One storage target: write, read back, a conditional write that must be refused, delete; and its protection. */
export async function checkStorage(cfg: LifeboatConfig, name: string): Promise<DoctorCheck[]> {
  const part = `storage ${name}`;
  const key = `.lifeboat-doctor/probe-${randomBytes(6).toString('hex')}`;
  const body = `lifeboat doctor probe ${new Date().toISOString()}\n`;
  let where = name;
  try {
    const storage = openStorage(cfg, name);
    where = storage.describe('');
    const probe = async () => {
      if (!(await storage.putIfAbsent(key, body, 'text/plain'))) throw new Error(`the probe object ${key} existed already`);
      const read = (await storage.getBuffer(key)).toString('utf8');
      if (read !== body) throw new Error('reading the probe object back returned different bytes');
      const second = await storage.putIfAbsent(key, 'overwrite', 'text/plain');
      await storage.delete(key);
      if (await storage.head(key)) throw new Error('the probe object is still there after delete');
      return second;
    };
    const overwritten = await within(probe(), 20_000, where);
    const checks = [ok(part, 'write, read, delete', where)];
    checks.push(
      overwritten
        ? fail(
            part,
            'conditional write',
            'the server accepted a second write with If-None-Match: * (it would let two attempts commit a manifest each)',
            'use an S3 server that enforces conditional writes (AWS S3, SeaweedFS, MinIO, R2)',
          )
        : ok(part, 'conditional write', 'a second If-None-Match: * write was refused'),
    );
    if (storage instanceof S3Storage) {
      const p = await within(storage.bucketProtection(), 10_000, where);
      const detail = `versioning ${p.versioning}, Object Lock ${p.objectLock}${p.configuredLock ? `, objectLock ${p.configuredLock} per object` : ''}`;
      const lockMissing = p.configuredLock && p.objectLock === 'off';
      checks.push(
        lockMissing
          ? fail(part, 'protection', detail, 'Object Lock can only be enabled when the bucket is created: create a new bucket with Object Lock enabled')
          : p.objectLock === 'off' && p.versioning !== 'Enabled'
            ? warn(part, 'protection', detail, `consider versioning or Object Lock so a leaked key cannot delete backups (storage.${name}.objectLock)`)
            : ok(part, 'protection', detail),
      );
    }
    return checks;
  } catch (err) {
    const message = (err as Error).message;
    return [fail(part, 'write, read, delete', message, fixFor(message, name, cfg))];
  }
}
