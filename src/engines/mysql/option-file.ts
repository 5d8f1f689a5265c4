import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Flavour, MysqlConnection } from './types.js';

/** A value for a MySQL option file: always double-quoted, `\` and `"` escaped, one line. */
export function optionValue(v: string): string {
  if (/[\r\n]/.test(v)) throw new Error('option file values cannot contain line breaks');
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const SYSTEM_CA = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** TLS lines for the client tools of `flavour` (MariaDB's and MySQL's spell them differently). */
function tlsLines(conn: MysqlConnection, flavour: Flavour, systemCa: string | undefined): string[] {
  const ca = conn.tlsCa ?? (conn.tls === 'verify-ca' || conn.tls === 'verify-identity' ? systemCa : undefined);
  const caLine = ca ? [`ssl-ca=${optionValue(ca)}`] : [];
  if (flavour === 'mysql') {
    const mode = { disabled: 'DISABLED', preferred: 'PREFERRED', required: 'REQUIRED', 'verify-ca': 'VERIFY_CA', 'verify-identity': 'VERIFY_IDENTITY' }[
      conn.tls
    ];
    return [`ssl-mode=${mode}`, ...caLine];
  }
  switch (conn.tls) {
    case 'disabled':
      return ['skip-ssl'];
    case 'preferred':
      return [];
    case 'required':
      return ['ssl', 'skip-ssl-verify-server-cert'];
    default:
      return ['ssl', 'ssl-verify-server-cert', ...caLine];
  }
}

/**
 * The text of an option file for the client tools: connection, credentials and TLS under
 * `[client]`, plus `extra` lines for the tool's own group (e.g. `[mysqldump]`).
 */
export function optionFileText(conn: MysqlConnection, flavour: Flavour, extra: { group: string; lines: string[] } | undefined, systemCa?: string): string {
  const lines = ['[client]', `host=${optionValue(conn.host)}`, `port=${conn.port}`, `user=${optionValue(conn.user)}`];
  if (conn.password !== undefined) lines.push(`password=${optionValue(conn.password)}`);
  if (conn.host === 'localhost') lines.push('protocol=TCP');
  lines.push(...tlsLines(conn, flavour, systemCa));
  if (extra && extra.lines.length > 0) lines.push(`[${extra.group}]`, ...extra.lines);
  return `${lines.join('\n')}\n`;
}

export interface OptionFile {
  /** The 0600 file (in a 0700 directory of its own) to pass as `--defaults-extra-file`. */
  file: string;
  /** Environment for the child: no `MYSQL_*` variables, and `HOME` without a `~/.my.cnf`. */
  env: Record<string, string>;
  remove(): Promise<void>;
}

async function firstExisting(files: string[]): Promise<string | undefined> {
  for (const f of files) {
    if (
      await access(f).then(
        () => true,
        () => false,
      )
    )
      return f;
  }
  return undefined;
}

/**
 * Writes an option file holding the connection and password for the client tools. The tools get
 * `--defaults-extra-file=<file>` as their first argument; the password is never in argv or the
 * environment. `remove()` deletes the file and its directory (call it in every outcome).
 */
export async function writeOptionFile(conn: MysqlConnection, flavour: Flavour, extra?: { group: string; lines: string[] }): Promise<OptionFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-my-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const file = path.join(dir, 'client.cnf');
    await writeFile(file, optionFileText(conn, flavour, extra, await firstExisting(SYSTEM_CA)), { mode: 0o600 });
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir };
    if (process.env.TZ) env.TZ = process.env.TZ;
    return { file, env, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}
