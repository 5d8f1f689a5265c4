import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { LifeboatError } from '../errors.js';
import type { Manifest } from '../catalog/manifest.js';
import type { Storage } from '../storage/index.js';
import { startZstd } from '../pipeline/child.js';
import { PATH_ENV, childExit, ioMeter, killOnAbort } from '../pipeline/dump-chain.js';
import { TailBuffer, describeExit } from '../pipeline/process.js';
import type { Filter } from '../crypto/filter.js';

export interface FetchProgress {
  /** Bytes read from storage (compressed, as stored). */
  storedBytes: number;
  /** Bytes written to the local dump file (decompressed). */
  rawBytes: number;
}

export interface FetchResult extends FetchProgress {
  sha256: string;
  ms: number;
}

interface Decoder {
  input: Writable;
  /** The decompressed bytes, unless the decoder writes them straight into the destination. */
  output?: Readable;
  done: Promise<void>;
  /** Decompressed bytes so far; exact once `done` resolved. */
  rawBytes(): number;
}

function counted(input: Writable, output: Readable, done: Promise<void>): Decoder {
  let raw = 0;
  output.on('data', (chunk: Buffer) => {
    raw += chunk.length;
  });
  return { input, output, done, rawBytes: () => raw };
}

function startDecoder(codec: Manifest['artifact']['compression']['codec'], signal: AbortSignal): Decoder {
  if (codec === 'none') {
    const p = new PassThrough({ highWaterMark: 1 << 20 });
    return counted(p, p, Promise.resolve());
  }
  if (codec === 'gzip') {
    const gz = createGunzip({ chunkSize: 1 << 18 });
    return counted(gz, gz, Promise.resolve());
  }
  const { input, output, exit } = startZstd(['-d'], signal);
  const done = exit.then((e) => {
    if (!e.ok && !e.canceled) throw new Error(`zstd ${describeExit(e)}`);
  });
  return counted(input, output, done);
}

const DECODED_RE = /: (\d+) bytes\s*$/m;

/**
 * zstd decompresses straight into `into`, a child process's standard input whose descriptor it is
 * handed: the decompressed bytes never pass through Node. zstd reports their exact size (`-vv`);
 * /proc shows how much it has written so far.
 */
function startHandoffDecoder(into: Writable, signal: AbortSignal): Decoder {
  const child = spawn('zstd', ['-d', '-vv', '-c', '--no-progress'], { env: PATH_ENV, stdio: ['pipe', into, 'pipe'] });
  // Our copy of the descriptor is closed: the tool sees the end of its input when zstd exits.
  into.destroy();
  killOnAbort(signal, [child], 2000);
  child.stdin!.on('error', () => undefined); // EPIPE: reported as zstd's own failure
  const written = ioMeter(child, 'wchar');
  let exact: number | undefined;
  const done = childExit(child, 'zstd', new TailBuffer(4096)).then((e) => {
    if (!e.ok) throw new Error(`zstd ${describeExit(e)}`);
    const m = DECODED_RE.exec(e.stderr);
    if (!m) throw new Error('zstd did not report the size it decompressed (expected ": N bytes" with -vv)');
    exact = Number(m[1]);
  });
  return {
    input: child.stdin!,
    done,
    rawBytes: () => exact ?? written(),
  };
}

function writeChunk(w: Writable, chunk: Buffer): Promise<void> {
  if (w.destroyed || w.writableEnded) return Promise.reject(new Error('decoder closed'));
  if (w.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      w.off('drain', onDrain);
      w.off('error', onError);
      w.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    const onClose = () => done(new Error('decoder closed'));
    w.once('drain', onDrain);
    w.once('error', onError);
    w.once('close', onClose);
  });
}

/** Fails early when `dir` has less room than the decompressed dump needs (plus 5% and 64 MiB). */
export async function checkFreeSpace(dir: string, m: Manifest, label: string): Promise<void> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  const needed = Math.ceil(m.rawBytes * 1.05) + 64 * 1024 * 1024;
  if (free < needed) {
    const mib = (n: number) => `${Math.ceil(n / 1024 / 1024)} MiB`;
    throw new LifeboatError(
      'INSUFFICIENT_SPACE',
      `Restore of ${label} failed: ${dir} has ${mib(free)} free and the dump needs ${mib(needed)}; set restore.tempDir to a larger disk`,
      { subject: label },
    );
  }
}

/** Pipes the decryptor into the decoder; the decryptor's own failure is the one noted first. */
function noteDecrypt(decryptor: Filter, into: Writable, note: (err: Error) => void): Promise<void> {
  decryptor.input.on('error', () => undefined);
  const piping = pipeline(decryptor.output, into).catch(() => undefined);
  const done = decryptor.done.catch((err: Error) => {
    note(err);
    into.destroy();
  });
  return Promise.all([done, piping]).then(() => undefined);
}

/** The decoder feeding the local dump file (or the restore tool), and the first error of either. */
interface DecodeSink {
  input: Writable;
  error(): Error | undefined;
  note(err: Error): void;
  rawBytes(): number;
  /** Settles once the decoder and the file write have finished. */
  settled(): Promise<unknown>;
}

function openDecodeSink(
  codec: Manifest['artifact']['compression']['codec'],
  into: Writable,
  signal: AbortSignal,
  opts: { decrypt?: (signal: AbortSignal) => Filter; handoff?: boolean },
): DecodeSink {
  const decoder = opts.handoff && codec === 'zstd' ? startHandoffDecoder(into, signal) : startDecoder(codec, signal);
  let first: Error | undefined;
  const note = (err: Error) => {
    first ??= err;
  };
  decoder.input.on('error', note);
  // An encrypted artifact: the stored bytes go through the decryptor, whose output (the
  // compressed plaintext, complete only when decryption succeeded) feeds the decoder.
  const decryptor = opts.decrypt?.(signal);
  const decrypting = decryptor ? noteDecrypt(decryptor, decoder.input, note) : Promise.resolve();
  const noted = (p: Promise<void>) =>
    p.catch((err: Error) => {
      note(err);
      throw err;
    });
  const writing = decoder.output ? noted(pipeline(decoder.output, into)) : Promise.resolve();
  const decoded = noted(decoder.done);
  writing.catch(() => undefined);
  decoded.catch(() => undefined);
  return {
    input: decryptor?.input ?? decoder.input,
    error: () => first,
    note,
    rawBytes: () => decoder.rawBytes(),
    settled: () => Promise.allSettled([decrypting, writing, decoded]),
  };
}

/** The stored object (`found`: from a head or a listing) must exist with the manifest's size. */
export function checkFound(found: { bytes: number } | undefined, m: Manifest, label: string, where: string): void {
  if (!found) {
    throw new LifeboatError('BACKUP_NOT_FOUND', `Restore of ${label} failed: the artifact of backup ${m.backupId} is missing: ${where}`, { subject: where });
  }
  if (found.bytes !== m.artifact.bytes) {
    throw new LifeboatError(
      'CHECKSUM_MISMATCH',
      `Restore of ${label} failed: checksum mismatch: the stored artifact is ${found.bytes} bytes, the manifest says ${m.artifact.bytes}: ${where}`,
      { subject: where },
    );
  }
}

/** The stored object must exist with the manifest's size (a cheap check before the download). */
async function checkStored(storage: Storage, m: Manifest, label: string, where: string): Promise<void> {
  checkFound(await storage.head(m.artifact.key), m, label, where);
}

/** After the checksum held: the decoder's failure, if any, then the decompressed size against the manifest's. */
function checkDecoded(decodeError: Error | undefined, rawBytes: number, m: Manifest, label: string, where: string): void {
  if (decodeError instanceof LifeboatError && (decodeError.code === 'DECRYPT_FAILED' || decodeError.code === 'TOOL_MISSING')) {
    throw new LifeboatError(decodeError.code, `Restore of ${label} failed: ${decodeError.message}: ${where}`, { subject: where });
  }
  if (decodeError) {
    throw new LifeboatError(
      'DECOMPRESS_FAILED',
      `Restore of ${label} failed: the artifact's checksum is right but it does not decompress as ${m.artifact.compression.codec}: ${decodeError.message}: ${where}`,
      { subject: where },
    );
  }
  if (rawBytes !== m.rawBytes) {
    throw new LifeboatError(
      'CHECKSUM_MISMATCH',
      `Restore of ${label} failed: the artifact decompressed to ${rawBytes} bytes, the manifest says ${m.rawBytes}: ${where}`,
      { subject: where },
    );
  }
}

const noSpace = (err: Error | undefined) => (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC';

/**
 * Downloads a backup's artifact into `file` (or the stream `into`, e.g. a restore tool's input),
 * decompressing on the way, and proves it intact:
 * the SHA-256 of the stored bytes must equal the manifest's. Into a file, nothing reaches a
 * database before this returns; into a stream, the caller discards what it built when this throws. When the artifact is corrupt the decompressor usually fails first; the rest is
 * still read so the error names the real cause (a checksum mismatch) and the artifact.
 */
export async function fetchArtifact(opts: {
  storage: Storage;
  manifest: Manifest;
  file: string;
  /** Where the decompressed dump goes instead of `file` (which then only names it in messages). */
  into?: Writable;
  /**
   * `into` is a child process's standard input: a zstd decompressor is handed its descriptor and
   * writes there itself (Node's copy is closed at once, so pass nothing else to it).
   */
  handoff?: boolean;
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: FetchProgress) => void;
  /** For an encrypted artifact: starts the decryptor (from `restoreDecryption`). */
  decrypt?: (signal: AbortSignal) => Filter;
  /** The caller already found the object with the manifest's size (a listing of many). */
  present?: boolean;
}): Promise<FetchResult> {
  const { storage, manifest: m, label } = opts;
  const where = storage.describe(m.artifact.key);
  const started = Date.now();
  if (!opts.present) await checkStored(storage, m, label, where);

  const ac = new AbortController();
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const progress: FetchProgress = { storedBytes: 0, rawBytes: 0 };
  const hash = createHash('sha256');
  const sink = openDecodeSink(m.artifact.compression.codec, opts.into ?? createWriteStream(opts.file, { mode: 0o600 }), ac.signal, {
    decrypt: opts.decrypt,
    handoff: opts.handoff,
  });
  try {
    try {
      const source: Readable = await storage.getStream(m.artifact.key, ac.signal);
      for await (const chunk of source) {
        const b = chunk as Buffer;
        hash.update(b);
        progress.storedBytes += b.length;
        if (!sink.error()) await writeChunk(sink.input, b).catch(sink.note);
        if (noSpace(sink.error())) break;
        progress.rawBytes = sink.rawBytes();
        opts.onProgress?.(progress);
      }
    } catch (err) {
      if (opts.signal?.aborted) throw new LifeboatError('CANCELLED', `Restore of ${label} cancelled while downloading ${where}`, { subject: label });
      throw err;
    }
    if (noSpace(sink.error())) {
      throw new LifeboatError('INSUFFICIENT_SPACE', `Restore of ${label} failed: no space left for the dump file ${opts.file}`, { subject: label });
    }
    const sha256 = hash.digest('hex');
    if (sha256 !== m.artifact.sha256 || progress.storedBytes !== m.artifact.bytes) {
      throw new LifeboatError(
        'CHECKSUM_MISMATCH',
        `Restore of ${label} failed: checksum mismatch: sha256 of the stored artifact is ${sha256}, the manifest says ${m.artifact.sha256}: ${where}`,
        { subject: where },
      );
    }
    if (!sink.error()) sink.input.end();
    await sink.settled();
    progress.rawBytes = sink.rawBytes();
    checkDecoded(sink.error(), progress.rawBytes, m, label, where);
    return { ...progress, sha256, ms: Date.now() - started };
  } finally {
    ac.abort();
    sink.input.destroy();
    await sink.settled();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
