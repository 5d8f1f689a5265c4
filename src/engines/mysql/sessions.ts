// The MySQL engine's sessions behind the engine interface: one database (tables, row counts,
// identity, read-only checks) and a server (describe, create, mark and drop databases).
import { LifeboatError } from '../../errors.js';
import type { DatabaseSession, ServerSession, TableRef } from '../types.js';
import { connectMysql, queryRows, type MysqlClient } from './client.js';
import { quoteIdent } from './connection.js';
import { countRows, listTables } from './restore.js';
import { createDatabase, describeDatabase, openAdmin, REGISTRY_SCHEMA, serverIdentity, setMarker } from './target.js';
import type { MysqlConnection } from './types.js';
import { neutralServer } from './adapter.js';

/** MySQL has no boolean type: a comparison yields 1 or 0, reported as `true` or `false`. */
function asBoolean(v: unknown): unknown {
  if (v === 1 || v === '1' || v === 1n) return true;
  if (v === 0 || v === '0' || v === 0n) return false;
  return v;
}

/**
 * Runs `sql` in a read-only transaction with the server's statement limit and the driver's
 * timeout. A first column of 1 or 0 is reported as `true` or `false`.
 */
async function readOnlyValue(c: MysqlClient, sql: string, timeoutMs: number): Promise<unknown> {
  const [v] = await queryRows<{ v: string }>(c, 'SELECT VERSION() AS v');
  const limit = /mariadb/i.test(String(v?.v))
    ? `SET SESSION max_statement_time = ${Math.max(0.001, timeoutMs / 1000)}`
    : `SET SESSION max_execution_time = ${Math.max(1, Math.round(timeoutMs))}`;
  await c.query(limit).catch(() => undefined);
  try {
    await c.query('START TRANSACTION READ ONLY');
    const [rows] = await c.query({ sql, timeout: timeoutMs, rowsAsArray: true });
    const value = Array.isArray(rows) ? (rows[0] as unknown[] | undefined)?.[0] : undefined;
    return asBoolean(value);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
  }
}

async function userObjects(c: MysqlClient, database: string): Promise<number> {
  const [n] = await queryRows<{ n: string }>(
    c,
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS n`,
    [database, database, database, database],
  );
  return Number(n!.n);
}

const ref = (name: string): TableRef => ({ schema: '', name });

/** A session on `conn.database`; DATABASE_NOT_FOUND when it does not exist. Tables have no schema part. */
export async function openDatabase(conn: MysqlConnection, label: string): Promise<DatabaseSession> {
  const c = await connectMysql(conn, label);
  const db = conn.database;
  return {
    listTables: async () => (await listTables(c, db)).map(ref),
    leafTables: (tables) => Promise.resolve(tables.map((t) => ref(t.name))),
    countRows: (tables) =>
      countRows(
        c,
        db,
        tables.map((t) => t.name),
      ),
    userObjects: () => userObjects(c, db),
    identity: async () => `${await serverIdentity(c)}/${db}`,
    check: (sql, timeoutMs) => readOnlyValue(c, sql, timeoutMs),
    close: () => c.end().catch(() => c.destroy()),
  };
}

/** `CHARACTER SET utf8mb4`, `COLLATE utf8mb4_unicode_ci`: the create options the manifest records. */
export function charsetOptions(charset?: string, collation?: string): string[] {
  return [...(charset ? [`CHARACTER SET ${charset}`] : []), ...(collation ? [`COLLATE ${collation}`] : [])];
}

function parseCharsetOptions(options: string[]): { charset?: string; collation?: string } {
  const pick = (re: RegExp) => options.map((o) => re.exec(o)?.[1]).find((v) => v !== undefined);
  return { charset: pick(/^CHARACTER SET ([A-Za-z0-9_]+)$/), collation: pick(/^COLLATE ([A-Za-z0-9_]+)$/) };
}

/** A server-level session: databases are described, created with the dump's character set, marked and dropped. */
export async function openServer(conn: MysqlConnection, _avoid: string, label: string): Promise<ServerSession> {
  const admin = await openAdmin(conn, label);
  return {
    server: neutralServer(admin.server),
    describe: async (database) => {
      const d = await describeDatabase(admin, database);
      return { exists: d.exists, marker: d.marker };
    },
    create: async (database, options, marker) => {
      if (conn.preset.provider === 'planetscale') {
        throw new LifeboatError(
          'INVALID_INPUT',
          `Restore into ${database} refused: PlanetScale databases are created in PlanetScale, not by SQL: create the database (or a branch) there and restore into it as a named target`,
          { subject: label },
        );
      }
      const notes: string[] = [];
      await createDatabase(admin, database, parseCharsetOptions(options), marker, notes);
      return notes;
    },
    mark: (database, marker) => setMarker(admin, database, marker),
    drop: async (database) => {
      await admin.client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)}`);
      if (admin.markers === 'registry') {
        await admin.client.query(`DELETE FROM ${quoteIdent(REGISTRY_SCHEMA)}.\`owned_databases\` WHERE name = ?`, [database]).catch(() => undefined);
      }
    },
    close: () => admin.close(),
  };
}
