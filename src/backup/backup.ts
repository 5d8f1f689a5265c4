import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase, databaseStorageNames } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { engineFor, resolveConnection, type Connection, type Engine, type PreparedDump } from '../engines/index.js';
import { compressionSuffix, streamBackup, type StreamBackupResult, type StreamProgress } from '../pipeline/backup-stream.js';
import { streamDirectoryBackup, type DirectoryBackupResult } from './directory.js';
import { backupEncryption } from '../crypto/stream.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { Manifest } from '../catalog/manifest.js';
import { readManifest } from '../catalog/catalog.js';
import { commitArtifact, type StagedArtifact } from '../catalog/commit.js';
import { LIFEBOAT_VERSION } from '../version.js';
import type { BackupResult } from '../contracts/index.js';
import type { BackupHooks, BackupProgress, BackupRequest } from './types.js';
import { storeRoles } from './roles.js';

export function resultFromManifest(m: Manifest, storage: Storage): BackupResult {
  return {
    backupId: m.backupId,
    database: m.database,
    kind: m.kind,
    storage: m.artifact.storage,
    key: m.artifact.key,
    location: storage.describe(m.artifact.key),
    bytes: m.artifact.bytes,
    rawBytes: m.rawBytes,
    sha256: m.artifact.sha256,
    durationMs: m.durationMs,
    tables: m.rowCounts ? Object.keys(m.rowCounts.tables).length : null,
  };
}

interface DumpContext {
  cfg: LifeboatConfig;
  req: BackupRequest;
  engine: Engine;
  conn: Connection;
  storage: Storage;
  startedAt: Date;
  log: Logger;
  hooks: BackupHooks;
  progress: (p: Partial<BackupProgress>) => void;
  /** The database's encryption stage (public keys only), when configured. */
  encryption?: ReturnType<typeof backupEncryption>;
}

/** Streams the dump into `key`: one stream, or a directory dump's files under `key/`. */
async function streamDump(
  ctx: DumpContext,
  prepared: PreparedDump,
  key: string,
): Promise<StreamBackupResult & Partial<Pick<DirectoryBackupResult, 'files' | 'parts'>>> {
  const db = getDatabase(ctx.cfg, ctx.req.database);
  const onProgress = (p: StreamProgress) => ctx.progress({ phase: 'dumping', ...p });
  const { directory } = prepared;
  if (directory) {
    const { storage, encryption, log, cfg } = ctx;
    return streamDirectoryBackup({
      cfg,
      prepared: { ...prepared, directory },
      compression: db.compression,
      encryption,
      storage,
      key,
      signal: ctx.hooks.signal,
      onProgress,
      log,
    });
  }
  const streaming = streamBackup({
    dump: prepared.command,
    compression: db.compression,
    storage: ctx.storage,
    key,
    sizeHint: prepared.server.sizeBytes,
    signal: ctx.hooks.signal,
    onProgress,
    classifyDumpFailure: prepared.classifyFailure,
    encrypt: ctx.encryption?.filter,
    observe: prepared.observe,
  });
  prepared.started();
  return streaming;
}

/** Runs the prepared dump into `key`: the pipeline streams it, the engine counts rows in its snapshot. */
async function dumpInto(ctx: DumpContext, prepared: PreparedDump, key: string): Promise<StagedArtifact<Manifest>> {
  const { req, log } = ctx;
  const db = getDatabase(ctx.cfg, req.database);
  log.info(
    {
      database: req.database,
      backupId: req.backupId,
      tool: prepared.tool.path,
      toolVersion: prepared.tool.version,
      server: prepared.server.version,
      estimateBytes: prepared.server.sizeBytes,
      key,
    },
    'dump started',
  );
  const streamed = await streamDump(ctx, prepared, key);
  log.debug({ backupId: req.backupId, rawBytes: streamed.rawBytes, storedBytes: streamed.storedBytes }, 'dump streamed');
  const dumped = await prepared.finish();
  log.debug({ backupId: req.backupId }, 'dump finished');
  for (const warning of dumped.warnings ?? []) log.warn({ database: req.database, backupId: req.backupId }, warning);
  const roles = await storeRoles({ ...ctx, database: req.database, backupId: req.backupId, serverMajor: prepared.server.major });
  return {
    bytes: streamed.storedBytes,
    sha256: streamed.sha256,
    ...(streamed.parts ? { parts: streamed.parts } : {}),
    manifest: () => {
      const finishedAt = new Date();
      return {
        formatVersion: 1,
        backupId: req.backupId,
        database: req.database,
        kind: req.kind,
        engine: ctx.engine.id,
        provider: ctx.conn.preset.provider,
        format: prepared.format,
        server: { version: prepared.server.version, flavour: prepared.server.flavour, sizeBytes: prepared.server.sizeBytes },
        tool: { name: prepared.tool.name, version: prepared.tool.version },
        startedAt: ctx.startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        durationMs: finishedAt.getTime() - ctx.startedAt.getTime(),
        rawBytes: streamed.rawBytes,
        artifact: {
          storage: ctx.storage.name,
          key,
          bytes: streamed.storedBytes,
          sha256: streamed.sha256,
          ...(streamed.files ? { files: streamed.files } : {}),
          compression: db.compression,
          encryption: ctx.encryption?.manifest ?? null,
        },
        rowCounts: dumped.rowCounts
          ? { consistency: dumped.consistency, ...(dumped.counted ? { counted: dumped.counted } : {}), tables: dumped.rowCounts }
          : null,
        ...(dumped.position ? { position: dumped.position } : {}),
        ...(prepared.createOptions?.length ? { createOptions: prepared.createOptions } : {}),
        ...(dumped.schemaChanges?.length ? { schemaChanges: dumped.schemaChanges } : {}),
        ...(dumped.warnings?.length ? { warnings: dumped.warnings } : {}),
        ...(ctx.conn.preset.excludeSchemas?.length ? { excludedSchemas: ctx.conn.preset.excludeSchemas } : {}),
        ...(roles ? { roles } : {}),
        workflow: req.workflow,
        lifeboatVersion: LIFEBOAT_VERSION,
      };
    },
  };
}

/** Prepares the engine's dump and runs the shared commit sequence around it. */
async function dumpAndCommit(ctx: DumpContext): Promise<BackupResult> {
  const { req, storage, log } = ctx;
  const db = getDatabase(ctx.cfg, req.database);
  const prepared = await ctx.engine.prepareDump(
    ctx.conn,
    {
      label: req.database,
      kind: req.kind,
      rowCounts: db.rowCounts === 'exact',
      toolsDir: db.toolsDir,
      session: `lifeboat:${req.database}:${req.backupId}`,
      ...(db.dump?.format === 'directory' ? { directoryJobs: db.dump.jobs } : {}),
    },
    log,
  );
  try {
    ctx.progress({ estimateBytes: prepared.server.sizeBytes });
    const outcome = await commitArtifact<Manifest>({
      storage,
      database: req.database,
      backupId: req.backupId,
      attempt: req.workflow.attempt,
      tag: 'a',
      // A directory artifact's key is a prefix; each of its files carries the suffixes.
      extension: prepared.directory ? prepared.extension : `${prepared.extension}${compressionSuffix(db.compression.codec)}${ctx.encryption?.suffix ?? ''}`,
      what: `Backup of ${req.database}`,
      subject: req.database,
      reread: false,
      checksumCode: 'CHECKSUM_MISMATCH',
      noun: 'the artifact',
      signal: ctx.hooks.signal,
      log,
      stage: (key) => dumpInto(ctx, prepared, key),
      onPhase: (phase) => ctx.progress({ phase }),
    });
    const m = outcome.manifest;
    if (outcome.status === 'committed') {
      log.info(
        { database: req.database, backupId: req.backupId, bytes: m.artifact.bytes, rawBytes: m.rawBytes, sha256: m.artifact.sha256, durationMs: m.durationMs },
        'backup committed',
      );
    }
    return resultFromManifest(m, storage);
  } finally {
    await prepared.close();
  }
}

/**
 * Takes one backup of a configured database with its engine: the dump runs in a consistent
 * snapshot (row counts taken in that same snapshot) and streams through compression and SHA-256
 * into the database's first storage target; then the stored size is confirmed (and, where the
 * target is configured to, its sha256 read back) and the manifest committed with a
 * create-if-absent write. Safe to retry: a backup id gets at most one manifest.
 */
export async function takeBackup(cfg: LifeboatConfig, req: BackupRequest, log: Logger, hooks: BackupHooks = {}): Promise<BackupResult> {
  const db = getDatabase(cfg, req.database);
  const what = `Backup of ${req.database}`;
  const engine = engineFor(db.engine, what, req.database);
  const storage = openStorage(cfg, databaseStorageNames(cfg, req.database)[0]!);

  const existing = await readManifest(storage, req.database, req.backupId);
  if (existing) {
    log.info({ backupId: req.backupId }, 'backup already committed by an earlier attempt');
    return resultFromManifest(existing, storage);
  }

  const { conn } = resolveConnection(cfg, db, `databases.${req.database}.url`, what, req.database);
  if (conn.preset.poolerHint) log.warn({ database: req.database }, `connection goes through a pooler: ${conn.preset.poolerHint}`);
  let last: BackupProgress = { phase: 'connecting', rawBytes: 0, storedBytes: 0 };
  const progress = (p: Partial<BackupProgress>) => {
    // Phase changes at debug level: where the time of a backup goes (the benchmark reads them).
    if (p.phase && p.phase !== last.phase) log.debug({ database: req.database, backupId: req.backupId, phase: p.phase }, 'backup phase');
    last = { ...last, ...p };
    hooks.onProgress?.(last);
  };
  log.debug({ database: req.database, backupId: req.backupId, phase: 'connecting' }, 'backup phase');
  progress({});
  const release = await waitForSlot(hooks, `${conn.host}:${conn.port}`, progress);
  try {
    const encryption = backupEncryption(cfg, req.database);
    return await dumpAndCommit({ cfg, req, engine, conn, storage, startedAt: new Date(), log, hooks, progress, encryption });
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw engine.classifyError(err, req.database, 'Backup');
  } finally {
    release();
  }
}

/** Takes a dump slot for `host` when the worker limits dumps, reporting the wait as progress. */
async function waitForSlot(hooks: BackupHooks, host: string, progress: (p: Partial<BackupProgress>) => void): Promise<() => void> {
  if (!hooks.slots) return () => undefined;
  const release = await hooks.slots.acquire(host, hooks.signal, (waitingFor) => progress({ phase: 'waiting', waitingFor }));
  progress({ phase: 'connecting', waitingFor: undefined });
  return release;
}
