// The private directory a restore keeps its decompressed artifact in (and a directory-format
// backup its dump files), and the sweep of those left behind by processes that died.
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LifeboatConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';

const PREFIX = 'lifeboat-restore-';
/** Scratch directories of directory-format backups. */
export const DUMP_PREFIX = 'lifeboat-dump-';
const OWNER_FILE = 'owner';

/** `restore.tempDir` (relative to the configuration file), else the OS temp dir. */
export function tempBase(cfg: LifeboatConfig): string {
  const configured = cfg.restore?.tempDir;
  if (!configured) return os.tmpdir();
  return path.resolve(cfg.sourcePath ? path.dirname(cfg.sourcePath) : process.cwd(), configured);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary dumps of restores whose process died (a worker killed mid-restore cannot clean up). */
async function sweepStaleDumps(base: string, log: Logger): Promise<void> {
  const entries = await readdir(base).catch(() => [] as string[]);
  for (const name of entries.filter((n) => n.startsWith(PREFIX) || n.startsWith(DUMP_PREFIX))) {
    const dir = path.join(base, name);
    const owner = await readFile(path.join(dir, OWNER_FILE), 'utf8').catch(() => undefined);
    const [host, pid] = owner?.trim().split(' ') ?? [];
    if (host !== os.hostname() || !pid || alive(Number(pid))) continue;
    log.warn({ dir }, 'removing the temporary dump of a restore whose process is gone');
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Creates a 0700 work directory under `base`, marked with this process so a later sweep knows when it is stale. */
export async function openWorkDir(base: string, log: Logger, prefix = PREFIX): Promise<string> {
  await sweepStaleDumps(base, log);
  const dir = await mkdtemp(path.join(base, prefix));
  try {
    await chmod(dir, 0o700);
    await writeFile(path.join(dir, OWNER_FILE), `${os.hostname()} ${process.pid}\n`);
  } catch (err) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
  return dir;
}
