// The MySQL/MariaDB engine behind the engine interface: `mariadb-dump`/`mysqldump` SQL artifacts
// (row counts read from the dump itself), the `mariadb`/`mysql` client, 0600 option files.
import type { Logger } from '../../logger.js';
import type { DumpRequest, Engine, PreparedDump, ReplicationPosition } from '../types.js';
import { mysqlServer, parseUrl, toMysql } from './adapter.js';
import { classifyMysqlError } from './client.js';
import { prepareDump as prepareMysqlDump, type BinlogPosition } from './dump.js';
import { probe } from './probe.js';
import { planRestore, restoreTool } from './restore-plan.js';
import { charsetOptions, openDatabase, openServer } from './sessions.js';
import { REGISTRY_SCHEMA } from './target.js';

const SYSTEM_DATABASES = new Set(['mysql', 'sys', 'information_schema', 'performance_schema']);

/** The manifest's position: the GTID position when known (with the binlog file and offset beside it). */
export function replicationPosition(p: BinlogPosition | undefined): ReplicationPosition | undefined {
  if (!p || (!p.gtid && !p.file)) return undefined;
  const binlog = p.file ? `${p.file}:${p.pos ?? 0}` : undefined;
  if (p.gtid) return { kind: 'gtid', value: p.gtid, ...(binlog ? { binlog } : {}), exact: p.exact };
  return { kind: 'binlog', value: binlog!, exact: p.exact };
}

async function prepareDump(conn: Parameters<Engine['prepareDump']>[0], req: DumpRequest, log: Logger): Promise<PreparedDump> {
  const d = await prepareMysqlDump(
    toMysql(conn),
    { kind: req.kind, rowCounts: req.rowCounts ? 'exact' : 'off', toolsDir: req.toolsDir, subject: req.label },
    log,
  );
  return {
    command: d.command,
    format: 'sql',
    extension: '.sql',
    tool: { name: d.tool.name, path: d.tool.path, version: d.tool.version, major: d.tool.major },
    server: { version: d.server.version, major: d.server.major, flavour: d.server.flavour, sizeBytes: d.server.sizeBytes },
    createOptions: charsetOptions(d.database.charset, d.database.collation),
    classifyFailure: d.classifyFailure,
    observe: d.observe,
    started: () => undefined,
    finish: async () => {
      const o = await d.finish();
      return {
        rowCounts: o.rowCounts,
        consistency: o.consistency,
        counted: 'dump-rows',
        position: replicationPosition(o.position),
        schemaChanges: o.schemaChanges,
        warnings: o.warnings,
      };
    },
    close: d.close,
  };
}

export const mysqlEngine: Engine = {
  id: 'mysql',
  name: 'MySQL/MariaDB',
  formats: ['sql'],
  parseUrl,
  withDatabase: (conn, database) => ({ ...conn, database }),
  targetRules: (database) => {
    if (SYSTEM_DATABASES.has(database.toLowerCase())) return { refuse: 'is a system database' };
    if (database === REGISTRY_SCHEMA) return { refuse: "holds Lifeboat's registry of the databases it created" };
    if (database.length > 64) return { refuse: 'is longer than the 64 characters MySQL allows' };
    return {};
  },
  prepareDump,
  openDatabase: (conn, label) => openDatabase(toMysql(conn), label),
  openServer: (conn, avoid, label) => openServer(toMysql(conn), avoid, label),
  restoreTool,
  planRestore,
  probe,
  classifyError: classifyMysqlError,
};

export { mysqlServer };
