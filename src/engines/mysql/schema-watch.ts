/**
 * Detects DDL that ran while a dump was reading. `--single-transaction` reads one consistent
 * snapshot of the rows, but not of the definitions: an instant ALTER shows the new columns with
 * their defaults, a table created later is missing, a dropped or renamed table fails the dump or
 * is missing. The catalog of the database is fingerprinted before the dump and compared after it;
 * the server's DDL counters catch what the catalog cannot show (TRUNCATE keeps the definition).
 */
import { createHash } from 'node:crypto';
import { queryRows, type MysqlClient } from './client.js';

export interface SchemaFingerprint {
  /** `table` / `view` / `routine:NAME` / `trigger:NAME` / `event:NAME` → hash of its definition. */
  objects: Map<string, string>;
  /** Server-wide DDL statement counters (`Com_alter_table`, ...). */
  counters: Map<string, number>;
}

export interface SchemaChange {
  object: string;
  change: 'created' | 'dropped' | 'altered';
}

const COUNTERS = ['Com_alter_table', 'Com_rename_table', 'Com_truncate', 'Com_drop_table', 'Com_create_table', 'Com_create_index', 'Com_drop_index'];

function hash(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function group<T extends { k: string }>(rows: T[], into: Map<string, unknown[]>): void {
  for (const r of rows) {
    const list = into.get(r.k) ?? [];
    list.push(Object.values(r));
    into.set(r.k, list);
  }
}

/** Fingerprints the definitions of `database` and reads the server's DDL counters. */
export async function fingerprintSchema(c: MysqlClient, database: string): Promise<SchemaFingerprint> {
  await c.query('SET SESSION information_schema_stats_expiry = 0').catch(() => undefined); // MySQL 8 caches CREATE_TIME
  const parts = new Map<string, unknown[]>();
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT TABLE_NAME AS k, TABLE_TYPE, ENGINE, CREATE_TIME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?`,
      [database],
    ),
    parts,
  );
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT TABLE_NAME AS k, COLUMN_NAME, ORDINAL_POSITION, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLLATION_NAME
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`,
      [database],
    ),
    parts,
  );
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT TABLE_NAME AS k, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      [database],
    ),
    parts,
  );
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT CONCAT('routine:', ROUTINE_NAME) AS k, ROUTINE_TYPE, CREATED, LAST_ALTERED, ROUTINE_DEFINITION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?`,
      [database],
    ),
    parts,
  );
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT CONCAT('trigger:', TRIGGER_NAME) AS k, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT, CREATED FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`,
      [database],
    ),
    parts,
  );
  group(
    await queryRows<{ k: string }>(
      c,
      `SELECT CONCAT('event:', EVENT_NAME) AS k, CREATED, LAST_ALTERED, EVENT_DEFINITION FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?`,
      [database],
    ).catch(() => []),
    parts,
  );
  const objects = new Map([...parts].map(([k, v]) => [k, hash(v)]));
  const counters = new Map<string, number>();
  const status = await queryRows<{ Variable_name: string; Value: string }>(
    c,
    `SHOW GLOBAL STATUS WHERE Variable_name IN (${COUNTERS.map(() => '?').join(', ')})`,
    COUNTERS,
  ).catch(() => []);
  for (const r of status) counters.set(r.Variable_name, Number(r.Value));
  return { objects, counters };
}

/** What changed between two fingerprints, and the server-wide DDL statements counted meanwhile. */
export function compareFingerprints(before: SchemaFingerprint, after: SchemaFingerprint): { changes: SchemaChange[]; statements: Record<string, number> } {
  const changes: SchemaChange[] = [];
  for (const [k, h] of before.objects) {
    const now = after.objects.get(k);
    if (now === undefined) changes.push({ object: k, change: 'dropped' });
    else if (now !== h) changes.push({ object: k, change: 'altered' });
  }
  for (const k of after.objects.keys()) if (!before.objects.has(k)) changes.push({ object: k, change: 'created' });
  const statements: Record<string, number> = {};
  for (const [name, n] of after.counters) {
    const d = n - (before.counters.get(name) ?? n);
    if (d > 0) statements[name.replace(/^Com_/, '')] = d;
  }
  changes.sort((a, b) => a.object.localeCompare(b.object));
  return { changes, statements };
}

/** One warning line per finding, for the manifest and the log. */
export function describeSchemaDrift(database: string, drift: { changes: SchemaChange[]; statements: Record<string, number> }): string[] {
  const out: string[] = [];
  if (drift.changes.length > 0) {
    const list = drift.changes
      .slice(0, 20)
      .map((c) => `${c.object} ${c.change}`)
      .join(', ');
    out.push(
      `DDL ran on ${database} during the dump (${list}${drift.changes.length > 20 ? ', …' : ''}): the dump may mix definitions from before and after it`,
    );
  }
  const ddl = Object.entries(drift.statements).filter(([k]) => ['alter_table', 'rename_table', 'truncate'].includes(k));
  if (drift.changes.length === 0 && ddl.length > 0) {
    out.push(
      `DDL statements ran on the server during the dump (${ddl.map(([k, n]) => `${n} ${k.replace('_', ' ').toUpperCase()}`).join(', ')}); no definition in ${database} changed, but a TRUNCATE of one of its tables would not show in the catalog`,
    );
  }
  return out;
}
