import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { LifeboatError } from '../../errors.js';
import type { Flavour, MysqlServerInfo, MysqlTool } from './types.js';

export type ToolRole = 'dump' | 'client';

const NAMES: Record<Flavour, Record<ToolRole, string[]>> = {
  mariadb: { dump: ['mariadb-dump', 'mysqldump'], client: ['mariadb', 'mysql'] },
  mysql: { dump: ['mysqldump'], client: ['mysql'] },
};

const PACKAGES: Record<Flavour, string> = { mariadb: 'mariadb-client', mysql: "MySQL's mysql-client" };

/**
 * Reads a client tool's `--version` line: MariaDB's (`Distrib 10.11.6-MariaDB`, `from
 * 11.4.2-MariaDB`) or MySQL's (`Ver 8.0.36 for Linux`, `Distrib 5.7.44`). Undefined when unknown.
 */
export function parseToolVersion(line: string): { version: string; flavour: Flavour } | undefined {
  const maria = /(?:Distrib|from)\s+(\d+\.\d+\.\d+)-MariaDB/i.exec(line);
  if (maria) return { version: maria[1]!, flavour: 'mariadb' };
  if (/mariadb/i.test(line)) return undefined;
  const distrib = /Distrib\s+(\d+\.\d+\.\d+)/.exec(line);
  if (distrib) return { version: distrib[1]!, flavour: 'mysql' };
  const ver = /\bVer\s+(\d+\.\d+\.\d+)/.exec(line);
  return ver ? { version: ver[1]!, flavour: 'mysql' } : undefined;
}

const cache = new Map<string, MysqlTool | null>();

async function probe(file: string, name: string): Promise<MysqlTool | null> {
  if (cache.has(file)) return cache.get(file)!;
  let tool: MysqlTool | null = null;
  try {
    const { stdout } = await execa(file, ['--version'], { timeout: 10_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' }, extendEnv: false });
    const parsed = parseToolVersion(stdout.split('\n')[0] ?? '');
    if (parsed) {
      const [major, minor] = parsed.version.split('.').map(Number) as [number, number];
      tool = { name, path: file, version: parsed.version, flavour: parsed.flavour, major, minor };
    }
  } catch {
    tool = null;
  }
  cache.set(file, tool);
  return tool;
}

/** With `toolsDir` only that directory is searched (it names the tools to use); else PATH and the usual places. */
function candidateDirs(toolsDir?: string): string[] {
  if (toolsDir) return [toolsDir];
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return [...new Set([...dirs, '/usr/bin', '/usr/local/bin', '/usr/local/mysql/bin'])];
}

function seriesOf(t: { major: number; minor: number }): number {
  return t.major * 1000 + t.minor;
}

/**
 * Finds the dump tool (`mariadb-dump`/`mysqldump`) or client (`mariadb`/`mysql`) for a server: of
 * the server's flavour (a MySQL 8 `mysqldump` fails against MariaDB, and MariaDB's against MySQL
 * 8), of the server's series when installed, else the newest newer one. An older tool is refused
 * with the version to install.
 */
export async function findMysqlTool(
  role: ToolRole,
  server: Pick<MysqlServerInfo, 'flavour' | 'major' | 'minor' | 'version'>,
  subject: string,
  action: string,
  toolsDir?: string,
): Promise<MysqlTool> {
  const names = NAMES[server.flavour][role];
  const found: MysqlTool[] = [];
  const other: MysqlTool[] = [];
  for (const dir of candidateDirs(toolsDir)) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (!existsSync(file)) continue;
      const t = await probe(file, name);
      if (!t) continue;
      (t.flavour === server.flavour ? found : other).push(t);
    }
  }
  const label = server.flavour === 'mariadb' ? 'MariaDB' : 'MySQL';
  const where = toolsDir ? ` in toolsDir ${toolsDir}` : ' on the worker';
  if (found.length === 0) {
    const wrong = other.length
      ? ` (found ${other.map((t) => `${t.name} ${t.version} of ${t.flavour === 'mariadb' ? 'MariaDB' : 'MySQL'}`).join(', ')}, which cannot ${role === 'dump' ? 'dump' : 'talk to'} ${label} reliably)`
      : '';
    throw new LifeboatError(
      'TOOL_MISSING',
      `${action} of ${subject} failed: ${names[0]} of ${label} not found${where}${wrong}; install ${PACKAGES[server.flavour]} ${server.major}.${server.minor} or newer`,
      { subject },
    );
  }
  const want = seriesOf(server);
  const exact = found.find((t) => seriesOf(t) === want);
  const newer = found.filter((t) => seriesOf(t) > want).sort((a, b) => seriesOf(b) - seriesOf(a))[0];
  const pick = exact ?? newer;
  if (!pick) {
    const have = [...new Set(found.map((t) => `${t.name} ${t.version}`))].join(', ');
    throw new LifeboatError(
      'TOOL_TOO_OLD',
      `${action} of ${subject} refused: ${have} is older than the server (${label} ${server.version}); install ${PACKAGES[server.flavour]} ${server.major}.${server.minor} or newer, or set toolsDir`,
      { subject },
    );
  }
  return pick;
}
