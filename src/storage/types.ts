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

/** What a just-written object must be. */
export interface ExpectedObject {
  bytes: number;
  sha256: string;
}

/** What {@link Storage.confirm} found: `reread` tells whether the bytes were read back and hashed. */
export type Confirmation =
  | { ok: true; reread: boolean }
  | { ok: false; problem: 'missing' }
  | { ok: false; problem: 'size'; bytes: number }
  | { ok: false; problem: 'checksum'; bytes: number; sha256: string };

export interface ConfirmOptions {
  /** Read the object back and compare its SHA-256 even when the target is not configured to. */
  reread?: boolean;
  signal?: AbortSignal;
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
  /**
   * Confirms a just-written object: it exists with the expected size; its bytes are read back and
   * hashed when `options.reread` is set or the target is configured to (S3 `verifyUpload`).
   */
  confirm(key: string, expected: ExpectedObject, options?: ConfirmOptions): Promise<Confirmation>;
  /**
   * Whether `confirm` reads every object back on its own (S3 `verifyUpload`). When false, sizes
   * from one `list` confirm many objects at once (the files of a directory artifact).
   */
  readonly rereadsUploads?: boolean;
  listIncompleteUploads(prefix: string): Promise<IncompleteUpload[]>;
  abortIncompleteUpload(upload: IncompleteUpload): Promise<void>;
}
