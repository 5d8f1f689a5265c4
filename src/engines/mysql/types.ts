/** Shared types of the MySQL/MariaDB engine. */

/** Providers the MySQL engine knows; `azure` is MySQL-only (Azure Database for MySQL). */
export type MysqlProvider = 'self-hosted' | 'planetscale' | 'rds' | 'azure' | 'digitalocean' | 'railway';

/**
 * TLS modes, named like MySQL's `--ssl-mode`: `preferred` uses TLS when the server offers it,
 * `required` insists on it without checking the certificate, `verify-ca` checks the chain and
 * `verify-identity` also the host name.
 */
export type TlsMode = 'disabled' | 'preferred' | 'required' | 'verify-ca' | 'verify-identity';

/** Connection settings parsed from a `mysql://` / `mariadb://` URL. The password stays in memory. */
export interface MysqlConnection {
  host: string;
  port: number;
  user: string;
  /** The database (schema) to dump or restore into; empty for a server-level connection. */
  database: string;
  password?: string;
  tls: TlsMode;
  /** CA bundle for `verify-ca`/`verify-identity` (a path on the worker). */
  tlsCa?: string;
  preset: MysqlPreset;
}

export type Flavour = 'mariadb' | 'mysql';

/** A version series: MariaDB 10.11, MySQL 8.0, MySQL 8.4. Tools are matched per series. */
export interface Series {
  major: number;
  minor: number;
}

export interface MysqlServerInfo {
  flavour: Flavour;
  /** `10.11.6-MariaDB-log`, `8.0.36`, `8.0.34-Vitess`. */
  version: string;
  /** `major.minor`, e.g. `10.11`. */
  series: string;
  major: number;
  minor: number;
  /** Bytes of data and indexes of the connection's database (0 without one). */
  sizeBytes: number;
  /** Binary logging on (positions can be recorded). */
  logBin: boolean;
  /** MySQL `gtid_mode` is ON (mysqldump would write GTID_PURGED). */
  gtidMode: boolean;
  /** PlanetScale and other Vitess front-ends. */
  vitess: boolean;
}

export interface MysqlTool {
  name: string;
  path: string;
  /** The server version the tool ships with (`10.11.6`, `8.0.36`). */
  version: string;
  flavour: Flavour;
  major: number;
  minor: number;
}

export interface MysqlPreset {
  provider: MysqlProvider;
  /** TLS mode when the URL does not say. */
  tls: TlsMode;
  /** Dump stored routines, triggers and events (PlanetScale rejects them). */
  programs: boolean;
  /** The server refuses locking statements (LOCK TABLES, FLUSH TABLES WITH READ LOCK). */
  noLocking: boolean;
  /** Statement run by the dump's session first (PlanetScale: OLAP mode lifts its time limits). */
  dumpInitCommand?: string;
  /** What a restore into this provider must respect, shown to the operator. */
  restoreNotes: string[];
}
