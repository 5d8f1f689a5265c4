import { statfs } from 'node:fs/promises';
import type { LifeboatConfig } from '../config/schema.js';
import { databaseStorageNames } from '../config/load.js';
import { listBackups } from '../catalog/catalog.js';
import { tempBase } from '../restore/workdir.js';
import { openStorage } from '../storage/index.js';
import { fail, ok, type DoctorCheck } from './types.js';

const mib = (n: number) => `${Math.ceil(n / 1024 / 1024)} MiB`;

/** The largest newest backup of any database (dumped size): what a restore or verification must fit. */
async function largestNewestBackup(cfg: LifeboatConfig): Promise<{ database: string; rawBytes: number } | undefined> {
  let largest: { database: string; rawBytes: number } | undefined;
  for (const database of Object.keys(cfg.databases)) {
    const [first] = databaseStorageNames(cfg, database);
    if (!first) continue;
    const newest = (await listBackups(openStorage(cfg, first), database).catch(() => undefined))?.backups[0];
    if (newest && newest.rawBytes > (largest?.rawBytes ?? -1)) largest = { database, rawBytes: newest.rawBytes };
  }
  return largest;
}

/** Free space where restores keep their decompressed dump, against the largest newest backup. */
export async function checkScratchSpace(cfg: LifeboatConfig): Promise<DoctorCheck[]> {
  const dir = tempBase(cfg);
  const part = 'scratch space';
  try {
    const s = await statfs(dir);
    const free = s.bavail * s.bsize;
    const largest = await largestNewestBackup(cfg);
    if (!largest) return [ok(part, 'free', `${mib(free)} free in ${dir} (no backup yet to compare with)`)];
    const needed = Math.ceil(largest.rawBytes * 1.05) + 64 * 1024 * 1024;
    return [
      free >= needed
        ? ok(part, 'free', `${mib(free)} free in ${dir}; the newest backup of ${largest.database} needs ${mib(needed)}`)
        : fail(
            part,
            'free',
            `${mib(free)} free in ${dir}; the newest backup of ${largest.database} needs ${mib(needed)}`,
            'set restore.tempDir to a larger disk',
          ),
    ];
  } catch (err) {
    return [fail(part, 'free', `${dir}: ${(err as Error).message}`, 'create it or set restore.tempDir to a writable directory')];
  }
}
