import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fixturePath, pgUrl, withPg } from './services.js';

/** Path of the Chinook PostgreSQL script, or undefined (with the reason printed) when absent. */
export function chinookPostgresScript(): string | undefined {
  const file = fixturePath('chinook/Chinook_PostgreSql.sql');
  if (!file) {
    console.warn(
      'Chinook conformance tests are skipped: fixtures/chinook/Chinook_PostgreSql.sql is not present beside the project (set LIFEBOAT_FIXTURES_DIR)',
    );
  }
  return file;
}

/**
 * Loads the Chinook script into a fresh database `name`. The script creates and connects to its
 * own `chinook` database; those lines are left out so it fills the database we choose.
 */
export async function loadChinook(file: string, name: string): Promise<void> {
  await withPg('postgres', (c) => c.query(`create database ${name}`));
  const sql = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*(DROP DATABASE|CREATE DATABASE|\\c\s)/i.test(l))
    .join('\n');
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', pgUrl(name)], { input: sql, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** `schema.table -> count(*)` for every ordinary table of the database. */
export async function countAllTables(database: string): Promise<Record<string, number>> {
  return withPg(database, async (c) => {
    const tables = await c.query<{ s: string; t: string }>(
      `select schemaname as s, tablename as t from pg_tables where schemaname not in ('pg_catalog', 'information_schema') order by 1, 2`,
    );
    const out: Record<string, number> = {};
    for (const { s, t } of tables.rows) {
      const r = await c.query<{ n: string }>(`select count(*)::text as n from ${c.escapeIdentifier(s)}.${c.escapeIdentifier(t)}`);
      out[`${s}.${t}`] = Number(r.rows[0]!.n);
    }
    return out;
  });
}
