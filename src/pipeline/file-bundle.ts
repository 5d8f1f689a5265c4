// The small files of a directory dump, stored together: each bundle is a plain ustar archive
// (`bundle-000001.tar`, compressed and encrypted like any other file of the artifact), so a stock
// `zstd -dc bundle-000001.tar.zst | tar -x` unpacks it. A directory of 2,000 small tables then
// costs a few compressor processes and storage requests instead of 2,000 of each.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LifeboatError } from '../errors.js';

/** Files up to this size go into a bundle (pgBackRest's `bundle-limit` is the model). */
export const BUNDLE_FILE_LIMIT = 256 * 1024;
/** A bundle is sealed (and stored) once it holds this many bytes. */
export const BUNDLE_SIZE = 8 * 1024 * 1024;

export interface BundleMember {
  name: string;
  rawBytes: number;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

/** The 512-byte ustar header of a regular file `name` (at most 100 bytes) of `size` bytes. */
export function tarHeader(name: string, size: number, mtime = 0): Buffer {
  const h = Buffer.alloc(BLOCK);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  h.write(name, 0, 'utf8');
  h.write(octal(0o600, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(mtime, 12), 136);
  h.write('        ', 148); // the checksum counts its own field as spaces
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

const padding = (size: number) => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

/**
 * Collects small files into bundle archives under `dir`. `add` moves a finished file into the
 * open bundle (synchronously: a small file is read and appended in microseconds, and the calls
 * cannot interleave); it returns a sealed bundle when that one is full.
 */
export class Bundler {
  private fd: number | undefined;
  private file = '';
  private bytes = 0;
  private members: BundleMember[] = [];
  private count = 0;

  constructor(
    private readonly dir: string,
    private readonly limit = BUNDLE_SIZE,
  ) {}

  /** Appends `file` as member `name` and deletes it; returns the bundle if this filled it. */
  add(file: string, name: string): SealedBundle | undefined {
    const data = readFileSync(file);
    if (this.fd === undefined) {
      this.count++;
      this.file = path.join(this.dir, `bundle-${String(this.count).padStart(6, '0')}.tar`);
      this.fd = openSync(this.file, 'wx', 0o600);
      this.bytes = 0;
      this.members = [];
    }
    const chunk = Buffer.concat([tarHeader(name, data.length), data, padding(data.length)]);
    writeSync(this.fd, chunk);
    this.bytes += chunk.length;
    this.members.push({ name, rawBytes: data.length });
    rmSync(file, { force: true });
    return this.bytes >= this.limit ? this.seal() : undefined;
  }

  /** Closes the open bundle (with tar's two zero blocks), if any. */
  seal(): SealedBundle | undefined {
    if (this.fd === undefined) return undefined;
    writeSync(this.fd, Buffer.alloc(2 * BLOCK));
    closeSync(this.fd);
    this.fd = undefined;
    return { file: this.file, name: path.basename(this.file), members: this.members };
  }

  /** Closes the open bundle without sealing it (after a failure); the caller removes `dir`. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface SealedBundle {
  file: string;
  name: string;
  members: BundleMember[];
}

/**
 * Unpacks a downloaded bundle into `dir` and deletes it. Every member must be a regular file the
 * manifest lists for this bundle, with its size, once; anything else is a corrupt artifact.
 */
export async function unpackBundle(bundle: string, dir: string, members: BundleMember[], where: string): Promise<void> {
  const tar = await readFile(bundle);
  const expected = new Map(members.map((m) => [m.name, m.rawBytes]));
  const corrupt = (why: string) =>
    new LifeboatError('CHECKSUM_MISMATCH', `the bundle ${path.basename(bundle)} does not match the manifest: ${why}: ${where}`, { subject: where });
  let at = 0;
  while (at + BLOCK <= tar.length && tar.subarray(at, at + BLOCK).some((b) => b !== 0)) {
    const h = tar.subarray(at, at + BLOCK);
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || 'x', 8);
    const want = expected.get(name);
    if (want === undefined) throw corrupt(`unexpected member ${JSON.stringify(name)}`);
    if (h[156] !== 0x30 || size !== want || at + BLOCK + size > tar.length) throw corrupt(`member ${name} is not a ${want}-byte file`);
    await writeFile(path.join(dir, name), tar.subarray(at + BLOCK, at + BLOCK + size), { mode: 0o600, flag: 'wx' });
    expected.delete(name);
    at += BLOCK + size + padding(size).length;
  }
  if (expected.size) throw corrupt(`missing ${[...expected.keys()].slice(0, 3).join(', ')}`);
  await rm(bundle, { force: true });
}
