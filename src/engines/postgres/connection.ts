import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { LifeboatError } from '../../errors.js';
import { describeExit, type ExitInfo } from '../../pipeline/process.js';
import { PLANETSCALE_HOST, providerPreset, type Provider } from '../providers.js';
import type { Connection } from '../types.js';

/** A PostgreSQL connection (the engine-neutral {@link Connection}). */
export type PgConnection = Connection;

/**
 * Parses a `postgres://` URL. The password stays in memory only; `label` names the URL in errors
 * (which never show it).
 */
export function parsePostgresUrl(url: string, provider?: Provider, label = 'connection URL'): PgConnection {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LifeboatError('CONFIG_INVALID', `Invalid ${label}: cannot be parsed (expected postgres://user:password@host:5432/dbname)`, { subject: label });
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new LifeboatError('CONFIG_INVALID', `Invalid ${label}: scheme ${u.protocol} is not postgres:`, { subject: label });
  }
  const host = decodeURIComponent(u.hostname || u.searchParams.get('host') || 'localhost').replace(/^\[|\]$/g, '');
  if (provider === 'planetscale' || (!provider && PLANETSCALE_HOST.test(host))) {
    throw new LifeboatError('CONFIG_INVALID', `Invalid ${label}: PlanetScale hosts MySQL, not PostgreSQL: set engine: mysql and a mysql:// URL`, {
      subject: label,
    });
  }
  const preset = providerPreset(provider, host);
  const port = u.port ? Number(u.port) : 5432;
  if (preset.provider === 'supabase' && /pooler\.supabase\.com$/i.test(host) && port === 6543) {
    throw new LifeboatError(
      'CONFIG_INVALID',
      `Invalid ${label}: Supabase's transaction pooler (port 6543) cannot export the dump's snapshot: use the direct connection db.<project>.supabase.co:5432, or the session pooler on port 5432`,
      { subject: label },
    );
  }
  return {
    engine: 'postgres',
    host: preset.directHost ?? host,
    port,
    user: decodeURIComponent(u.username || 'postgres'),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username || 'postgres'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    sslmode: u.searchParams.get('sslmode') ?? preset.sslmode,
    sslrootcert: u.searchParams.get('sslrootcert') ?? undefined,
    preset,
  };
}

/** A copy of the connection pointing at another database on the same server. */
export function withDatabase(conn: PgConnection, database: string): PgConnection {
  return { ...conn, database };
}

function escapePass(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** The environment of a libpq tool, and the removal of its passfile. */
export interface LibpqEnv {
  env: Record<string, string>;
  dispose(): Promise<void>;
}

/**
 * An environment for libpq tools: connection settings as `PG*` variables and the password in a
 * 0600 passfile inside a 0700 directory; `dispose()` removes them. Nothing goes into argv.
 */
export async function libpqEnv(conn: PgConnection, appName = 'lifeboat'): Promise<LibpqEnv> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    PGHOST: conn.host,
    PGPORT: String(conn.port),
    PGUSER: conn.user,
    PGDATABASE: conn.database,
    PGAPPNAME: appName,
    PGCONNECT_TIMEOUT: '20',
  };
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  if (conn.sslrootcert) env.PGSSLROOTCERT = conn.sslrootcert;
  if (process.env.TZ) env.TZ = process.env.TZ;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-pg-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const passfile = path.join(dir, 'pgpass');
    await writeFile(passfile, conn.password ? `*:*:*:*:${escapePass(conn.password)}\n` : '', { mode: 0o600 });
    env.PGPASSFILE = passfile;
  } catch (err) {
    await dispose();
    throw err;
  }
  return { env, dispose };
}

/** Runs `fn` with a {@link libpqEnv} that is removed afterwards. */
export async function withLibpqEnv<T>(conn: PgConnection, fn: (env: Record<string, string>) => Promise<T>, appName?: string): Promise<T> {
  const { env, dispose } = await libpqEnv(conn, appName);
  try {
    return await fn(env);
  } finally {
    await dispose();
  }
}

export function pgClientConfig(conn: PgConnection): pg.ClientConfig {
  const ssl =
    conn.sslmode === 'require' || conn.sslmode === 'prefer-remote'
      ? { rejectUnauthorized: false }
      : conn.sslmode === 'verify-ca' || conn.sslmode === 'verify-full'
        ? { rejectUnauthorized: true }
        : false;
  return {
    host: conn.host,
    port: conn.port,
    user: conn.user,
    password: conn.password,
    database: conn.database,
    ssl,
    application_name: 'lifeboat',
    connectionTimeoutMillis: 20_000,
  };
}

/** Maps a `pg` client error to a Lifeboat error naming the database (never the URL). */
export function classifyPgError(err: unknown, database: string, action = 'Connection'): LifeboatError {
  if (err instanceof LifeboatError) return err;
  const e = err as { code?: string; message?: string };
  const msg = e.message ?? String(err);
  if (e.code === '28P01' || e.code === '28000') {
    return new LifeboatError('AUTH_FAILED', `${action} to ${database} failed: authentication rejected: ${msg}`, { subject: database });
  }
  if (e.code === '3D000') {
    return new LifeboatError('DATABASE_NOT_FOUND', `${action} to ${database} failed: ${msg}`, { subject: database });
  }
  return new LifeboatError('CONNECTION_FAILED', `${action} to ${database} failed: ${msg}`, { subject: database });
}

export async function connectPg(conn: PgConnection, label: string): Promise<pg.Client> {
  const client = new pg.Client(pgClientConfig(conn));
  client.on('error', () => undefined); // surfaced by the failing query instead
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw classifyPgError(err, label);
  }
  return client;
}

/** Turns a failed `pg_dump`/`pg_restore`/`psql` run into a classified error. */
export function classifyToolFailure(exit: ExitInfo, database: string, action: string): LifeboatError {
  const detail = `${exit.tool} ${describeExit(exit)}`;
  const text = `${action} of ${database} failed: ${detail}`;
  if (exit.spawnError) return new LifeboatError('TOOL_MISSING', text, { subject: database });
  if (/password authentication failed|no password supplied|authentication failed/i.test(exit.stderr)) {
    return new LifeboatError('AUTH_FAILED', text, { subject: database });
  }
  if (/database ".*" does not exist/i.test(exit.stderr)) return new LifeboatError('DATABASE_NOT_FOUND', text, { subject: database });
  if (/server version mismatch|aborting because of server version/i.test(exit.stderr)) {
    return new LifeboatError('TOOL_TOO_OLD', text, { subject: database });
  }
  return new LifeboatError('DUMP_FAILED', text, { subject: database });
}
