// The server-side PostgreSQL programs PITR runs: pg_basebackup (client package), pg_ctl and
// postgres (server package) of the same major version as the source.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { LifeboatError } from '../errors.js';

interface FoundTool {
  path: string;
  version: string;
  major: number;
}

async function versionOf(file: string): Promise<FoundTool | undefined> {
  try {
    const { stdout } = await execa(file, ['--version'], { timeout: 10_000 });
    const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(stdout);
    return m ? { path: file, version: m[2] ? `${m[1]}.${m[2]}` : m[1]!, major: Number(m[1]) } : undefined;
  } catch {
    return undefined;
  }
}

function dirs(toolsDir?: string): string[] {
  const out: string[] = [];
  if (toolsDir) out.push(toolsDir);
  if (process.env.LIFEBOAT_PG_BINDIR) out.push(process.env.LIFEBOAT_PG_BINDIR);
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    for (const v of readdirSync(base)
      .filter((d) => /^\d+$/.test(d))
      .sort((a, b) => Number(b) - Number(a)))
      out.push(path.join(base, v, 'bin'));
  }
  for (const d of (process.env.PATH ?? '').split(path.delimiter)) if (d) out.push(d);
  return out;
}

async function findExact(name: string, major: number, database: string, toolsDir: string | undefined, pkg: string): Promise<FoundTool> {
  const seen: string[] = [];
  for (const dir of dirs(toolsDir)) {
    const file = path.join(dir, name);
    if (!existsSync(file)) continue;
    const t = await versionOf(file);
    if (t?.major === major) return t;
    if (t) seen.push(`${t.version} in ${dir}`);
  }
  const found = seen.length ? `found ${seen.join(', ')}` : 'not found';
  throw new LifeboatError('TOOL_MISSING', `${name} ${major} is needed for ${database} (${found}): install ${pkg}-${major} or set toolsDir`, {
    subject: database,
  });
}

/** pg_basebackup of the server's major version (a base backup is only restorable by that major). */
export function findBaseBackupTool(major: number, database: string, toolsDir?: string): Promise<FoundTool> {
  return findExact('pg_basebackup', major, database, toolsDir, 'postgresql-client');
}

/** The directory of `postgres` and `pg_ctl` of `major` (a restored data directory runs only there). */
export async function findServerBinDir(major: number, database: string, toolsDir?: string): Promise<string> {
  return path.dirname((await findExact('pg_ctl', major, database, toolsDir, 'postgresql')).path);
}
