import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { execa, type ResultPromise } from 'execa';
import type { CompressionConfig } from '../config/schema.js';
import { LifeboatError, shortMessage } from '../errors.js';
import type { Storage } from '../storage/index.js';
import { TailBuffer, describeExit, type ExitInfo } from './process.js';

export interface DumpCommand {
  /** Tool name for messages (`pg_dump`). */
  tool: string;
  file: string;
  args: string[];
  /** The complete environment of the child (connection settings, passfile); nothing is inherited. */
  env: Record<string, string>;
}

export interface StreamProgress {
  rawBytes: number;
  storedBytes: number;
}

export interface StreamBackupOptions {
  dump: DumpCommand;
  compression: CompressionConfig;
  storage: Storage;
  key: string;
  sizeHint?: number;
  signal?: AbortSignal;
  onProgress?: (p: StreamProgress) => void;
  /** Turns a failed dump into an error (auth failure, missing database, generic failure). */
  classifyDumpFailure: (exit: ExitInfo) => LifeboatError;
  /** Optional encryption stage after compression (src/crypto); the checksum covers its output. */
  encrypt?: (signal: AbortSignal) => EncryptStage;
}

/** A stream stage fed by the compressor; `done` rejects when it failed. */
export interface EncryptStage {
  input: Writable;
  output: Readable;
  done: Promise<void>;
}

export interface StreamBackupResult extends StreamProgress {
  sha256: string;
}

/** File-name suffix for an artifact compressed with `codec`. */
export function compressionSuffix(codec: CompressionConfig['codec']): string {
  return codec === 'zstd' ? '.zst' : codec === 'gzip' ? '.gz' : '';
}

interface Compressor {
  input: Writable;
  output: Readable;
  done: Promise<void>;
}

function startCompressor(c: CompressionConfig, signal: AbortSignal): Compressor {
  if (c.codec === 'none') {
    const p = new PassThrough({ highWaterMark: 1 << 20 });
    return { input: p, output: p, done: Promise.resolve() };
  }
  if (c.codec === 'gzip') {
    const gz = createGzip({ level: c.level, chunkSize: 1 << 18 });
    return { input: gz, output: gz, done: Promise.resolve() };
  }
  const { input, output, exit } = startZstd([`-${c.level}`], signal);
  const done = exit.then((e) => {
    if (e.ok) return;
    throw new LifeboatError('COMPRESS_FAILED', `zstd ${describeExit(e)}`, { subject: 'zstd' });
  });
  return { input, output, done };
}

/** Starts `zstd -q -c` with `args` (e.g. `-1`, `-d`) as a stream filter; `exit` never rejects. */
export function startZstd(args: string[], signal: AbortSignal): { input: Writable; output: Readable; exit: Promise<ExitInfo> } {
  const stderr = new TailBuffer();
  const child = execa('zstd', [...args, '-q', '-c', '--no-progress'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  return { input: child.stdin, output: child.stdout, exit: waitForExit(child, 'zstd', stderr) };
}

/** Resolves with how a child ended; never rejects. Waits for `close` (all output delivered). */
export function waitForExit(child: ResultPromise, tool: string, stderr: TailBuffer): Promise<ExitInfo> {
  return child.then(
    (r) => ({ tool, ok: true, exitCode: r.exitCode ?? 0, signal: undefined, stderr: stderr.text(), spawnError: undefined }),
    (e: { exitCode?: number; signal?: string; isCanceled?: boolean; code?: string; shortMessage?: string }) => ({
      tool,
      ok: false,
      exitCode: e.exitCode,
      signal: e.signal,
      canceled: e.isCanceled,
      stderr: stderr.text(),
      spawnError: e.code === 'ENOENT' ? `${tool} not found` : e.exitCode === undefined && !e.signal ? e.shortMessage : undefined,
    }),
  );
}

/**
 * Streams a dump tool's output through compression and SHA-256 into storage, with no local copy.
 *
 * The upload body only ends after every process in the chain has closed with exit status 0 and the
 * dump produced bytes; otherwise the body is destroyed with the error, so the upload is aborted and
 * nothing is committed. (lib-storage would otherwise complete a truncated multipart upload.)
 */
export async function streamBackup(opts: StreamBackupOptions): Promise<StreamBackupResult> {
  const ac = new AbortController();
  const onOuterAbort = () => fail(new LifeboatError('CANCELLED', `Cancelled: ${opts.dump.tool} was stopped`));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  let firstError: Error | undefined;
  const progress: StreamProgress = { rawBytes: 0, storedBytes: 0 };
  const hash = createHash('sha256');

  const dumpStderr = new TailBuffer();
  const dump = execa(opts.dump.file, opts.dump.args, {
    env: opts.dump.env,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: ac.signal,
    forceKillAfterDelay: 5000,
  });
  dump.stderr.on('data', (d: Buffer) => dumpStderr.push(d));
  const compressor = startCompressor(opts.compression, ac.signal);
  const encryptor = opts.encrypt?.(ac.signal);
  const encrypted = encryptor
    ? Promise.all([encryptor.done, pipeline(compressor.output, encryptor.input).catch(async (err: Error) => {
        await Promise.all([compressor.done, encryptor.done]);
        throw err;
      })])
    : Promise.resolve();

  const counter = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      progress.rawBytes += chunk.length;
      cb(null, chunk);
    },
  });

  const dumpDone = waitForExit(dump, opts.dump.tool, dumpStderr).then((exit) => {
    if (!exit.ok) throw opts.classifyDumpFailure(exit);
  });
  // An error on the feeding pipe (EPIPE when the compressor dies) is reported as the process's own.
  const feed = pipeline(dump.stdout, counter, compressor.input).catch(async (err: Error) => {
    await Promise.all([dumpDone, compressor.done]);
    throw err;
  });
  const processesDone = Promise.all([dumpDone, compressor.done, feed, encrypted]).then(() => {
    if (progress.rawBytes === 0) {
      throw new LifeboatError('EMPTY_DUMP', `${opts.dump.tool} produced no output`, { subject: opts.dump.tool });
    }
  });

  const gate = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      progress.storedBytes += chunk.length;
      opts.onProgress?.(progress);
      cb(null, chunk);
    },
    flush(cb) {
      processesDone.then(() => cb(), (err: Error) => cb(err));
    },
  });

  // Failures are reported through the returned promise; the stream's 'error' event may fire before
  // the storage has attached its own listener.
  gate.on('error', () => undefined);

  function fail(err: Error): void {
    if (!firstError) firstError = err;
    ac.abort();
    gate.destroy(firstError);
    // Release the pipes even if a grandchild of the tool still holds them open.
    dump.stdout.destroy();
    dump.stderr.destroy();
  }

  processesDone.catch(fail);
  const stored = encryptor?.output ?? compressor.output;
  stored.on('error', (err) => fail(err));
  stored.pipe(gate);

  const upload = opts.storage
    .putStream(opts.key, gate, { sizeHint: opts.sizeHint, signal: ac.signal })
    .catch((err: Error) => {
      fail(err);
      throw err;
    });

  try {
    await Promise.allSettled([upload, processesDone]);
    if (firstError) throw firstError;
    const stored = await upload;
    if (stored.bytes !== progress.storedBytes) {
      throw new LifeboatError(
        'STORAGE_FAILED',
        `Stored size differs from the bytes sent (${stored.bytes} != ${progress.storedBytes}): ${opts.storage.describe(opts.key)}`,
      );
    }
    return { ...progress, sha256: hash.digest('hex') };
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Formats a failure of a dump chain in execa's `shortMessage` style, bounded for Temporal history. */
export function failureText(err: unknown): string {
  return shortMessage(err instanceof Error ? err.message : String(err));
}
