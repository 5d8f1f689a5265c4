import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { LifeboatError } from '../../errors.js';
import type { Tool } from '../types.js';

export type PgToolName = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql';

/** A PostgreSQL client tool found on the worker. */
export type PgTool = Tool;

const toolCache = new Map<string, PgTool | null>();

async function probeTool(file: string, name: string): Promise<PgTool | null> {
  if (toolCache.has(file)) return toolCache.get(file)!;
  let result: PgTool | null = null;
  try {
    const { stdout } = await execa(file, ['--version'], { timeout: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    if (m) result = { name, path: file, version: m[2] ? `${m[1]}.${m[2]}` : m[1]!, major: Number(m[1]) };
  } catch {
    result = null;
  }
  toolCache.set(file, result);
  return result;
}

function candidateDirs(toolsDir?: string): string[] {
  const dirs: string[] = [];
  if (toolsDir) dirs.push(toolsDir);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) dirs.push(path.join(base, v, 'bin'));
  }
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (d) dirs.push(d);
  return dirs;
}

/**
 * Finds `pg_dump`/`pg_restore`/`psql` able to talk to a server of `serverMajor`: the same major
 * when installed, else the newest newer one. An older tool is refused with TOOL_TOO_OLD (it cannot
 * read newer catalogs and may produce an incomplete dump), naming the package to install.
 * `action` starts the messages (`Backup`, `Restore`).
 */
export async function findPgTool(name: PgToolName, serverMajor: number, database: string, toolsDir?: string, action = 'Backup'): Promise<PgTool> {
  const found: PgTool[] = [];
  for (const dir of candidateDirs(toolsDir)) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    const t = await probeTool(file, name);
    if (t && !found.some((f) => f.path === t.path)) found.push(t);
  }
  if (found.length === 0) {
    throw new LifeboatError('TOOL_MISSING', `${name} not found on the worker: install postgresql-client`, { subject: database });
  }
  const exact = found.find((t) => t.major === serverMajor);
  const newer = found.filter((t) => t.major > serverMajor).sort((a, b) => b.major - a.major)[0];
  const pick = exact ?? newer;
  if (!pick) {
    const have = [...new Set(found.map((t) => t.version))].join(', ');
    throw new LifeboatError(
      'TOOL_TOO_OLD',
      `${action} of ${database} refused: ${name} ${have} is older than the server (PostgreSQL ${serverMajor}); install postgresql-client-${serverMajor} or set toolsDir`,
      { subject: database },
    );
  }
  return pick;
}
