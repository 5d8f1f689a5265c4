// A base backup: `pg_basebackup -Ft -X none -D -` streamed through the dump pipeline (zstd,
// encryption, SHA-256, upload) into `<db>/pitr/base/<id>/`, its manifest committed last. WAL is
// not in the tar (`-X none`): the archive holds it, and pg_basebackup waits until the backup's
// last segment has been archived, so a committed base backup is always restorable.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { backupEncryption } from '../crypto/stream.js';
import { classifyToolFailure, connectPg, libpqEnv, parsePostgresUrl, type PgConnection } from '../engines/postgres/connection.js';
import { serverInfo } from '../engines/postgres/catalog.js';
import { LifeboatError } from '../errors.js';
import { compressionSuffix, streamBackup, type StreamProgress } from '../pipeline/backup-stream.js';
import { openStorage, type Storage } from '../storage/index.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { BASE_MANIFEST_FORMAT, baseKeys, readBaseManifest, type BaseManifest } from './base-manifest.js';
import { findBaseBackupTool } from './tools.js';
import { segmentName, segmentIndexOf } from './wal-names.js';

export interface BaseBackupOptions {
  backupId: string;
  attempt?: number;
  /** `pg_basebackup --max-rate`, e.g. `50M`: spares a busy server's disks. */
  maxRate?: string;
  signal?: AbortSignal;
  onProgress?: (p: StreamProgress) => void;
  workflow?: BaseManifest['workflow'];
}

/** The source database's connection (from its `{ env }`/`{ file }` URL, resolved here). */
export function sourceConnection(cfg: LifeboatConfig, database: string): PgConnection {
  const db = getDatabase(cfg, database);
  if (db.engine !== 'postgres')
    throw new LifeboatError('UNSUPPORTED', `Point-in-time recovery of ${database} refused: only PostgreSQL is supported`, { subject: database });
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  return parsePostgresUrl(resolveSecret(db.url, `databases.${database}.url`, base), db.provider);
}

/**
 * The WAL range of a base backup, from its tar stream: `backup_label` is its first entry (`START
 * WAL LOCATION`, `START TIMELINE`) and `backup_manifest` its last (`WAL-Ranges` with the end LSN).
 */
export function parseBaseBackupStream(head: string, tail: string): { startLsn: string; startTimeline: number; stopLsn: string } | undefined {
  const start = /START WAL LOCATION: ([0-9A-F]+\/[0-9A-F]+)/.exec(head);
  const timeline = /START TIMELINE: (\d+)/.exec(head);
  const ends = [...tail.matchAll(/"End-LSN": "([0-9A-F]+\/[0-9A-F]+)"/g)];
  if (!start || !timeline || ends.length === 0) return undefined;
  return { startLsn: start[1]!, startTimeline: Number(timeline[1]), stopLsn: ends[ends.length - 1]![1]! };
}

/** Keeps the first 8 KiB and the last 256 KiB of a stream. */
function headAndTail(): { observe: (c: Buffer) => void; head: () => string; tail: () => string } {
  let head = Buffer.alloc(0);
  let tail = Buffer.alloc(0);
  return {
    observe(c) {
      if (head.length < 8192) head = Buffer.concat([head, c.subarray(0, 8192 - head.length)]);
      tail = Buffer.concat([tail, c]);
      if (tail.length > 1 << 19) tail = tail.subarray(tail.length - (1 << 18));
    },
    head: () => head.toString('latin1'),
    tail: () => tail.subarray(Math.max(0, tail.length - (1 << 18))).toString('latin1'),
  };
}

async function serverFacts(conn: PgConnection, database: string): Promise<{ version: string; major: number; walSegmentBytes: number }> {
  const client = await connectPg(conn, database);
  try {
    const info = await serverInfo(client);
    const seg = await client.query<{ b: string }>(
      `select setting::bigint * (case unit when '8kB' then 8192 when 'B' then 1 when 'MB' then 1048576 else 1 end) as b from pg_settings where name = 'wal_segment_size'`,
    );
    const archive = await client.query<{ mode: string }>(`select current_setting('archive_mode') as mode`);
    if (archive.rows[0]!.mode === 'off') {
      throw new LifeboatError('CONFIG_INVALID', `Base backup of ${database} refused: archive_mode is off, so its WAL is not archived (see docs/pitr.md)`, {
        subject: database,
      });
    }
    return { version: info.version, major: info.major, walSegmentBytes: Number(seg.rows[0]!.b) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function serverNow(conn: PgConnection, database: string): Promise<string> {
  const client = await connectPg(conn, database);
  try {
    return new Date((await client.query<{ t: Date }>('select now() as t')).rows[0]!.t).toISOString();
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Removes what earlier attempts of this backup left (uncommitted tars, unfinished uploads). */
async function clearLeftovers(storage: Storage, prefix: string): Promise<void> {
  for (const o of await storage.list(prefix)) if (!o.key.endsWith('/manifest.json')) await storage.delete(o.key);
  for (const u of await storage.listIncompleteUploads(prefix)) await storage.abortIncompleteUpload(u);
}

/** Takes a base backup of `database` and commits its manifest; a retried attempt returns the committed one. */
export async function runBaseBackup(cfg: LifeboatConfig, database: string, opts: BaseBackupOptions): Promise<BaseManifest> {
  const storageName = databaseStorageNames(cfg, database)[0]!;
  const storage = openStorage(cfg, storageName);
  const manifestKey = baseKeys.manifest(database, opts.backupId);
  if (await storage.head(manifestKey)) return readBaseManifest(storage, manifestKey);
  await clearLeftovers(storage, baseKeys.backupPrefix(database, opts.backupId));
  const conn = sourceConnection(cfg, database);
  const server = await serverFacts(conn, database);
  const tool = await findBaseBackupTool(server.major, database, getDatabase(cfg, database).toolsDir);
  const compression = getDatabase(cfg, database).compression;
  const enc = backupEncryption(cfg, database);
  const key = baseKeys.artifact(
    database,
    opts.backupId,
    `${opts.attempt ?? 1}-${randomBytes(3).toString('hex')}`,
    compressionSuffix(compression.codec) + (enc?.suffix ?? ''),
  );
  const label = `lifeboat ${opts.backupId}`;
  const { env, dispose } = await libpqEnv(conn, 'lifeboat-basebackup');
  const stream = headAndTail();
  const startedAt = new Date();
  try {
    const result = await streamBackup({
      dump: {
        tool: 'pg_basebackup',
        file: tool.path,
        args: ['-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast', '--no-password', '-l', label, ...(opts.maxRate ? [`--max-rate=${opts.maxRate}`] : [])],
        env,
      },
      observe: stream.observe,
      compression,
      storage,
      key,
      signal: opts.signal,
      onProgress: opts.onProgress,
      classifyDumpFailure: (exit) => classifyToolFailure(exit, database, 'Base backup'),
      encrypt: enc ? (signal) => enc.filter(signal) : undefined,
    });
    const positions = parseBaseBackupStream(stream.head(), stream.tail());
    if (!positions)
      throw new LifeboatError('DUMP_FAILED', `Base backup of ${database} failed: pg_basebackup wrote no backup_label or WAL range`, { subject: database });
    const finishedAt = new Date();
    const manifest: BaseManifest = {
      formatVersion: BASE_MANIFEST_FORMAT,
      kind: 'base',
      backupId: opts.backupId,
      database,
      format: 'pg_basebackup-tar',
      server: { version: server.version, walSegmentBytes: server.walSegmentBytes },
      tool: { name: 'pg_basebackup', version: tool.version },
      label,
      ...positions,
      startSegment: segmentName(positions.startTimeline, segmentIndexOf(positions.startLsn, server.walSegmentBytes), server.walSegmentBytes),
      consistentAt: await serverNow(conn, database),
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      rawBytes: result.rawBytes,
      artifact: { storage: storageName, key, bytes: result.storedBytes, sha256: result.sha256, compression, encryption: enc?.manifest ?? null },
      workflow: opts.workflow,
      lifeboatVersion: LIFEBOAT_VERSION,
    };
    if (!(await storage.putIfAbsent(manifestKey, JSON.stringify(manifest, null, 2), 'application/json'))) {
      await storage.delete(key);
      return readBaseManifest(storage, manifestKey);
    }
    return manifest;
  } finally {
    await dispose();
  }
}
