// A PostgreSQL server process over a restored data directory: started with `pg_ctl` as the
// `postgres` OS user when the worker runs as root (PostgreSQL refuses to run as root), on
// 127.0.0.1 and a free port, its socket in the data directory.
import { execa } from 'execa';
import { chown, readdir, readFile, stat } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { LifeboatError } from '../errors.js';

export interface OsUser {
  uid: number;
  gid: number;
}

/** The `postgres` OS user when running as root; undefined otherwise (the server runs as us). */
export async function serverOsUser(): Promise<OsUser | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  try {
    const [u, g] = await Promise.all([execa('id', ['-u', 'postgres']), execa('id', ['-g', 'postgres'])]);
    return { uid: Number(u.stdout), gid: Number(g.stdout) };
  } catch {
    throw new LifeboatError('CONFIG_INVALID', "Recovery server refused: the worker runs as root and there is no 'postgres' OS user to run PostgreSQL as");
  }
}

/** Gives `dir` and everything under it to `user` (after extracting as root). */
export async function chownTree(dir: string, user: OsUser): Promise<void> {
  await chown(dir, user.uid, user.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(p, user);
    else if (!entry.isSymbolicLink()) await chown(p, user.uid, user.gid);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function runAs(user: OsUser | undefined) {
  return user ? { uid: user.uid, gid: user.gid } : {};
}

export async function tailLog(logFile: string, lines = 15): Promise<string> {
  try {
    return (await readFile(logFile, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** Starts the server and waits until it accepts connections (recovery runs on). */
export async function startServer(opts: { binDir: string; dataDir: string; logFile: string; user?: OsUser; timeoutMs: number; what: string }): Promise<void> {
  const r = await execa(
    path.join(opts.binDir, 'pg_ctl'),
    ['start', '-D', opts.dataDir, '-l', opts.logFile, '-w', '-t', String(Math.ceil(opts.timeoutMs / 1000))],
    {
      ...runAs(opts.user),
      cwd: path.dirname(opts.dataDir),
      reject: false,
      timeout: opts.timeoutMs + 10_000,
      env: { LC_ALL: 'C', LANG: 'C' },
    },
  );
  if (r.exitCode !== 0) {
    throw new LifeboatError('RESTORE_FAILED', `${opts.what} failed: the recovered server did not start: ${await tailLog(opts.logFile)}`, {
      subject: opts.dataDir,
    });
  }
}

/** Stops the server (fast shutdown) if it runs; never throws. */
export async function stopServer(binDir: string, dataDir: string, user?: OsUser): Promise<void> {
  const running = await stat(path.join(dataDir, 'postmaster.pid')).then(
    () => true,
    () => false,
  );
  if (!running) return;
  await execa(path.join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30'], {
    ...runAs(user),
    cwd: path.dirname(dataDir),
    reject: false,
    timeout: 40_000,
  });
}

/** The postmaster's pid from `postmaster.pid`, or undefined. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
