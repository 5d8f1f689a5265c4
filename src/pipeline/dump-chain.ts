// The processes that produce a backup's stored bytes: the dump tool and its compressor.
//
// With zstd (the default) the dump's stdout is handed to zstd as its stdin: raw bytes never pass
// through Node. zstd reports the exact raw size at the end (`-vv`), and /proc shows how much it has
// read so far. gzip, `none` and engines that must see the raw stream (`observe`) go through Node.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { PassThrough, Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { CompressionConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import { TailBuffer, describeExit, type ExitInfo } from './process.js';

export interface DumpCommand {
  /** Tool name for messages (`pg_dump`). */
  tool: string;
  file: string;
  args: string[];
  /** The complete environment of the child (connection settings, passfile); nothing is inherited. */
  env: Record<string, string>;
}

export interface DumpChainOptions {
  dump: DumpCommand;
  compression: CompressionConfig;
  signal: AbortSignal;
  /** Turns a failed dump into an error (auth failure, missing database, generic failure). */
  classifyDumpFailure: (exit: ExitInfo) => LifeboatError;
  /** Sees every raw chunk before compression (an engine that reads its own dump); forces the Node path. */
  observe?: (chunk: Buffer) => void;
}

/** A running dump and compressor. */
export interface DumpChain {
  /** The compressed bytes. */
  output: Readable;
  /** Resolves with the exact raw size once every process closed with status 0; rejects with the first failure. */
  done: Promise<{ rawBytes: number }>;
  /** Raw bytes produced so far (live). */
  rawBytes(): number;
  /** Releases the pipes (after a failure elsewhere). */
  release(): void;
}

export const PATH_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
const SUMMARY_RE = /\(\s*(\d+) B =>\s*(\d+) B/;

/** How a child ended, from its `close` event (all output delivered); never rejects. */
export function childExit(child: ChildProcess, tool: string, stderr: TailBuffer): Promise<ExitInfo> {
  child.stderr?.on('data', (d: Buffer) => stderr.push(d));
  return new Promise((resolve) => {
    let spawnError: string | undefined;
    child.once('error', (err: NodeJS.ErrnoException) => {
      spawnError = err.code === 'ENOENT' ? `${tool} not found` : err.message;
      if (child.pid === undefined) resolve({ tool, ok: false, stderr: stderr.text(), spawnError });
    });
    child.once('close', (code, signal) => {
      resolve({ tool, ok: code === 0 && !spawnError, exitCode: code ?? undefined, signal: signal ?? undefined, stderr: stderr.text(), spawnError });
    });
  });
}

/** Kills `children` on abort: SIGTERM, then SIGKILL after `graceMs`. */
export function killOnAbort(signal: AbortSignal | undefined, children: ChildProcess[], graceMs = 5000): void {
  if (!signal) return;
  const kill = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, graceMs).unref();
  };
  if (signal.aborted) kill();
  else signal.addEventListener('abort', kill, { once: true });
}

const IO_FIELDS = { rchar: /^rchar: (\d+)$/m, wchar: /^wchar: (\d+)$/m };

/**
 * How many bytes `child` has read (`rchar`) or written (`wchar`) so far, from Linux
 * `/proc/<pid>/io`, read at most every 250 ms (the last reading in between; 0 where /proc has none).
 */
export function ioMeter(child: ChildProcess, field: keyof typeof IO_FIELDS): () => number {
  let last = 0;
  let polled = 0;
  return () => {
    if (child.pid && Date.now() - polled > 250) {
      polled = Date.now();
      try {
        const m = IO_FIELDS[field].exec(readFileSync(`/proc/${child.pid}/io`, 'utf8'));
        if (m) last = Number(m[1]);
      } catch {
        // exited meanwhile, or no /proc: keep the last reading
      }
    }
    return last;
  };
}

function compressFailure(e: ExitInfo): LifeboatError {
  return new LifeboatError('COMPRESS_FAILED', `zstd ${describeExit(e)}`, { subject: 'zstd' });
}

function spawnDump(opts: DumpChainOptions): { child: ChildProcess; exit: Promise<void> } {
  const child = spawn(opts.dump.file, opts.dump.args, { env: opts.dump.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = childExit(child, opts.dump.tool, new TailBuffer()).then((e) => {
    if (!e.ok) throw opts.classifyDumpFailure(e);
  });
  return { child, exit };
}

/** zstd reads the dump's stdout directly; Node sees only compressed bytes. */
function zeroCopyChain(opts: DumpChainOptions): DumpChain {
  const dump = spawnDump(opts);
  const zstd = spawn('zstd', [`-${opts.compression.level}`, '-vv', '-c', '--no-progress'], { env: PATH_ENV, stdio: [dump.child.stdout!, 'pipe', 'pipe'] });
  // Our copy of the pipe is closed, so a dying compressor makes the dump fail with EPIPE.
  dump.child.stdout!.destroy();
  killOnAbort(opts.signal, [dump.child, zstd]);
  const stderr = new TailBuffer(4096);
  const zstdExit = childExit(zstd, 'zstd', stderr);
  const read = ioMeter(zstd, 'rchar');
  const done = Promise.all([dump.exit, zstdExit]).then(([, e]) => {
    if (!e.ok) throw compressFailure(e);
    const m = SUMMARY_RE.exec(e.stderr);
    if (!m) throw new LifeboatError('COMPRESS_FAILED', 'zstd did not report the size it compressed (expected "(N B => M B" with -vv)', { subject: 'zstd' });
    return { rawBytes: Number(m[1]) };
  });
  return {
    output: zstd.stdout!,
    done,
    rawBytes: read,
    release() {
      zstd.stdout?.destroy();
      // A grandchild of the tool may hold its stderr open; the dump has ended for us.
      dump.child.stderr?.destroy();
    },
  };
}

interface Compressor {
  input: Writable;
  output: Readable;
  done: Promise<void>;
}

function nodeCompressor(c: CompressionConfig, signal: AbortSignal): Compressor {
  if (c.codec === 'none') {
    const p = new PassThrough({ highWaterMark: 1 << 20 });
    return { input: p, output: p, done: Promise.resolve() };
  }
  if (c.codec === 'gzip') {
    const gz = createGzip({ level: c.level, chunkSize: 1 << 18 });
    return { input: gz, output: gz, done: Promise.resolve() };
  }
  const child = spawn('zstd', [`-${c.level}`, '-q', '-c', '--no-progress'], { env: PATH_ENV, stdio: ['pipe', 'pipe', 'pipe'] });
  killOnAbort(signal, [child], 2000);
  child.stdin!.on('error', () => undefined); // EPIPE: reported as zstd's own failure
  const done = childExit(child, 'zstd', new TailBuffer()).then((e) => {
    if (!e.ok) throw compressFailure(e);
  });
  return { input: child.stdin!, output: child.stdout!, done };
}

/** Raw bytes pass through Node: counted, shown to `observe`, then compressed. */
function nodeChain(opts: DumpChainOptions): DumpChain {
  const dump = spawnDump(opts);
  killOnAbort(opts.signal, [dump.child]);
  const compressor = nodeCompressor(opts.compression, opts.signal);
  let raw = 0;
  const counter = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      raw += chunk.length;
      opts.observe?.(chunk);
      cb(null, chunk);
    },
  });
  // An error on the feeding pipe (EPIPE when the compressor dies) is reported as the process's own.
  const feed = pipeline(dump.child.stdout!, counter, compressor.input).catch(async (err: Error) => {
    await Promise.all([dump.exit, compressor.done]);
    throw err;
  });
  const done = Promise.all([dump.exit, compressor.done, feed]).then(() => ({ rawBytes: raw }));
  return {
    output: compressor.output,
    done,
    rawBytes: () => raw,
    release() {
      // Release the pipes even if a grandchild of the tool still holds them open.
      dump.child.stdout?.destroy();
      dump.child.stderr?.destroy();
    },
  };
}

/** Starts the dump and its compressor; zero-copy where possible. */
export function startDumpChain(opts: DumpChainOptions): DumpChain {
  return opts.compression.codec === 'zstd' && !opts.observe ? zeroCopyChain(opts) : nodeChain(opts);
}

/**
 * Compresses one finished file (a file of a directory dump): zstd reads it as its standard input
 * (no byte passes through Node); gzip and `none` read it through Node. `done` rejects when the
 * compressor failed. Synchronous on purpose: the caller must start reading `output` before the
 * event loop turns, or Node discards the output of a compressor that already exited.
 */
export function compressFile(file: string, c: CompressionConfig, signal: AbortSignal): { output: Readable; done: Promise<void> } {
  if (c.codec !== 'zstd') {
    const compressor = nodeCompressor(c, signal);
    const feed = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), compressor.input);
    return { output: compressor.output, done: Promise.all([feed, compressor.done]).then(() => undefined) };
  }
  const fd = openSync(file, 'r');
  try {
    const child = spawn('zstd', [`-${c.level}`, '-q', '-c', '--no-progress'], { env: PATH_ENV, stdio: [fd, 'pipe', 'pipe'] });
    const kill = () => child.kill('SIGKILL');
    signal.addEventListener('abort', kill, { once: true });
    const done = childExit(child, 'zstd', new TailBuffer()).then((e) => {
      signal.removeEventListener('abort', kill);
      if (!e.ok) throw compressFailure(e);
    });
    return { output: child.stdout!, done };
  } finally {
    closeSync(fd); // the child holds its own copy of the descriptor
  }
}
