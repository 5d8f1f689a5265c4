import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { shortMessage } from '../errors.js';
import type { VerificationCheck } from '../contracts/index.js';
import type { Connection, Engine } from '../engines/index.js';
import { resolveTarget } from './target.js';

/** How long one check may run. */
const CHECK_TIMEOUT_MS = 5 * 60_000;

function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return typeof v === 'string' ? v.slice(0, 200) : v;
  return JSON.stringify(v).slice(0, 200);
}

/** Runs SQL assertions in database `dbname` of the server `conn` points at (see {@link runVerifyChecks}). */
export async function runChecksIn(
  engine: Engine,
  conn: Connection,
  dbname: string,
  checks: Array<{ name: string; sql: string }>,
): Promise<VerificationCheck[]> {
  if (checks.length === 0) return [];
  const session = await engine.openDatabase(conn, dbname);
  const out: VerificationCheck[] = [];
  try {
    for (const check of checks) {
      try {
        const value = await session.check(check.sql, CHECK_TIMEOUT_MS);
        out.push({ name: check.name, sql: check.sql, ok: value === true, value: plain(value) });
      } catch (err) {
        out.push({ name: check.name, sql: check.sql, ok: false, value: shortMessage(`error: ${(err as Error).message}`, 300) });
      }
    }
  } finally {
    await session.close();
  }
  return out;
}

/**
 * Runs the database's configured SQL assertions (`verify.checks`) in a restored scratch database,
 * each read-only with a statement timeout. A check passes when its first column of its first row
 * is `true`; an error is the check's failed result.
 */
export async function runVerifyChecks(cfg: LifeboatConfig, database: string, scratch: string): Promise<VerificationCheck[]> {
  const checks = getDatabase(cfg, database).verify?.checks ?? [];
  if (checks.length === 0) return [];
  const { engine, conn } = resolveTarget(cfg, database, scratch, true);
  return runChecksIn(engine, conn, scratch, checks);
}
