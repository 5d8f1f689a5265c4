/** The MySQL/MariaDB engine's building blocks (dump, restore, inspection), for the engine interface. */
export { parseMysqlUrl, withDatabase, describeServer, quoteIdent } from './connection.js';
export { detectMysqlProvider, mysqlPreset } from './presets.js';
export { classifyMysqlError, classifyToolExit, connectMysql, withMysql, serverInfo } from './client.js';
export { findMysqlTool, parseToolVersion } from './tools.js';
export { planDump, type DumpKind } from './dump-args.js';
export { prepareDump, type PreparedDump, type DumpOutcome, type BinlogPosition } from './dump.js';
export {
  prepareRestore,
  restoreArgs,
  listTables,
  countRows,
  compareRowCounts,
  runChecks,
  suspendTriggers,
  reinstateTriggers,
  type PreparedRestore,
  type SuspendedTrigger,
} from './restore.js';
export { RestoreFilter } from './restore-filter.js';
export {
  openAdmin,
  describeDatabase,
  createDatabase,
  dropOwnedDatabase,
  setMarker,
  serverIdentity,
  markerStrategyFor,
  type AdminConnection,
} from './target.js';
export type * from './types.js';
export { mysqlEngine } from './engine.js';
