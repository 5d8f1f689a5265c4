import { createHash } from 'node:crypto';
import type { Confirmation, ExpectedObject, Storage } from './types.js';

/** The SHA-256 and size of a stored object, read back in full. */
export async function readBack(storage: Storage, key: string, signal?: AbortSignal): Promise<{ sha256: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  for await (const chunk of await storage.getStream(key, signal)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: h.digest('hex'), bytes };
}

/** The one implementation of {@link Storage.confirm}: size from a head request, then (if asked) the bytes. */
export async function confirmObject(storage: Storage, key: string, expected: ExpectedObject, reread: boolean, signal?: AbortSignal): Promise<Confirmation> {
  const head = await storage.head(key);
  if (!head) return { ok: false, problem: 'missing' };
  if (head.bytes !== expected.bytes) return { ok: false, problem: 'size', bytes: head.bytes };
  if (!reread) return { ok: true, reread: false };
  const actual = await readBack(storage, key, signal);
  if (actual.sha256 !== expected.sha256 || actual.bytes !== expected.bytes) return { ok: false, problem: 'checksum', ...actual };
  return { ok: true, reread: true };
}
