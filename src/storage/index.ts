import path from 'node:path';
import type { LifeboatConfig } from '../config/schema.js';
import { getStorage } from '../config/load.js';
import { FilesystemStorage } from './filesystem.js';
import { S3Storage } from './s3.js';
import type { Storage } from './types.js';

export type { Confirmation, ConfirmOptions, ExpectedObject, Storage, StoredObject, IncompleteUpload, PutStreamOptions } from './types.js';

/** Opens a configured storage target (credentials are resolved here, on the worker). */
export function openStorage(cfg: LifeboatConfig, name: string): Storage {
  const s = getStorage(cfg, name);
  const baseDir = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  return s.type === 's3' ? new S3Storage(name, s, baseDir) : new FilesystemStorage(name, s);
}
