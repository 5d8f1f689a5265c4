import { execa } from 'execa';
import { LifeboatError } from '../errors.js';
import { classifyToolFailure, type PgConnection, withLibpqEnv } from '../engines/postgres.js';
import { waitForExit } from '../pipeline/backup-stream.js';
import { TailBuffer } from '../pipeline/process.js';
import type { PrivilegeMode, RestoreMode } from '../contracts/index.js';

/** pg_restore's connection string argument: a conninfo `dbname='...'`, never a URL (no password). */
export function dbnameArg(database: string): string {
  return `--dbname=dbname='${database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface PgRestoreOptions {
  mode: RestoreMode;
  privileges: PrivilegeMode;
  /**
   * `parallel`: into a database this restore created (on failure it is dropped), with `-j`.
   * `atomic`: into an existing database, in one transaction, replacing the archive's objects
   * (`--clean --if-exists`), so a failure leaves the database as it was.
   */
  strategy: 'parallel' | 'atomic';
  jobs: number;
  /** A `-L` list file (tables mode). */
  listFile?: string;
}

/** The `pg_restore` arguments for a restore (the connection goes through the environment). */
export function pgRestoreArgs(file: string, database: string, o: PgRestoreOptions): string[] {
  const args = ['--exit-on-error', '--no-password', '--verbose', dbnameArg(database)];
  if (o.privileges === 'skip') args.push('--no-owner', '--no-acl');
  if (o.mode === 'schema') args.push('--schema-only');
  if (o.mode === 'data') args.push('--data-only');
  if (o.listFile) args.push(`--use-list=${o.listFile}`);
  if (o.strategy === 'atomic') {
    args.push('--single-transaction');
    if (o.mode !== 'data') args.push('--clean', '--if-exists');
  } else if (o.jobs > 1) {
    args.push(`--jobs=${o.jobs}`);
  }
  args.push(file);
  return args;
}

/** Runs `pg_restore` (no database connection) and returns its standard output. */
export async function pgRestoreOutput(tool: string, args: string[], database: string, signal?: AbortSignal): Promise<string> {
  const stderr = new TailBuffer();
  const child = execa(tool, args, {
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    cancelSignal: signal,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    maxBuffer: 512 * 1024 * 1024,
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  const exit = await waitForExit(child, 'pg_restore', stderr);
  if (!exit.ok) throw restoreFailure(exit, database);
  return (await child).stdout as string;
}

/** The `CREATE DATABASE` options of the dumped database (encoding and locale), from the archive. */
export function parseCreateOptions(sql: string): string[] {
  const m = /^CREATE DATABASE .*? WITH (.*);$/m.exec(sql);
  if (!m) return [];
  const out: string[] = [];
  const re = /\b(ENCODING|LOCALE_PROVIDER|LOCALE|LC_COLLATE|LC_CTYPE|ICU_LOCALE|ICU_RULES)\s*=\s*('(?:[^']|'')*'|[A-Za-z_]+)/g;
  for (let opt = re.exec(m[1]!); opt; opt = re.exec(m[1]!)) out.push(`${opt[1]} = ${opt[2]}`);
  return out;
}

function restoreFailure(exit: Awaited<ReturnType<typeof waitForExit>>, label: string): LifeboatError {
  if (exit.canceled) return new LifeboatError('CANCELLED', `Restore of ${label} cancelled: pg_restore was stopped`, { subject: label });
  const e = classifyToolFailure(exit, label, 'Restore');
  if (e.code !== 'DUMP_FAILED') return e;
  if (/could not connect|connection to server .* failed|server closed the connection|terminating connection|Connection refused/i.test(exit.stderr)) {
    return new LifeboatError('CONNECTION_FAILED', e.message, { subject: label });
  }
  return new LifeboatError('RESTORE_FAILED', e.message, { subject: label });
}

export interface PgRestoreProgress {
  /** Archive items processed so far. */
  items: number;
  /** The last step pg_restore reported. */
  step?: string;
}

/** Runs `pg_restore` into `conn`'s database; the password only reaches it through a passfile. */
export async function runPgRestore(opts: {
  tool: string;
  conn: PgConnection;
  args: string[];
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: PgRestoreProgress) => void;
}): Promise<void> {
  const progress: PgRestoreProgress = { items: 0 };
  const stderr = new TailBuffer(64 * 1024);
  let partial = '';
  const exit = await withLibpqEnv(opts.conn, async (env) => {
    const child = execa(opts.tool, opts.args, {
      env: { ...env, PGAPPNAME: 'lifeboat:restore' },
      extendEnv: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
      buffer: false,
      cancelSignal: opts.signal,
      forceKillAfterDelay: 5000,
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr.push(d);
      const lines = (partial + d.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (/^pg_restore: (processing item|finished item) /.test(l)) progress.items++;
        else if (/^pg_restore: (creating|processing data for|executing) /.test(l)) progress.step = l.slice('pg_restore: '.length, 200);
      }
      opts.onProgress?.(progress);
    });
    return waitForExit(child, 'pg_restore', stderr);
  });
  if (!exit.ok) {
    // Only the error lines matter in a message; the verbose progress lines would drown them.
    const errors = exit.stderr.split('\n').filter((l) => !/^pg_restore: (processing|finished|launching|creating|executing|connecting|entering|dropping) /.test(l));
    throw restoreFailure({ ...exit, stderr: errors.join('\n') }, opts.label);
  }
}
