import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { takeBackup } from '../../src/backup/backup.js';
import { parseConfig } from '../../src/config/load.js';
import { engineFor, resolveConnection, supportedEngines } from '../../src/engines/index.js';
import { mysqlEngine } from '../../src/engines/mysql/index.js';
import { pgDumpArgs, pgRestoreArgs, postgresEngine, type PgRestoreOptions } from '../../src/engines/postgres/index.js';
import { selectBackup } from '../../src/restore/select.js';
import { resolveTarget } from '../../src/restore/target.js';
import { openStorage } from '../../src/storage/index.js';
import { keys } from '../../src/catalog/manifest.js';
import { captureLogger } from '../harness/services.js';

const PASSWORD = 'argv-must-never-see-this';

function config(dir: string) {
  process.env.LB_UNIT_ORDERS_URL = `postgres://app:${PASSWORD}@db.internal:5432/orders`;
  process.env.LB_UNIT_SHOP_URL = `mysql://app:${PASSWORD}@db.internal:3306/shop`;
  process.env.LB_UNIT_BAD_URL = `postgres://app:${PASSWORD}@[bad`;
  return parseConfig({
    storage: { local: { type: 'filesystem', path: dir } },
    databases: {
      orders: { engine: 'postgres', url: { env: 'LB_UNIT_ORDERS_URL' } },
      shop: { engine: 'mysql', url: { env: 'LB_UNIT_SHOP_URL' } },
      broken: { engine: 'postgres', url: { env: 'LB_UNIT_BAD_URL' } },
    },
    targets: { replica: { engine: 'mysql', url: { env: 'LB_UNIT_SHOP_URL' } } },
  });
}

test('the registry runs postgres and mysql and refuses unknown engines with UNSUPPORTED, naming what was refused', () => {
  expect(supportedEngines()).toEqual(['postgres', 'mysql']);
  expect(engineFor('postgres', 'Backup of orders', 'orders')).toBe(postgresEngine);
  expect(engineFor('mysql', 'Backup of shop', 'shop')).toBe(mysqlEngine);
  expect(postgresEngine).toMatchObject({ id: 'postgres', name: 'PostgreSQL', formats: ['pg_dump-custom', 'pg_dump-directory'] });
  expect(mysqlEngine).toMatchObject({ id: 'mysql', name: 'MySQL/MariaDB', formats: ['sql'] });
  let refusal: unknown;
  try {
    engineFor('oracle', 'Backup of shop', 'shop');
  } catch (err) {
    refusal = err;
  }
  expect(refusal).toMatchObject({
    code: 'UNSUPPORTED',
    nonRetryable: true,
    subject: 'shop',
    message: 'Backup of shop refused: engine oracle is unknown (this version supports postgres, mysql)',
  });
});

test('a mysql database resolves to the MySQL engine; a restore across engines is refused before anything is touched', () => {
  const cfg = config(mkdtempSync(path.join(os.tmpdir(), 'lb-engines-')));
  const scratch = resolveTarget(cfg, 'shop', 'lb_verify_shop_x', true);
  expect(scratch.engine).toBe(mysqlEngine);
  expect(scratch.conn).toMatchObject({ engine: 'mysql', host: 'db.internal', port: 3306, user: 'app', database: 'lb_verify_shop_x', password: PASSWORD });
  expect(scratch.server.database).toBe('shop');
  expect(() => resolveTarget(cfg, 'orders', 'replica')).toThrow(
    'Restore of orders into replica refused: the backup is PostgreSQL and the target is MySQL/MariaDB',
  );
});

test('a backup whose format its engine does not restore is refused with UNSUPPORTED', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-engines-'));
  const cfg = config(dir);
  const storage = openStorage(cfg, 'local');
  const at = '2026-11-23T02:00:00.000Z';
  const manifest = {
    formatVersion: 1,
    backupId: 'b-mysql',
    database: 'shop',
    kind: 'full',
    engine: 'mysql',
    provider: 'self-hosted',
    format: 'pg_dump-custom',
    server: { version: '10.11.6', flavour: 'mariadb' },
    tool: { name: 'mariadb-dump', version: '10.11.6' },
    startedAt: at,
    finishedAt: at,
    durationMs: 1,
    rawBytes: 1,
    artifact: {
      storage: 'local',
      key: 'shop/backups/b-mysql/b-mysql.a1-000000.sql.zst',
      bytes: 1,
      sha256: '0'.repeat(64),
      compression: { codec: 'zstd', level: 1 },
      encryption: null,
    },
    rowCounts: null,
    workflow: { workflowId: 'w', runId: 'r', attempt: 1 },
    lifeboatVersion: '9.9.9',
  };
  await storage.put(keys.manifest('shop', 'b-mysql'), JSON.stringify(manifest));
  await expect(selectBackup(cfg, 'shop', 'b-mysql', 'full')).rejects.toMatchObject({
    code: 'UNSUPPORTED',
    message: expect.stringMatching(/^Restore of shop failed: backup b-mysql is a pg_dump-custom artifact, which the MySQL\/MariaDB engine does not restore/),
  });
  const backup = takeBackup(
    cfg,
    { database: 'shop', kind: 'full', backupId: 'b2', workflow: { workflowId: 'w', runId: 'r', attempt: 1 } },
    captureLogger().logger,
  );
  await expect(backup).rejects.toMatchObject({ code: 'CONNECTION_FAILED' });
  expect((await storage.list('')).map((o) => o.key)).toEqual([keys.manifest('shop', 'b-mysql')]);
});

test('a connection URL that cannot be parsed is named by its configuration path, never shown', () => {
  const cfg = config(mkdtempSync(path.join(os.tmpdir(), 'lb-engines-')));
  let err: unknown;
  try {
    resolveConnection(cfg, cfg.databases.broken!, 'databases.broken.url', 'Backup of broken', 'broken');
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({
    code: 'CONFIG_INVALID',
    message: 'Invalid connection URL databases.broken.url: cannot be parsed (expected postgres://user:password@host:5432/dbname)',
  });
  expect(String((err as Error).message)).not.toContain(PASSWORD);
  const { engine, conn } = resolveConnection(cfg, cfg.databases.orders!, 'databases.orders.url', 'Backup of orders', 'orders');
  expect(engine).toBe(postgresEngine);
  expect(conn).toMatchObject({ engine: 'postgres', host: 'db.internal', port: 5432, user: 'app', database: 'orders', password: PASSWORD });
  expect(engine.withDatabase(conn, 'other')).toMatchObject({ host: 'db.internal', database: 'other', password: PASSWORD });
});

test.each([
  ['full', undefined, ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000']],
  ['full', '00000003-0000001B-1', ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000', '--snapshot=00000003-0000001B-1']],
  [
    'schema',
    '00000003-0000001B-1',
    ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000', '--snapshot=00000003-0000001B-1', '--schema-only'],
  ],
  ['data', undefined, ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000', '--data-only']],
  [
    'data',
    '00000003-0000001B-1',
    ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000', '--snapshot=00000003-0000001B-1', '--data-only'],
  ],
] as const)('pg_dump arguments of a %s backup (snapshot %s)', (kind, snapshot, expected) => {
  expect(pgDumpArgs(kind, snapshot)).toEqual(expected);
});

const F = '/tmp/lb/artifact';
const base = ['--exit-on-error', '--no-password', '--verbose', "--dbname=dbname='target'"];
const skip = ['--no-owner', '--no-acl'];
test.each<[string, PgRestoreOptions, string[]]>([
  ['full into a new database', { mode: 'full', privileges: 'skip', strategy: 'parallel', jobs: 4 }, [...base, ...skip, '--jobs=4', F]],
  ['full into a new database, one job', { mode: 'full', privileges: 'skip', strategy: 'parallel', jobs: 1 }, [...base, ...skip, F]],
  ['full into a new database with privileges', { mode: 'full', privileges: 'restore', strategy: 'parallel', jobs: 2 }, [...base, '--jobs=2', F]],
  [
    'full into an existing database',
    { mode: 'full', privileges: 'skip', strategy: 'atomic', jobs: 4 },
    [...base, ...skip, '--single-transaction', '--clean', '--if-exists', F],
  ],
  ['schema into a new database', { mode: 'schema', privileges: 'skip', strategy: 'parallel', jobs: 3 }, [...base, ...skip, '--schema-only', '--jobs=3', F]],
  [
    'schema into an existing database',
    { mode: 'schema', privileges: 'restore', strategy: 'atomic', jobs: 3 },
    [...base, '--schema-only', '--single-transaction', '--clean', '--if-exists', F],
  ],
  [
    'data into an existing database',
    { mode: 'data', privileges: 'skip', strategy: 'atomic', jobs: 4 },
    [...base, ...skip, '--data-only', '--single-transaction', F],
  ],
  [
    'tables into a new database',
    { mode: 'tables', privileges: 'skip', strategy: 'parallel', jobs: 2, listFile: '/tmp/lb/tables.list' },
    [...base, ...skip, '--use-list=/tmp/lb/tables.list', '--jobs=2', F],
  ],
  [
    'tables into an existing database',
    { mode: 'tables', privileges: 'skip', strategy: 'atomic', jobs: 2, listFile: '/tmp/lb/tables.list' },
    [...base, ...skip, '--use-list=/tmp/lb/tables.list', '--single-transaction', '--clean', '--if-exists', F],
  ],
])('pg_restore arguments: %s', (_name, options, expected) => {
  const args = pgRestoreArgs(F, 'target', options);
  expect(args).toEqual(expected);
  // The connection is a conninfo naming the database only: no URL, host, user or password.
  expect(args.filter((a) => a.startsWith('--dbname='))).toEqual(["--dbname=dbname='target'"]);
  expect(args.join(' ')).not.toMatch(/postgres(ql)?:\/\/|password=|host=|user=/);
});

test('PostgreSQL target rules: template databases are refused, the maintenance database needs an approval', () => {
  expect(postgresEngine.targetRules('template0')).toEqual({ refuse: 'is a template database' });
  expect(postgresEngine.targetRules('template1')).toEqual({ refuse: 'is a template database' });
  expect(postgresEngine.targetRules('postgres')).toEqual({ caution: "is the server's maintenance database postgres" });
  expect(postgresEngine.targetRules('orders_restore')).toEqual({});
});
