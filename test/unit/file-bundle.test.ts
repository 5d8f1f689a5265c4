import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bundler, tarHeader, unpackBundle } from '../../src/pipeline/file-bundle.js';
import { LifeboatError } from '../../src/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-bundle-'));
  mkdirSync(path.join(dir, 'dump'));
  mkdirSync(path.join(dir, 'out'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Writes dump files of the given sizes (distinct content each) and returns their names and bytes. */
function dumpFiles(sizes: number[]): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  sizes.forEach((size, i) => {
    const name = `${3000 + i}.dat`;
    const body = Buffer.alloc(size, String.fromCharCode(97 + (i % 26)));
    writeFileSync(path.join(dir, 'dump', name), body);
    files.set(name, body);
  });
  return files;
}

test('bundles are plain ustar archives: the stock tar unpacks every member byte for byte, and the sources are gone', () => {
  const files = dumpFiles([0, 1, 511, 512, 513, 70_000]);
  const b = new Bundler(dir, 1 << 20);
  for (const name of files.keys()) expect(b.add(path.join(dir, 'dump', name), name)).toBeUndefined();
  const sealed = b.seal()!;
  expect(sealed.name).toBe('bundle-000001.tar');
  expect(sealed.members).toEqual([...files].map(([name, body]) => ({ name, rawBytes: body.length })));
  expect(readdirSync(path.join(dir, 'dump'))).toEqual([]);
  expect(readFileSync(sealed.file).length % 512).toBe(0);
  execFileSync('tar', ['-xf', sealed.file, '-C', path.join(dir, 'out')]);
  for (const [name, body] of files) expect([name, readFileSync(path.join(dir, 'out', name)).equals(body)]).toEqual([name, true]);
  expect(b.seal()).toBeUndefined();
});

test('a bundle is sealed once it reaches its size, and the next file opens the next bundle', () => {
  const files = dumpFiles([3000, 3000, 3000]);
  const b = new Bundler(dir, 6000);
  const names = [...files.keys()];
  expect(b.add(path.join(dir, 'dump', names[0]!), names[0]!)).toBeUndefined();
  const first = b.add(path.join(dir, 'dump', names[1]!), names[1]!);
  expect(first?.members.map((m) => m.name)).toEqual(names.slice(0, 2));
  expect(b.add(path.join(dir, 'dump', names[2]!), names[2]!)).toBeUndefined();
  expect(b.seal()?.name).toBe('bundle-000002.tar');
});

test('unpackBundle writes every member into the dump directory and deletes the bundle', async () => {
  const files = dumpFiles([10, 100_000, 0]);
  const b = new Bundler(dir);
  for (const name of files.keys()) b.add(path.join(dir, 'dump', name), name);
  const sealed = b.seal()!;
  await unpackBundle(sealed.file, path.join(dir, 'out'), sealed.members, 's3://b/k');
  expect(existsSync(sealed.file)).toBe(false);
  for (const [name, body] of files) expect(readFileSync(path.join(dir, 'out', name)).equals(body)).toBe(true);
});

describe('unpackBundle refuses a bundle that does not match the manifest', () => {
  const cases: Array<[string, (members: Array<{ name: string; rawBytes: number }>) => Array<{ name: string; rawBytes: number }>, RegExp]> = [
    ['a member the manifest does not list', (m) => m.slice(1), /unexpected member "3000.dat"/],
    ['a member of another size', (m) => [{ ...m[0]!, rawBytes: 11 }, ...m.slice(1)], /member 3000.dat is not a 11-byte file/],
    ['a listed member that is missing', (m) => [...m, { name: '3999.dat', rawBytes: 1 }], /missing 3999.dat/],
  ];
  test.each(cases)('%s', async (_what, edit, message) => {
    const files = dumpFiles([10, 20]);
    const b = new Bundler(dir);
    for (const name of files.keys()) b.add(path.join(dir, 'dump', name), name);
    const sealed = b.seal()!;
    const err = await unpackBundle(sealed.file, path.join(dir, 'out'), edit(sealed.members), 's3://b/k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe('CHECKSUM_MISMATCH');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain('bundle-000001.tar');
  });

  test('a member that would overwrite a file already there (toc.dat)', async () => {
    writeFileSync(path.join(dir, 'dump', 'toc.dat'), 'x');
    const b = new Bundler(dir);
    b.add(path.join(dir, 'dump', 'toc.dat'), 'toc.dat');
    const sealed = b.seal()!;
    writeFileSync(path.join(dir, 'out', 'toc.dat'), 'real');
    await expect(unpackBundle(sealed.file, path.join(dir, 'out'), sealed.members, 's3://b/k')).rejects.toThrow(/EEXIST/);
    expect(readFileSync(path.join(dir, 'out', 'toc.dat'), 'utf8')).toBe('real');
  });
});

test('tarHeader refuses a name tar cannot hold in its header', () => {
  expect(() => tarHeader('x'.repeat(101), 1)).toThrow(/name too long/);
  expect(tarHeader('x'.repeat(100), 1).length).toBe(512);
});
