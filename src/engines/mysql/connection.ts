import { LifeboatError } from '../../errors.js';
import { mysqlPreset } from './presets.js';
import type { MysqlConnection, MysqlProvider, TlsMode } from './types.js';

const TLS_ALIASES: Record<string, TlsMode> = {
  disabled: 'disabled',
  disable: 'disabled',
  false: 'disabled',
  preferred: 'preferred',
  prefer: 'preferred',
  required: 'required',
  require: 'required',
  true: 'required',
  'verify-ca': 'verify-ca',
  verify_ca: 'verify-ca',
  'verify-identity': 'verify-identity',
  verify_identity: 'verify-identity',
  'verify-full': 'verify-identity',
};

function tlsParam(u: URL): TlsMode | undefined {
  const raw =
    u.searchParams.get('ssl-mode') ?? u.searchParams.get('sslmode') ?? u.searchParams.get('ssl_mode') ?? u.searchParams.get('tls') ?? u.searchParams.get('ssl');
  if (raw === null) return undefined;
  const mode = TLS_ALIASES[raw.toLowerCase()];
  if (!mode) {
    throw new LifeboatError(
      'CONFIG_INVALID',
      `Invalid connection URL: ssl-mode "${raw}" is not one of disabled, preferred, required, verify-ca, verify-identity`,
    );
  }
  return mode;
}

const KNOWN_PARAMS = new Set(['ssl-mode', 'sslmode', 'ssl_mode', 'tls', 'ssl', 'ssl-ca', 'sslca', 'sslrootcert']);

/**
 * Parses a `mysql://user:password@host:3306/dbname?ssl-mode=required` (or `mariadb://`) URL. The
 * provider preset comes from `provider`, else from the host name; it sets the TLS mode when the URL
 * does not (`ssl-mode`, also accepted as `sslmode`/`tls`/`ssl`; `ssl-ca` names a CA bundle).
 */
export function parseMysqlUrl(url: string, provider?: MysqlProvider): MysqlConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LifeboatError('CONFIG_INVALID', 'Invalid connection URL: cannot be parsed (expected mysql://user:password@host:3306/dbname)');
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
    throw new LifeboatError('CONFIG_INVALID', `Invalid connection URL: scheme ${u.protocol} is not mysql: or mariadb:`);
  }
  for (const key of u.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw new LifeboatError('CONFIG_INVALID', `Invalid connection URL: unknown parameter "${key}" (known: ssl-mode, ssl-ca)`);
  }
  const host = decodeURIComponent(u.hostname || 'localhost').replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 3306;
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (database.includes('/') || database.length > 64) {
    throw new LifeboatError('CONFIG_INVALID', `Invalid connection URL: database name "${database.slice(0, 80)}" is not a MySQL database name`);
  }
  const preset = mysqlPreset(provider, host);
  const tlsCa = u.searchParams.get('ssl-ca') ?? u.searchParams.get('sslca') ?? u.searchParams.get('sslrootcert') ?? undefined;
  return {
    host,
    port,
    user: decodeURIComponent(u.username || 'root'),
    database,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    tls: tlsParam(u) ?? preset.tls,
    tlsCa,
    preset,
  };
}

/** A copy of the connection pointing at another database on the same server. */
export function withDatabase(conn: MysqlConnection, database: string): MysqlConnection {
  return { ...conn, database };
}

/** `host:port` with IPv6 brackets; for messages and server identity. */
export function describeServer(conn: MysqlConnection): string {
  return conn.host.includes(':') ? `[${conn.host}]:${conn.port}` : `${conn.host}:${conn.port}`;
}

/** Backquotes an identifier for SQL (`a``b`). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
