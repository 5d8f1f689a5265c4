// Chinook for MySQL through the MySQL engine's building blocks, on an ephemeral MariaDB: the dump's
// row counts equal SELECT COUNT(*) of every table, and the backup verifies (restore into a new
// database, row counts compared, an SQL check, the scratch database dropped).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEphemeralMariadb, type MariadbServer } from '../../dev/mariadb.js';
import { fixturePath } from '../harness/services.js';
import {
  compareRowCounts,
  countRows,
  createDatabase,
  describeDatabase,
  dropOwnedDatabase,
  listTables,
  openAdmin,
  parseMysqlUrl,
  prepareDump,
  prepareRestore,
  RestoreFilter,
  runChecks,
  withDatabase,
} from '../../src/engines/mysql/index.js';
import { adminClient, runDump, runRestore, silentLog } from './mysql-support.js';

const script = fixturePath('chinook/Chinook_MySql.sql');
if (!script) console.warn('Chinook for MySQL is skipped: fixtures/chinook/Chinook_MySql.sql is not present beside the project (set LIFEBOAT_FIXTURES_DIR)');
const maybe = script ? describe : describe.skip;

maybe('Chinook (MySQL script) on MariaDB', () => {
  let server: MariadbServer;
  let work: string;

  beforeAll(async () => {
    server = await startEphemeralMariadb();
    work = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-chinook-my-'));
    const c = await adminClient(server);
    await c.query('CREATE DATABASE chinook CHARACTER SET utf8mb4');
    await c.end();
    // The script creates and switches to its own database; those lines are left out so it fills ours.
    const sql = readFileSync(script!, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*(DROP DATABASE|CREATE DATABASE|USE\s)/i.test(l))
      .join('\n');
    execFileSync('mariadb', ['--no-defaults', `--socket=${server.socket}`, '--user=root', '--default-character-set=utf8mb4', 'chinook'], {
      input: sql,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('manifest row counts equal SELECT COUNT(*) of every table, and the backup verifies', async () => {
    const conn = parseMysqlUrl(server.url('chinook'));
    const file = path.join(work, 'chinook.sql.zst');
    const dump = await prepareDump(conn, { kind: 'full', rowCounts: 'exact' }, silentLog);
    let outcome;
    try {
      await runDump(dump, file);
      outcome = await dump.finish();
    } finally {
      await dump.close();
    }
    const admin = await openAdmin(conn, 'chinook');
    try {
      const c = await adminClient(server, 'chinook');
      const tables = await listTables(c, 'chinook');
      const actual = await countRows(c, 'chinook', tables);
      await c.end();
      expect(tables).toHaveLength(11);
      expect(outcome.rowCounts).toEqual(actual);
      expect(actual.Track).toBe(3503);
      expect(actual.InvoiceLine).toBe(2240);

      const scratch = 'lb_verify_chinook_test';
      await createDatabase(admin, scratch, dump.database, 'lifeboat:verify:test', []);
      try {
        const target = withDatabase(conn, scratch);
        const restore = await prepareRestore(target, admin.server, { subject: `chinook into ${scratch}` });
        try {
          await runRestore(restore, file, [new RestoreFilter({ sourceDatabase: 'chinook', targetDatabase: scratch, subject: `chinook into ${scratch}` })]);
        } finally {
          await restore.close();
        }
        expect(await compareRowCounts(target, scratch, outcome.rowCounts!)).toEqual({ compared: 11, mismatches: [] });
        const checks = await runChecks(target, scratch, [
          { name: 'every track has an album', sql: 'SELECT COUNT(*) = 0 FROM Track t LEFT JOIN Album a ON a.AlbumId = t.AlbumId WHERE a.AlbumId IS NULL' },
        ]);
        expect(checks.map((k) => k.ok)).toEqual([true]);
      } finally {
        await dropOwnedDatabase(admin, scratch);
      }
      expect((await describeDatabase(admin, scratch)).exists).toBe(false);
    } finally {
      await admin.close();
    }
  });
});
