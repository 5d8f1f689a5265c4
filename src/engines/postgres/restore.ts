import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import path from 'node:path';
import { execa } from 'execa';
import { LifeboatError } from '../../errors.js';
import { waitForExit } from '../../pipeline/child.js';
import { childExit, killOnAbort } from '../../pipeline/dump-chain.js';
import { TailBuffer } from '../../pipeline/process.js';
import type { PrivilegeMode, RestoreMode } from '../../contracts/index.js';
import type { RestorePlan, RestorePlanRequest, RestoreProgress, ServerInfo, StreamRestoreRequest } from '../types.js';
import { classifyToolFailure, type PgConnection, withLibpqEnv } from './connection.js';
import { adaptTarget, readCandidates, type ManagedCandidate } from './managed.js';
import { parseToc, selectTables, type TocEntry } from './toc.js';
import { findPgTool, type PgTool } from './tools.js';

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
export function pgRestoreArgs(file: string | undefined, database: string, o: PgRestoreOptions): string[] {
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
  if (file) args.push(file); // else standard input
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

/** How long a restore into an existing database waits for one lock before it fails (and rolls back). */
export const IN_PLACE_LOCK_TIMEOUT_MS = 30_000;

/** Runs `pg_restore` into `conn`'s database; the password only reaches it through a passfile. */
export async function runPgRestore(opts: {
  tool: string;
  conn: PgConnection;
  args: string[];
  label: string;
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
  /** The archive on standard input (no file argument): called with it once pg_restore runs. */
  onStdin?: (stdin: Writable) => void;
}): Promise<void> {
  const progress: RestoreProgress = { items: 0 };
  const stderr = new TailBuffer(64 * 1024);
  let partial = '';
  const exit = await withLibpqEnv(
    opts.conn,
    async (env) => {
      // In place (one transaction over an existing database): never wait behind the application's locks for ever.
      const lockTimeout = opts.args.includes('--single-transaction') ? { PGOPTIONS: `-c lock_timeout=${IN_PLACE_LOCK_TIMEOUT_MS}` } : {};
      // node:child_process, not execa: a streamed restore hands the descriptor of pg_restore's
      // stdin to the decompressor and closes Node's copy, which execa would call a premature close.
      const child = spawn(opts.tool, opts.args, {
        env: { ...env, ...lockTimeout },
        stdio: [opts.onStdin ? 'pipe' : 'ignore', 'ignore', 'pipe'],
      });
      killOnAbort(opts.signal, [child]);
      if (opts.onStdin) {
        child.stdin!.on('error', () => undefined); // EPIPE when pg_restore stops early: its exit says why
        opts.onStdin(child.stdin!);
      }
      const exited = childExit(child, 'pg_restore', stderr);
      child.stderr!.on('data', (d: Buffer) => {
        const lines = (partial + d.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          if (/^pg_restore: (processing item|finished item) /.test(l)) progress.items++;
          else if (/^pg_restore: (creating|processing data for|executing) /.test(l)) progress.step = l.slice('pg_restore: '.length, 200);
        }
        opts.onProgress?.(progress);
      });
      return exited.then((e) => ({ ...e, canceled: opts.signal?.aborted }));
    },
    'lifeboat:restore',
  );
  if (!exit.ok) {
    // Only the error lines matter in a message; the verbose progress lines would drown them.
    const errors = exit.stderr
      .split('\n')
      .filter((l) => !/^pg_restore: (processing|finished|launching|creating|executing|connecting|entering|dropping) /.test(l));
    throw restoreFailure({ ...exit, stderr: errors.join('\n') }, opts.label);
  }
}

/** `pg_restore` able to read an archive `dumpedWith` wrote (as new as that pg_dump) and to talk to `server`. */
export async function restoreTool(server: ServerInfo, dumpedWith: { version: string }, label: string, toolsDir?: string): Promise<PgTool> {
  const dumpMajor = Number(/^(\d+)/.exec(dumpedWith.version)?.[1] ?? 0);
  return findPgTool('pg_restore', Math.max(server.major, dumpMajor), label, toolsDir, 'Restore');
}

/** The dumped database's `CREATE DATABASE` options, read from the archive's DATABASE entry. */
async function archiveCreateOptions(req: RestorePlanRequest, toc: ReturnType<typeof parseToc>): Promise<string[]> {
  const entry = toc.find((e) => e.desc === 'DATABASE');
  if (!entry) return [];
  const list = path.join(req.workDir, 'database.list');
  await writeFile(list, `${entry.line}\n`, { mode: 0o600 });
  return parseCreateOptions(
    await pgRestoreOutput(req.tool.path, ['--create', '--schema-only', `--use-list=${list}`, '--file=-', req.file], req.label, req.signal),
  );
}

/** An archive dumped without a provider's managed schemas: the entries that may reference them (none in mode `data`). */
async function managedCandidates(req: RestorePlanRequest, toc: TocEntry[]): Promise<ManagedCandidate[]> {
  if (!req.dumped?.excludedSchemas?.length || req.mode === 'data') return [];
  return readCandidates(toc, req.workDir, (list) =>
    pgRestoreOutput(req.tool.path, ['--verbose', `--use-list=${list}`, '--file=-', req.file], req.label, req.signal),
  );
}

/**
 * Reads the archive's table of contents: for mode `tables`, the entries the tables need go into a
 * `-L` list file; for a new database, its encoding and locale. The plan's `run` restores in
 * parallel into a new database, or in one transaction into an existing one. An archive a preset
 * dumped without the provider's managed schemas leaves out what the target cannot take
 * (src/engines/postgres/managed.ts), with notes.
 */
export async function planRestore(req: RestorePlanRequest): Promise<RestorePlan> {
  const toc = parseToc(await pgRestoreOutput(req.tool.path, ['--list', '--verbose', req.file], req.label, req.signal));
  let entries: TocEntry[] | undefined;
  let tables: RestorePlan['tables'];
  if (req.mode === 'tables') {
    const sel = selectTables(toc, req.tables ?? [], req.label, req.into === 'new');
    entries = sel.entries;
    tables = sel.tables;
  }
  const writeList = async (omit: Set<number>) => {
    if (!entries && omit.size === 0) return undefined;
    const file = path.join(req.workDir, 'restore.list');
    await writeFile(
      file,
      `${(entries ?? toc)
        .filter((e) => !omit.has(e.id))
        .map((e) => e.line)
        .join('\n')}\n`,
      { mode: 0o600 },
    );
    return file;
  };
  const candidates = await managedCandidates(req, toc);
  const createOptions = req.into === 'new' ? await archiveCreateOptions(req, toc) : [];
  const strategy = req.into === 'new' ? 'parallel' : 'atomic';
  return {
    createOptions,
    tables,
    run: async (conn, o) => {
      const adapted = candidates.length
        ? await adaptTarget(conn, candidates, req.dumped?.excludedSchemas ?? [], req.dumped?.provider ?? 'provider', req.label)
        : { omit: new Set<number>(), notes: [] };
      const listFile = await writeList(adapted.omit);
      await runPgRestore({
        tool: req.tool.path,
        conn,
        args: pgRestoreArgs(req.file, conn.database, { mode: req.mode, privileges: o.privileges, strategy, jobs: o.jobs, listFile }),
        label: req.label,
        signal: o.signal,
        onProgress: o.onProgress,
      });
      return { notes: adapted.notes };
    },
  };
}

/** `pg_restore` of a whole archive from standard input into a new database (one job: a stream cannot be read in parallel). */
export function restoreStream(req: StreamRestoreRequest): Promise<void> {
  return runPgRestore({
    tool: req.tool.path,
    conn: req.conn as PgConnection,
    args: pgRestoreArgs(undefined, req.conn.database, { mode: 'full', privileges: req.privileges, strategy: 'parallel', jobs: 1 }),
    label: req.label,
    signal: req.signal,
    onProgress: req.onProgress,
    onStdin: req.onStdin,
  });
}
