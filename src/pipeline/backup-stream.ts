import { createHash } from 'node:crypto';
import { Transform, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CompressionConfig } from '../config/schema.js';
import { LifeboatError, shortMessage } from '../errors.js';
import type { Storage } from '../storage/index.js';
import { startDumpChain, type DumpChain, type DumpCommand } from './dump-chain.js';
import type { ExitInfo } from './process.js';

export type { DumpCommand } from './dump-chain.js';

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
  /** Sees every raw chunk before compression (an engine that reads its own dump stream). */
  observe?: (chunk: Buffer) => void;
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

/** The stored stream: the chain's output, encrypted when a stage is given; `done` covers every process. */
function storedStream(chain: DumpChain, encrypt: StreamBackupOptions['encrypt'], signal: AbortSignal): { stream: Readable; done: Promise<number> } {
  const encryptor = encrypt?.(signal);
  if (!encryptor) return { stream: chain.output, done: chain.done.then((d) => d.rawBytes) };
  const feed = pipeline(chain.output, encryptor.input).catch(async (err: Error) => {
    await Promise.all([chain.done, encryptor.done]);
    throw err;
  });
  return { stream: encryptor.output, done: Promise.all([chain.done, encryptor.done, feed]).then(([d]) => d.rawBytes) };
}

/**
 * Streams a dump tool's output through compression and SHA-256 into storage, with no local copy.
 *
 * The upload body only ends after every process in the chain has closed with exit status 0 and the
 * dump produced bytes; otherwise the body is destroyed with the error, so the upload is aborted and
 * nothing is committed. (The upload would otherwise complete a truncated multipart upload.)
 */
export async function streamBackup(opts: StreamBackupOptions): Promise<StreamBackupResult> {
  const ac = new AbortController();
  const onOuterAbort = () => fail(new LifeboatError('CANCELLED', `Cancelled: ${opts.dump.tool} was stopped`));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  let firstError: Error | undefined;
  const progress: StreamProgress = { rawBytes: 0, storedBytes: 0 };
  const hash = createHash('sha256');
  const chain = startDumpChain({
    dump: opts.dump,
    compression: opts.compression,
    signal: ac.signal,
    classifyDumpFailure: opts.classifyDumpFailure,
    observe: opts.observe,
  });
  const stored = storedStream(chain, opts.encrypt, ac.signal);
  let exactRaw: number | undefined;
  const processesDone = stored.done.then((rawBytes) => {
    exactRaw = rawBytes;
    progress.rawBytes = rawBytes;
    if (rawBytes === 0) throw new LifeboatError('EMPTY_DUMP', `${opts.dump.tool} produced no output`, { subject: opts.dump.tool });
  });
  const gate = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      progress.storedBytes += chunk.length;
      progress.rawBytes = exactRaw ?? chain.rawBytes();
      opts.onProgress?.(progress);
      cb(null, chunk);
    },
    flush(cb) {
      processesDone.then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
  });
  // Failures are reported through the returned promise; the stream's 'error' event may fire before
  // the storage has attached its own listener.
  gate.on('error', () => undefined);
  function fail(err: Error): void {
    if (!firstError) firstError = err;
    ac.abort();
    gate.destroy(firstError);
    chain.release();
  }
  processesDone.catch(fail);
  stored.stream.on('error', (err) => fail(err));
  stored.stream.pipe(gate);
  const upload = opts.storage.putStream(opts.key, gate, { sizeHint: opts.sizeHint, signal: ac.signal }).catch((err: Error) => {
    fail(err);
    throw err;
  });
  try {
    await Promise.allSettled([upload, processesDone]);
    if (firstError) throw firstError;
    const written = await upload;
    if (written.bytes !== progress.storedBytes) {
      throw new LifeboatError(
        'STORAGE_FAILED',
        `Stored size differs from the bytes sent (${written.bytes} != ${progress.storedBytes}): ${opts.storage.describe(opts.key)}`,
      );
    }
    opts.onProgress?.(progress); // the exact raw size, now that every process has ended
    return { ...progress, sha256: hash.digest('hex') };
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Formats a failure of a dump chain in execa's `shortMessage` style, bounded for Temporal history. */
export function failureText(err: unknown): string {
  return shortMessage(err instanceof Error ? err.message : String(err));
}
