import { createHash, randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase, databaseStorageNames } from '../config/load.js';
import { resolveSecret, registerSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  classifyPgError,
  classifyToolFailure,
  connectPg,
  countRows,
  findPgTool,
  listTables,
  parsePostgresUrl,
  serverInfo,
  withLibpqEnv,
} from '../engines/postgres.js';
import { compressionSuffix, streamBackup } from '../pipeline/backup-stream.js';
import { backupEncryption } from '../crypto/stream.js';
import { openStorage, type Storage } from '../storage/index.js';
import { keys, type Manifest } from '../catalog/manifest.js';
import { readManifest } from '../catalog/catalog.js';
import { LIFEBOAT_VERSION } from '../version.js';
import type { BackupResult } from '../contracts/index.js';
import type { BackupHooks, BackupRequest } from './types.js';

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

/** Removes what earlier attempts of this backup left behind (no manifest means it is all garbage). */
async function clearEarlierAttempts(storage: Storage, database: string, backupId: string, log: Logger): Promise<void> {
  const prefix = keys.backupPrefix(database, backupId);
  for (const u of await storage.listIncompleteUploads(prefix)) {
    log.info({ key: u.key }, 'aborting an incomplete upload of an earlier attempt');
    await storage.abortIncompleteUpload(u);
  }
  for (const o of await storage.list(prefix)) {
    log.info({ key: o.key }, 'deleting an uncommitted artifact of an earlier attempt');
    await storage.delete(o.key);
  }
}

async function sha256Of(storage: Storage, key: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of await storage.getStream(key, signal)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Takes one PostgreSQL backup: `pg_dump -Fc` in an exported snapshot, row counts in that same
 * snapshot, streamed through compression and SHA-256 into the database's first storage target;
 * then confirms the stored size and commits the manifest with a create-if-absent write.
 * Safe to retry: a backup id gets at most one manifest.
 */
export async function backupPostgres(cfg: LifeboatConfig, req: BackupRequest, log: Logger, hooks: BackupHooks = {}): Promise<BackupResult> {
  const db = getDatabase(cfg, req.database);
  if (db.engine !== 'postgres') {
    throw new LifeboatError('UNSUPPORTED', `Backup of ${req.database} failed: engine ${db.engine} is not supported yet`, { subject: req.database });
  }
  const storageName = databaseStorageNames(cfg, req.database)[0]!;
  const storage = openStorage(cfg, storageName);

  const existing = await readManifest(storage, req.database, req.backupId);
  if (existing) {
    log.info({ backupId: req.backupId }, 'backup already committed by an earlier attempt');
    return resultFromManifest(existing, storage);
  }
  if (req.workflow.attempt > 1) await clearEarlierAttempts(storage, req.database, req.backupId, log);

  const conn = parsePostgresUrl(resolveSecret(db.url, `databases.${req.database}.url`), db.provider);
  if (conn.password) registerSecret(conn.password);
  if (conn.preset.poolerHint) log.warn({ database: req.database }, `connection goes through a pooler: ${conn.preset.poolerHint}`);

  const startedAt = new Date();
  hooks.onProgress?.({ phase: 'connecting', rawBytes: 0, storedBytes: 0 });
  const exporter: pg.Client = await connectPg(conn, req.database);
  let artifactKey: string | undefined;
  let committed = false;
  try {
    const server = await serverInfo(exporter);
    const tool = await findPgTool('pg_dump', server.major, req.database, db.toolsDir);

    await exporter.query(`set statement_timeout = 0; set idle_in_transaction_session_timeout = 0`);
    await exporter.query('begin isolation level repeatable read read only');
    let snapshot: string | undefined;
    try {
      snapshot = (await exporter.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
    } catch (err) {
      log.warn({ database: req.database, reason: (err as Error).message }, 'cannot export a snapshot; row counts are taken in a separate snapshot');
      await exporter.query('rollback');
      await exporter.query('begin isolation level repeatable read read only');
    }
    const wantCounts = db.rowCounts === 'exact' && req.kind !== 'schema';
    const tables = wantCounts ? await listTables(exporter) : [];

    const encryption = backupEncryption(cfg, req.database);
    const extension = `.dump${compressionSuffix(db.compression.codec)}${encryption?.suffix ?? ''}`;
    artifactKey = keys.artifact(req.database, req.backupId, `a${req.workflow.attempt}-${randomBytes(3).toString('hex')}`, extension);
    const args = ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000'];
    if (snapshot) args.push(`--snapshot=${snapshot}`);
    if (req.kind === 'schema') args.push('--schema-only');
    if (req.kind === 'data') args.push('--data-only');

    log.info({ database: req.database, backupId: req.backupId, tool: tool.path, toolVersion: tool.version, server: server.version, key: artifactKey }, 'dump started');
    const counting = wantCounts ? countRows(exporter, tables) : Promise.resolve(null);
    counting.catch(() => undefined);
    const streamed = await withLibpqEnv(conn, (env) =>
      streamBackup({
        dump: { tool: 'pg_dump', file: tool.path, args, env: { ...env, PGAPPNAME: `lifeboat:${req.database}:${req.backupId}` } },
        compression: db.compression,
        storage,
        key: artifactKey!,
        sizeHint: server.sizeBytes,
        signal: hooks.signal,
        onProgress: (p) => hooks.onProgress?.({ phase: 'dumping', ...p }),
        classifyDumpFailure: (exit) => classifyToolFailure(exit, req.database, 'Backup'),
        encrypt: encryption?.filter,
      }),
    );
    const rowCounts = await counting.catch((err) => {
      throw classifyPgError(err, req.database, 'Row count');
    });
    await exporter.query('commit').catch(() => undefined);

    hooks.onProgress?.({ phase: 'confirming', rawBytes: streamed.rawBytes, storedBytes: streamed.storedBytes });
    const stored = await storage.head(artifactKey);
    if (!stored || stored.bytes !== streamed.storedBytes) {
      throw new LifeboatError('STORAGE_FAILED', `Backup of ${req.database} failed: stored artifact is ${stored ? `${stored.bytes} bytes, expected ${streamed.storedBytes}` : 'missing'}: ${storage.describe(artifactKey)}`);
    }
    const storageCfg = cfg.storage[storageName]!;
    if (storageCfg.type === 's3' && storageCfg.verifyUpload) {
      const actual = await sha256Of(storage, artifactKey, hooks.signal);
      if (actual !== streamed.sha256) {
        throw new LifeboatError('CHECKSUM_MISMATCH', `Backup of ${req.database} failed: checksum mismatch after upload: ${storage.describe(artifactKey)}`);
      }
    }

    const finishedAt = new Date();
    const manifest: Manifest = {
      formatVersion: 1,
      backupId: req.backupId,
      database: req.database,
      kind: req.kind,
      engine: 'postgres',
      provider: conn.preset.provider,
      format: 'pg_dump-custom',
      server: { version: server.version, sizeBytes: server.sizeBytes },
      tool: { name: 'pg_dump', version: tool.version },
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      rawBytes: streamed.rawBytes,
      artifact: {
        storage: storageName,
        key: artifactKey,
        bytes: streamed.storedBytes,
        sha256: streamed.sha256,
        compression: db.compression,
        encryption: encryption?.manifest ?? null,
      },
      rowCounts: rowCounts ? { consistency: snapshot ? 'same-snapshot' : 'separate-snapshot', tables: rowCounts } : null,
      workflow: req.workflow,
      lifeboatVersion: LIFEBOAT_VERSION,
    };
    hooks.onProgress?.({ phase: 'committing', rawBytes: streamed.rawBytes, storedBytes: streamed.storedBytes });
    const won = await storage.putIfAbsent(keys.manifest(req.database, req.backupId), `${JSON.stringify(manifest, null, 2)}\n`);
    if (!won) {
      // Another attempt of the same backup committed first: keep its backup, drop ours.
      await storage.delete(artifactKey).catch(() => undefined);
      committed = true;
      const winner = await readManifest(storage, req.database, req.backupId);
      if (!winner) throw new LifeboatError('MANIFEST_CONFLICT', `Backup of ${req.database} failed: manifest conflict for ${req.backupId}`);
      log.info({ backupId: req.backupId }, 'another attempt committed this backup first; discarded this attempt');
      return resultFromManifest(winner, storage);
    }
    committed = true;
    log.info({ database: req.database, backupId: req.backupId, bytes: streamed.storedBytes, rawBytes: streamed.rawBytes, sha256: streamed.sha256, durationMs: manifest.durationMs }, 'backup committed');
    return resultFromManifest(manifest, storage);
  } catch (err) {
    if (artifactKey && !committed) await storage.delete(artifactKey).catch(() => undefined);
    if (err instanceof LifeboatError) throw err;
    throw classifyPgError(err, req.database, 'Backup');
  } finally {
    await exporter.end().catch(() => undefined);
  }
}
