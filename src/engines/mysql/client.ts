import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { LifeboatError } from '../../errors.js';
import { describeExit, type ExitInfo } from '../../pipeline/process.js';
import type { MysqlConnection, MysqlServerInfo } from './types.js';

export type MysqlClient = mysql.Connection;
export type Row = mysql.RowDataPacket;

function sslOptions(conn: MysqlConnection): mysql.SslOptions | undefined {
  // mysql2 has no opportunistic TLS: `preferred` connects in plain text (the tools still negotiate TLS).
  if (conn.tls === 'disabled' || conn.tls === 'preferred') return undefined;
  const ca = conn.tlsCa ? readFileSync(conn.tlsCa, 'utf8') : undefined;
  if (conn.tls === 'required') return { rejectUnauthorized: false };
  if (conn.tls === 'verify-ca') return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined } as mysql.SslOptions;
  return { rejectUnauthorized: true, ca };
}

/** Driver settings for `conn` (utf8mb4, exact numbers as strings, dates as text). */
export function clientConfig(conn: MysqlConnection): mysql.ConnectionOptions {
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database || undefined,
    ssl: sslOptions(conn),
    charset: 'utf8mb4',
    connectTimeout: 20_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    multipleStatements: false,
    connectAttributes: { program_name: 'lifeboat' },
  };
}

const AUTH_ERRNOS = new Set([1045, 1044, 1698, 1251, 1524, 2059]);
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'HANDSHAKE_SSL_ERROR',
]);

/** Maps a driver error to a Lifeboat error naming the subject (never the URL or password). */
export function classifyMysqlError(err: unknown, subject: string, action = 'Connection'): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; errno?: number; message?: string };
  const msg = e.message ?? String(err);
  const text = `${action} to ${subject} failed: ${msg}`;
  if (e.errno !== undefined && AUTH_ERRNOS.has(e.errno))
    return new LifeboatError('AUTH_FAILED', `${action} to ${subject} failed: authentication rejected: ${msg}`, { subject });
  if (e.errno === 1049) return new LifeboatError('DATABASE_NOT_FOUND', text, { subject });
  if ((e.code && CONNECTION_CODES.has(e.code)) || /connect|TLS|SSL|socket/i.test(e.code ?? ''))
    return new LifeboatError('CONNECTION_FAILED', text, { subject });
  if (e.errno === 1227 || e.errno === 1142 || e.errno === 1143)
    return new LifeboatError('AUTH_FAILED', `${action} to ${subject} failed: missing privilege: ${msg}`, { subject });
  return new LifeboatError('CONNECTION_FAILED', text, { subject });
}

/** Opens a driver connection, classifying a failure (auth, unknown database, unreachable). */
export async function connectMysql(conn: MysqlConnection, subject: string): Promise<MysqlClient> {
  try {
    const c = await mysql.createConnection(clientConfig(conn));
    c.on('error', () => undefined); // surfaced by the failing query instead
    return c;
  } catch (err) {
    throw classifyMysqlError(err, subject);
  }
}

/** Runs `fn` with a connection that is closed afterwards; failures are classified. */
export async function withMysql<T>(conn: MysqlConnection, subject: string, action: string, fn: (c: MysqlClient) => Promise<T>): Promise<T> {
  const c = await connectMysql(conn, subject);
  try {
    return await fn(c);
  } catch (err) {
    throw classifyMysqlError(err, subject, action);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

export async function queryRows<T = Row>(c: MysqlClient, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await c.query<Row[]>(sql, params);
  return rows as T[];
}

/** `10.11.6-MariaDB-log` → 10, 11. */
export function parseSeries(version: string): { major: number; minor: number } {
  const m = /^(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : { major: 0, minor: 0 };
}

/** Flavour, version, size and replication settings of the server behind `c`. */
export async function serverInfo(c: MysqlClient): Promise<MysqlServerInfo> {
  const [row] = await queryRows<{ v: string; comment: string | null; logBin: string | number | null }>(
    c,
    'SELECT VERSION() AS v, @@version_comment AS comment, @@log_bin AS logBin',
  );
  const version = String(row!.v);
  const mariadb = /mariadb/i.test(version) || /mariadb/i.test(row!.comment ?? '');
  const vitess = /vitess/i.test(version) || /vitess|planetscale/i.test(row!.comment ?? '');
  let gtidMode = false;
  if (!mariadb) {
    const [g] = await queryRows<{ m: string }>(c, 'SELECT @@GLOBAL.gtid_mode AS m').catch(() => [{ m: 'OFF' }]);
    gtidMode = /^ON/i.test(String(g?.m ?? 'OFF'));
  }
  const [size] = await queryRows<{ n: string | null }>(
    c,
    'SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  const { major, minor } = parseSeries(version);
  return {
    flavour: mariadb ? 'mariadb' : 'mysql',
    version,
    series: `${major}.${minor}`,
    major,
    minor,
    sizeBytes: Number(size?.n ?? 0),
    logBin: String(row!.logBin) === '1' || /^on$/i.test(String(row!.logBin)),
    gtidMode,
    vitess,
  };
}

/**
 * Turns a failed `mariadb-dump`/`mysqldump`/`mariadb`/`mysql` run into a classified error:
 * authentication, unknown database, unreachable server, a client of the wrong flavour, else
 * `fallback` (DUMP_FAILED for dumps, RESTORE_FAILED for restores).
 */
export function classifyToolExit(exit: ExitInfo, subject: string, action: string, fallback: 'DUMP_FAILED' | 'RESTORE_FAILED'): LifeboatError {
  const text = `${action} of ${subject} failed: ${exit.tool} ${describeExit(exit)}`;
  const err = exit.stderr;
  if (exit.spawnError) return new LifeboatError('TOOL_MISSING', text, { subject });
  if (/\b(1045|1698)\b|Access denied for user/i.test(err)) return new LifeboatError('AUTH_FAILED', text, { subject });
  if (/\b1049\b|Unknown database/i.test(err)) return new LifeboatError('DATABASE_NOT_FOUND', text, { subject });
  if (
    /\b(2002|2003|2005|2006|2013|2026)\b|Can't connect|Lost connection|Unknown (MySQL|MariaDB) server host|server has gone away|SSL connection error|TLS/i.test(
      err,
    )
  ) {
    return new LifeboatError('CONNECTION_FAILED', text, { subject });
  }
  if (/COLUMN_STATISTICS/i.test(err)) {
    return new LifeboatError('TOOL_MISSING', `${text} (a MySQL 8 dump tool against a server without COLUMN_STATISTICS: use the server's own flavour of tool)`, {
      subject,
    });
  }
  return new LifeboatError(fallback, text, { subject });
}
