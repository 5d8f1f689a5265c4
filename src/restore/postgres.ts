import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { classifyPgError, connectPg, countRows, findPgTool, listTables, serverInfo, type PgConnection, type PgTool } from '../engines/postgres.js';
import type { Manifest } from '../catalog/manifest.js';
import type { PrivilegeMode, RestoreHeartbeat, TransferPhase, RestoreMode, RestoreResult, RowCountComparison, RowCountMismatch } from '../contracts/index.js';
import { checkFreeSpace, fetchArtifact } from './artifact.js';
import { parseCreateOptions, pgRestoreArgs, pgRestoreOutput, runPgRestore } from './pg-restore.js';
import { selectBackup } from './select.js';
import { connectMaintenance, databaseComment, ownerMarker, resolveTarget, type ResolvedTarget } from './target.js';
import { parseToc, selectTables, type TocEntry } from './toc.js';

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
  /** Identifies this restore in the comment of a database it creates (`<workflowId>:<runId>`). */
  owner: string;
  approvedBy?: string;
}

export interface RestoreHooks {
  signal?: AbortSignal;
  onProgress?: (p: Omit<RestoreHeartbeat, 'elapsedMs' | 'activity'>) => void;
}

async function withClient<T>(conn: PgConnection | ResolvedTarget, label: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = 'maintenance' in conn ? await connectMaintenance(conn, label) : await connectPg(conn, label);
  try {
    return await fn(client);
  } catch (err) {
    throw classifyPgError(err, label, 'Restore');
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function restoreTool(admin: pg.Client, m: Manifest, label: string, toolsDir?: string): Promise<PgTool> {
  const server = await serverInfo(admin);
  // pg_restore must read the archive (as new as the pg_dump that wrote it) and talk to the server.
  const dumpMajor = Number(/^(\d+)/.exec(m.tool.version)?.[1] ?? 0);
  try {
    return await findPgTool('pg_restore', Math.max(server.major, dumpMajor), label, toolsDir);
  } catch (err) {
    if (err instanceof LifeboatError) throw new LifeboatError(err.code, err.message.replace(/^Backup of /, 'Restore of '), { subject: label });
    throw err;
  }
}

async function createDatabase(admin: pg.Client, name: string, options: string[], marker: string, notes: string[]): Promise<void> {
  const ident = admin.escapeIdentifier(name);
  try {
    await admin.query(`create database ${ident} with template = template0 ${options.join(' ')}`);
  } catch (err) {
    const msg = (err as Error).message;
    if (options.length === 0 || !/locale|collation|encoding|ctype/i.test(msg)) throw err;
    notes.push(`created ${name} with the server's default encoding and locale: the backup's (${options.join(' ')}) failed: ${msg}`);
    await admin.query(`create database ${ident} with template = template0`);
  }
  await admin.query(`comment on database ${ident} is ${admin.escapeLiteral(marker)}`);
}

/** Leaf tables restored for `tables` (a partitioned table stands for its partitions). */
async function restoredLeaves(c: pg.Client, tables: Array<{ schema: string; name: string }>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of tables) {
    const r = await c.query<{ schema: string; name: string }>(
      `select n.nspname as schema, k.relname as name
         from pg_partition_tree(format('%I.%I', $1::text, $2::text)::regclass) p
         join pg_class k on k.oid = p.relid join pg_namespace n on n.oid = k.relnamespace
        where k.relkind = 'r'`,
      [t.schema, t.name],
    );
    if (r.rows.length === 0) out.add(`${t.schema}.${t.name}`);
    for (const row of r.rows) out.add(`${row.schema}.${row.name}`);
  }
  return out;
}

/** Compares the restored tables' row counts with the manifest's (taken in the dump's snapshot). */
export async function compareRowCounts(conn: PgConnection, m: Manifest, mode: RestoreMode, label: string, only?: Array<{ schema: string; name: string }>): Promise<RowCountComparison | null> {
  if (mode === 'schema' || !m.rowCounts) return null;
  const expected = m.rowCounts.tables;
  return withClient(conn, label, async (c) => {
    const present = new Map((await listTables(c)).map((t) => [`${t.schema}.${t.name}`, t]));
    const wanted = only ? await restoredLeaves(c, only) : new Set(Object.keys(expected));
    const mismatches: RowCountMismatch[] = [];
    let compared = 0;
    for (const key of [...wanted].sort()) {
      if (!(key in expected)) continue;
      const t = present.get(key);
      compared++;
      if (!t) {
        mismatches.push({ table: key, expected: expected[key]!, actual: null });
        continue;
      }
      const actual = (await countRows(c, [t]))[key]!;
      if (actual !== expected[key]) mismatches.push({ table: key, expected: expected[key]!, actual });
    }
    return { compared, mismatches };
  });
}

function tempBase(cfg: LifeboatConfig): string {
  const configured = cfg.restore?.tempDir;
  if (!configured) return os.tmpdir();
  return path.resolve(cfg.sourcePath ? path.dirname(cfg.sourcePath) : process.cwd(), configured);
}

const OWNER_FILE = 'owner';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary dumps of restores whose process died (a worker killed mid-restore cannot clean up). */
async function sweepStaleDumps(base: string, log: Logger): Promise<void> {
  const entries = await readdir(base).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith('lifeboat-restore-'))) {
    const dir = path.join(base, name);
    const owner = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    const [host, pid] = owner?.trim().split(' ') ?? [];
    if (host !== os.hostname() || !pid || alive(Number(pid))) continue;
    log.warn({ dir }, 'removing the temporary dump of a restore whose process is gone');
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function defaultJobs(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/**
 * Restores one committed backup into a database.
 *
 * The artifact is first downloaded into a local temporary file (it needs the backup's dumped size
 * free in `restore.tempDir`), decompressed on the way and proven intact by its SHA-256; only then
 * is the target touched, so a corrupt artifact changes nothing. A file also lets `pg_restore -j`
 * run in parallel (it refuses a pipe). A new database is created first and restored in parallel;
 * if that fails it is dropped again. An existing database is restored in one transaction
 * (`--single-transaction --clean --if-exists`, no `-j`), so a failure leaves it as it was.
 * Afterwards every restored table's row count is compared with the manifest.
 */
export async function restoreBackup(cfg: LifeboatConfig, req: RestoreRequest, log: Logger, hooks: RestoreHooks = {}): Promise<RestoreResult> {
  const label = `${req.database} into ${req.target}`;
  const started = Date.now();
  const notes: string[] = [];
  let phase: TransferPhase = 'preparing';
  let storedBytes = 0;
  let rawBytes = 0;
  let step: string | undefined;
  let items: number | undefined;
  let totalBytes: number | undefined = undefined;
  const report = () => hooks.onProgress?.({ phase, storedBytes, rawBytes, totalBytes, items, step });
  report();

  const { manifest, storage } = await selectBackup(cfg, req.database, req.backupId, req.mode);
  totalBytes = manifest.artifact.bytes;
  const target = resolveTarget(cfg, req.database, req.target, req.scratch);
  const dbName = target.conn.database;
  const marker = ownerMarker(req.scratch ? 'verify' : 'restore', req.owner);

  const tool = await withClient(target, label, async (admin) => {
    const t = await restoreTool(admin, manifest, label, target.toolsDir);
    const found = await databaseComment(admin, dbName);
    if (req.expect === 'new' && found.exists) {
      if (found.comment === marker || found.comment?.startsWith(`${marker} `)) {
        log.warn({ database: dbName }, 'dropping the half-restored database of an earlier attempt of this restore');
        await admin.query(`drop database ${admin.escapeIdentifier(dbName)} with (force)`);
      } else {
        throw new LifeboatError('TARGET_EXISTS', `Restore of ${label} refused: database ${dbName} exists now but did not when the target was checked; nothing was changed`, { subject: req.target });
      }
    }
    if (req.expect === 'existing' && !found.exists) {
      throw new LifeboatError('DATABASE_NOT_FOUND', `Restore of ${label} failed: database ${dbName} no longer exists`, { subject: req.target });
    }
    return t;
  });

  const base = tempBase(cfg);
  let dir: string | undefined;
  let created = false;
  try {
    await sweepStaleDumps(base, log);
    dir = await mkdtemp(path.join(base, 'lifeboat-restore-'));
    await chmod(dir, 0o700);
    await writeFile(path.join(dir, OWNER_FILE), `${os.hostname()} ${process.pid}\n`);
    await checkFreeSpace(dir, manifest, label);
    const file = path.join(dir, 'backup.dump');
    phase = 'downloading';
    report();
    log.info({ database: req.database, backupId: manifest.backupId, target: req.target, location: storage.describe(manifest.artifact.key) }, 'restore download started');
    const fetched = await fetchArtifact({
      storage,
      manifest,
      file,
      label,
      signal: hooks.signal,
      onProgress: (p) => {
        storedBytes = p.storedBytes;
        rawBytes = p.rawBytes;
        report();
      },
    });

    phase = 'preparing';
    report();
    const toc: TocEntry[] = parseToc(await pgRestoreOutput(tool.path, ['--list', '--verbose', file], label, hooks.signal));
    let listFile: string | undefined;
    let only: Array<{ schema: string; name: string }> | undefined;
    if (req.mode === 'tables') {
      const sel = selectTables(toc, req.tables ?? [], label, req.expect === 'new');
      listFile = path.join(dir, 'tables.list');
      await writeFile(listFile, `${sel.entries.map((e) => e.line).join('\n')}\n`, { mode: 0o600 });
      only = sel.tables;
    }
    if (req.expect === 'new') {
      const dbEntry = toc.find((e) => e.desc === 'DATABASE');
      let options: string[] = [];
      if (dbEntry) {
        const dbList = path.join(dir, 'database.list');
        await writeFile(dbList, `${dbEntry.line}\n`, { mode: 0o600 });
        options = parseCreateOptions(await pgRestoreOutput(tool.path, ['--create', '--schema-only', `--use-list=${dbList}`, '--file=-', file], label, hooks.signal));
      }
      await withClient(target, label, (admin) => createDatabase(admin, dbName, options, marker, notes));
      created = true;
    }

    phase = 'restoring';
    report();
    const strategy = req.expect === 'new' ? 'parallel' : 'atomic';
    const jobs = req.jobs ?? cfg.restore?.jobs ?? defaultJobs();
    const restoreStarted = Date.now();
    await runPgRestore({
      tool: tool.path,
      conn: target.conn,
      args: pgRestoreArgs(file, dbName, { mode: req.mode, privileges: req.privileges, strategy, jobs, listFile }),
      label,
      signal: hooks.signal,
      onProgress: (p) => {
        step = p.step;
        items = p.items;
        report();
      },
    });
    const pgRestoreMs = Date.now() - restoreStarted;
    const restoreDurationMs = Date.now() - started;
    await rm(dir, { recursive: true, force: true });
    dir = undefined;
    log.info({ database: req.database, backupId: manifest.backupId, target: req.target, restoreDurationMs, pgRestoreMs, strategy, jobs }, 'pg_restore finished');

    phase = 'counting';
    report();
    const rowCounts = await compareRowCounts(target.conn, manifest, req.mode, label, only);
    if (created) {
      await withClient(target, label, (admin) =>
        admin.query(`comment on database ${admin.escapeIdentifier(dbName)} is ${admin.escapeLiteral(`${marker} restored ${req.database} backup ${manifest.backupId}`)}`),
      );
    }
    return {
      database: req.database,
      backupId: manifest.backupId,
      backupStartedAt: manifest.startedAt,
      target: req.target,
      targetDatabase: dbName,
      mode: req.mode,
      created,
      approvedBy: req.approvedBy,
      bytes: fetched.storedBytes,
      rawBytes: fetched.rawBytes,
      downloadMs: fetched.ms,
      pgRestoreMs,
      restoreDurationMs,
      rowCounts,
      notes,
    };
  } catch (err) {
    if (created) {
      log.warn({ database: dbName, reason: (err as Error).message }, 'restore failed: dropping the database it created');
      await withClient(target, label, (admin) => admin.query(`drop database if exists ${admin.escapeIdentifier(dbName)} with (force)`)).catch((e: Error) =>
        log.error({ database: dbName, reason: e.message }, 'could not drop the database of a failed restore'),
      );
    }
    if (err instanceof LifeboatError) throw err;
    throw classifyPgError(err, label, 'Restore');
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
