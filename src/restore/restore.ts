import os from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { tableKey, type Connection, type Engine, type RestorePlan, type ServerSession, type TableRef, type Tool } from '../engines/index.js';
import type { Manifest } from '../catalog/manifest.js';
import type { OverwriteMode, PrivilegeMode, RestoreHeartbeat, RestoreMode, RestoreResult, RowCountComparison, RowCountMismatch } from '../contracts/index.js';
import { checkFreeSpace, fetchArtifact, type FetchProgress, type FetchResult } from './artifact.js';
import { fetchDirectory } from './fetch-directory.js';
import { selectBackup, type SelectedBackup } from './select.js';
import { checkAssertionsBeforeSwap, checkBeforeSwap, planSwap, SWAP_LOCK_TIMEOUT_MS, type SwapPlan } from './swap.js';
import { runChecksIn } from './checks.js';
import { ownerMarker, resolveTarget, type ResolvedTarget } from './target.js';
import { openWorkDir, tempBase } from './workdir.js';
import { restoreStreamed, streamable } from './streamed.js';
import { restoreDecryption, type Filter } from '../crypto/stream.js';
import { restoreBackupRoles } from './roles.js';

export interface RestoreRequest {
  /** Source database (its name in the configuration). */
  database: string;
  backupId: string;
  /** Target name as given to the restore, or a scratch database name. */
  target: string;
  /** A verification's scratch database (on `verify.server` or the source's server). */
  scratch?: boolean;
  mode: RestoreMode;
  tables?: string[];
  privileges: PrivilegeMode;
  jobs?: number;
  /**
   * What the inspection found: `new` makes the restore create the database (and refuse if it has
   * appeared since); `existing` restores into it in one transaction.
   */
  expect: 'new' | 'existing';
  /** Over an existing database (full mode): `swap` (default) or `in-place`. */
  overwrite?: OverwriteMode;
  /** Identifies this restore in the marker of a database it creates (`<workflowId>:<runId>`). */
  owner: string;
  approvedBy?: string;
  /** Restore the roles stored with the backup onto the target's server first. */
  withRoles?: boolean;
}

export interface RestoreHooks {
  signal?: AbortSignal;
  onProgress?: (p: Omit<RestoreHeartbeat, 'elapsedMs' | 'activity'>) => void;
}

type Progress = Omit<RestoreHeartbeat, 'elapsedMs' | 'activity'>;

/** Runs `fn` on a session on the target's server (never on the target database itself). */
async function withServer<T>(target: ResolvedTarget, label: string, fn: (s: ServerSession) => Promise<T>): Promise<T> {
  const s = await target.engine.openServer(target.server, target.conn.database, label);
  try {
    return await fn(s);
  } catch (err) {
    throw target.engine.classifyError(err, label, 'Restore');
  } finally {
    await s.close();
  }
}

/** Compares the restored tables' row counts with the manifest's (taken in the dump's snapshot). */
export async function compareRowCounts(
  engine: Engine,
  conn: Connection,
  m: Manifest,
  mode: RestoreMode,
  label: string,
  only?: TableRef[],
): Promise<RowCountComparison | null> {
  if (mode === 'schema' || !m.rowCounts) return null;
  const expected = m.rowCounts.tables;
  const s = await engine.openDatabase(conn, label);
  try {
    const present = new Map((await s.listTables()).map((t) => [tableKey(t), t]));
    const wanted = only ? (await s.leafTables(only)).map(tableKey) : Object.keys(expected);
    const keys = [...new Set(wanted)].filter((key) => key in expected).sort();
    const counted = await s.countRows(keys.flatMap((key) => present.get(key) ?? []));
    const mismatches: RowCountMismatch[] = [];
    for (const key of keys) {
      const actual = counted[key] ?? null;
      if (actual !== expected[key]) mismatches.push({ table: key, expected: expected[key]!, actual });
    }
    return { compared: keys.length, mismatches };
  } catch (err) {
    throw engine.classifyError(err, label, 'Restore');
  } finally {
    await s.close();
  }
}

/**
 * Before anything is downloaded: a restore tool that fits the target server and the backup,
 * and the target as the inspection saw it (a new database must still be absent; the half-restored
 * database of an earlier attempt of this very restore is dropped).
 */
async function checkTarget(target: ResolvedTarget, manifest: Manifest, req: RestoreRequest, marker: string, label: string, log: Logger): Promise<Tool> {
  const dbName = target.conn.database;
  if (manifest.engine !== target.engine.id) {
    throw new LifeboatError(
      'UNSUPPORTED',
      `Restore of ${label} refused: backup ${manifest.backupId} is a ${manifest.engine} backup and the target is ${target.engine.name}`,
      { subject: req.target },
    );
  }
  return withServer(target, label, async (server) => {
    const tool = await target.engine.restoreTool(server.server, manifest.tool, label, target.toolsDir);
    const found = await server.describe(dbName);
    if (req.expect === 'new' && found.exists) {
      if (found.marker !== marker && !found.marker?.startsWith(`${marker} `)) {
        throw new LifeboatError(
          'TARGET_EXISTS',
          `Restore of ${label} refused: database ${dbName} exists now but did not when the target was checked; nothing was changed`,
          { subject: req.target },
        );
      }
      log.warn({ database: dbName }, 'dropping the half-restored database of an earlier attempt of this restore');
      await server.drop(dbName);
    }
    if (req.expect === 'existing' && !found.exists) {
      throw new LifeboatError('DATABASE_NOT_FOUND', `Restore of ${label} failed: database ${dbName} no longer exists`, { subject: req.target });
    }
    return tool;
  });
}

function defaultJobs(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

interface Run {
  cfg: LifeboatConfig;
  req: RestoreRequest;
  selected: SelectedBackup;
  target: ResolvedTarget;
  tool: Tool;
  marker: string;
  label: string;
  log: Logger;
  hooks: RestoreHooks;
  progress: Progress;
  report: (update?: Partial<Progress>) => void;
  notes: string[];
  /** Set once the restore created the target database (a failure then drops it). */
  created: boolean;
  /** The decryptor of an encrypted backup (its identities already matched). */
  decrypt?: (signal: AbortSignal) => Filter;
}

/** Downloads and proves the artifact, reads it, creates a new target, runs the engine's restore. */
async function restoreFromArtifact(run: Run, dir: string): Promise<{ fetched: FetchResult; plan: RestorePlan; toolMs: number }> {
  const { req, target, hooks, progress, report, selected, label } = run;
  await checkFreeSpace(dir, selected.manifest, label);
  const file = path.join(dir, 'artifact');
  progress.phase = 'downloading';
  report();
  run.log.info(
    { database: req.database, backupId: selected.manifest.backupId, target: req.target, location: selected.storage.describe(selected.manifest.artifact.key) },
    'restore download started',
  );
  const fetchOpts = {
    storage: selected.storage,
    manifest: selected.manifest,
    label,
    signal: hooks.signal,
    onProgress: (p: FetchProgress) => report({ storedBytes: p.storedBytes, rawBytes: p.rawBytes }),
    decrypt: run.decrypt,
  };
  // A directory artifact becomes a dump directory, which pg_restore reads like an archive file.
  const fetched = selected.manifest.artifact.files ? await fetchDirectory({ ...fetchOpts, dir: file }) : await fetchArtifact({ ...fetchOpts, file });

  progress.phase = 'preparing';
  report();
  const plan = await target.engine.planRestore({
    tool: run.tool,
    file,
    workDir: dir,
    mode: req.mode,
    tables: req.tables,
    into: req.expect,
    target: target.conn,
    dumped: {
      kind: selected.manifest.kind,
      createOptions: selected.manifest.createOptions,
      provider: selected.manifest.provider,
      excludedSchemas: selected.manifest.excludedSchemas,
    },
    label,
    signal: hooks.signal,
  });
  run.notes.push(...(plan.notes ?? []));
  if (req.expect === 'existing' && !req.scratch) {
    // In place: the application's sessions go first, then pg_restore runs under a lock timeout.
    const ended = await withServer(target, label, async (s) => (s.endSessions ? s.endSessions(target.conn.database) : 0));
    if (ended) run.notes.push(`ended ${ended} sessions on ${target.conn.database} before restoring in place`);
  }
  if (req.expect === 'new') {
    run.notes.push(...(await withServer(target, label, (s) => s.create(target.conn.database, plan.createOptions, run.marker))));
    run.created = true;
  }

  progress.phase = 'restoring';
  report();
  const started = Date.now();
  const jobs = req.jobs ?? run.cfg.restore?.jobs ?? defaultJobs();
  const ran = await plan.run(target.conn, {
    privileges: req.privileges,
    jobs,
    signal: hooks.signal,
    onProgress: (p) => report({ step: p.step, items: p.items }),
  });
  run.notes.push(...(ran?.notes ?? []));
  const toolMs = Date.now() - started;
  run.log.info(
    { database: req.database, backupId: selected.manifest.backupId, target: req.target, tool: run.tool.name, toolMs, into: req.expect, jobs },
    'restore tool finished',
  );
  return { fetched, plan, toolMs };
}

/** After a failure: drops the database the restore created (the original error stays the one reported). */
async function dropCreated(run: Run, err: unknown): Promise<void> {
  const dbName = run.target.conn.database;
  run.log.warn({ database: dbName, reason: (err as Error).message }, 'restore failed: dropping the database it created');
  await withServer(run.target, run.label, (s) => s.drop(dbName)).catch((e: Error) =>
    run.log.error({ database: dbName, reason: e.message }, 'could not drop the database of a failed restore'),
  );
}

/** The swap this restore does, if any (asks the server whether it can rename databases). */
async function swapFor(req: RestoreRequest, target: ResolvedTarget, label: string): Promise<SwapPlan | undefined> {
  if (!planSwap(req, target, true)) return undefined;
  const canSwap = await withServer(target, label, async (s) => s.swap !== undefined);
  return planSwap(req, target, canSwap);
}

/** Row counts and `verify.checks` proven, the restored database replaces the target; the old one is kept. */
async function swapIn(run: Run, target: ResolvedTarget, swap: SwapPlan, rowCounts: RowCountComparison | null): Promise<void> {
  checkBeforeSwap(rowCounts, run.label, run.req.target);
  const checks = await runChecksIn(run.target.engine, run.target.conn, run.target.conn.database, getDatabase(run.cfg, run.req.database).verify?.checks ?? []);
  checkAssertionsBeforeSwap(checks, run.label, run.req.target);
  if (checks.length) run.notes.push(`${checks.length}/${checks.length} checks passed in the restored database before the swap`);
  const name = target.conn.database;
  const { terminated } = await withServer(target, run.label, (s) => s.swap!(name, swap.incoming, swap.keepAs, SWAP_LOCK_TIMEOUT_MS));
  run.created = false; // it is the target now: never dropped after this
  run.log.info({ database: name, keptAs: swap.keepAs, terminated }, 'restored database swapped in');
  run.notes.push(`swapped in under ${name}; the previous database is kept as ${swap.keepAs}${terminated ? ` (${terminated} sessions on it were ended)` : ''}`);
}

/**
 * Restores one committed backup into a database, with the engine of the backup.
 *
 * A whole backup into a new database streams from storage into the restore tool (no local file);
 * when its SHA-256 proves wrong at the end, the new database is dropped. Otherwise (an existing
 * database, tables mode, `-j`) the artifact is first downloaded into a local temporary file (it
 * needs the backup's dumped size free in `restore.tempDir`), decompressed on the way and proven
 * intact by its SHA-256; only then is the target touched, so a corrupt artifact changes nothing. A new database is created first
 * and restored in parallel; if that fails it is dropped again. An existing database is restored
 * in one transaction, so a failure leaves it as it was. Afterwards every restored table's row
 * count is compared with the manifest.
 */
export async function restoreBackup(cfg: LifeboatConfig, req: RestoreRequest, log: Logger, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const label = `${req.database} into ${req.target}`;
  const started = Date.now();
  const progress: Progress = { phase: 'preparing', storedBytes: 0, rawBytes: 0 };
  const report = (update: Partial<Progress> = {}) => {
    Object.assign(progress, update);
    hooks.onProgress?.({ ...progress });
  };
  report();

  const selected = await selectBackup(cfg, req.database, req.backupId, req.mode);
  const { manifest } = selected;
  progress.totalBytes = manifest.artifact.bytes;
  const target = resolveTarget(cfg, req.database, req.target, req.scratch);
  const marker = ownerMarker(req.scratch ? 'verify' : 'restore', req.owner);
  // An encrypted backup needs a matching identity: checked before the target is touched.
  const decrypt = await restoreDecryption(cfg, manifest, `Restore of ${label}`);
  const swap = await swapFor(req, target, label);
  // Restore-and-swap restores into a new database beside the target, then swaps it in.
  const into = swap ? { ...target, conn: target.engine.withDatabase(target.conn, swap.incoming) } : target;
  const intoReq: RestoreRequest = swap ? { ...req, expect: 'new' } : req;
  const tool = await checkTarget(into, manifest, intoReq, marker, label, log);
  const run: Run = { cfg, req: intoReq, selected, target: into, tool, marker, label, log, hooks, progress, report, notes: [], created: false, decrypt };

  if (req.withRoles) run.notes.push(...(await restoreBackupRoles(into, manifest, selected.storage, label)));
  let dir: string | undefined;
  try {
    const create = async (options: string[]) => {
      run.notes.push(...(await withServer(into, label, (s) => s.create(into.conn.database, options, marker))));
      run.created = true;
    };
    const streamed = streamable(run);
    if (!streamed) dir = await openWorkDir(tempBase(cfg), log);
    const { fetched, plan, toolMs } = streamed ? await restoreStreamed(run, create) : await restoreFromArtifact(run, dir!);
    const restoreDurationMs = Date.now() - started;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;

    progress.phase = 'counting';
    report();
    const rowCounts = await compareRowCounts(into.engine, into.conn, manifest, req.mode, label, plan.tables);
    if (run.created) await withServer(into, label, (s) => s.mark(into.conn.database, `${marker} restored ${req.database} backup ${manifest.backupId}`));
    if (swap) await swapIn(run, target, swap, rowCounts);
    return {
      database: req.database,
      backupId: manifest.backupId,
      backupStartedAt: manifest.startedAt,
      target: req.target,
      targetDatabase: target.conn.database,
      mode: req.mode,
      created: !swap && run.created,
      ...(swap ? { keptAs: swap.keepAs } : {}),
      approvedBy: req.approvedBy,
      bytes: fetched.storedBytes,
      rawBytes: fetched.rawBytes,
      downloadMs: fetched.ms,
      pgRestoreMs: toolMs,
      restoreTool: run.tool.name,
      restoreDurationMs,
      rowCounts,
      notes: run.notes,
    };
  } catch (err) {
    if (run.created) await dropCreated(run, err);
    throw target.engine.classifyError(err, label, 'Restore');
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
