import { LifeboatError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { classifyMysqlError, classifyToolExit, connectMysql, queryRows, serverInfo, withMysql, type MysqlClient } from './client.js';
import { planDump, type DumpKind } from './dump-args.js';
import { DumpScanner } from './dump-scanner.js';
import { writeOptionFile, type OptionFile } from './option-file.js';
import { compareFingerprints, describeSchemaDrift, fingerprintSchema, type SchemaChange, type SchemaFingerprint } from './schema-watch.js';
import { findMysqlTool } from './tools.js';
import type { Flavour, MysqlConnection, MysqlServerInfo } from './types.js';
import type { ExitInfo } from '../../pipeline/process.js';

export interface DumpOptions {
  kind: DumpKind;
  /** `exact`: count every table's rows in the dump itself; `off`: no counts. */
  rowCounts: 'exact' | 'off';
  toolsDir?: string;
  /** Names the database in messages (its configuration name); the connection's database by default. */
  subject?: string;
}

/** Where the binary log stood for the dump. `exact`: the position of the dump's own snapshot. */
export interface BinlogPosition {
  file?: string;
  pos?: number;
  gtid?: string;
  exact: boolean;
  source: 'dump-snapshot' | 'before-dump';
}

export interface DumpOutcome {
  /** Rows per table as the artifact holds them; null for schema dumps and `rowCounts: off`. */
  rowCounts: Record<string, number> | null;
  /** `same-snapshot`: counted from the dump's own rows, which one consistent snapshot produced. */
  consistency: 'same-snapshot';
  position?: BinlogPosition;
  /** Definitions that changed while the dump ran (see schema-watch.ts). */
  schemaChanges: SchemaChange[];
  warnings: string[];
}

export interface PreparedDump {
  command: { tool: string; file: string; args: string[]; env: Record<string, string> };
  format: 'sql';
  extension: '.sql';
  tool: { name: string; path: string; version: string; major: number; series: string };
  server: { engine: 'mysql'; flavour: Flavour; version: string; major: number; series: string; sizeBytes: number };
  /** The dumped database's defaults, for creating the restore target alike. */
  database: { name: string; charset?: string; collation?: string };
  /** Feed every chunk of the dump's stdout (before compression): row counts and position come from it. */
  observe(chunk: Buffer): void;
  /** After the dump exited 0: counts, position, DDL found meanwhile. */
  finish(): Promise<DumpOutcome>;
  /** Classifies a failed dump run (auth, unknown database, connection, wrong tool). */
  classifyFailure(exit: ExitInfo): LifeboatError;
  /** Always, in every outcome: removes the option file and releases connections. */
  close(): Promise<void>;
}

/** MySQL has no snapshot-consistent position without a global read lock: read it just before. */
async function positionBeforeDump(c: MysqlClient, server: MysqlServerInfo): Promise<BinlogPosition | undefined> {
  if (server.flavour !== 'mysql' || !server.logBin) return undefined;
  const statusSql = server.major > 8 || (server.major === 8 && server.minor >= 2) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
  const [status] = await queryRows<{ File?: string; Position?: number | string; Executed_Gtid_Set?: string }>(c, statusSql).catch(() => []);
  if (!status) return undefined;
  return {
    file: status.File,
    pos: status.Position === undefined ? undefined : Number(status.Position),
    gtid: status.Executed_Gtid_Set || undefined,
    exact: false,
    source: 'before-dump',
  };
}

/**
 * Prepares one logical dump of `conn.database`: checks the server (flavour, version, size), picks a
 * dump tool of the server's flavour and series (older ones are refused), fingerprints the schema,
 * and writes the 0600 option file the command reads its connection and password from. The caller
 * runs `command`, feeds its stdout to `observe`, calls `finish()` after it exited 0, and `close()`
 * in every outcome.
 */
export async function prepareDump(conn: MysqlConnection, opts: DumpOptions, log: Logger): Promise<PreparedDump> {
  const subject = opts.subject ?? conn.database;
  let optionFile: OptionFile | undefined;
  const admin = await connectMysql(conn, subject);
  try {
    const server = await serverInfo(admin);
    const tool = await findMysqlTool('dump', server, subject, 'Backup', opts.toolsDir);
    const plan0 = { preset: conn.preset, server, tool, kind: opts.kind, database: conn.database };
    const [schema] = await queryRows<{ cs: string; co: string }>(
      admin,
      'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
      [conn.database],
    );
    const before = await fingerprintSchema(admin, conn.database);
    const approximate = await positionBeforeDump(admin, server);
    const probe = planDump({ ...plan0, optionFile: '' });
    optionFile = await writeOptionFile(conn, tool.flavour, { group: 'mysqldump', lines: probe.optionLines });
    const plan = planDump({ ...plan0, optionFile: optionFile.file });
    for (const note of plan.notes) log.info({ database: subject }, note);
    const scanner = new DumpScanner();
    const file = optionFile;
    return {
      command: { tool: tool.name, file: tool.path, args: plan.args, env: file.env },
      format: 'sql',
      extension: '.sql',
      tool: { name: tool.name, path: tool.path, version: tool.version, major: tool.major, series: `${tool.major}.${tool.minor}` },
      server: { engine: 'mysql', flavour: server.flavour, version: server.version, major: server.major, series: server.series, sizeBytes: server.sizeBytes },
      database: { name: conn.database, charset: schema?.cs, collation: schema?.co },
      observe: (chunk) => scanner.push(chunk),
      finish: () => finishDump(conn, subject, opts, { scanner, before, approximate, positionInDump: plan.positionInDump, notes: plan.notes }),
      classifyFailure: (exit) => classifyToolExit(exit, subject, 'Backup', 'DUMP_FAILED'),
      close: () => file.remove(),
    };
  } catch (err) {
    await optionFile?.remove();
    throw classifyMysqlError(err, subject, 'Backup');
  } finally {
    await admin.end().catch(() => admin.destroy());
  }
}

async function finishDump(
  conn: MysqlConnection,
  subject: string,
  opts: DumpOptions,
  state: { scanner: DumpScanner; before: SchemaFingerprint; approximate?: BinlogPosition; positionInDump: boolean; notes: string[] },
): Promise<DumpOutcome> {
  const { scanner } = state;
  if (scanner.bytes === 0) throw new LifeboatError('EMPTY_DUMP', `Backup of ${subject} failed: the dump tool exited 0 without output`, { subject });
  if (scanner.incomplete())
    throw new LifeboatError('DUMP_FAILED', `Backup of ${subject} failed: the dump ends inside an INSERT statement (truncated output)`, { subject });
  const after = await withMysql(conn, subject, 'Backup', (c) => fingerprintSchema(c, conn.database));
  const drift = compareFingerprints(state.before, after);
  const warnings = [...describeSchemaDrift(subject, drift), ...state.notes];
  let position: BinlogPosition | undefined = state.approximate;
  if (state.positionInDump) {
    const p = scanner.position;
    if (p.file || p.gtid) position = { file: p.file, pos: p.pos, gtid: p.gtid, exact: true, source: 'dump-snapshot' };
    else warnings.push('the dump recorded no binary log position although the binary log is on');
  } else if (position) {
    warnings.push('binary log position read just before the dump started, not in its snapshot (MySQL needs a global read lock for that)');
  }
  return {
    rowCounts: opts.rowCounts === 'exact' && opts.kind !== 'schema' ? scanner.counts() : null,
    consistency: 'same-snapshot',
    position,
    schemaChanges: drift.changes,
    warnings,
  };
}
