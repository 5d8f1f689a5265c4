// The PostgreSQL engine: pg_dump custom-format archives, pg_restore, libpq passfiles.
import type { Engine } from '../types.js';
import { classifyPgError, parsePostgresUrl, withDatabase } from './connection.js';
import { prepareDump } from './dump.js';
import { probe } from './probe.js';
import { planRestore, restoreStream, restoreTool } from './restore.js';
import { dumpRoles, restoreRoles } from './roles.js';
import { openDatabase, openServer } from './sessions.js';

export const postgresEngine: Engine = {
  id: 'postgres',
  name: 'PostgreSQL',
  formats: ['pg_dump-custom', 'pg_dump-directory'],
  parseUrl: parsePostgresUrl,
  withDatabase,
  targetRules: (database) => {
    if (/^template[01]$/.test(database)) return { refuse: 'is a template database' };
    if (database === 'postgres') return { caution: "is the server's maintenance database postgres" };
    return {};
  },
  prepareDump,
  openDatabase,
  openServer,
  restoreTool,
  planRestore,
  restoreStream,
  probe,
  dumpRoles,
  restoreRoles,
  classifyError: classifyPgError,
};

export {
  classifyPgError,
  classifyToolFailure,
  connectPg,
  libpqEnv,
  parsePostgresUrl,
  pgClientConfig,
  withDatabase,
  withLibpqEnv,
  type PgConnection,
} from './connection.js';
export { pgDumpArgs } from './dump.js';
export { pgDumpallArgs, roleStatements } from './roles.js';
export { dbnameArg, parseCreateOptions, pgRestoreArgs, type PgRestoreOptions } from './restore.js';
export { parseToc, selectTables, type TocEntry } from './toc.js';
export { findPgTool, type PgTool } from './tools.js';
