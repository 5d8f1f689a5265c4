// Named restore points: `pg_create_restore_point(name)` on the source, recorded in storage
// (`<db>/pitr/restore-points/<name>.json`) so a recovery to the name can pick its base backup.
import { z } from 'zod';
import { databaseStorageNames } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { connectPg } from '../engines/postgres/connection.js';
import { LifeboatError } from '../errors.js';
import { openStorage, type Storage } from '../storage/index.js';
import { sourceConnection } from './base-backup.js';

const RestorePointSchema = z.object({ name: z.string(), lsn: z.string(), createdAt: z.string(), database: z.string() });
export type RestorePoint = z.infer<typeof RestorePointSchema>;

export const RESTORE_POINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const key = (database: string, name: string) => `${database}/pitr/restore-points/${name}.json`;

export async function readRestorePoint(storage: Storage, database: string, name: string): Promise<RestorePoint> {
  if (!(await storage.head(key(database, name)))) {
    throw new LifeboatError('BACKUP_NOT_FOUND', `Recovery of ${database} failed: no restore point named "${name}" (create one with lifeboat restore-point)`, {
      subject: name,
    });
  }
  return RestorePointSchema.parse(JSON.parse((await storage.getBuffer(key(database, name))).toString()));
}

/** Creates a restore point and switches WAL segments so it is archived at once. */
export async function createRestorePoint(cfg: LifeboatConfig, database: string, name: string): Promise<RestorePoint> {
  if (!RESTORE_POINT_NAME.test(name))
    throw new LifeboatError('INVALID_INPUT', `Restore point refused: "${name}" is not a name of letters, digits, ".", "_" or "-"`);
  const storage = openStorage(cfg, databaseStorageNames(cfg, database)[0]!);
  if (await storage.head(key(database, name)))
    throw new LifeboatError('TARGET_EXISTS', `Restore point refused: ${database} already has one named "${name}"`, { subject: name });
  const client = await connectPg(sourceConnection(cfg, database), database);
  try {
    const r = await client.query<{ lsn: string; at: Date }>('select pg_create_restore_point($1)::text as lsn, now() as at', [name]);
    await client.query('select pg_switch_wal()');
    const point = { name, lsn: r.rows[0]!.lsn, createdAt: new Date(r.rows[0]!.at).toISOString(), database };
    await storage.putIfAbsent(key(database, name), JSON.stringify(point, null, 2), 'application/json');
    return point;
  } finally {
    await client.end().catch(() => undefined);
  }
}
