// The fast path of `lifeboat wal-push %p` and `lifeboat wal-fetch %f %p`: PostgreSQL runs them once
// per WAL file, so they load the configuration and storage only (no Temporal, no command tree).
// Exit codes are the ones PostgreSQL acts on: wal-push 0 = archived, else it retries later;
// wal-fetch 0 = restored, 1 = not in the archive (quiet, recovery goes on or ends there),
// 126 = the archive is unreadable or corrupt (recovery stops instead of ending early).
import { loadConfig } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { redactSecrets } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';

export const WAL_COMMANDS = ['wal-push', 'wal-fetch'] as const;
export const FETCH_FATAL_EXIT = 126;

interface WalArgs {
  command: (typeof WAL_COMMANDS)[number];
  config?: string;
  database?: string;
  positional: string[];
}

/** Parses `[-c FILE] wal-push [--db NAME] PATH` and `[-c FILE] wal-fetch [--db NAME] FILE PATH`. */
export function parseWalArgs(args: string[]): WalArgs | string {
  let command: WalArgs['command'] | undefined;
  const out: Omit<WalArgs, 'command'> = { positional: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const [flag, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = () => inline ?? args[++i];
    if (flag === '-c' || flag === '--config') out.config = value();
    else if (flag === '--db' || flag === '--database') out.database = value();
    else if (!command && (WAL_COMMANDS as readonly string[]).includes(a)) command = a as WalArgs['command'];
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else out.positional.push(a);
  }
  if (!command) return 'expected wal-push or wal-fetch';
  const want = command === 'wal-push' ? 1 : 2;
  if (out.positional.length !== want) return command === 'wal-push' ? 'usage: lifeboat wal-push [--db NAME] %p' : 'usage: lifeboat wal-fetch [--db NAME] %f %p';
  return { command, ...out };
}

/** The database WAL belongs to: `--db`, `$LIFEBOAT_DATABASE`, or the only PostgreSQL database configured. */
export function walDatabase(cfg: LifeboatConfig, explicit?: string): string {
  const name = explicit ?? process.env.LIFEBOAT_DATABASE;
  if (name) return name;
  const pg = Object.entries(cfg.databases).filter(([, d]) => d.engine === 'postgres');
  if (pg.length === 1) return pg[0]![0];
  throw new LifeboatError('UNKNOWN_DATABASE', `WAL command needs --db NAME: the configuration has ${pg.length} PostgreSQL databases`);
}

const RETRY_DELAYS_MS = [500, 2000];
const FINAL = new Set([
  'CHECKSUM_MISMATCH',
  'MANIFEST_CONFLICT',
  'INVALID_INPUT',
  'NO_MATCHING_IDENTITY',
  'DECRYPT_FAILED',
  'UNKNOWN_DATABASE',
  'CONFIG_INVALID',
]);

async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const final = err instanceof LifeboatError && FINAL.has(err.code);
      if (final || attempt >= RETRY_DELAYS_MS.length || (err as Error).name === 'WalMissing') throw err;
      await new Promise((r) => setTimeout(r, RETRY_DELAYS_MS[attempt]));
    }
  }
}

/** Runs a WAL command; returns the exit code. Errors are one line on stderr, redacted. */
export async function runWalCommand(args: string[], stderr: (s: string) => void = (s) => process.stderr.write(s)): Promise<number> {
  const parsed = parseWalArgs(args);
  if (typeof parsed === 'string') {
    stderr(`lifeboat: ${parsed}\n`);
    return 2;
  }
  // WAL commands never talk to Temporal: a Temporal profile the server's OS user cannot read
  // (an inherited HOME) must not stop archiving.
  process.env.TEMPORAL_CONFIG_FILE ??= '/nonexistent/temporal.toml';
  try {
    const cfg = loadConfig(parsed.config);
    const database = walDatabase(cfg, parsed.database);
    const archive = await import('./wal-archive.js');
    if (parsed.command === 'wal-push') {
      await withRetries(() => archive.pushWal(cfg, database, parsed.positional[0]!));
      return 0;
    }
    try {
      await withRetries(() => archive.fetchWal(cfg, database, parsed.positional[0]!, parsed.positional[1]!));
      return 0;
    } catch (err) {
      if (err instanceof archive.WalMissing) return 1;
      throw err;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    stderr(`lifeboat ${parsed.command}: ${redactSecrets(message).split('\n').join(' ')}\n`);
    return parsed.command === 'wal-fetch' ? FETCH_FATAL_EXIT : 1;
  }
}
