import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { connectPg } from '../engines/postgres.js';
import { shortMessage } from '../errors.js';
import type { VerificationCheck } from '../contracts/index.js';
import { resolveTarget } from './target.js';

function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return typeof v === 'string' ? v.slice(0, 200) : v;
  return JSON.stringify(v).slice(0, 200);
}

/**
 * Runs the database's configured SQL assertions (`verify.checks`) in a restored scratch database,
 * each in a read-only transaction with a statement timeout. A check passes when its first column
 * of its first row is `true`.
 */
export async function runVerifyChecks(cfg: LifeboatConfig, database: string, scratch: string): Promise<VerificationCheck[]> {
  const checks = getDatabase(cfg, database).verify?.checks ?? [];
  if (checks.length === 0) return [];
  const target = resolveTarget(cfg, database, scratch, true);
  const client = await connectPg(target.conn, scratch);
  const out: VerificationCheck[] = [];
  try {
    for (const check of checks) {
      try {
        await client.query('begin read only');
        await client.query(`set local statement_timeout = '5min'`);
        const r = await client.query({ text: check.sql, rowMode: 'array' });
        const value = (r.rows[0] as unknown[] | undefined)?.[0];
        out.push({ name: check.name, sql: check.sql, ok: value === true, value: plain(value) });
      } catch (err) {
        out.push({ name: check.name, sql: check.sql, ok: false, value: shortMessage(`error: ${(err as Error).message}`, 300) });
      } finally {
        await client.query('rollback').catch(() => undefined);
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return out;
}
