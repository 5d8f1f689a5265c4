import { LifeboatError, shortMessage } from '../../errors.js';
import type { ExitInfo } from '../../pipeline/process.js';
import { classifyToolExit, queryRows, withMysql, type MysqlClient } from './client.js';
import { quoteIdent } from './connection.js';
import { optionValue, writeOptionFile, type OptionFile } from './option-file.js';
import { findMysqlTool } from './tools.js';
import type { MysqlConnection, MysqlServerInfo } from './types.js';

export interface PreparedRestore {
  /** Reads the SQL artifact on stdin; stops at the first error (batch mode, no `--force`). */
  command: { tool: string; file: string; args: string[]; env: Record<string, string> };
  tool: { name: string; path: string; version: string };
  classifyFailure(exit: ExitInfo): LifeboatError;
  close(): Promise<void>;
}

/** Arguments of the restore client: option file first, batch mode, bytes verbatim, the target database. */
export function restoreArgs(optionFile: string, database: string): string[] {
  return [
    `--defaults-extra-file=${optionFile}`,
    '--batch',
    '--binary-mode',
    '--default-character-set=utf8mb4',
    '--max-allowed-packet=1G',
    '--connect-timeout=20',
    `--database=${database}`,
  ];
}

/**
 * The `mariadb`/`mysql` client command that restores a SQL artifact into `conn.database`: the
 * client of the target server's flavour (not older than its series), connection and password in a
 * 0600 option file, `--binary-mode` (the dump's bytes verbatim), utf8mb4, and no `--force`, so the
 * first failing statement ends the restore with its line number.
 */
export async function prepareRestore(
  conn: MysqlConnection,
  server: Pick<MysqlServerInfo, 'flavour' | 'major' | 'minor' | 'version'>,
  opts: { toolsDir?: string; subject: string },
): Promise<PreparedRestore> {
  if (!conn.database) throw new LifeboatError('INVALID_INPUT', `Restore of ${opts.subject} failed: no target database`, { subject: opts.subject });
  const tool = await findMysqlTool('client', server, opts.subject, 'Restore', opts.toolsDir);
  const initLines = conn.preset.dumpInitCommand ? [`loose-init-command=${optionValue(conn.preset.dumpInitCommand)}`] : [];
  const file: OptionFile = await writeOptionFile(conn, tool.flavour, { group: 'mysql', lines: initLines });
  const args = restoreArgs(file.file, conn.database);
  return {
    command: { tool: tool.name, file: tool.path, args, env: file.env },
    tool: { name: tool.name, path: tool.path, version: tool.version },
    classifyFailure: (exit) => classifyToolExit(exit, opts.subject, 'Restore', 'RESTORE_FAILED'),
    close: () => file.remove(),
  };
}

/** Base tables of `database` (no views), sorted. */
export async function listTables(c: MysqlClient, database: string): Promise<string[]> {
  const rows = await queryRows<{ t: string }>(
    c,
    `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') ORDER BY TABLE_NAME`,
    [database],
  );
  return rows.map((r) => r.t);
}

/** Exact `COUNT(*)` of each table. */
export async function countRows(c: MysqlClient, database: string, tables: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of tables) {
    const [r] = await queryRows<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${quoteIdent(database)}.${quoteIdent(t)}`);
    out[t] = Number(r!.n);
  }
  return out;
}

export interface RowCountMismatch {
  table: string;
  expected: number;
  actual: number | null;
}

/** Compares a restored database's tables with the manifest's counts (`only`: the tables restored). */
export async function compareRowCounts(
  conn: MysqlConnection,
  subject: string,
  expected: Record<string, number>,
  only?: string[],
): Promise<{ compared: number; mismatches: RowCountMismatch[] }> {
  return withMysql(conn, subject, 'Row count', async (c) => {
    const present = new Set(await listTables(c, conn.database));
    const mismatches: RowCountMismatch[] = [];
    const wanted = (only ?? Object.keys(expected)).filter((t) => t in expected).sort();
    for (const t of wanted) {
      if (!present.has(t)) {
        mismatches.push({ table: t, expected: expected[t]!, actual: null });
        continue;
      }
      const actual = (await countRows(c, conn.database, [t]))[t]!;
      if (actual !== expected[t]) mismatches.push({ table: t, expected: expected[t]!, actual });
    }
    return { compared: wanted.length, mismatches };
  });
}

export interface CheckResult {
  name: string;
  sql: string;
  ok: boolean;
  value: string | number | boolean | null;
}

function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'string') return v.slice(0, 200);
  return JSON.stringify(v).slice(0, 200);
}

function truthy(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 1n;
}

/**
 * Runs SQL assertions in `conn.database`, each in a read-only transaction with a time limit
 * (the server's statement limit and the driver's). A check passes when the first column of its
 * first row is true (1).
 */
export async function runChecks(
  conn: MysqlConnection,
  subject: string,
  checks: Array<{ name: string; sql: string }>,
  timeoutMs = 300_000,
): Promise<CheckResult[]> {
  if (checks.length === 0) return [];
  return withMysql(conn, subject, 'Verification', async (c) => {
    const out: CheckResult[] = [];
    const limit = (await queryRows<{ v: string }>(c, 'SELECT VERSION() AS v')).some((r) => /mariadb/i.test(r.v))
      ? `SET SESSION max_statement_time = ${timeoutMs / 1000}`
      : `SET SESSION max_execution_time = ${timeoutMs}`;
    await c.query(limit).catch(() => undefined);
    for (const check of checks) {
      try {
        await c.query('START TRANSACTION READ ONLY');
        const [rows] = await c.query({ sql: check.sql, timeout: timeoutMs, rowsAsArray: true });
        const value = Array.isArray(rows) ? (rows[0] as unknown[] | undefined)?.[0] : undefined;
        out.push({ name: check.name, sql: check.sql, ok: truthy(value), value: plain(value) });
      } catch (err) {
        out.push({ name: check.name, sql: check.sql, ok: false, value: shortMessage(`error: ${(err as Error).message}`, 300) });
      } finally {
        await c.query('ROLLBACK').catch(() => undefined);
      }
    }
    return out;
  });
}

export interface SuspendedTrigger {
  name: string;
  /** `SHOW CREATE TRIGGER` output, recreated as it was (with its sql_mode and character sets). */
  statement: string;
  sqlMode: string;
  charset: string;
  collation: string;
}

/**
 * Drops the triggers of `database` so that a data-only restore does not fire them (MySQL and
 * MariaDB cannot disable triggers for a session), returning their definitions for
 * {@link reinstateTriggers}. Keep the returned definitions durable until they are reinstated.
 */
export async function suspendTriggers(c: MysqlClient, database: string): Promise<SuspendedTrigger[]> {
  const names = await queryRows<{ n: string }>(c, 'SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY ACTION_ORDER', [
    database,
  ]);
  const out: SuspendedTrigger[] = [];
  for (const { n } of names) {
    const [r] = await queryRows<Record<string, string>>(c, `SHOW CREATE TRIGGER ${quoteIdent(database)}.${quoteIdent(n)}`);
    out.push({
      name: n,
      statement: r!['SQL Original Statement']!,
      sqlMode: r!.sql_mode ?? '',
      charset: r!.character_set_client!,
      collation: r!.collation_connection!,
    });
  }
  for (const t of out) await c.query(`DROP TRIGGER ${quoteIdent(database)}.${quoteIdent(t.name)}`);
  return out;
}

/** Recreates suspended triggers in `database`, each with the session settings it was created under. */
export async function reinstateTriggers(c: MysqlClient, database: string, triggers: SuspendedTrigger[]): Promise<void> {
  await c.query(`USE ${quoteIdent(database)}`);
  for (const t of triggers) {
    await c.query('SET SESSION sql_mode = ?', [t.sqlMode]);
    await c.query(`SET NAMES ${c.escape(t.charset)} COLLATE ${c.escape(t.collation)}`);
    await c.query(t.statement);
  }
  await c.query("SET NAMES 'utf8mb4'");
}
