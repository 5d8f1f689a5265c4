// The engine registry, and where configured databases and targets are (resolved on the worker).
import path from 'node:path';
import { ENGINES, type LifeboatConfig, type SecretRef } from '../config/schema.js';
import { registerSecret, resolveSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import { mysqlEngine } from './mysql/engine.js';
import { postgresEngine } from './postgres/index.js';
import type { Provider } from './providers.js';
import type { Connection, Engine, EngineId } from './types.js';

export type * from './types.js';
export { tableKey } from './types.js';

const REGISTRY: Partial<Record<EngineId, Engine>> = { postgres: postgresEngine, mysql: mysqlEngine };

/** Engines this version backs up and restores. */
export function supportedEngines(): EngineId[] {
  return ENGINES.filter((id) => REGISTRY[id] !== undefined);
}

/**
 * The engine `id`. One the configuration accepts but this version cannot run is refused with
 * UNSUPPORTED; `what` says what was refused, e.g. `Backup of orders`.
 */
export function engineFor(id: string, what: string, subject: string): Engine {
  const engine = REGISTRY[id as EngineId];
  if (engine) return engine;
  const status = (ENGINES as readonly string[]).includes(id) ? 'is not supported yet' : 'is unknown';
  throw new LifeboatError('UNSUPPORTED', `${what} refused: engine ${id} ${status} (this version supports ${supportedEngines().join(', ')})`, { subject });
}

/** A configured database or target: its engine and connection. */
export interface EngineConnection {
  engine: Engine;
  conn: Connection;
}

/** What the configuration says about where a database is. */
export interface ConnectionRef {
  engine: string;
  url: string | SecretRef;
  provider?: Provider;
}

/**
 * Resolves a configured connection on the worker: picks the engine (refusing one that is not
 * supported), reads the URL secret (`configPath` names it in errors, e.g. `databases.orders.url`;
 * a relative `{ file }` is relative to the configuration file) and registers the password for
 * redaction.
 */
export function resolveConnection(cfg: LifeboatConfig, ref: ConnectionRef, configPath: string, what: string, subject: string): EngineConnection {
  const engine = engineFor(ref.engine, what, subject);
  const baseDir = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  const conn = engine.parseUrl(resolveSecret(ref.url, configPath, baseDir), ref.provider, `connection URL ${configPath}`);
  if (conn.password) registerSecret(conn.password);
  return { engine, conn };
}
