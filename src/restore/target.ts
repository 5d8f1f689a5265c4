import path from 'node:path';
import type pg from 'pg';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { registerSecret, resolveSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import { classifyPgError, connectPg, parsePostgresUrl, withDatabase, type PgConnection } from '../engines/postgres.js';
import { SCRATCH_PREFIX, type RestoreMode, type TargetInspection } from '../contracts/index.js';

/** Where a restore writes: the target database and a maintenance connection on the same server. */
export interface ResolvedTarget {
  /** The name the restore was given (a target name, a configured database or a new database name). */
  name: string;
  kind: TargetInspection['kind'] | 'scratch';
  conn: PgConnection;
  /** Databases to connect to for CREATE/DROP DATABASE, in order of preference. */
  maintenance: PgConnection[];
  protected: boolean;
  toolsDir?: string;
}

function baseDir(cfg: LifeboatConfig): string | undefined {
  return cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
}

function connectionOf(cfg: LifeboatConfig, ref: Parameters<typeof resolveSecret>[0], label: string, provider?: Parameters<typeof parsePostgresUrl>[1]): PgConnection {
  const conn = parsePostgresUrl(resolveSecret(ref, label, baseDir(cfg)), provider);
  if (conn.password) registerSecret(conn.password);
  return conn;
}

/** The source database's connection (resolved on the worker). */
export function sourceConnection(cfg: LifeboatConfig, database: string): PgConnection {
  const db = getDatabase(cfg, database);
  if (db.engine !== 'postgres') {
    throw new LifeboatError('UNSUPPORTED', `Restore of ${database} failed: engine ${db.engine} is not supported yet`, { subject: database });
  }
  return connectionOf(cfg, db.url, `databases.${database}.url`, db.provider);
}

function maintenanceOf(conn: PgConnection): PgConnection[] {
  const names = [conn.database, 'postgres', 'template1'];
  return [...new Set(names)].map((d) => withDatabase(conn, d));
}

/**
 * Resolves a restore target: a named target from `targets:`, a configured database, or a new
 * database on the source's server. A scratch database lives on `verify.server` when configured.
 */
export function resolveTarget(cfg: LifeboatConfig, database: string, target: string, scratch = false): ResolvedTarget {
  const source = getDatabase(cfg, database);
  if (scratch) {
    const server = source.verify?.server
      ? connectionOf(cfg, source.verify.server, `databases.${database}.verify.server`, undefined)
      : sourceConnection(cfg, database);
    return { name: target, kind: 'scratch', conn: withDatabase(server, target), maintenance: maintenanceOf(server), protected: false, toolsDir: source.toolsDir };
  }
  const named = cfg.targets?.[target];
  if (named) {
    if (named.engine !== 'postgres') {
      throw new LifeboatError('UNSUPPORTED', `Restore of ${database} into ${target} failed: engine ${named.engine} is not supported yet`, { subject: target });
    }
    const conn = connectionOf(cfg, named.url, `targets.${target}.url`, named.provider);
    return { name: target, kind: 'named', conn, maintenance: maintenanceOf(conn).filter((c) => c.database !== conn.database), protected: named.protected, toolsDir: named.toolsDir ?? source.toolsDir };
  }
  const configured = cfg.databases[target];
  if (configured) {
    if (configured.engine !== 'postgres') {
      throw new LifeboatError('UNSUPPORTED', `Restore of ${database} into ${target} failed: engine ${configured.engine} is not supported yet`, { subject: target });
    }
    const conn = connectionOf(cfg, configured.url, `databases.${target}.url`, configured.provider);
    return { name: target, kind: 'configured', conn, maintenance: maintenanceOf(conn).filter((c) => c.database !== conn.database), protected: configured.protected, toolsDir: configured.toolsDir ?? source.toolsDir };
  }
  const src = sourceConnection(cfg, database);
  return { name: target, kind: 'new', conn: withDatabase(src, target), maintenance: maintenanceOf(src).filter((c) => c.database !== target), protected: false, toolsDir: source.toolsDir };
}

function sameServer(a: PgConnection, b: PgConnection): boolean {
  const norm = (h: string) => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h.toLowerCase());
  return norm(a.host) === norm(b.host) && a.port === b.port;
}

/** Connects to the first reachable maintenance database of a server. */
export async function connectMaintenance(target: ResolvedTarget, label: string): Promise<pg.Client> {
  let last: unknown;
  for (const conn of target.maintenance) {
    try {
      return await connectPg(conn, label);
    } catch (err) {
      last = err;
      if (err instanceof LifeboatError && err.code !== 'DATABASE_NOT_FOUND') throw err;
    }
  }
  throw last instanceof LifeboatError ? last : classifyPgError(last, label);
}

async function serverIdentity(conn: PgConnection): Promise<string | undefined> {
  let client: pg.Client | undefined;
  try {
    client = await connectPg(conn, conn.database);
    const r = await client.query<{ id: string }>(`select system_identifier::text || '/' || current_database() as id from pg_control_system()`);
    return r.rows[0]?.id;
  } catch {
    return undefined;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

const USER_OBJECTS_SQL = `
  select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_')
       + (select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_')
       + (select count(*) from pg_namespace n
           where n.nspname not in ('public', 'pg_catalog', 'information_schema') and n.nspname !~ '^pg_') as n`;

/** Whether `conn`'s database exists, and how many user objects it holds. */
export async function databaseContents(conn: PgConnection, label: string): Promise<{ exists: boolean; objects: number }> {
  let client: pg.Client;
  try {
    client = await connectPg(conn, label);
  } catch (err) {
    if (err instanceof LifeboatError && err.code === 'DATABASE_NOT_FOUND') return { exists: false, objects: 0 };
    throw err;
  }
  try {
    const r = await client.query<{ n: string }>(USER_OBJECTS_SQL);
    return { exists: true, objects: Number(r.rows[0]!.n) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Inspects a restore target without changing anything: does it exist, is it empty, protected, or
 * the source itself? Every reason that calls for an approval is listed; the workflow decides.
 */
export async function inspectTarget(cfg: LifeboatConfig, database: string, targetName: string, mode: RestoreMode): Promise<TargetInspection> {
  const target = resolveTarget(cfg, database, targetName);
  const source = sourceConnection(cfg, database);
  const label = `${database} into ${targetName}`;
  if (/^template[01]$/.test(target.conn.database)) {
    throw new LifeboatError('INVALID_INPUT', `Restore of ${label} refused: ${target.conn.database} is a template database`, { subject: targetName });
  }
  const { exists, objects } = await databaseContents(target.conn, label);

  let isSource = sameServer(source, target.conn) && source.database === target.conn.database;
  let isProtected = target.protected;
  const protectedBy: string[] = [];
  // A database configured elsewhere (as a source or a named target) keeps its protection under any name.
  const others: Array<[string, boolean, () => PgConnection]> = [
    ...Object.entries(cfg.databases).map(([n, d]): [string, boolean, () => PgConnection] => [n, d.protected, () => connectionOf(cfg, d.url, `databases.${n}.url`, d.provider)]),
    ...Object.entries(cfg.targets ?? {}).map(([n, t]): [string, boolean, () => PgConnection] => [n, t.protected, () => connectionOf(cfg, t.url, `targets.${n}.url`, t.provider)]),
  ];
  for (const [name, prot, conn] of others) {
    if (!prot || name === targetName) continue;
    try {
      const c = conn();
      if (sameServer(c, target.conn) && c.database === target.conn.database) {
        isProtected = true;
        protectedBy.push(name);
      }
    } catch {
      /* a URL that cannot be resolved here cannot be compared */
    }
  }
  if (!isSource && exists) {
    const [a, b] = await Promise.all([serverIdentity(source), serverIdentity(target.conn)]);
    if (a && b && a === b) isSource = true;
  }

  if (!exists && mode === 'data') {
    throw new LifeboatError('INVALID_INPUT', `Restore of ${label} refused: mode "data" needs an existing database holding the schema, and ${target.conn.database} does not exist`, { subject: targetName });
  }

  const reasons: string[] = [];
  if (isSource) reasons.push(`${targetName} is the source database ${database} itself`);
  if (isProtected) reasons.push(protectedBy.length ? `${targetName} is protected (as ${protectedBy.join(', ')})` : `${targetName} is protected`);
  if (exists && objects > 0) reasons.push(`${targetName} exists and is not empty (${objects} objects)`);
  if (target.conn.database === 'postgres') reasons.push(`${targetName} is the server's maintenance database postgres`);
  return {
    target: targetName,
    databaseName: target.conn.database,
    kind: target.kind === 'scratch' ? 'new' : target.kind,
    exists,
    objects,
    protected: isProtected,
    isSource,
    reasons,
    approvers: cfg.approvers ?? [],
  };
}

/** Comment that marks a database created by Lifeboat: `lifeboat:<purpose>:<owner>`. */
export function ownerMarker(purpose: 'restore' | 'verify', owner: string): string {
  return `lifeboat:${purpose}:${owner}`;
}

export async function databaseComment(client: pg.Client, name: string): Promise<{ exists: boolean; comment: string | null }> {
  const r = await client.query<{ c: string | null }>(`select shobj_description(oid, 'pg_database') as c from pg_database where datname = $1`, [name]);
  return r.rows.length === 0 ? { exists: false, comment: null } : { exists: true, comment: r.rows[0]!.c };
}

/**
 * Drops a scratch database; succeeds when it is already gone. Refuses to drop a database that
 * Lifeboat did not create (no `lifeboat:` comment and no scratch name).
 */
export async function dropScratchDatabase(cfg: LifeboatConfig, database: string, scratch: string): Promise<{ dropped: boolean }> {
  if (!scratch.startsWith(SCRATCH_PREFIX)) {
    throw new LifeboatError('INVALID_INPUT', `Drop of scratch database ${scratch} refused: not a scratch database name`, { subject: scratch });
  }
  const target = resolveTarget(cfg, database, scratch, true);
  const client = await connectMaintenance(target, scratch);
  try {
    const found = await databaseComment(client, scratch);
    if (!found.exists) return { dropped: false };
    if (found.comment !== null && !found.comment.startsWith('lifeboat:')) {
      throw new LifeboatError('INVALID_INPUT', `Drop of scratch database ${scratch} refused: it was not created by Lifeboat (comment: ${found.comment.slice(0, 80)})`, { subject: scratch });
    }
    await client.query(`drop database if exists ${client.escapeIdentifier(scratch)} with (force)`);
    return { dropped: true };
  } catch (err) {
    throw classifyPgError(err, scratch, 'Drop of scratch database');
  } finally {
    await client.end().catch(() => undefined);
  }
}
