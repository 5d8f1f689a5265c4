// The MySQL/MariaDB engine through the workflows, on real Temporal, SeaweedFS S3 and an ephemeral
// MariaDB started here: backup -> verify -> restore into a new database, a named target and an
// approved existing one, with a random canary password that appears in no argv (sampled from
// /proc during the run), no workflow history and no log line.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type mysql from 'mysql2/promise';
import { mariadbServerBinaries, startEphemeralMariadb, type MariadbServer } from '../../dev/mariadb.js';
import { fillMysqlSample, SAMPLE_TABLES } from '../../dev/mysql-sample-data.js';
import { ManifestSchema, type Manifest } from '../../src/catalog/manifest.js';
import { failureCause } from '../../src/cli/follow.js';
import {
  approveRestoreUpdate,
  restoreProgressQuery,
  type BackupResult,
  type RestoreInput,
  type RestoreResult,
  type VerifyResult,
} from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import { adminClient, createDb, procSampler, programDefinitions, tableDigest } from '../e2e/mysql-support.js';
import { createBucket, fixturePath, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

// A canary: quotes, a backslash, '#', ';' and an emoji, different on every run.
const PASSWORD = `Cn"ry'\\#; 🚀${randomBytes(6).toString('hex')}`;
const LIMITED_PASSWORD = `lim-${randomBytes(8).toString('hex')}`;
const TOOLS = ['mariadb-dump', 'mysqldump', 'mariadb', 'mysql'];
const bins = mariadbServerBinaries();
if ('missing' in bins) console.warn(`MySQL engine workflow tests are skipped: ${bins.missing}`);
const chinookScript = fixturePath('chinook/Chinook_MySql.sql');
if (!chinookScript)
  console.warn('Chinook for MySQL through the workflows is skipped: fixtures/chinook/Chinook_MySql.sql is not present (set LIFEBOAT_FIXTURES_DIR)');
const maybe = 'missing' in bins ? describe.skip : describe;

let server: MariadbServer;
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let c: mysql.Connection;

const CHECKS = [
  { name: 'every order line has a customer', sql: 'SELECT COUNT(*) = 0 FROM `order lines` l LEFT JOIN customers c ON c.id = l.customer_id WHERE c.id IS NULL' },
  { name: 'has customers', sql: 'SELECT COUNT(*) > 0 FROM customers' },
];

maybe('the MySQL engine through the workflows (ephemeral MariaDB)', () => {
  beforeAll(async () => {
    server = await startEphemeralMariadb({ password: PASSWORD });
    await createDb(server, 'shop', (conn) => fillMysqlSample(conn, 300));
    await createDb(server, 'staging', async (conn) => {
      await conn.query('CREATE TABLE keep_me (id INT PRIMARY KEY, note TEXT)');
      await conn.query("INSERT INTO keep_me VALUES (1, 'precious')");
    });
    if (chinookScript) {
      await createDb(server, 'chinook');
      const sql = readFileSync(chinookScript, 'utf8')
        .split('\n')
        .filter((l) => !/^\s*(DROP DATABASE|CREATE DATABASE|USE\s)/i.test(l))
        .join('\n');
      execFileSync('mariadb', ['--no-defaults', `--socket=${server.socket}`, '--user=root', '--default-character-set=utf8mb4', 'chinook'], {
        input: sql,
        stdio: ['pipe', 'ignore', 'pipe'],
      });
    }
    c = await adminClient(server);
    // A user that may create tables and rows but no triggers or definers of others: its restores fail midway.
    await c.query(`CREATE USER 'limited'@'%' IDENTIFIED BY '${LIMITED_PASSWORD}'`);
    await c.query(`GRANT CREATE, DROP, ALTER, INDEX, INSERT, SELECT, UPDATE, DELETE, CREATE VIEW, SHOW VIEW, LOCK TABLES, REFERENCES ON *.* TO 'limited'@'%'`);
    const mysqlDb = (name: string, extra: Record<string, unknown> = {}) => ({ url: server.url(name), extra: { engine: 'mysql', ...extra } });
    cfg = testConfig({
      bucket: await createBucket(),
      databases: {
        shop: mysqlDb('shop', { verify: { checks: CHECKS } }),
        failing: mysqlDb('shop', { verify: { checks: [{ name: 'no customers', sql: 'SELECT COUNT(*) = 0 FROM customers' }] } }),
        ...(chinookScript ? { chinook: mysqlDb('chinook', { verify: { checks: [{ name: 'tracks', sql: 'SELECT COUNT(*) = 3503 FROM Track' }] } }) } : {}),
      },
    });
    process.env.LB_TEST_MY_STAGING_URL = server.url('staging');
    const limited = new URL(server.url('limited_restore'));
    limited.username = 'limited';
    limited.password = LIMITED_PASSWORD;
    process.env.LB_TEST_MY_LIMITED_URL = limited.toString();
    cfg.targets = {
      staging: { engine: 'mysql', url: { env: 'LB_TEST_MY_STAGING_URL' }, protected: true },
      limited: { engine: 'mysql', url: { env: 'LB_TEST_MY_LIMITED_URL' }, protected: false },
    };
    cfg.approvers = ['alice'];
    w = await startWorker(cfg, { heartbeatIntervalMs: 300 });
  }, 180_000);

  afterAll(async () => {
    await c?.end();
    await w?.stop();
    await server?.stop();
  });

  const ids: string[] = [];
  const start = (workflow: string, input: unknown) => {
    const id = uniqueName(workflow);
    ids.push(id);
    return w.client.workflow.start(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: id, args: [input] });
  };
  const run = async <T>(workflow: string, input: unknown) => (await (await start(workflow, input)).result()) as T;
  const restore = (input: RestoreInput) => run<RestoreResult>('restoreDatabase', input);

  /** Starts a restore that needs an approval (requested by bob), approves it as alice once it waits, and returns its result. */
  async function approvedRestore(input: RestoreInput): Promise<{ result: RestoreResult; inspection: unknown }> {
    const handle: WorkflowHandle = await start('restoreDatabase', { approvalTimeout: '1 minute', requestedBy: 'bob', ...input });
    for (let i = 0; i < 200; i++) {
      if ((await handle.query(restoreProgressQuery).catch(() => undefined))?.phase === 'awaiting-approval') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const { inspection } = await handle.query(restoreProgressQuery);
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver: 'alice', target: input.target }] });
    return { result: (await handle.result()) as RestoreResult, inspection };
  }

  async function manifestOf(b: BackupResult): Promise<Manifest> {
    const raw = await openStorage(cfg, 'primary').getBuffer(b.key.replace(/[^/]+$/, 'manifest.json'));
    return ManifestSchema.parse(JSON.parse(raw.toString()));
  }

  async function databases(like: string): Promise<string[]> {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE ?', [like]);
    return rows.map((r) => String(r.n));
  }

  async function digests(database: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of SAMPLE_TABLES) out[t] = (await tableDigest(c, database, t)).sha256;
    return out;
  }

  async function counts(database: string, tables: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of tables) out[t] = (await tableDigest(c, database, t)).rows;
    return out;
  }

  test('backup -> verify -> restore into a new database: manifest, checks, equal per-table checksums; the canary password is in no argv, history or log', async () => {
    const sampler = procSampler(PASSWORD, TOOLS);
    let seen;
    let b: BackupResult;
    let v: VerifyResult;
    let r: RestoreResult;
    const target = uniqueName('shop_restored');
    try {
      b = await run<BackupResult>('backupDatabase', { database: 'shop' });
      v = await run<VerifyResult>('verifyBackup', { database: 'shop' });
      r = await restore({ database: 'shop', backup: b.backupId, target });
    } finally {
      seen = sampler.stop();
    }
    expect(seen.toolProcesses).toBeGreaterThanOrEqual(3); // mariadb-dump, and the client of the verification and of the restore
    expect(seen.leaks).toEqual([]);

    const m = await manifestOf(b);
    expect(m).toMatchObject({
      engine: 'mysql',
      format: 'sql',
      kind: 'full',
      server: { flavour: 'mariadb', version: server.version },
      tool: { name: 'mariadb-dump' },
      rowCounts: { consistency: 'same-snapshot', counted: 'dump-rows' },
      createOptions: ['CHARACTER SET utf8mb4', 'COLLATE utf8mb4_unicode_ci'],
    });
    expect(m.artifact.key).toMatch(/\.sql\.zst$/);
    expect(m.tool.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(m.position).toMatchObject({ kind: 'gtid', exact: true, binlog: expect.stringMatching(/^binlog\.\d+:\d+$/) as unknown });
    expect(m.rowCounts!.tables).toEqual(await counts('shop', SAMPLE_TABLES));
    expect(m.schemaChanges).toBeUndefined();

    expect(v).toMatchObject({ database: 'shop', backupId: b.backupId, outcome: 'passed' });
    expect(v.scratchDatabase.length).toBeLessThanOrEqual(64);
    expect(v.checks.map((k) => [k.name, k.ok])).toEqual([
      ['checksum', true],
      ['restore', true],
      ['row counts', true],
      ['every order line has a customer', true],
      ['has customers', true],
    ]);
    expect(v.checks[1]!.value).toMatch(/^mariadb exited with 0 after \d+ ms$/);
    expect(v.restoreDurationMs).toBeGreaterThan(0);
    expect(await databases('lb\\_verify\\_%')).toEqual([]);

    expect(r).toMatchObject({ database: 'shop', backupId: b.backupId, target, targetDatabase: target, created: true, mode: 'full' });
    expect(r.rowCounts).toEqual({ compared: SAMPLE_TABLES.length, mismatches: [] });
    expect(r.restoreDurationMs).toBeGreaterThan(0);
    expect(r.restoreTool).toBe('mariadb');
    expect(await digests(target)).toEqual(await digests('shop'));
    expect(await programDefinitions(c, target)).toEqual(await programDefinitions(c, 'shop'));

    for (const id of ids) {
      const history = JSON.stringify(await w.client.workflow.getHandle(id).fetchHistory());
      expect(history).not.toContain(PASSWORD);
      expect(history).not.toContain(encodeURIComponent(PASSWORD));
    }
    const logs = w.lines.join('');
    expect(logs).toContain('restore tool finished');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(encodeURIComponent(PASSWORD));
  });

  test('a failing check fails the verification, and its scratch database is dropped too', async () => {
    const b = await run<BackupResult>('backupDatabase', { database: 'failing' });
    const err = await run('verifyBackup', { database: 'failing' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(failureCause(err)).toEqual({
      type: 'VERIFICATION_FAILED',
      message: `Verification of failing backup ${b.backupId} failed: check "no customers" returned false`,
    });
    expect(await databases('lb\\_verify\\_%')).toEqual([]);
  });

  test('mode tables and mode schema into new databases, then data into the schema; a table not in the backup fails and leaves no database behind', async () => {
    const tables = uniqueName('shop_tables');
    const t = await restore({ database: 'shop', target: tables, mode: 'tables', tables: ['customers', 'shop.order lines'] });
    expect(t.rowCounts).toEqual({ compared: 2, mismatches: [] });
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY 1', [tables]);
    expect(rows.map((x) => String(x.n))).toEqual(['customers', 'order lines']);
    expect((await digests('shop')).customers).toEqual((await tableDigest(c, tables, 'customers')).sha256);

    const schema = uniqueName('shop_schema');
    const s = await restore({ database: 'shop', target: schema, mode: 'schema' });
    expect(s.rowCounts).toBeNull();
    expect(Object.values(await counts(schema, SAMPLE_TABLES)).every((n) => n === 0)).toBe(true);
    expect(await programDefinitions(c, schema)).toEqual(await programDefinitions(c, 'shop'));

    // Rows into that schema (not empty, so approved): one transaction, its triggers suspended meanwhile
    // (else the audit table would gain rows) and recreated afterwards.
    const { result: d } = await approvedRestore({ database: 'shop', target: schema, mode: 'data' });
    expect(d).toMatchObject({ created: false, mode: 'data', rowCounts: { compared: SAMPLE_TABLES.length, mismatches: [] } });
    expect(await digests(schema)).toEqual(await digests('shop'));
    expect(await programDefinitions(c, schema)).toEqual(await programDefinitions(c, 'shop'));

    const missing = uniqueName('shop_missing');
    const err = await restore({ database: 'shop', target: missing, mode: 'tables', tables: ['no_such_table'] }).catch((e: unknown) => e);
    expect(failureCause(err)).toMatchObject({ type: 'RESTORE_FAILED', message: expect.stringContaining('not in the backup: no_such_table') as unknown });
    expect(await databases(missing)).toEqual([]);
  });

  test('a restore stops at its first failing statement, names its line, and drops the database it created', async () => {
    const err = await restore({ database: 'shop', target: 'limited' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = failureCause(err);
    expect(cause.type).toBe('RESTORE_FAILED');
    expect(cause.message).toMatch(/^Restore of shop into limited failed: \S*mariadb exited with code 1: ERROR \d+ \(\w+\) at line \d+/);
    expect(await databases('limited\\_restore')).toEqual([]);
    expect(w.lines.join('')).toContain('restore failed: dropping the database it created');
    expect(w.lines.join('')).not.toContain(LIMITED_PASSWORD);
  });

  test('an existing, protected target needs an approval; approved, the backup replaces its namesakes and keeps the rest', async () => {
    const { result: r, inspection } = await approvedRestore({ database: 'shop', target: 'staging' });
    expect(inspection).toMatchObject({ protected: true, exists: true, isSource: false, objects: 1 });
    expect(r).toMatchObject({ created: false, approvedBy: 'alice', targetDatabase: 'staging' });
    expect(r.rowCounts?.mismatches).toEqual([]);
    expect(await digests('staging')).toEqual(await digests('shop'));
    expect((await counts('staging', ['keep_me'])).keep_me).toBe(1);

    // The source itself under its own name is recognised as the source.
    const self = await restore({ database: 'shop', target: 'shop', approvalTimeout: '1s' }).catch((e: unknown) => e);
    expect(failureCause(self).message).toMatch(/approval required \(shop is the source database shop itself; shop exists and is not empty/);
  });

  (chinookScript ? test : test.skip)('Chinook for MySQL: manifest row counts equal SELECT COUNT(*) of every table, and the backup verifies', async () => {
    const b = await run<BackupResult>('backupDatabase', { database: 'chinook' });
    const m = await manifestOf(b);
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'chinook' AND TABLE_TYPE = 'BASE TABLE'",
    );
    const tables = rows.map((x) => String(x.n));
    expect(tables).toHaveLength(11);
    expect(m.rowCounts!.tables).toEqual(await counts('chinook', tables));
    expect(m.rowCounts!.tables.Track).toBe(3503);
    const v = await run<VerifyResult>('verifyBackup', { database: 'chinook' });
    expect(v.outcome).toBe('passed');
    expect(v.checks.find((k) => k.name === 'row counts')).toMatchObject({ ok: true, value: '11 tables equal to the manifest' });
    expect(await databases('lb\\_verify\\_%')).toEqual([]);
  });
});
