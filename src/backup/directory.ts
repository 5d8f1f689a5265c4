// A directory-format backup: `pg_dump -Fd -j N` into a private scratch directory, every file
// stored (compressed, encrypted) under the artifact's key as a prefix while the dump runs.
import { rm } from 'node:fs/promises';
import type { LifeboatConfig, CompressionConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { PreparedDump } from '../engines/index.js';
import type { Storage } from '../storage/index.js';
import type { ArtifactFile } from '../catalog/manifest.js';
import { directoryChecksum, partKey, storedParts, type StoredPart } from '../catalog/artifact-files.js';
import { dumpDirectory } from '../pipeline/directory-dump.js';
import type { StreamProgress } from '../pipeline/backup-stream.js';
import type { backupEncryption } from '../crypto/stream.js';
import { DUMP_PREFIX, openWorkDir, tempBase } from '../restore/workdir.js';

export interface DirectoryBackupResult extends StreamProgress {
  /** Over the files' sha256sum lines (src/catalog/artifact-files.ts). */
  sha256: string;
  files: ArtifactFile[];
  parts: StoredPart[];
}

/** Runs the prepared directory dump into `key/`; the scratch directory is removed whatever happens. */
export async function streamDirectoryBackup(o: {
  cfg: LifeboatConfig;
  prepared: PreparedDump & { directory: { jobs: number } };
  compression: CompressionConfig;
  encryption?: ReturnType<typeof backupEncryption>;
  storage: Storage;
  key: string;
  signal?: AbortSignal;
  onProgress: (p: StreamProgress) => void;
  log: Logger;
}): Promise<DirectoryBackupResult> {
  const shape = { compression: o.compression, encryption: o.encryption?.manifest ?? null };
  const scratch = await openWorkDir(tempBase(o.cfg), o.log, DUMP_PREFIX);
  try {
    const dumping = dumpDirectory({
      dump: o.prepared.command,
      // As many uploads as dump jobs: each large file holds up to (queueSize + 1) parts in memory.
      uploads: Math.max(2, o.prepared.directory.jobs),
      compression: o.compression,
      storage: o.storage,
      keyOf: (name) => partKey(o.key, name, shape),
      scratch,
      signal: o.signal,
      onProgress: o.onProgress,
      classifyDumpFailure: o.prepared.classifyFailure,
      encrypt: o.encryption?.filter,
    });
    o.prepared.started();
    const r = await dumping;
    const sha256 = directoryChecksum(r.files, shape);
    const parts = storedParts({ storage: o.storage.name, key: o.key, bytes: r.storedBytes, sha256, files: r.files, ...shape });
    return { rawBytes: r.rawBytes, storedBytes: r.storedBytes, sha256, files: r.files, parts };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
