// Roles, dumped apart from the database (`pg_dumpall --roles-only --no-role-passwords`) and
// restored only on request, statement by statement, creating what the server lacks.
import { execa } from 'execa';
import { waitForExit } from '../../pipeline/child.js';
import { describeExit, TailBuffer } from '../../pipeline/process.js';
import type { RolesDump } from '../types.js';
import { withLibpqEnv, type PgConnection } from './connection.js';
import { connectMaintenance } from './sessions.js';
import { dbnameArg } from './restore.js';
import { findPgTool } from './tools.js';

/** What a provider's refusal to read the cluster's roles looks like in pg_dumpall's error output. */
const NOT_PERMITTED = /permission denied|must be superuser|not permitted|insufficient privilege|pg_authid/i;

/** The `pg_dumpall` arguments of a roles dump of the server `database` is on (never passwords). */
export function pgDumpallArgs(database: string): string[] {
  return ['--roles-only', '--no-role-passwords', '--no-password', dbnameArg(database)];
}

/**
 * Dumps the server's roles with `pg_dumpall --roles-only --no-role-passwords` through the
 * database's own connection. A server that does not permit it is `not-permitted` (with the
 * reason), any other failure `failed`: neither fails the backup.
 */
export async function dumpRoles(conn: PgConnection, label: string, serverMajor: number, toolsDir?: string): Promise<RolesDump> {
  let tool;
  try {
    tool = await findPgTool('pg_dumpall', serverMajor, label, toolsDir);
  } catch (err) {
    return { status: 'failed', reason: (err as Error).message };
  }
  const stderr = new TailBuffer();
  const { exit, stdout } = await withLibpqEnv(
    conn,
    async (env) => {
      const child = execa(tool.path, pgDumpallArgs(conn.database), {
        env,
        extendEnv: false,
        stdin: 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
        timeout: 120_000,
      });
      child.stderr.on('data', (d: Buffer) => stderr.push(d));
      const exited = await waitForExit(child, 'pg_dumpall', stderr);
      return { exit: exited, stdout: exited.ok ? ((await child).stdout as string) : '' };
    },
    'lifeboat:roles',
  );
  if (!exit.ok) {
    const reason = `pg_dumpall ${describeExit(exit)}`;
    return { status: NOT_PERMITTED.test(exit.stderr) ? 'not-permitted' : 'failed', reason };
  }
  return { status: 'dumped', sql: stdout, tool: { name: tool.name, version: tool.version } };
}

/** The statements of a roles dump, without comments and psql meta-commands. */
export function roleStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of sql.split('\n')) {
    if (!current && (line.startsWith('--') || line.startsWith('\\') || line.trim() === '')) continue;
    current += `${line}\n`;
    if (line.trimEnd().endsWith(';')) {
      out.push(current.trim());
      current = '';
    }
  }
  return out;
}

function createdRole(statement: string): string | undefined {
  const m = /^CREATE ROLE ("(?:[^"]|"")+"|[^\s;]+);$/.exec(statement);
  return m ? (m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]) : undefined;
}

/**
 * Applies a roles dump to `conn`'s server: roles it lacks are created, then their attributes,
 * memberships and settings applied one statement at a time. A statement the server refuses (a
 * provider's reserved role) is reported, not fatal. Returns notes for the restore's result.
 */
export async function restoreRoles(conn: PgConnection, sql: string, label: string): Promise<string[]> {
  const c = await connectMaintenance(conn, '', label);
  try {
    const existing = new Set((await c.query<{ r: string }>('select rolname as r from pg_roles')).rows.map((r) => r.r));
    const created: string[] = [];
    const refused: string[] = [];
    for (const statement of roleStatements(sql)) {
      const role = createdRole(statement);
      if (role && existing.has(role)) continue;
      try {
        await c.query(statement);
        if (role) created.push(role);
      } catch (err) {
        refused.push(`${statement.split('\n')[0]!.slice(0, 120)}: ${(err as Error).message}`);
      }
    }
    const notes = [
      `roles restored from the backup: ${created.length} created${created.length ? ` (${created.join(', ')})` : ''}, the others existed; passwords are never backed up: set them with ALTER ROLE ... PASSWORD`,
    ];
    if (refused.length) notes.push(`${refused.length} role statements refused by the server, first: ${refused[0]}`);
    return notes;
  } finally {
    await c.end().catch(() => undefined);
  }
}
