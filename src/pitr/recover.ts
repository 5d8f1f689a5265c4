// Point-in-time recovery: the newest base backup before the target, unpacked into a new data
// directory, `recovery.signal` and `restore_command = lifeboat wal-fetch`, the recovery target
// and `recovery_target_action = promote`, then a new server process on a free port.
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { connectPg } from '../engines/postgres/connection.js';
import { LifeboatError } from '../errors.js';
import { tempBase } from '../restore/workdir.js';
import { openStorage, type Storage } from '../storage/index.js';
import { sourceConnection } from './base-backup.js';
import { baseBackupFor, listBaseBackups, type BaseManifest } from './base-manifest.js';
import { extractBaseBackup } from './extract.js';
import { readRestorePoint } from './restore-point.js';
import { chownTree, freePort, serverOsUser, startServer, stopServer, tailLog, type OsUser } from './server.js';
import { findServerBinDir } from './tools.js';
import { parseLsn } from './wal-names.js';

/** Where recovery stops: a time, an LSN or a named restore point; none = the end of the archive. */
export interface RecoveryTarget {
  time?: string;
  lsn?: string;
  name?: string;
}

export interface RecoveredServer {
  database: string;
  backupId: string;
  host: string;
  port: number;
  dataDir: string;
  binDir: string;
  logFile: string;
  /** The commit time of the last transaction replayed (null when none was). */
  recoveredTo: string | null;
  replayedLsn: string;
  /** WAL bytes replayed from the base backup's start LSN. */
  walReplayedBytes: number;
  segmentsRestored: number;
  /** From the start of the restore until the promoted server accepted writes. */
  durationMs: number;
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
const conf = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** `node …/bin/lifeboat.js` of this installation (`LIFEBOAT_BIN` overrides it). */
export function lifeboatCommand(): string {
  if (process.env.LIFEBOAT_BIN) return process.env.LIFEBOAT_BIN;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'bin', 'lifeboat.js'))) {
    const up = path.dirname(dir);
    if (up === dir) return 'lifeboat';
    dir = up;
  }
  return `${shq(process.execPath)} ${shq(path.join(dir, 'bin', 'lifeboat.js'))}`;
}

/** The `restore_command` of a recovery of `database`: `lifeboat --config FILE wal-fetch --db NAME %f %p`. */
export function restoreCommand(cfg: LifeboatConfig, database: string): string {
  if (!cfg.sourcePath) throw new LifeboatError('CONFIG_INVALID', `Recovery of ${database} refused: restore_command needs the configuration as a file`);
  return `${lifeboatCommand()} --config ${shq(cfg.sourcePath)} wal-fetch --db ${shq(database)} "%f" "%p"`;
}

async function chooseBase(storage: Storage, database: string, target: RecoveryTarget, backupId?: string): Promise<BaseManifest> {
  const all = await listBaseBackups(storage, database);
  let pick: BaseManifest | undefined;
  if (backupId) pick = all.find((b) => b.backupId === backupId);
  else if (target.time) pick = baseBackupFor(all, target.time);
  else {
    const lsn = target.lsn ?? (target.name ? (await readRestorePoint(storage, database, target.name)).lsn : undefined);
    pick = lsn === undefined ? all[0] : all.find((b) => parseLsn(b.stopLsn) <= parseLsn(lsn));
  }
  if (pick) return pick;
  const wanted = backupId ? `base backup ${backupId}` : target.time ? `base backup consistent before ${target.time}` : 'base backup before the target';
  throw new LifeboatError('BACKUP_NOT_FOUND', `Recovery of ${database} failed: found no ${wanted} (${all.length} base backups)`, { subject: database });
}

/** `2026-12-03T14:40:15.743Z` -> `2026-12-03 14:40:15.743+00` (what recovery_target_time parses). */
export function pgTimestamp(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new LifeboatError('INVALID_INPUT', `Recovery refused: "${iso}" is not an ISO time`);
  return new Date(t).toISOString().replace('T', ' ').replace('Z', '+00');
}

function recoverySettings(cfg: LifeboatConfig, database: string, target: RecoveryTarget, port: number, dataDir: string): string {
  const lines: Array<[string, string]> = [
    ['restore_command', restoreCommand(cfg, database)],
    ['recovery_target_timeline', 'latest'],
    ['archive_mode', 'off'],
    ['port', String(port)],
    ['listen_addresses', '127.0.0.1'],
    ['unix_socket_directories', dataDir],
    ['hot_standby', 'on'],
  ];
  if (target.time) lines.push(['recovery_target_time', pgTimestamp(target.time)]);
  if (target.lsn) lines.push(['recovery_target_lsn', target.lsn]);
  if (target.name) lines.push(['recovery_target_name', target.name]);
  if (target.time || target.lsn || target.name) lines.push(['recovery_target_action', 'promote']);
  return `\n# point-in-time recovery by lifeboat\n${lines.map(([k, v]) => `${k} = ${conf(v)}`).join('\n')}\n`;
}

/** Makes an unpacked base backup startable: pg_wal, the config files a Debian layout keeps elsewhere, recovery.signal. */
async function prepareDataDir(dataDir: string, settings: string, user?: OsUser): Promise<void> {
  await mkdir(path.join(dataDir, 'pg_wal', 'archive_status'), { recursive: true });
  if (!existsSync(path.join(dataDir, 'postgresql.conf'))) await writeFile(path.join(dataDir, 'postgresql.conf'), '');
  if (!existsSync(path.join(dataDir, 'pg_hba.conf'))) {
    await writeFile(path.join(dataDir, 'pg_hba.conf'), 'local all all peer\nhost all all 127.0.0.1/32 scram-sha-256\n');
  }
  await rm(path.join(dataDir, 'standby.signal'), { force: true });
  await writeFile(path.join(dataDir, 'recovery.signal'), '');
  await appendFile(path.join(dataDir, 'postgresql.auto.conf'), settings);
  await chmod(dataDir, 0o700);
  if (user) await chownTree(path.dirname(dataDir), user);
}

export interface RecoverOptions {
  backupId?: string;
  signal?: AbortSignal;
  onPhase?: (phase: string, storedBytes?: number) => void;
  timeoutMs?: number;
}

/** Recovers `database` to `target` into a new server; the caller stops it with {@link stopRecovered}. */
export async function recoverToPoint(cfg: LifeboatConfig, database: string, target: RecoveryTarget, opts: RecoverOptions = {}): Promise<RecoveredServer> {
  const started = Date.now();
  const what = `Recovery of ${database}`;
  const storage = openStorage(cfg, databaseStorageNames(cfg, database)[0]!);
  const base = await chooseBase(storage, database, target, opts.backupId);
  const binDir = await findServerBinDir(Number(base.server.version.split('.')[0]), database, getDatabase(cfg, database).toolsDir);
  const user = await serverOsUser();
  const work = await mkdtemp(path.join(tempBase(cfg), 'lifeboat-pitr-'));
  await chmod(work, 0o755);
  const dataDir = path.join(work, 'data');
  const logFile = path.join(work, 'server.log');
  const port = await freePort();
  try {
    await mkdir(dataDir, { mode: 0o700 });
    opts.onPhase?.('unpacking');
    await extractBaseBackup({
      cfg,
      storage,
      manifest: base,
      dataDir,
      what,
      signal: opts.signal ?? new AbortController().signal,
      onBytes: (b) => opts.onPhase?.('unpacking', b),
    });
    await prepareDataDir(dataDir, recoverySettings(cfg, database, target, port, dataDir), user);
    opts.onPhase?.('replaying');
    await startServer({ binDir, dataDir, logFile, user, timeoutMs: opts.timeoutMs ?? 3_600_000, what });
    const facts = await awaitPromotion(cfg, database, port, base, logFile, opts.timeoutMs ?? 3_600_000);
    const log = await readFile(logFile, 'utf8').catch(() => '');
    const segmentsRestored = (log.match(/restored log file/g) ?? []).length;
    return {
      database,
      backupId: base.backupId,
      host: '127.0.0.1',
      port,
      dataDir,
      binDir,
      logFile,
      ...facts,
      segmentsRestored,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    await stopServer(binDir, dataDir, user);
    await rm(work, { recursive: true, force: true });
    throw err;
  }
}

async function awaitPromotion(cfg: LifeboatConfig, database: string, port: number, base: BaseManifest, logFile: string, timeoutMs: number) {
  const conn = { ...sourceConnection(cfg, database), host: '127.0.0.1', port, database: 'postgres', sslmode: 'disable' };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = await connectPg(conn, `${database} (recovered)`).catch(() => undefined);
    if (client) {
      try {
        const r = await client.query<{ rec: boolean; at: Date | null; lsn: string; bytes: string }>(
          `select pg_is_in_recovery() as rec, pg_last_xact_replay_timestamp() as at, pg_last_wal_replay_lsn()::text as lsn,
                  pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn)::bigint::text as bytes`,
          [base.startLsn],
        );
        const row = r.rows[0]!;
        if (!row.rec) return { recoveredTo: row.at ? new Date(row.at).toISOString() : null, replayedLsn: row.lsn, walReplayedBytes: Number(row.bytes) };
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    const log = await tailLog(logFile, 8);
    if (/FATAL|PANIC/.test(log) && !client) throw new LifeboatError('RESTORE_FAILED', `Recovery of ${database} failed: ${log}`, { subject: database });
    if (Date.now() > deadline)
      throw new LifeboatError('RESTORE_FAILED', `Recovery of ${database} failed: not promoted within ${Math.round(timeoutMs / 1000)} s: ${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops a recovered server and removes its data directory. */
export async function stopRecovered(server: Pick<RecoveredServer, 'binDir' | 'dataDir'>): Promise<void> {
  await stopServer(server.binDir, server.dataDir, await serverOsUser());
  await rm(path.dirname(server.dataDir), { recursive: true, force: true });
}
