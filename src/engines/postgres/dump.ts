import type pg from 'pg';
import type { BackupKind } from '../../contracts/index.js';
import type { Logger } from '../../logger.js';
import type { DumpRequest, PreparedDump } from '../types.js';
import { countRows, createOptions, listTables, serverInfo } from './catalog.js';
import { classifyPgError, classifyToolFailure, connectPg, libpqEnv, type LibpqEnv, type PgConnection } from './connection.js';
import { findPgTool } from './tools.js';

/**
 * The `pg_dump` arguments of a backup kind (the connection and password go through the
 * environment). With `directoryJobs`, a directory dump in parallel; the caller appends `--file=`.
 */
export function pgDumpArgs(kind: BackupKind, snapshot?: string, excludeSchemas: string[] = [], directoryJobs?: number): string[] {
  const format = directoryJobs ? ['--format=directory', `--jobs=${directoryJobs}`, '--no-sync'] : ['--format=custom'];
  const args = [...format, '--compress=0', '--no-password', '--lock-wait-timeout=300000'];
  if (snapshot) args.push(`--snapshot=${snapshot}`);
  for (const s of excludeSchemas) args.push(`--exclude-schema=${s}`);
  if (kind === 'schema') args.push('--schema-only');
  if (kind === 'data') args.push('--data-only');
  return args;
}

/**
 * Opens a `REPEATABLE READ` transaction and exports its snapshot for `pg_dump --snapshot`.
 * Where that is impossible (transaction poolers, standbys of old versions) the transaction stays
 * open without an exported snapshot and row counts describe a separate snapshot.
 */
async function openSnapshot(client: pg.Client, label: string, log: Logger): Promise<string | undefined> {
  await client.query(`set statement_timeout = 0; set idle_in_transaction_session_timeout = 0`);
  await client.query('begin isolation level repeatable read read only');
  try {
    return (await client.query<{ s: string }>('select pg_export_snapshot() as s')).rows[0]!.s;
  } catch (err) {
    log.warn({ database: label, reason: (err as Error).message }, 'cannot export a snapshot; row counts are taken in a separate snapshot');
    await client.query('rollback');
    await client.query('begin isolation level repeatable read read only');
    return undefined;
  }
}

/**
 * Prepares `pg_dump -Fc` of `conn`'s database: probes the server (version, size), picks a
 * `pg_dump` at least as new as the server (TOOL_TOO_OLD otherwise), exports the snapshot the dump
 * reads and writes the passfile. Row counts are taken in that snapshot while the dump runs.
 */
export async function prepareDump(conn: PgConnection, req: DumpRequest, log: Logger): Promise<PreparedDump> {
  const exporter = await connectPg(conn, req.label);
  let env: LibpqEnv | undefined;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await exporter.end().catch(() => undefined);
    await env?.dispose();
  };
  try {
    const server = await serverInfo(exporter);
    const tool = await findPgTool('pg_dump', server.major, req.label, req.toolsDir);
    const options = await createOptions(exporter);
    const snapshot = await openSnapshot(exporter, req.label, log);
    const wantCounts = req.rowCounts && req.kind !== 'schema';
    const tables = wantCounts ? await listTables(exporter, conn.preset.excludeSchemas) : [];
    env = await libpqEnv(conn, req.session);
    let counting: Promise<Record<string, number>> | undefined;
    const count = () => {
      // One core at most: parallel workers would take CPU from the dump the counts run beside.
      counting ??= exporter.query('set local max_parallel_workers_per_gather = 0').then(() => countRows(exporter, tables));
      counting.catch(() => undefined); // awaited by finish()
      return counting;
    };
    const jobs = req.kind === 'schema' ? undefined : req.directoryJobs;
    return {
      command: { tool: 'pg_dump', file: tool.path, args: pgDumpArgs(req.kind, snapshot, conn.preset.excludeSchemas, jobs), env: env.env },
      format: jobs ? 'pg_dump-directory' : 'pg_dump-custom',
      extension: jobs ? '.dir' : '.dump',
      ...(jobs ? { directory: { jobs } } : {}),
      createOptions: options,
      tool,
      server,
      classifyFailure: (exit) => classifyToolFailure(exit, req.label, 'Backup'),
      started: () => {
        if (wantCounts) void count(); // awaited by finish(); its rejection is handled there
      },
      finish: async () => {
        const rowCounts = wantCounts
          ? await count().catch((err: unknown) => {
              throw classifyPgError(err, req.label, 'Row count');
            })
          : null;
        await exporter.query('commit').catch(() => undefined);
        return { rowCounts, consistency: snapshot ? 'same-snapshot' : 'separate-snapshot', ...(rowCounts ? { counted: 'snapshot-query' as const } : {}) };
      },
      close,
    };
  } catch (err) {
    await close();
    throw classifyPgError(err, req.label, 'Backup');
  }
}
