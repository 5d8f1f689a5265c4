import type pg from 'pg';
import { LifeboatError } from '../../errors.js';
import type { DatabaseSession, ServerSession } from '../types.js';
import { countRows, databaseComment, identity, leafTables, listTables, readOnlyValue, serverInfo, userObjects } from './catalog.js';
import { classifyPgError, connectPg, withDatabase, type PgConnection } from './connection.js';

// Sessions classify connection errors; a query's error reaches the caller as the driver raised
// it, and the caller classifies it with its own action (`engine.classifyError`).

export async function openDatabase(conn: PgConnection, label: string): Promise<DatabaseSession> {
  const c = await connectPg(conn, label);
  return {
    listTables: () => listTables(c),
    leafTables: (tables) => leafTables(c, tables),
    countRows: (tables) => countRows(c, tables),
    userObjects: () => userObjects(c),
    identity: () => identity(c),
    check: (sql, timeoutMs) => readOnlyValue(c, sql, timeoutMs),
    close: () => c.end().catch(() => undefined),
  };
}

/** Databases to connect to for CREATE/DROP DATABASE, in order of preference, never `avoid`. */
function maintenanceCandidates(conn: PgConnection, avoid: string): PgConnection[] {
  return [...new Set([conn.database, 'postgres', 'template1'])].filter((d) => d !== avoid).map((d) => withDatabase(conn, d));
}

/** Connects to the first maintenance database that exists (the configured one, postgres, template1), never `avoid`. */
export async function connectMaintenance(conn: PgConnection, avoid: string, label: string): Promise<pg.Client> {
  let last: unknown;
  for (const candidate of maintenanceCandidates(conn, avoid)) {
    try {
      return await connectPg(candidate, label);
    } catch (err) {
      last = err;
      if (err instanceof LifeboatError && err.code !== 'DATABASE_NOT_FOUND') throw err;
    }
  }
  throw classifyPgError(last, label);
}

async function createDatabase(admin: pg.Client, name: string, options: string[], marker: string): Promise<string[]> {
  const ident = admin.escapeIdentifier(name);
  const notes: string[] = [];
  try {
    await admin.query(`create database ${ident} with template = template0 ${options.join(' ')}`);
  } catch (err) {
    const msg = (err as Error).message;
    if (options.length === 0 || !/locale|collation|encoding|ctype/i.test(msg)) throw err;
    notes.push(`created ${name} with the server's default encoding and locale: the backup's (${options.join(' ')}) failed: ${msg}`);
    await admin.query(`create database ${ident} with template = template0`);
  }
  await admin.query(`comment on database ${ident} is ${admin.escapeLiteral(marker)}`);
  return notes;
}

/** Ends every other session on `database`; returns how many. */
async function terminateSessions(admin: pg.Client, database: string): Promise<number> {
  const r = await admin.query<{ n: number }>(
    'select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
    [database],
  );
  return r.rows[0]?.n ?? 0;
}

/** See `ServerSession.swap`: no new sessions, old ones ended, both renames in one transaction under a lock timeout. */
async function swapDatabases(
  admin: pg.Client,
  names: { current: string; incoming: string; keepAs: string },
  lockTimeoutMs: number,
): Promise<{ terminated: number }> {
  const [current, incoming, keepAs] = [names.current, names.incoming, names.keepAs].map((n) => admin.escapeIdentifier(n));
  await admin.query(`set lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
  await admin.query(`alter database ${current} with allow_connections false`);
  let terminated = 0;
  try {
    for (let attempt = 1; ; attempt++) {
      terminated += await terminateSessions(admin, names.current);
      try {
        await admin.query('begin');
        await admin.query(`alter database ${current} rename to ${keepAs}`);
        await admin.query(`alter database ${incoming} rename to ${current}`);
        await admin.query('commit');
        break;
      } catch (err) {
        await admin.query('rollback').catch(() => undefined);
        // A session that was still ending: PostgreSQL waits 5 s for it, then says so; try again.
        if (attempt >= 3 || !/being accessed by other users/i.test((err as Error).message)) throw err;
      }
    }
  } finally {
    const open = await admin.query<{ n: string }>('select datname as n from pg_database where datname = $1', [names.keepAs]);
    await admin.query(`alter database ${open.rows.length ? keepAs : current} with allow_connections true`);
  }
  return { terminated };
}

/** A session on a maintenance database of `conn`'s server (never on `avoid`, the database to create or drop). */
export async function openServer(conn: PgConnection, avoid: string, label: string): Promise<ServerSession> {
  const admin = await connectMaintenance(conn, avoid, label);
  try {
    const server = await serverInfo(admin);
    return {
      server,
      describe: (database) => databaseComment(admin, database),
      create: (database, options, marker) => createDatabase(admin, database, options, marker),
      mark: async (database, marker) => {
        await admin.query(`comment on database ${admin.escapeIdentifier(database)} is ${admin.escapeLiteral(marker)}`);
      },
      drop: async (database) => {
        await admin.query(`drop database if exists ${admin.escapeIdentifier(database)} with (force)`);
      },
      endSessions: (database) => terminateSessions(admin, database),
      swap: (current, incoming, keepAs, lockTimeoutMs) => swapDatabases(admin, { current, incoming, keepAs }, lockTimeoutMs),
      close: () => admin.end().catch(() => undefined),
    };
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw classifyPgError(err, label, 'Restore');
  }
}
