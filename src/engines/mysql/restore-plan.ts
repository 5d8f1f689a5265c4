// Restores a MySQL SQL artifact behind the engine interface: the decompressed file passes through
// the restore filter (target database, tables, schema or data only) into the `mariadb`/`mysql`
// client, which stops at the first failing statement.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { LifeboatError } from '../../errors.js';
import { startChild } from '../../pipeline/child.js';
import type { Connection, RestorePlan, RestorePlanRequest, RestoreProgress, RestoreRun, ServerInfo, Tool } from '../types.js';
import { toMysql, mysqlServer } from './adapter.js';
import { classifyToolExit, connectMysql } from './client.js';
import { optionValue, writeOptionFile } from './option-file.js';
import { reinstateTriggers, restoreArgs, suspendTriggers, type SuspendedTrigger } from './restore.js';
import { RestoreFilter } from './restore-filter.js';
import { findMysqlTool } from './tools.js';
import type { MysqlTool } from './types.js';

/** The client of the target server's flavour, not older than its series. */
export async function restoreTool(server: ServerInfo, _dumpedWith: { name: string; version: string }, label: string, toolsDir?: string): Promise<Tool> {
  return findMysqlTool('client', mysqlServer(server), label, 'Restore', toolsDir);
}

/** The dumped database's name, from the dump's header (`-- Host: h    Database: shop`). */
export async function dumpedDatabase(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return /^-- Host: .*?\s+Database: (.+)$/m.exec(buf.subarray(0, bytesRead).toString('utf8'))?.[1]?.trim() ?? '';
  } finally {
    await fh.close();
  }
}

interface Plan {
  req: RestorePlanRequest;
  source: string;
  content: 'all' | 'schema' | 'data';
  tables?: string[];
}

/** Pipes the artifact through the filter into the client; the client's exit decides. */
async function runClient(p: Plan, conn: Connection, o: RestoreRun): Promise<void> {
  const { req } = p;
  const my = toMysql(conn);
  const tool = req.tool as MysqlTool;
  const init = my.preset.dumpInitCommand ? [`loose-init-command=${optionValue(my.preset.dumpInitCommand)}`] : [];
  const file = await writeOptionFile(my, tool.flavour ?? (tool.name.startsWith('mariadb') ? 'mariadb' : 'mysql'), { group: 'mysql', lines: init });
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const progress: RestoreProgress = { items: 0 };
  try {
    const filter = new RestoreFilter({
      sourceDatabase: p.source,
      targetDatabase: my.database,
      tables: p.tables,
      content: p.content,
      subject: req.label,
      onSection: (header) => {
        progress.items++;
        progress.step = header.slice(0, 200);
        o.onProgress?.(progress);
      },
    });
    const child = startChild({ tool: tool.path, args: restoreArgs(file.file, my.database), env: file.env }, ac.signal);
    child.output.resume();
    const fed = pipeline(createReadStream(req.file), filter, child.input).catch((err: NodeJS.ErrnoException) => err);
    const exit = await child.exit;
    const fedErr = await fed;
    if (o.signal?.aborted) throw new LifeboatError('CANCELLED', `Restore of ${req.label} cancelled: ${tool.name} was stopped`, { subject: req.label });
    if (fedErr instanceof LifeboatError) throw fedErr;
    if (!exit.ok) throw classifyToolExit(exit, req.label, 'Restore', 'RESTORE_FAILED');
    if (fedErr && fedErr.code !== 'EPIPE') throw fedErr;
    if (p.tables) {
      const missing = p.tables.filter((t) => !filter.seen.has(t));
      if (missing.length)
        throw new LifeboatError('RESTORE_FAILED', `Restore of ${req.label} failed: not in the backup: ${missing.join(', ')}`, { subject: req.label });
    }
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    ac.abort();
    await file.remove();
  }
}

/** Rows into an existing database: its triggers are suspended meanwhile (MySQL cannot disable them), then recreated. */
async function withTriggersSuspended(conn: Connection, label: string, fn: () => Promise<void>): Promise<void> {
  const my = toMysql(conn);
  const c = await connectMysql(my, label);
  let suspended: SuspendedTrigger[] = [];
  try {
    suspended = await suspendTriggers(c, my.database);
    await fn();
  } finally {
    if (suspended.length) await reinstateTriggers(c, my.database, suspended);
    await c.end().catch(() => c.destroy());
  }
}

/**
 * What a restore of the SQL artifact does: mode `schema` leaves out the rows, `data` keeps only the
 * rows (one transaction, triggers suspended), `tables` keeps those tables' sections. A new database
 * is created with the character set the manifest recorded.
 */
export async function planRestore(req: RestorePlanRequest): Promise<RestorePlan> {
  const source = await dumpedDatabase(req.file);
  const content = req.mode === 'schema' ? 'schema' : req.mode === 'data' ? 'data' : 'all';
  // Tables are named as in the manifest (`Track`); `<database>.Track` is accepted too.
  const tables = req.mode === 'tables' ? (req.tables ?? []).map((t) => (source && t.startsWith(`${source}.`) ? t.slice(source.length + 1) : t)) : undefined;
  const plan: Plan = { req, source, content, tables };
  return {
    createOptions: req.dumped?.createOptions ?? [],
    notes: req.target ? toMysql(req.target).preset.restoreNotes : [],
    tables: tables?.map((name) => ({ schema: '', name })),
    run: (conn, o) =>
      content === 'data' && req.into === 'existing' ? withTriggersSuspended(conn, req.label, () => runClient(plan, conn, o)) : runClient(plan, conn, o),
  };
}
