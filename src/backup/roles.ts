import { createHash } from 'node:crypto';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import type { Connection, Engine } from '../engines/index.js';
import type { Logger } from '../logger.js';
import { keys, type Manifest } from '../catalog/manifest.js';
import type { Storage } from '../storage/index.js';

/** Whether a database's backups carry its server's roles: as configured, else on for Supabase. */
export function dumpsRoles(cfg: LifeboatConfig, database: string, conn: Connection): boolean {
  return getDatabase(cfg, database).roles ?? conn.preset.provider === 'supabase';
}

/**
 * Dumps the server's roles into the backup's `roles.sql` (hashed in the manifest). A provider
 * that does not permit it, or any other failure, is recorded in the manifest and logged; the
 * backup goes on without roles.
 */
export async function storeRoles(opts: {
  cfg: LifeboatConfig;
  database: string;
  backupId: string;
  engine: Engine;
  conn: Connection;
  storage: Storage;
  serverMajor: number;
  log: Logger;
}): Promise<Manifest['roles']> {
  const { cfg, database, backupId, engine, conn, storage, log } = opts;
  if (!engine.dumpRoles || !dumpsRoles(cfg, database, conn)) return undefined;
  const dumped = await engine.dumpRoles(conn, database, opts.serverMajor, getDatabase(cfg, database).toolsDir);
  if (dumped.status !== 'dumped') {
    log.warn({ database, backupId, reason: dumped.reason }, `roles not dumped (${dumped.status}): the backup has no roles`);
    return { status: dumped.status, reason: dumped.reason };
  }
  const body = Buffer.from(dumped.sql);
  const key = keys.roles(database, backupId);
  await storage.put(key, body, 'application/sql');
  const sha256 = createHash('sha256').update(body).digest('hex');
  log.info({ database, backupId, key, bytes: body.length }, 'roles dumped');
  return { status: 'stored', key, bytes: body.length, sha256, tool: dumped.tool };
}
