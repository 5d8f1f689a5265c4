// Runs a stream stage (zstd, an encryptor) over a buffer held in memory: a WAL segment is small
// enough (16 MiB by default) that holding it is cheaper than a pipeline per file.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, type ErrorCode } from '../errors.js';
import type { Filter } from '../crypto/filter.js';
import { startZstd } from '../pipeline/child.js';
import { describeExit } from '../pipeline/process.js';

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Feeds `data` through `filter` and returns its whole output once it has closed successfully. */
export async function throughFilter(data: Buffer, filter: Filter): Promise<Buffer> {
  const feeding = pipeline(Readable.from([data]), filter.input);
  const [out] = await Promise.all([collect(filter.output), filter.done, feeding]);
  return out;
}

/** zstd over a buffer (`args`: `-3` to compress, `-d` to decompress). */
export async function zstdBuffer(data: Buffer, args: string[], what: string, signal: AbortSignal): Promise<Buffer> {
  const z = startZstd(args, signal);
  const feeding = pipeline(Readable.from([data]), z.input).catch(() => undefined);
  const [out, exit] = await Promise.all([collect(z.output), z.exit, feeding]);
  if (!exit.ok) {
    const code: ErrorCode = args.includes('-d') ? 'DECOMPRESS_FAILED' : 'COMPRESS_FAILED';
    throw new LifeboatError(code, `${what} failed: zstd ${describeExit(exit)}`, { subject: what });
  }
  return out;
}
