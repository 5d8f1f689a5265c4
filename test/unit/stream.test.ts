import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LifeboatError } from '../../src/errors.js';
import { describeExit } from '../../src/pipeline/process.js';
import { streamBackup, type StreamBackupOptions } from '../../src/pipeline/backup-stream.js';
import { FilesystemStorage } from '../../src/storage/filesystem.js';

// The pipeline with real child processes (a shell standing in for the dump tool) and a real
// filesystem target.
function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-stream-'));
  const storage = new FilesystemStorage('local', { type: 'filesystem', path: dir, prefix: '' });
  const opts = (script: string, codec: 'zstd' | 'gzip' | 'none' = 'zstd'): StreamBackupOptions => ({
    dump: { tool: 'fake_dump', file: '/bin/sh', args: ['-c', script], env: { PATH: process.env.PATH! } },
    compression: { codec, level: 1 },
    storage,
    key: 'db/backups/b1/artifact',
    classifyDumpFailure: (exit) => new LifeboatError('DUMP_FAILED', `Backup of db failed: ${exit.tool} ${describeExit(exit)}`),
  });
  const files = () =>
    readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.includes('artifact'));
  return { dir, storage, opts, files };
}

test.each(['zstd', 'gzip', 'none'] as const)('a successful %s stream is stored whole, with the sha256 of the stored bytes', async (codec) => {
  const { dir, opts } = setup();
  const result = await streamBackup(opts('head -c 3000000 /dev/urandom; seq 1 100000', codec));
  const stored = readFileSync(path.join(dir, 'db/backups/b1/artifact'));
  expect(result.storedBytes).toBe(stored.length);
  expect(result.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
  const decompress = codec === 'zstd' ? ['zstd', ['-d', '-c']] : codec === 'gzip' ? ['gzip', ['-d', '-c']] : ['cat', []];
  const raw = execFileSync(decompress[0] as string, decompress[1] as string[], { input: stored, maxBuffer: 1 << 28 });
  expect(raw.length).toBe(result.rawBytes);
  expect(raw.length).toBe(3000000 + execFileSync('seq', ['1', '100000']).length);
});

test.each(['zstd', 'gzip'] as const)('a dump that fails midway (%s) leaves no object and reports the tool error', async (codec) => {
  const { opts, files } = setup();
  const err = await streamBackup(opts('head -c 2000000 /dev/urandom; echo "pg_dump: error: query failed: connection lost" >&2; exit 1', codec)).catch((e) => e);
  expect(err).toBeInstanceOf(LifeboatError);
  expect((err as Error).message).toBe('Backup of db failed: fake_dump exited with code 1: pg_dump: error: query failed: connection lost');
  expect(files()).toEqual([]);
});

test('a dump killed by a signal fails and leaves nothing', async () => {
  const { opts, files } = setup();
  const err = await streamBackup(opts('head -c 1000000 /dev/urandom; kill -KILL $$')).catch((e) => e);
  expect((err as Error).message).toMatch(/fake_dump was killed by SIGKILL/);
  expect(files()).toEqual([]);
});

test('an empty dump is a failure, not an empty backup', async () => {
  const { opts, files } = setup();
  const err = await streamBackup(opts('true')).catch((e) => e);
  expect(err).toMatchObject({ code: 'EMPTY_DUMP', message: 'fake_dump produced no output' });
  expect(files()).toEqual([]);
});

test('a missing dump tool is reported as such', async () => {
  const { opts } = setup();
  const o = opts('true');
  const err = await streamBackup({ ...o, dump: { ...o.dump, file: '/nonexistent/pg_dump' } }).catch((e) => e);
  expect((err as Error).message).toMatch(/fake_dump could not start/);
});

test('cancellation kills the dump and leaves nothing', async () => {
  const { opts, files } = setup();
  const ac = new AbortController();
  const started = Date.now();
  const p = streamBackup({ ...opts('head -c 1000000 /dev/urandom; sleep 30; echo late'), signal: ac.signal });
  setTimeout(() => ac.abort(), 300);
  const err = await p.catch((e) => e);
  expect(err).toMatchObject({ code: 'CANCELLED' });
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(files()).toEqual([]);
});

test('with zstd the raw dump bytes never pass through Node, and the raw size is still exact', async () => {
  const { dir, opts } = setup();
  // Bytes read by this process's own threads (/proc/self/io would also count reaped children's reads).
  const readByNode = () =>
    readdirSync('/proc/self/task').reduce((n, t) => {
      try {
        return n + Number(/^rchar: (\d+)$/m.exec(readFileSync(`/proc/self/task/${t}/io`, 'utf8'))![1]);
      } catch {
        return n; // a thread that ended meanwhile
      }
    }, 0);
  const before = readByNode();
  const result = await streamBackup(opts('head -c 200000000 /dev/zero'));
  const read = readByNode() - before;
  expect(result.rawBytes).toBe(200_000_000);
  // Node read the compressed stream (a few KiB), not the 200 MB the dump produced.
  expect(read).toBeLessThan(20_000_000);
  const stored = readFileSync(path.join(dir, 'db/backups/b1/artifact'));
  expect(execFileSync('zstd', ['-d', '-c'], { input: stored, maxBuffer: 1 << 28 }).length).toBe(200_000_000);
});

test('the Node path counts and shows every raw chunk to an observer (engines that read their own dump)', async () => {
  const { opts } = setup();
  let seen = 0;
  const result = await streamBackup({ ...opts('seq 1 200000'), observe: (c) => (seen += c.length) });
  expect(seen).toBe(execFileSync('seq', ['1', '200000'], { maxBuffer: 1 << 24 }).length);
  expect(result.rawBytes).toBe(seen);
});
