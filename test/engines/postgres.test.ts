import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { takeBackup } from '../../src/backup/backup.js';
import type { BackupProgress } from '../../src/backup/types.js';
import { readManifest } from '../../src/catalog/catalog.js';
import { parseConfig } from '../../src/config/load.js';
import { postgresEngine } from '../../src/engines/postgres/index.js';
import { openStorage } from '../../src/storage/index.js';
import { captureLogger, createRole, pgUrl, services, uniqueName, withPg } from '../harness/services.js';

// The PostgreSQL engine against the real test server: what a dump command carries (and does not),
// the snapshot its row counts are taken in, the server and database sessions, the version guard.

let role: { name: string; password: string };
const db = uniqueName('lb_engine');

beforeAll(async () => {
  role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, db, 0.05);
});

test('a prepared dump: the password only in a 0600 passfile (never argv or the environment), row counts in the dump snapshot, everything removed on close', async () => {
  const conn = postgresEngine.parseUrl(pgUrl(db, role));
  const { logger } = captureLogger();
  const prepared = await postgresEngine.prepareDump(conn, { label: 'shop', kind: 'full', rowCounts: true, session: 'lifeboat:shop:test' }, logger);
  let passfile: string | undefined;
  try {
    expect(prepared).toMatchObject({ format: 'pg_dump-custom', extension: '.dump', tool: { name: 'pg_dump' }, server: { flavour: 'postgresql' } });
    expect(prepared.server.sizeBytes).toBeGreaterThan(1_000_000);
    expect(prepared.tool.major).toBeGreaterThanOrEqual(prepared.server.major);
    const { command } = prepared;
    expect(command.args.slice(0, 4)).toEqual(['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000']);
    expect(command.args[4]).toMatch(/^--snapshot=[0-9A-F]+-[0-9A-F]+-\d+$/);
    expect(command.args).toHaveLength(5);
    expect(JSON.stringify(command)).not.toContain(role.password);
    expect(command.env).toMatchObject({ PGHOST: conn.host, PGPORT: String(conn.port), PGUSER: role.name, PGDATABASE: db, PGAPPNAME: 'lifeboat:shop:test' });
    expect(command.env.PGPASSWORD).toBeUndefined();
    passfile = command.env.PGPASSFILE!;
    expect(statSync(passfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(passfile, 'utf8')).toBe(`*:*:*:*:${role.password}\n`);

    // A row written after the snapshot was exported is in neither the dump nor the counts.
    await withPg(db, (c) => c.query(`insert into shop.customers (email, name) values ('late@example.com', 'Late')`));
    prepared.started();
    const dump = await execa(command.file, command.args, { env: command.env, extendEnv: false, encoding: 'buffer' });
    expect(Buffer.from(dump.stdout).subarray(0, 5).toString()).toBe('PGDMP');
    const outcome = await prepared.finish();
    expect(outcome.consistency).toBe('same-snapshot');
    const now = await withPg(db, async (c) => Number((await c.query('select count(*) from shop.customers')).rows[0].count));
    expect(outcome.rowCounts?.['shop.customers']).toBe(now - 1);
    expect(Object.keys(outcome.rowCounts ?? {}).sort()).toEqual(['Audit.Events', 'shop.customers', 'shop.order_items', 'shop.orders', 'shop.products']);
  } finally {
    await prepared.close();
  }
  expect(existsSync(passfile!)).toBe(false);
});

test('a schema-only dump counts nothing; an older pg_dump than the server is refused with TOOL_TOO_OLD and the package to install', async () => {
  const conn = postgresEngine.parseUrl(pgUrl(db, role));
  const prepared = await postgresEngine.prepareDump(conn, { label: 'shop', kind: 'schema', rowCounts: true, session: 's' }, captureLogger().logger);
  try {
    expect(prepared.command.args).toContain('--schema-only');
    prepared.started();
    await execa(prepared.command.file, prepared.command.args, { env: prepared.command.env, extendEnv: false, stdout: 'ignore' });
    expect(await prepared.finish()).toEqual({ rowCounts: null, consistency: 'same-snapshot' });
  } finally {
    await prepared.close();
  }
  const server = { version: '99.1', major: 99, flavour: 'postgresql' };
  await expect(postgresEngine.restoreTool(server, { name: 'pg_dump', version: '16.4' }, 'shop into x')).rejects.toMatchObject({
    code: 'TOOL_TOO_OLD',
    message: expect.stringMatching(
      /^Restore of shop into x refused: pg_restore [\d., ]+ is older than the server \(PostgreSQL 99\); install postgresql-client-99 or set toolsDir$/,
    ),
  });
  // An archive written by a newer pg_dump than any installed pg_restore cannot be read either.
  await expect(
    postgresEngine.restoreTool({ ...server, version: '15.0', major: 15 }, { name: 'pg_dump', version: '99.0' }, 'shop into x'),
  ).rejects.toMatchObject({ code: 'TOOL_TOO_OLD' });
});

test('server and database sessions: create with a marker, describe, count, check read-only with a timeout, drop', async () => {
  const conn = postgresEngine.parseUrl(pgUrl(db, role));
  const name = uniqueName('lb_engine_new');
  const server = await postgresEngine.openServer(conn, name, name);
  try {
    expect(await server.describe(name)).toEqual({ exists: false, marker: null });
    expect(await server.create(name, ["ENCODING = 'UTF8'"], 'lifeboat:restore:test')).toEqual([]);
    expect(await server.describe(name)).toEqual({ exists: true, marker: 'lifeboat:restore:test' });
    await server.mark(name, 'lifeboat:restore:test restored shop');
    expect((await server.describe(name)).marker).toBe('lifeboat:restore:test restored shop');

    const target = postgresEngine.withDatabase(conn, name);
    await withPg(name, (c) => c.query('create table public.t (id int); insert into public.t select generate_series(1, 7)'));
    const s = await postgresEngine.openDatabase(target, name);
    try {
      expect(await s.listTables()).toEqual([{ schema: 'public', name: 't' }]);
      expect(await s.countRows([{ schema: 'public', name: 't' }])).toEqual({ 'public.t': 7 });
      expect(await s.userObjects()).toBe(1);
      expect(await s.identity()).toMatch(new RegExp(`^\\d+/${name}$`));
      expect(await s.check('select count(*) = 7 from public.t', 5000)).toBe(true);
      await expect(s.check('insert into public.t values (8)', 5000)).rejects.toThrow(/read-only transaction/);
      await expect(s.check('select pg_sleep(5)', 200)).rejects.toThrow(/statement timeout/);
      expect(await s.countRows([{ schema: 'public', name: 't' }])).toEqual({ 'public.t': 7 });
    } finally {
      await s.close();
    }
    await server.drop(name);
    expect(await server.describe(name)).toEqual({ exists: false, marker: null });
    await server.drop(name); // already gone: still fine
  } finally {
    await server.close();
  }
  await expect(postgresEngine.openDatabase(postgresEngine.withDatabase(conn, name), name)).rejects.toMatchObject({ code: 'DATABASE_NOT_FOUND' });
});

test('a backup through the engine reports the server size as its estimate, then commits a manifest naming the engine and flavour', async () => {
  process.env.LB_ENGINE_TEST_URL = pgUrl(db, role);
  const cfg = parseConfig({
    storage: { local: { type: 'filesystem', path: mkdtempSync(path.join(os.tmpdir(), 'lb-engine-')) } },
    databases: { shop: { engine: 'postgres', url: { env: 'LB_ENGINE_TEST_URL' } } },
  });
  const seen: BackupProgress[] = [];
  const result = await takeBackup(
    cfg,
    { database: 'shop', kind: 'full', backupId: 'b-estimate', workflow: { workflowId: 'w', runId: 'r', attempt: 1 } },
    captureLogger().logger,
    {
      onProgress: (p) => seen.push({ ...p }),
    },
  );
  const manifest = (await readManifest(openStorage(cfg, 'local'), 'shop', 'b-estimate'))!;
  expect(result.key).toMatch(/^shop\/backups\/b-estimate\/b-estimate\.a1-[0-9a-f]{6}\.dump\.zst$/);
  expect(manifest).toMatchObject({
    engine: 'postgres',
    format: 'pg_dump-custom',
    server: { flavour: 'postgresql' },
    tool: { name: 'pg_dump' },
    rowCounts: { consistency: 'same-snapshot' },
  });
  expect(manifest.position).toBeUndefined();
  const size = manifest.server.sizeBytes!;
  expect(size).toBeGreaterThan(0);
  expect([...new Set(seen.map((p) => p.phase))]).toEqual(['connecting', 'dumping', 'confirming', 'committing']);
  // Every report from the dump on carries the estimate (what the CLI shows as an estimated percentage).
  const dumping = seen.filter((p) => p.phase === 'dumping');
  expect(dumping.length).toBeGreaterThan(0);
  expect(dumping.every((p) => p.estimateBytes === size)).toBe(true);
  expect(seen[seen.length - 1]).toMatchObject({ phase: 'committing', rawBytes: manifest.rawBytes, storedBytes: manifest.artifact.bytes, estimateBytes: size });
});

test('exact row counts of 250 tables, counted 100 to a query, each under its own (quoted) name', async () => {
  const many = uniqueName('lb_counts');
  await withPg('postgres', (c) => c.query(`create database ${many}`));
  await withPg(many, (c) =>
    c.query(`do $$ begin for i in 1..250 loop execute format('create table %I as select generate_series(1, %s) as id', 'T ' || i, i % 7); end loop; end $$`),
  );
  const s = await postgresEngine.openDatabase(postgresEngine.parseUrl(pgUrl(many)), 'counts');
  try {
    const tables = await s.listTables();
    expect(tables).toHaveLength(250);
    const counts = await s.countRows(tables);
    expect(Object.keys(counts)).toHaveLength(250);
    for (let i = 1; i <= 250; i++) expect([i, counts[`public.T ${i}`]]).toEqual([i, i % 7]);
  } finally {
    await s.close();
  }
});
