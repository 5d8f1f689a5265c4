/**
 * The restore side's administration of a target server: describe a database (exists, user objects,
 * Lifeboat's ownership marker), create it with the dump's character set, drop it, and tell servers
 * apart.
 *
 * Ownership marker: MySQL has no database comments, and an object inside the database would be
 * restored along with it. MariaDB 10.5+ has schema comments (`CREATE DATABASE ... COMMENT`), used
 * exactly like PostgreSQL's database comment. Elsewhere (MySQL, older MariaDB) the marker lives in
 * a registry table outside the restored schema, `_lifeboat.owned_databases`, written by the same
 * connection that creates the database and removed when Lifeboat drops it; an entry whose database
 * no longer exists is deleted when seen.
 */
import { LifeboatError } from '../../errors.js';
import { classifyMysqlError, connectMysql, queryRows, serverInfo, type MysqlClient } from './client.js';
import { quoteIdent, withDatabase } from './connection.js';
import type { MysqlConnection, MysqlServerInfo } from './types.js';

export type MarkerStrategy = 'schema-comment' | 'registry';

export const REGISTRY_SCHEMA = '_lifeboat';
const REGISTRY = `${quoteIdent(REGISTRY_SCHEMA)}.\`owned_databases\``;

export interface AdminConnection {
  client: MysqlClient;
  server: MysqlServerInfo;
  markers: MarkerStrategy;
  close(): Promise<void>;
}

export interface DatabaseDescription {
  exists: boolean;
  /** Tables, views, routines, triggers and events. */
  objects: number;
  /** Lifeboat's marker (`lifeboat:<purpose>:<owner>...`), or null. */
  marker: string | null;
  charset?: string;
  collation?: string;
}

/** Schema comments on MariaDB 10.5+, the registry table elsewhere. */
export function markerStrategyFor(server: Pick<MysqlServerInfo, 'flavour' | 'major' | 'minor'>): MarkerStrategy {
  return server.flavour === 'mariadb' && (server.major > 10 || (server.major === 10 && server.minor >= 5)) ? 'schema-comment' : 'registry';
}

/** A server-level connection (no default database) for CREATE/DROP DATABASE and inspection. */
export async function openAdmin(conn: MysqlConnection, subject: string, markers?: MarkerStrategy): Promise<AdminConnection> {
  const client = await connectMysql(withDatabase(conn, ''), subject);
  try {
    const server = await serverInfo(client);
    return { client, server, markers: markers ?? markerStrategyFor(server), close: () => client.end().catch(() => client.destroy()) };
  } catch (err) {
    client.destroy();
    throw classifyMysqlError(err, subject);
  }
}

async function registryMarker(c: MysqlClient, name: string): Promise<string | null> {
  const rows = await queryRows<{ marker: string }>(c, `SELECT marker FROM ${REGISTRY} WHERE name = ?`, [name]).catch((err: { errno?: number }) => {
    if (err.errno === 1146 || err.errno === 1049) return [];
    throw err;
  });
  return rows[0]?.marker ?? null;
}

/** Whether `name` exists, how many user objects it holds, and its marker and character set. */
export async function describeDatabase(admin: AdminConnection, name: string): Promise<DatabaseDescription> {
  const c = admin.client;
  const [schema] = await queryRows<{ cs: string; co: string; comment?: string | null }>(
    c,
    admin.markers === 'schema-comment'
      ? 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co, SCHEMA_COMMENT AS comment FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?'
      : 'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?',
    [name],
  );
  if (!schema) {
    if (admin.markers === 'registry') await c.query(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]).catch(() => undefined);
    return { exists: false, objects: 0, marker: null };
  }
  const [n] = await queryRows<{ n: string }>(
    c,
    `SELECT (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?)
          + (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?) AS n`,
    [name, name, name, name],
  );
  const marker = admin.markers === 'schema-comment' ? schema.comment || null : await registryMarker(c, name);
  return { exists: true, objects: Number(n!.n), marker, charset: schema.cs, collation: schema.co };
}

/** Records `marker` on a database Lifeboat created (replaces an earlier one). */
export async function setMarker(admin: AdminConnection, name: string, marker: string): Promise<void> {
  const c = admin.client;
  if (admin.markers === 'schema-comment') {
    await c.query(`ALTER DATABASE ${quoteIdent(name)} COMMENT = ${c.escape(marker.slice(0, 1024))}`);
    return;
  }
  await c.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(REGISTRY_SCHEMA)} CHARACTER SET utf8mb4`);
  await c.query(
    `CREATE TABLE IF NOT EXISTS ${REGISTRY} (name VARCHAR(64) NOT NULL PRIMARY KEY, marker VARCHAR(1024) NOT NULL, marked_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB`,
  );
  await c.query(`REPLACE INTO ${REGISTRY} (name, marker) VALUES (?, ?)`, [name, marker.slice(0, 1024)]);
}

/**
 * Creates `name` with the dump's character set and collation (falling back to the character set
 * alone, then the server's default, with a note) and marks it as Lifeboat's. Fails when it exists.
 */
export async function createDatabase(
  admin: AdminConnection,
  name: string,
  charset: { charset?: string; collation?: string },
  marker: string,
  notes: string[],
): Promise<void> {
  const c = admin.client;
  const attempts: string[] = [];
  if (charset.charset && charset.collation) attempts.push(`CHARACTER SET ${c.escape(charset.charset)} COLLATE ${c.escape(charset.collation)}`);
  if (charset.charset) attempts.push(`CHARACTER SET ${c.escape(charset.charset)}`);
  attempts.push('');
  let last: unknown;
  for (const [i, options] of attempts.entries()) {
    try {
      await c.query(`CREATE DATABASE ${quoteIdent(name)} ${options}`.trim());
      if (i > 0)
        notes.push(
          `created ${name} ${options ? `with ${options}` : "with the server's default character set"}: the backup's ${attempts[0]} is not available here: ${(last as Error).message}`,
        );
      await setMarker(admin, name, marker);
      return;
    } catch (err) {
      const e = err as { errno?: number };
      if (e.errno === 1007) throw new LifeboatError('TARGET_EXISTS', `Creation of database ${name} refused: it exists already`, { subject: name });
      if (e.errno !== 1115 && e.errno !== 1273 && e.errno !== 1253) throw classifyMysqlError(err, name, 'Creation of database');
      last = err;
    }
  }
  throw classifyMysqlError(last, name, 'Creation of database');
}

/**
 * Drops `name` when its marker starts with `markerPrefix` (Lifeboat created it); succeeds when it
 * is already gone. A database without the marker is refused.
 */
export async function dropOwnedDatabase(admin: AdminConnection, name: string, markerPrefix = 'lifeboat:'): Promise<{ dropped: boolean }> {
  const found = await describeDatabase(admin, name);
  if (!found.exists) return { dropped: false };
  if (!found.marker?.startsWith(markerPrefix)) {
    throw new LifeboatError(
      'INVALID_INPUT',
      `Drop of database ${name} refused: it was not created by Lifeboat (${found.marker ? `marker: ${found.marker.slice(0, 80)}` : 'no marker'})`,
      { subject: name },
    );
  }
  await admin.client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
  if (admin.markers === 'registry') await admin.client.query(`DELETE FROM ${REGISTRY} WHERE name = ?`, [name]).catch(() => undefined);
  return { dropped: true };
}

/**
 * A string that is equal for two connections to the same server instance: MySQL's `server_uuid`,
 * else (MariaDB has none) host name, port, data directory and server id as the server reports them.
 */
export async function serverIdentity(c: MysqlClient): Promise<string> {
  const [uuid] = await queryRows<{ u: string }>(c, 'SELECT @@server_uuid AS u').catch(() => []);
  if (uuid?.u) return `uuid:${uuid.u}`;
  const [r] = await queryRows<{ h: string; p: number; d: string; s: number }>(c, 'SELECT @@hostname AS h, @@port AS p, @@datadir AS d, @@server_id AS s');
  return `instance:${r!.h}:${r!.p}:${r!.d}:${r!.s}`;
}
