// Failure paths of the MySQL engine's building blocks against a real, ephemeral MariaDB server:
// DDL during a dump, the tool version guard, error classes, a restore stopping at its first error,
// and read-only SQL checks.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { startEphemeralMariadb, type MariadbServer } from '../../dev/mariadb.js';
import { findFreePort } from '../../dev/services.js';
import { LifeboatError } from '../../src/errors.js';
import { parseMysqlUrl, prepareDump, prepareRestore, runChecks, withDatabase, type MysqlConnection, type PreparedDump } from '../../src/engines/mysql/index.js';
import { SecretCanary } from '../harness/canary.js';
import { adminClient, createDb, runDump, runRestore, silentLog, ToolRunError } from './mysql-support.js';

let server: MariadbServer;
let work: string;
let conn: MysqlConnection;
let c: mysql.Connection;
const canary = new SecretCanary();

beforeAll(async () => {
  server = await startEphemeralMariadb({ password: canary.secret });
  canary.startSampling();
  work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-mysql-safety-'));
  await createDb(server, 'ddl', async (k) => {
    for (const t of ['t1', 't2', 't3']) {
      await k.query(`CREATE TABLE ${t} (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB`);
      await k.query(`INSERT INTO ${t} VALUES ?`, [Array.from({ length: 50 }, (_, i) => [i, `${t}-${i}`])]);
    }
  });
  conn = parseMysqlUrl(server.url('ddl'));
  c = await adminClient(server, 'ddl');
}, 120_000);

afterAll(async () => {
  await c?.end();
  await server?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function failure(p: Promise<unknown>): Promise<LifeboatError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LifeboatError) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

/** Holds t2 with LOCK TABLES until the dump waits for it, runs `ddl` on t3, then lets the dump go on. */
async function dumpWithDdlMidway(dump: PreparedDump, ddl: string, file: string): Promise<void> {
  const locker = await adminClient(server, 'ddl');
  try {
    await locker.query('LOCK TABLES t2 WRITE');
    const running = runDump(dump, file);
    running.catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const [rows] = await c.query<mysql.RowDataPacket[]>(
        "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE STATE LIKE 'Waiting for table metadata lock' AND INFO LIKE '%`t2`%'",
      );
      if (Number(rows[0]!.n) > 0) break;
      if (Date.now() > deadline) throw new Error('the dump never reached t2');
      await new Promise((r) => setTimeout(r, 50));
    }
    await c.query(ddl);
    await locker.query('UNLOCK TABLES');
    await running;
  } finally {
    await locker.end();
  }
}

describe('DDL during a dump', () => {
  test('an instant ALTER of a table not dumped yet is detected and reported (the dump silently has the new column)', async () => {
    const dump = await prepareDump(conn, { kind: 'full', rowCounts: 'exact' }, silentLog);
    const file = path.join(work, 'alter.sql.zst');
    try {
      await dumpWithDdlMidway(dump, 'ALTER TABLE t3 ADD COLUMN extra INT NOT NULL DEFAULT 7, ALGORITHM=INSTANT', file);
      const outcome = await dump.finish();
      expect(outcome.schemaChanges).toEqual([{ object: 't3', change: 'altered' }]);
      expect(outcome.warnings[0]).toMatch(/^DDL ran on ddl during the dump \(t3 altered\): the dump may mix definitions/);
      expect(outcome.rowCounts).toEqual({ t1: 50, t2: 50, t3: 50 });
    } finally {
      await dump.close();
    }
    const sql = execFileSync('zstd', ['-dc', file]).toString('utf8');
    expect(sql).toMatch(/INSERT INTO `t3` VALUES\s*\(0,'t3-0',7\)/);
  });

  test('a TRUNCATE of a table not dumped yet fails the dump loudly, classified', async () => {
    const dump = await prepareDump(conn, { kind: 'full', rowCounts: 'exact' }, silentLog);
    try {
      const err = await dumpWithDdlMidway(dump, 'TRUNCATE TABLE t3', path.join(work, 'truncate.sql.zst')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ToolRunError);
      const classified = dump.classifyFailure((err as ToolRunError).exit);
      expect(classified.code).toBe('DUMP_FAILED');
      expect(classified.message).toMatch(/^Backup of ddl failed: mariadb-dump exited with code \d+: .*Table definition has changed/);
    } finally {
      await dump.close();
    }
  });
});

describe('version guard', () => {
  function fakeTool(dir: string, name: string, versionLine: string): void {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho '${versionLine}'\n`);
    chmodSync(file, 0o755);
  }

  test('a dump tool older than the server is refused with the version to install; the real one is reported with the server', async () => {
    const dir = mkdtempSync(path.join(work, 'tools-'));
    fakeTool(dir, 'mariadb-dump', 'mariadb-dump  Ver 10.19 Distrib 10.3.39-MariaDB, for debian-linux-gnu (x86_64)');
    const err = await failure(prepareDump(conn, { kind: 'full', rowCounts: 'exact', toolsDir: dir }, silentLog));
    expect(err.code).toBe('TOOL_TOO_OLD');
    expect(err.message).toMatch(
      /^Backup of ddl refused: mariadb-dump 10\.3\.39 is older than the server \(MariaDB 10\.11\.\d+.*\); install mariadb-client 10\.11 or newer, or set toolsDir$/,
    );

    const real = await prepareDump(conn, { kind: 'full', rowCounts: 'exact' }, silentLog);
    await real.close();
    expect(real.tool).toMatchObject({ name: 'mariadb-dump', series: '10.11' });
    expect(real.server).toMatchObject({ engine: 'mysql', flavour: 'mariadb', series: '10.11', version: server.version });
    expect(real.database).toEqual({ name: 'ddl', charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci' });
  });

  test("a MySQL mysqldump is not used for MariaDB (the flavours' tools are not interchangeable)", async () => {
    const dir = mkdtempSync(path.join(work, 'tools-'));
    fakeTool(dir, 'mysqldump', 'mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)');
    const err = await failure(prepareDump(conn, { kind: 'full', rowCounts: 'exact', toolsDir: dir }, silentLog));
    expect(err.code).toBe('TOOL_MISSING');
    expect(err.message).toMatch(
      /mariadb-dump of MariaDB not found in toolsDir .* \(found mysqldump 8\.0\.36 of MySQL, which cannot dump MariaDB reliably\); install mariadb-client 10\.11 or newer$/,
    );
  });
});

describe('error classes', () => {
  test('wrong password, unknown database, nothing listening', async () => {
    const wrong = parseMysqlUrl(server.url('ddl').replace(encodeURIComponent(server.password), 'not-the-password'));
    expect((await failure(prepareDump(wrong, { kind: 'full', rowCounts: 'exact' }, silentLog))).code).toBe('AUTH_FAILED');
    const missing = await failure(prepareDump(withDatabase(conn, 'no_such_db'), { kind: 'full', rowCounts: 'exact' }, silentLog));
    expect(missing.code).toBe('DATABASE_NOT_FOUND');
    expect(missing.message).toMatch(/^Connection to no_such_db failed: Unknown database 'no_such_db'/);
    const closed = { ...conn, port: await findFreePort() };
    expect((await failure(prepareDump(closed, { kind: 'full', rowCounts: 'exact' }, silentLog))).code).toBe('CONNECTION_FAILED');
    for (const e of [missing]) expect(e.message).not.toContain(server.password);
  });

  test('the restore client classifies a wrong password from its own exit', async () => {
    const file = path.join(work, 'one.sql.zst');
    execFileSync('zstd', ['-q', '-o', file], { input: 'SELECT 1;\n' });
    const wrong = parseMysqlUrl(server.url('ddl').replace(encodeURIComponent(server.password), 'nope-nope'));
    const restore = await prepareRestore(wrong, { flavour: 'mariadb', major: 10, minor: 11, version: server.version }, { subject: 'ddl into ddl' });
    try {
      const err = await runRestore(restore, file).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ToolRunError);
      expect(restore.classifyFailure((err as ToolRunError).exit).code).toBe('AUTH_FAILED');
    } finally {
      await restore.close();
    }
  });
});

describe('restore stops at the first error', () => {
  test('a failing statement ends the restore with its line; later statements never run; the option file is gone afterwards', async () => {
    await c.query('CREATE DATABASE stop_here');
    const file = path.join(work, 'bad.sql.zst');
    execFileSync('zstd', ['-q', '-o', file], { input: 'CREATE TABLE a (x INT);\nINSERT INTO missing VALUES (1);\nCREATE TABLE b (x INT);\n' });
    const restore = await prepareRestore(
      withDatabase(conn, 'stop_here'),
      { flavour: 'mariadb', major: 10, minor: 11, version: server.version },
      { subject: 'ddl into stop_here' },
    );
    const optionFile = restore.command.args[0]!.replace('--defaults-extra-file=', '');
    expect(readFileSync(optionFile, 'utf8')).toContain('password=');
    const err = await runRestore(restore, file).then(
      () => undefined,
      (e: unknown) => e,
    );
    await restore.close();
    expect(() => readFileSync(optionFile)).toThrow(/ENOENT/);
    const classified = restore.classifyFailure((err as ToolRunError).exit);
    expect(classified.code).toBe('RESTORE_FAILED');
    expect(classified.message).toMatch(
      /^Restore of ddl into stop_here failed: mariadb exited with code 1: ERROR 1146 \(42S02\) at line 2: Table 'stop_here.missing' doesn't exist/,
    );
    const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'stop_here'");
    expect(rows.map((r) => r.t)).toEqual(['a']);
  });
});

describe('SQL checks', () => {
  test('each runs read-only with a time limit; true passes, anything else fails with its value', async () => {
    const results = await runChecks(
      conn,
      'ddl',
      [
        { name: 'rows', sql: 'SELECT COUNT(*) = 50 FROM t1' },
        { name: 'false', sql: 'SELECT 1 = 2' },
        { name: 'broken', sql: 'SELECT * FROM nope' },
        { name: 'writes', sql: 'DELETE FROM t1' },
        { name: 'slow', sql: 'SELECT SLEEP(5) = 0' },
      ],
      1_000,
    );
    expect(results.map((r) => [r.name, r.ok])).toEqual([
      ['rows', true],
      ['false', false],
      ['broken', false],
      ['writes', false],
      ['slow', false],
    ]);
    expect(results[1]!.value).toBe(0);
    expect(results[2]!.value).toMatch(/^error: Table 'ddl.nope' doesn't exist/);
    expect(results[3]!.value).toMatch(/^error: .*READ ONLY transaction/);
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM t1');
    expect(Number(rows[0]!.n)).toBe(50);
  });
});

test('secrets canary: the server password is in no sampled argv of the dump, restore and check tools', () => {
  expect(canary.stopSampling()).toBeGreaterThan(20);
  expect(canary.found).toEqual([]);
  // The check can fail: the secret is really the password the tools logged in with.
  expect(server.password).toBe(canary.secret);
});
