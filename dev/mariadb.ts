/**
 * A throw-away MariaDB server for tests and the demo, like `startEphemeralPostgres`:
 * `mariadb-install-db` + `mariadbd` in a new temporary directory (data, socket, logs), listening on
 * a free loopback port, with a password-protected admin user. When running as root the server runs
 * as the `mysql` OS user (via `runuser`), or `nobody` where there is none. The binary log is on, so dumps can record positions.
 * `stop()` shuts the server down (SIGTERM to its process group, SIGKILL after 10 s) and removes
 * the directory; the shared service registry of dev/services.ts stops it at exit too.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { findFreePort, makeTempDir, manageGroup, rmrfSync, runCapture, spawnDetached, tcpAccepts, waitReady, type ManagedService } from './services.js';

export interface MariadbServer extends ManagedService {
  host: string;
  port: number;
  /** Admin user with every privilege (connects over TCP with {@link password}). */
  user: string;
  password: string;
  /** The server's Unix socket (root connects there without a password). */
  socket: string;
  dataDir: string;
  logFile: string;
  /** Server version, e.g. `10.11.6-MariaDB`. */
  version: string;
  /** `mariadb://user:pw@127.0.0.1:port/db` (password URL-encoded). */
  url(database?: string): string;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/local/mysql/bin'];

function findBinary(names: string[]): string | undefined {
  const dirs = [process.env.LIFEBOAT_MARIADB_BINDIR, ...SEARCH_DIRS, ...(process.env.PATH ?? '').split(path.delimiter)].filter((d): d is string => !!d);
  for (const dir of dirs) {
    for (const name of names) {
      const file = path.join(dir, name);
      try {
        fs.accessSync(file, fs.constants.X_OK);
        return file;
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

/** Paths of `mariadbd` and `mariadb-install-db`, or the reason they cannot be used. */
export function mariadbServerBinaries(): { server: string; installDb: string } | { missing: string } {
  const server = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (server && installDb) return { server, installDb };
  return {
    missing:
      'MariaDB server binaries not found: need mariadbd and mariadb-install-db (Debian: apt-get install mariadb-server-core; or set LIFEBOAT_MARIADB_BINDIR)',
  };
}

async function osUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const [u, g] = await Promise.all([runCapture('id', ['-u', name], { timeoutMs: 10_000 }), runCapture('id', ['-g', name], { timeoutMs: 10_000 })]);
  const uid = Number(u.output);
  const gid = Number(g.output);
  return u.code === 0 && g.code === 0 && Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
}

/** Every path is given explicitly and no option file is read (`--no-defaults`). */
function serverArgs(dataDir: string, socket: string, port: number, baseDir: string): string[] {
  return [
    '--no-defaults',
    `--datadir=${dataDir}`,
    `--socket=${socket}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--pid-file=${path.join(baseDir, 'mariadbd.pid')}`,
    `--log-error=${path.join(baseDir, 'error.log')}`,
    `--tmpdir=${baseDir}`,
    `--log-bin=${path.join(baseDir, 'binlog')}`,
    '--server-id=1',
    '--skip-name-resolve',
    '--innodb-buffer-pool-size=64M',
    '--innodb-flush-log-at-trx-commit=0',
    '--sync-binlog=0',
    '--performance-schema=OFF',
    '--event-scheduler=OFF',
    '--max-connections=60',
    '--max-allowed-packet=64M',
  ];
}

async function createAdmin(socket: string, user: string, password: string): Promise<string> {
  const c = await mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: false });
  try {
    for (const host of ['127.0.0.1', 'localhost']) {
      await c.query(`CREATE USER ?@? IDENTIFIED BY ?`, [user, host, password]);
      await c.query(`GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION`, [user, host]);
    }
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    return String(rows[0]!.v);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/**
 * Initialises a fresh data directory and starts `mariadbd` on 127.0.0.1 (a free port unless
 * given). Resolves once the admin user exists and TCP logins work.
 */
export async function startEphemeralMariadb(opts: { port?: number; password?: string; startTimeoutMs?: number } = {}): Promise<MariadbServer> {
  const what = 'MariaDB';
  const bins = mariadbServerBinaries();
  if ('missing' in bins) throw new Error(`${what} failed to start: ${bins.missing}`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // The server refuses to run as root: as the `mysql` user (created by Debian's mariadb-server), else `nobody`.
  const osName = isRoot ? ((await osUser('mysql')) ? 'mysql' : 'nobody') : undefined;
  const runAs = osName ? await osUser(osName) : undefined;
  if (isRoot && !runAs) throw new Error(`${what} failed to start: it cannot run as root and there is no 'mysql' OS user to run it as (useradd -r mysql)`);
  const port = opts.port ?? (await findFreePort());
  const password = opts.password ?? randomBytes(16).toString('hex');
  const user = 'lifeboat_admin';
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const baseDir = makeTempDir('lifeboat-mariadb-');
  const dataDir = path.join(baseDir, 'data');
  const socket = path.join(baseDir, 'mariadbd.sock');
  const logFile = path.join(baseDir, 'error.log');
  const asUser = (cmd: string, args: string[]): [string, string[]] => (runAs ? ['runuser', ['-u', osName!, '--', cmd, ...args]] : [cmd, args]);
  let stop: (() => Promise<void>) | undefined;
  try {
    fs.chmodSync(baseDir, 0o700);
    if (runAs) fs.chownSync(baseDir, runAs.uid, runAs.gid);
    const init = await runCapture(
      ...asUser(bins.installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve']),
      { cwd: baseDir, timeoutMs },
    );
    if (init.code !== 0)
      throw new Error(`${what} failed to start: mariadb-install-db exited with code ${init.code ?? '?'}: ${init.output.split('\n').slice(-15).join('\n')}`);
    const proc = spawnDetached(...asUser(bins.server, serverArgs(dataDir, socket, port, baseDir)), path.join(baseDir, 'stdout.log'), { cwd: baseDir });
    if (proc.pid <= 0) throw new Error(`${what} failed to start: ${bins.server} could not be spawned`);
    const entry = manageGroup(what, proc.pid, [baseDir]);
    stop = () => entry.stop();
    await waitReady(what, timeoutMs, async () => fs.existsSync(socket) && (await tcpAccepts('127.0.0.1', port)), proc.exitReason, logFile);
    const version = await createAdmin(socket, user, password);
    return {
      name: what,
      pid: proc.pid,
      host: '127.0.0.1',
      port,
      user,
      password,
      socket,
      dataDir,
      logFile,
      version,
      url: (database = '') => `mariadb://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
      stop: () => entry.stop(),
    };
  } catch (err) {
    if (stop) await stop().catch(() => undefined);
    else rmrfSync(baseDir);
    const message = err instanceof Error ? err.message : String(err);
    throw message.startsWith(`${what} failed`) ? err : new Error(`${what} failed to start: ${message}`);
  }
}
