import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import { engineFor, resolveConnection, type Connection, type DatabaseSession, type Engine, type EngineConnection } from '../engines/index.js';
import { SCRATCH_PREFIX, type RestoreMode, type TargetInspection } from '../contracts/index.js';

/** Where a restore writes: the target database, with its engine and the server it lives on. */
export interface ResolvedTarget {
  /** The name the restore was given (a target name, a configured database or a new database name). */
  name: string;
  kind: TargetInspection['kind'] | 'scratch';
  engine: Engine;
  /** The target database. */
  conn: Connection;
  /** The server's connection as configured: maintenance sessions (create, drop) start from it. */
  server: Connection;
  protected: boolean;
  toolsDir?: string;
}

/** The source database's engine and connection (resolved on the worker). */
export function sourceConnection(cfg: LifeboatConfig, database: string, what = `Restore of ${database}`): EngineConnection {
  return resolveConnection(cfg, getDatabase(cfg, database), `databases.${database}.url`, what, database);
}

function sameEngine(source: Engine, target: EngineConnection, what: string, subject: string): EngineConnection {
  if (target.engine.id !== source.id) {
    throw new LifeboatError('UNSUPPORTED', `${what} refused: the backup is ${source.name} and the target is ${target.engine.name}`, { subject });
  }
  return target;
}

/**
 * Resolves a restore target: a named target from `targets:`, a configured database, or a new
 * database on the source's server. A scratch database lives on `verify.server` when configured.
 */
export function resolveTarget(cfg: LifeboatConfig, database: string, target: string, scratch = false): ResolvedTarget {
  const source = getDatabase(cfg, database);
  const what = `Restore of ${database} into ${target}`;
  const src = () => sourceConnection(cfg, database, what);
  if (scratch) {
    const { engine, conn } = source.verify?.server
      ? resolveConnection(cfg, { engine: source.engine, url: source.verify.server }, `databases.${database}.verify.server`, what, database)
      : src();
    return { name: target, kind: 'scratch', engine, conn: engine.withDatabase(conn, target), server: conn, protected: false, toolsDir: source.toolsDir };
  }
  const named = cfg.targets?.[target];
  const configured = cfg.databases[target];
  const ref = named ?? configured;
  if (ref) {
    const path = named ? `targets.${target}.url` : `databases.${target}.url`;
    const { engine, conn } = sameEngine(engineFor(source.engine, what, database), resolveConnection(cfg, ref, path, what, target), what, target);
    return {
      name: target,
      kind: named ? 'named' : 'configured',
      engine,
      conn,
      server: conn,
      protected: ref.protected,
      toolsDir: ref.toolsDir ?? source.toolsDir,
    };
  }
  const { engine, conn } = src();
  return { name: target, kind: 'new', engine, conn: engine.withDatabase(conn, target), server: conn, protected: false, toolsDir: source.toolsDir };
}

function sameServer(a: Connection, b: Connection): boolean {
  const norm = (h: string) => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h.toLowerCase());
  return norm(a.host) === norm(b.host) && a.port === b.port;
}

function sameDatabase(a: Connection, b: Connection): boolean {
  return sameServer(a, b) && a.database === b.database;
}

async function withSession<T>(engine: Engine, conn: Connection, label: string, fn: (s: DatabaseSession) => Promise<T>): Promise<T> {
  const s = await engine.openDatabase(conn, label);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Whether `conn`'s database exists, and how many user objects it holds. */
async function databaseContents(engine: Engine, conn: Connection, label: string): Promise<{ exists: boolean; objects: number }> {
  try {
    return { exists: true, objects: await withSession(engine, conn, label, (s) => s.userObjects()) };
  } catch (err) {
    if (err instanceof LifeboatError && err.code === 'DATABASE_NOT_FOUND') return { exists: false, objects: 0 };
    throw engine.classifyError(err, label, 'Connection');
  }
}

async function identityOf(engine: Engine, conn: Connection): Promise<string | undefined> {
  return withSession(engine, conn, conn.database, (s) => s.identity()).catch(() => undefined);
}

/** Names of other configured databases and targets that are the same database as `conn` and protected. */
function protectedAs(cfg: LifeboatConfig, targetName: string, conn: Connection): string[] {
  const refs = [
    ...Object.entries(cfg.databases).map(([n, d]) => ({ n, d, path: `databases.${n}.url` })),
    ...Object.entries(cfg.targets ?? {}).map(([n, d]) => ({ n, d, path: `targets.${n}.url` })),
  ];
  const out: string[] = [];
  for (const { n, d, path } of refs) {
    if (!d.protected || n === targetName) continue;
    try {
      if (sameDatabase(resolveConnection(cfg, d, path, `Inspection of ${targetName}`, n).conn, conn)) out.push(n);
    } catch {
      /* a URL that cannot be resolved here cannot be compared */
    }
  }
  return out;
}

/** Whether four eyes apply to restores of `database` (`databases.<name>.fourEyes`, on by default for production). */
export function fourEyesFor(cfg: LifeboatConfig, database: string): boolean {
  const db = getDatabase(cfg, database);
  return db.fourEyes ?? db.environment === 'production';
}

/**
 * Inspects a restore target without changing anything: does it exist, is it empty, protected, or
 * the source itself (also under another host name)? Every reason that calls for an approval is
 * listed; the workflow decides.
 */
export async function inspectTarget(cfg: LifeboatConfig, database: string, targetName: string, mode: RestoreMode): Promise<TargetInspection> {
  const target = resolveTarget(cfg, database, targetName);
  const source = sourceConnection(cfg, database).conn;
  const { engine, conn } = target;
  const label = `${database} into ${targetName}`;
  const rules = engine.targetRules(conn.database);
  if (rules.refuse) throw new LifeboatError('INVALID_INPUT', `Restore of ${label} refused: ${conn.database} ${rules.refuse}`, { subject: targetName });
  const { exists, objects } = await databaseContents(engine, conn, label);
  if (!exists && mode === 'data') {
    throw new LifeboatError(
      'INVALID_INPUT',
      `Restore of ${label} refused: mode "data" needs an existing database holding the schema, and ${conn.database} does not exist`,
      { subject: targetName },
    );
  }

  let isSource = sameDatabase(source, conn);
  if (!isSource && exists) {
    const [a, b] = await Promise.all([identityOf(engine, source), identityOf(engine, conn)]);
    isSource = a !== undefined && a === b;
  }
  const protectedBy = protectedAs(cfg, targetName, conn);
  const isProtected = target.protected || protectedBy.length > 0;

  const reasons: string[] = [];
  if (isSource) reasons.push(`${targetName} is the source database ${database} itself`);
  if (isProtected) reasons.push(protectedBy.length ? `${targetName} is protected (as ${protectedBy.join(', ')})` : `${targetName} is protected`);
  if (exists && objects > 0) reasons.push(`${targetName} exists and is not empty (${objects} objects)`);
  if (rules.caution) reasons.push(`${targetName} ${rules.caution}`);
  return {
    target: targetName,
    databaseName: conn.database,
    kind: target.kind === 'scratch' ? 'new' : target.kind,
    exists,
    objects,
    protected: isProtected,
    isSource,
    reasons,
    approvers: cfg.approvers ?? [],
    fourEyes: (isProtected || isSource) && fourEyesFor(cfg, database),
  };
}

/** The marker of a database created by Lifeboat: `lifeboat:<purpose>:<owner>`. */
export function ownerMarker(purpose: 'restore' | 'verify', owner: string): string {
  return `lifeboat:${purpose}:${owner}`;
}

/**
 * Drops a scratch database; succeeds when it is already gone. Refuses to drop a database that
 * Lifeboat did not create (no `lifeboat:` marker and no scratch name).
 */
export async function dropScratchDatabase(cfg: LifeboatConfig, database: string, scratch: string): Promise<{ dropped: boolean }> {
  if (!scratch.startsWith(SCRATCH_PREFIX)) {
    throw new LifeboatError('INVALID_INPUT', `Drop of scratch database ${scratch} refused: not a scratch database name`, { subject: scratch });
  }
  const { engine, server: serverConn } = resolveTarget(cfg, database, scratch, true);
  const server = await engine.openServer(serverConn, scratch, scratch);
  try {
    const found = await server.describe(scratch);
    if (!found.exists) return { dropped: false };
    if (found.marker !== null && !found.marker.startsWith('lifeboat:')) {
      throw new LifeboatError(
        'INVALID_INPUT',
        `Drop of scratch database ${scratch} refused: it was not created by Lifeboat (marker: ${found.marker.slice(0, 80)})`,
        { subject: scratch },
      );
    }
    await server.drop(scratch);
    return { dropped: true };
  } catch (err) {
    throw engine.classifyError(err, scratch, 'Drop of scratch database');
  } finally {
    await server.close();
  }
}
