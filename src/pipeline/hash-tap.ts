// A pass-through that hashes (SHA-256) and counts the bytes flowing through it: the check every
// read of a stored artifact makes against its manifest.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export interface HashTap {
  stream: Transform;
  /** Bytes seen so far. */
  bytes(): number;
  /** The hex SHA-256 of every byte seen; call once, after the stream ended. */
  digest(): string;
}

/** A hashing, counting pass-through; `onBytes` sees the running total after every chunk. */
export function hashTap(onBytes?: (bytes: number) => void): HashTap {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  return { stream, bytes: () => bytes, digest: () => hash.digest('hex') };
}
