// Between the engine-neutral `Connection` of the engine interface and the MySQL building blocks'
// own `MysqlConnection` (TLS modes named like `--ssl-mode`, the MySQL provider preset).
import { LifeboatError } from '../../errors.js';
import type { Provider, ProviderPreset } from '../providers.js';
import type { Connection, ServerInfo } from '../types.js';
import { parseSeries } from './client.js';
import { parseMysqlUrl } from './connection.js';
import { mysqlPreset } from './presets.js';
import type { Flavour, MysqlConnection, MysqlProvider, MysqlServerInfo, TlsMode } from './types.js';

const TLS_MODES: readonly TlsMode[] = ['disabled', 'preferred', 'required', 'verify-ca', 'verify-identity'];

/** Providers with a MySQL preset; others (Supabase, Neon, Vercel) host PostgreSQL only. */
const MYSQL_PROVIDERS: readonly string[] = ['self-hosted', 'planetscale', 'rds', 'azure', 'digitalocean', 'railway'];

function neutralPreset(m: MysqlConnection): ProviderPreset {
  return { provider: m.preset.provider as Provider, sslmode: m.tls };
}

/** The engine-neutral connection of a parsed MySQL connection. */
export function toConnection(m: MysqlConnection): Connection {
  return {
    engine: 'mysql',
    host: m.host,
    port: m.port,
    user: m.user,
    database: m.database,
    password: m.password,
    sslmode: m.tls,
    sslrootcert: m.tlsCa,
    preset: neutralPreset(m),
  };
}

/** The MySQL building blocks' view of an engine-neutral connection (the preset re-derived from its provider). */
export function toMysql(c: Connection): MysqlConnection {
  const preset = mysqlPreset(c.preset.provider as MysqlProvider, c.host);
  const tls = TLS_MODES.includes(c.sslmode as TlsMode) ? (c.sslmode as TlsMode) : preset.tls;
  return { host: c.host, port: c.port, user: c.user, database: c.database, password: c.password, tls, tlsCa: c.sslrootcert, preset };
}

/**
 * Parses a `mysql://` or `mariadb://` URL; `label` names it in errors (never the URL). A provider
 * that hosts no MySQL (Supabase, Neon, Vercel) is refused.
 */
export function parseUrl(url: string, provider?: Provider, label = 'connection URL'): Connection {
  if (provider && !MYSQL_PROVIDERS.includes(provider)) {
    throw new LifeboatError('CONFIG_INVALID', `Invalid ${label}: provider ${provider} hosts PostgreSQL, not MySQL (set engine: postgres)`, {
      subject: label,
    });
  }
  try {
    return toConnection(parseMysqlUrl(url, provider as MysqlProvider | undefined));
  } catch (err) {
    if (err instanceof LifeboatError && err.code === 'CONFIG_INVALID') {
      throw new LifeboatError('CONFIG_INVALID', err.message.replace('Invalid connection URL', `Invalid ${label}`), { subject: label });
    }
    throw err;
  }
}

/** The MySQL server description behind an engine-neutral one (flavour, series). */
export function mysqlServer(s: ServerInfo): Pick<MysqlServerInfo, 'flavour' | 'major' | 'minor' | 'version'> {
  const { major, minor } = parseSeries(s.version);
  return { flavour: (s.flavour === 'mariadb' ? 'mariadb' : 'mysql') as Flavour, major, minor, version: s.version };
}

/** The engine-neutral server description. */
export function neutralServer(s: MysqlServerInfo): ServerInfo {
  return { version: s.version, major: s.major, flavour: s.flavour, sizeBytes: s.sizeBytes };
}
