import type { Readable } from 'node:stream';

export interface PutStreamOptions {
  /** Expected total size, used to size multipart parts. */
  sizeHint?: number;
  contentType?: string;
  signal?: AbortSignal;
}

export interface StoredObject {
  key: string;
  bytes: number;
  lastModified?: Date;
  /** From `head` on Object Lock storage: the object cannot be deleted before this date. */
  retainUntil?: Date;
}

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
}

/**
 * Object storage as Lifeboat needs it. Keys are relative to the target's prefix.
 * `putStream` must not leave a visible object when the body stream fails.
 */
export interface Storage {
  readonly name: string;
  /** Human-readable location of a key (`s3://bucket/prefix/key`, a file path). */
  describe(key: string): string;
  putStream(key: string, body: Readable, options?: PutStreamOptions): Promise<{ bytes: number }>;
  /** Writes `data` only if `key` does not exist yet; returns false when it already existed. */
  putIfAbsent(key: string, data: Buffer | string, contentType?: string): Promise<boolean>;
  put(key: string, data: Buffer | string, contentType?: string): Promise<void>;
  getStream(key: string, signal?: AbortSignal): Promise<Readable>;
  getBuffer(key: string): Promise<Buffer>;
  /** Returns undefined when the key does not exist. */
  head(key: string): Promise<StoredObject | undefined>;
  list(prefix: string): Promise<StoredObject[]>;
  delete(key: string): Promise<void>;
  listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]>;
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void>;
}
