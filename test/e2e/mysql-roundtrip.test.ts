// Round trips of the MySQL engine's building blocks against a real, ephemeral MariaDB server
// (started here, in beforeAll): dump | zstd > file, then zstd -dc | client into new databases.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startEphemeralMariadb, type MariadbServer } from '../../dev/mariadb.js';
import { fillMysqlSample, SAMPLE_TABLES } from '../../dev/mysql-sample-data.js';
import {
  compareRowCounts,
  createDatabase,
  describeDatabase,
  dropOwnedDatabase,
  openAdmin,
  parseMysqlUrl,
  prepareDump,
  prepareRestore,
  reinstateTriggers,
  RestoreFilter,
  suspendTriggers,
  withDatabase,
  type AdminConnection,
  type DumpOutcome,
  type MysqlConnection,
} from '../../src/engines/mysql/index.js';
import { adminClient, checksumTables, createDb, procSampler, programDefinitions, runDump, runRestore, silentLog, tableDigest } from './mysql-support.js';

// Quotes, a backslash, '#', ';', a space and an emoji: every place the password goes must keep it intact.
const PASSWORD = `Lb"pw'\\#; 🚀${Date.now() % 100000}`;
const TOOLS = ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql'];

let server: MariadbServer;
let work: string;
let source: MysqlConnection;
let admin: AdminConnection;
let c: mysql.Connection;

beforeAll(async () => {
  server = await startEphemeralMariadb({ password: PASSWORD });
  work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-mysql-test-'));
  await createDb(server, 'shop', (conn) => fillMysqlSample(conn, 400));
  source = parseMysqlUrl(server.url('shop'));
  admin = await openAdmin(source, 'shop');
  c = await adminClient(server);
}, 120_000);

afterAll(async () => {
  await c?.end();
  await admin?.close();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function dumpTo(kind: 'full' | 'schema' | 'data', file: string, conn = source): Promise<DumpOutcome> {
  const dump = await prepareDump(conn, { kind, rowCounts: 'exact' }, silentLog);
  try {
    await runDump(dump, file);
    return await dump.finish();
  } finally {
    await dump.close();
  }
}

async function restoreInto(target: string, file: string, options: { tables?: string[]; create?: boolean } = {}): Promise<void> {
  if (options.create !== false)
    await createDatabase(admin, target, { charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' }, `lifeboat:restore:test-${target}`, []);
  const restore = await prepareRestore(withDatabase(source, target), admin.server, { subject: `shop into ${target}` });
  try {
    await runRestore(restore, file, [
      new RestoreFilter({ sourceDatabase: 'shop', targetDatabase: target, tables: options.tables, subject: `shop into ${target}` }),
    ]);
  } finally {
    await restore.close();
  }
}

async function digests(database: string, tables = SAMPLE_TABLES): Promise<Record<string, { rows: number; sha256: string }>> {
  const out: Record<string, { rows: number; sha256: string }> = {};
  for (const t of tables) out[t] = await tableDigest(c, database, t);
  return out;
}

async function counts(database: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of SAMPLE_TABLES) out[t] = (await tableDigest(c, database, t)).rows;
  return out;
}

describe('MariaDB round trip of awkward data (utf8mb4, blobs, JSON, DECIMAL, dates, programs, a view)', () => {
  let outcome: DumpOutcome;
  const file = () => path.join(work, 'shop-full.sql.zst');

  test('a full dump counts every table in the dump and records the snapshot position; the password is in no argv or environment', async () => {
    const sampler = procSampler(PASSWORD, TOOLS);
    try {
      outcome = await dumpTo('full', file());
    } finally {
      const seen = sampler.stop();
      expect(seen.leaks).toEqual([]);
      expect(seen.toolProcesses).toBeGreaterThanOrEqual(1);
    }
    expect(outcome.rowCounts).toEqual(await counts('shop'));
    expect(outcome.rowCounts!.customers).toBe(400);
    expect(outcome.rowCounts!.audit).toBe(400);
    expect(outcome.consistency).toBe('same-snapshot');
    expect(outcome.position).toMatchObject({
      exact: true,
      source: 'dump-snapshot',
      file: expect.stringMatching(/^binlog\.\d+$/),
      gtid: expect.stringMatching(/^0-1-\d+$/),
    });
    expect(outcome.position!.pos).toBeGreaterThan(0);
    expect(outcome.schemaChanges).toEqual([]);
    expect(outcome.warnings).toEqual([]);
  });

  test('restored into a new database: equal content checksums, equal routines/triggers/events/views, equal row counts', async () => {
    const sampler = procSampler(PASSWORD, TOOLS);
    try {
      await restoreInto('shop_copy', file());
    } finally {
      const seen = sampler.stop();
      expect(seen.leaks).toEqual([]);
      expect(seen.toolProcesses).toBeGreaterThanOrEqual(1);
    }
    expect(await digests('shop_copy')).toEqual(await digests('shop'));
    expect(await checksumTables(c, 'shop_copy', SAMPLE_TABLES)).toEqual(await checksumTables(c, 'shop', SAMPLE_TABLES));
    const defs = await programDefinitions(c, 'shop');
    expect(Object.keys(defs).sort()).toEqual([
      'EVENT:nightly_cleanup',
      'FUNCTION:gross',
      'PROCEDURE:add_line',
      'TRIGGER:customers_audit',
      'VIEW:customer_totals',
    ]);
    expect(await programDefinitions(c, 'shop_copy')).toEqual(defs);
    expect(await compareRowCounts(withDatabase(source, 'shop_copy'), 'shop_copy', outcome.rowCounts!)).toEqual({
      compared: SAMPLE_TABLES.length,
      mismatches: [],
    });
    const [[emoji]] = (await c.query<mysql.RowDataPacket[][]>(
      "SELECT COUNT(*) AS n FROM shop_copy.customers WHERE name LIKE '%🚀%' AND name LIKE BINARY '%🚀🔥👩‍👩‍👧%'",
    )) as unknown as [[{ n: string }]];
    expect(Number(emoji.n)).toBeGreaterThan(0);
  });

  test('the new database carries the ownership marker and is dropped only by it', async () => {
    expect(await describeDatabase(admin, 'shop_copy')).toMatchObject({
      exists: true,
      marker: 'lifeboat:restore:test-shop_copy',
      charset: 'utf8mb4',
      collation: 'utf8mb4_unicode_ci',
    });
    expect((await describeDatabase(admin, 'shop_copy')).objects).toBeGreaterThanOrEqual(SAMPLE_TABLES.length + 4);
    await expect(dropOwnedDatabase(admin, 'shop')).rejects.toThrow(/Drop of database shop refused: it was not created by Lifeboat \(no marker\)/);
    expect(await dropOwnedDatabase(admin, 'shop_copy')).toEqual({ dropped: true });
    expect(await describeDatabase(admin, 'shop_copy')).toEqual({ exists: false, objects: 0, marker: null });
    expect(await dropOwnedDatabase(admin, 'shop_copy')).toEqual({ dropped: false });
  });

  test('the registry marker (MySQL, old MariaDB) adds nothing to the restored schema', async () => {
    const reg = await openAdmin(source, 'shop', 'registry');
    try {
      await createDatabase(reg, 'shop_reg', { charset: 'utf8mb4' }, 'lifeboat:verify:wf-1', []);
      const found = await describeDatabase(reg, 'shop_reg');
      expect(found).toMatchObject({ exists: true, objects: 0, marker: 'lifeboat:verify:wf-1', charset: 'utf8mb4' });
      expect(await dropOwnedDatabase(reg, 'shop_reg')).toEqual({ dropped: true });
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM _lifeboat.owned_databases');
      expect(Number(rows[0]!.n)).toBe(0);
    } finally {
      await reg.close();
    }
  });

  test('mode tables restores only the chosen tables (and their triggers)', async () => {
    await restoreInto('shop_tables', file(), { tables: ['customers', 'audit'] });
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'shop_tables' ORDER BY 1");
    expect(rows.map((r) => r.t)).toEqual(['audit', 'customers']);
    expect(await digests('shop_tables', ['audit', 'customers'])).toEqual(await digests('shop', ['audit', 'customers']));
    expect(Object.keys(await programDefinitions(c, 'shop_tables'))).toEqual(['TRIGGER:customers_audit']);
    await dropOwnedDatabase(admin, 'shop_tables');
  });
});

test('the /proc sampler finds a secret in a process argv (so its silence above means something)', async () => {
  const { spawn } = await import('node:child_process');
  const sampler = procSampler(PASSWORD, ['sh']);
  const leaky = spawn('/bin/sh', ['-c', 'sleep 0.3', PASSWORD]);
  await new Promise((r) => leaky.once('close', r));
  const seen = sampler.stop();
  expect(seen.leaks.some((l) => l.startsWith('argv of'))).toBe(true);
  expect(seen.toolProcesses).toBeGreaterThanOrEqual(1);
});

describe('kinds schema and data restore what they claim', () => {
  test('schema: every definition and no rows; data: the rows into that schema, with its triggers suspended', async () => {
    const schemaFile = path.join(work, 'shop-schema.sql.zst');
    const dataFile = path.join(work, 'shop-data.sql.zst');
    const schema = await dumpTo('schema', schemaFile);
    expect(schema.rowCounts).toBeNull();
    const data = await dumpTo('data', dataFile);
    expect(data.rowCounts).toEqual(await counts('shop'));

    await restoreInto('shop_schema', schemaFile);
    expect(await counts('shop_schema')).toEqual(Object.fromEntries(SAMPLE_TABLES.map((t) => [t, 0])));
    expect(await programDefinitions(c, 'shop_schema')).toEqual(await programDefinitions(c, 'shop'));

    const session = await adminClient(server);
    try {
      const suspended = await suspendTriggers(session, 'shop_schema');
      expect(suspended.map((t) => t.name)).toEqual(['customers_audit']);
      await restoreInto('shop_schema', dataFile, { create: false });
      await reinstateTriggers(session, 'shop_schema', suspended);
    } finally {
      await session.end();
    }
    expect(await digests('shop_schema')).toEqual(await digests('shop'));
    expect(await programDefinitions(c, 'shop_schema')).toEqual(await programDefinitions(c, 'shop'));
    await dropOwnedDatabase(admin, 'shop_schema');
  });
});
