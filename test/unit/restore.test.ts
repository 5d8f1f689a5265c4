import { checkBeforeSwap, planSwap } from '../../src/restore/swap.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { type ConfigError, parseConfig } from '../../src/config/load.js';
import { pickBackup } from '../../src/restore/select.js';
import { dbnameArg, parseCreateOptions, parseToc, pgRestoreArgs, selectTables } from '../../src/engines/postgres/index.js';
import {
  RestoreInputSchema,
  VerifyInputSchema,
  describeIssues,
  describeRowCountMismatches,
  parseDurationMs,
  scratchDatabaseName,
} from '../../src/contracts/index.js';

// `pg_restore --list --verbose` of a small database: schema s with an enum, a serial table a
// (index, trigger with its function), b with a foreign key to a, a partitioned table p with one
// partition, a view on a, and a table with an identity column and a non-ASCII name in public.
const TOC = `;
; Archive created at 2026-11-23 05:41:02 UTC
;     dbname: t1
;
; Selected TOC Entries:
;
3383; 0 0 ENCODING - ENCODING 
3386; 1262 16384 DATABASE - t1 postgres
6; 2615 16385 SCHEMA - s postgres
846; 1247 16387 TYPE s e postgres
;	depends on: 6
223; 1255 16412 FUNCTION s trg() postgres
;	depends on: 6
222; 1259 16428 TABLE public Größe postgres
221; 1259 16427 SEQUENCE public Größe_X y_seq postgres
;	depends on: 222
216; 1259 16392 TABLE s a postgres
;	depends on: 6 846
215; 1259 16391 SEQUENCE s a_id_seq postgres
;	depends on: 6 216
3387; 0 0 SEQUENCE OWNED BY s a_id_seq postgres
;	depends on: 215
217; 1259 16400 TABLE s b postgres
;	depends on: 6
218; 1259 16415 TABLE s p postgres
;	depends on: 6
219; 1259 16418 TABLE s p1 postgres
;	depends on: 6 218
220; 1259 16423 VIEW s v postgres
;	depends on: 216 216 216 6 846
3223; 0 0 TABLE ATTACH s p1 postgres
;	depends on: 219 218
3224; 2604 16395 DEFAULT s a id postgres
;	depends on: 216 215 216
3380; 0 16428 TABLE DATA public Größe postgres
;	depends on: 222
3376; 0 16392 TABLE DATA s a postgres
;	depends on: 216
3377; 0 16400 TABLE DATA s b postgres
;	depends on: 217
3378; 0 16418 TABLE DATA s p1 postgres
;	depends on: 219
3388; 0 0 SEQUENCE SET public Größe_X y_seq postgres
;	depends on: 221
3389; 0 0 SEQUENCE SET s a_id_seq postgres
;	depends on: 215
3226; 2606 16399 CONSTRAINT s a a_pkey postgres
;	depends on: 216
3229; 2606 16406 CONSTRAINT s b b_pkey postgres
;	depends on: 217
3227; 1259 16414 INDEX s a_t_idx postgres
;	depends on: 216
3231; 2620 16413 TRIGGER s a tr postgres
;	depends on: 223 216
3230; 2606 16407 FK CONSTRAINT s b b_id_fkey postgres
;	depends on: 3226 216 217
`;

const ids = (specs: string[]) => selectTables(parseToc(TOC), specs, 'orders').entries.map((e) => e.id);

test('the archive listing is parsed with multi-word kinds and dependencies', () => {
  const toc = parseToc(TOC);
  expect(toc).toHaveLength(27);
  expect(toc.find((e) => e.id === 3230)).toMatchObject({ desc: 'FK CONSTRAINT', rest: 's b b_id_fkey postgres', deps: [3226, 216, 217] });
  expect(toc.find((e) => e.id === 3387)?.desc).toBe('SEQUENCE OWNED BY');
  expect(toc.find((e) => e.id === 3223)?.desc).toBe('TABLE ATTACH');
});

test('tables mode restores a table with what it needs and what belongs to it, but no foreign key to a table left out', () => {
  // s.a: schema, enum, table, its sequence, default, data, sequence value, pkey, index, trigger and the trigger's function.
  expect(ids(['s.a']).sort()).toEqual([6, 215, 216, 223, 846, 3224, 3226, 3227, 3231, 3376, 3387, 3389].sort());
  // s.b alone: no foreign key to s.a (which is not restored).
  expect(ids(['s.b']).sort()).toEqual([6, 217, 3229, 3377].sort());
  // Both: the foreign key comes along.
  expect(ids(['s.a', 's.b'])).toContain(3230);
  // A partitioned table brings its partitions, their attachment and data; the view on s.a never comes.
  expect(ids(['s.p']).sort()).toEqual([6, 218, 219, 3223, 3378].sort());
  expect(ids(['s.a', 's.b', 's.p'])).not.toContain(220);
  // A name without a schema means public; identity sequences come with their table.
  expect(ids(['Größe']).sort()).toEqual([221, 222, 3380, 3388].sort());
});

test('tables mode into an existing database replaces the tables and what belongs to them, and expects their schemas, types and functions there', () => {
  const existing = (specs: string[]) => selectTables(parseToc(TOC), specs, 'orders', false).entries.map((e) => e.id);
  // No schema, enum or trigger function: the target has them; the table's own sequence, default and trigger come.
  expect(existing(['s.a']).sort()).toEqual([215, 216, 3224, 3226, 3227, 3231, 3376, 3387, 3389].sort());
  // A partition stays attached to its parent, which is not recreated.
  expect(existing(['s.p1']).sort()).toEqual([219, 3223, 3378].sort());
  expect(ids(['s.p1'])).toContain(218);
});

test('tables mode refuses tables that are not in the backup, naming them', () => {
  expect(() => ids(['s.a', 's.nope', 'missing'])).toThrow('Restore of orders refused: not in the backup: s.nope, missing (name tables as schema.table)');
});

test('pg_restore arguments: parallel into a new database, one transaction into an existing one, never a password', () => {
  expect(pgRestoreArgs('/tmp/x.dump', 'orders_restore', { mode: 'full', privileges: 'skip', strategy: 'parallel', jobs: 4 })).toEqual([
    '--exit-on-error',
    '--no-password',
    '--verbose',
    "--dbname=dbname='orders_restore'",
    '--no-owner',
    '--no-acl',
    '--jobs=4',
    '/tmp/x.dump',
  ]);
  const atomic = pgRestoreArgs('/tmp/x.dump', 'staging', { mode: 'full', privileges: 'restore', strategy: 'atomic', jobs: 4 });
  expect(atomic).toEqual(expect.arrayContaining(['--single-transaction', '--clean', '--if-exists']));
  expect(atomic).not.toContain('--jobs=4');
  expect(atomic).not.toContain('--no-owner');
  const data = pgRestoreArgs('/tmp/x.dump', 'staging', { mode: 'data', privileges: 'skip', strategy: 'atomic', jobs: 1 });
  expect(data).toEqual(expect.arrayContaining(['--data-only', '--single-transaction']));
  expect(data).not.toContain('--clean');
  expect(pgRestoreArgs('/f', 'x', { mode: 'tables', privileges: 'skip', strategy: 'parallel', jobs: 2, listFile: '/l' })).toContain('--use-list=/l');
  expect(dbnameArg("we'ird\\db")).toBe("--dbname=dbname='we\\'ird\\\\db'");
});

test("the dumped database's encoding and locale are taken from the archive", () => {
  const sql = "--\nCREATE DATABASE t1 WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LOCALE = 'en_US.UTF-8';\n";
  expect(parseCreateOptions(sql)).toEqual(["ENCODING = 'UTF8'", 'LOCALE_PROVIDER = libc', "LOCALE = 'en_US.UTF-8'"]);
  expect(parseCreateOptions("CREATE DATABASE x WITH TEMPLATE = template0 ENCODING = 'LATIN1' LC_COLLATE = 'de_DE' LC_CTYPE = 'de_DE';")).toEqual([
    "ENCODING = 'LATIN1'",
    "LC_COLLATE = 'de_DE'",
    "LC_CTYPE = 'de_DE'",
  ]);
  expect(parseCreateOptions('nothing here')).toEqual([]);
});

function manifest(backupId: string, kind: Manifest['kind'], startedAt: string): Manifest {
  return { backupId, kind, startedAt } as Manifest;
}

test('backup selection: latest of a compatible kind, before a time, latest verified', async () => {
  const newestFirst = [
    manifest('b4-schema', 'schema', '2026-11-04T02:00:00Z'),
    manifest('b3', 'full', '2026-11-03T02:00:00Z'),
    manifest('b2', 'full', '2026-11-02T02:00:00Z'),
    manifest('b1', 'full', '2026-11-01T02:00:00Z'),
  ];
  const never = async () => false;
  expect((await pickBackup(newestFirst, 'latest', 'full', never))?.backupId).toBe('b3');
  expect((await pickBackup(newestFirst, 'latest', 'schema', never))?.backupId).toBe('b4-schema');
  expect((await pickBackup(newestFirst, { before: '2026-11-02T02:00:00Z' }, 'full', never))?.backupId).toBe('b2');
  expect((await pickBackup(newestFirst, { before: '2026-11-02T03:00:00+02:00' }, 'full', never))?.backupId).toBe('b1');
  expect(await pickBackup(newestFirst, { before: '2020-01-01T00:00:00Z' }, 'full', never)).toBeUndefined();
  const asked: string[] = [];
  const verified = async (m: Manifest) => (asked.push(m.backupId), m.backupId === 'b2');
  expect((await pickBackup(newestFirst, 'latest-verified', 'full', verified))?.backupId).toBe('b2');
  expect(asked).toEqual(['b3', 'b2']);
  expect(await pickBackup(newestFirst, 'latest-verified', 'full', never)).toBeUndefined();
});

test('restore inputs: defaults, selectors and clear errors', () => {
  expect(RestoreInputSchema.parse({ database: 'orders', target: 'orders_restore' })).toEqual({
    database: 'orders',
    target: 'orders_restore',
    backup: 'latest',
    mode: 'full',
    privileges: 'skip',
    approvalTimeout: '1 hour',
    overwrite: 'swap',
  });
  expect(RestoreInputSchema.safeParse({ database: 'orders', target: 't', overwrite: 'drop-it' }).error?.issues[0]?.message).toBe(
    'expected "swap" or "in-place"',
  );
  for (const backup of ['latest-verified', '20261123T020000Z-full-1a2b3c4d', { before: '2026-11-23T02:00:00Z' }]) {
    expect(RestoreInputSchema.safeParse({ database: 'orders', target: 't', backup }).success).toBe(true);
  }
  const problems = (raw: unknown) => {
    const r = RestoreInputSchema.safeParse(raw);
    return r.success ? '' : describeIssues(r.error);
  };
  expect(problems({ database: 'orders', target: 't', mode: 'tables' })).toBe('tables: required with mode "tables", e.g. ["public.users"]');
  expect(problems({ database: 'orders', target: 't', tables: ['a'] })).toBe('tables: only allowed with mode "tables"');
  expect(problems({ database: 'orders', target: 't', backup: { before: 'yesterday' } })).toBe(
    'backup.before: expected an ISO time such as 2026-11-23T02:00:00Z',
  );
  expect(problems({ database: 'orders', target: 't', backup: 'newest please' })).toBe(
    'backup: expected a backup id, "latest", "latest-verified" or { "before": "<ISO time>" }',
  );
  expect(problems({ database: 'orders', target: 'drop table x;' })).toMatch(/^target: expected a target name/);
  expect(problems({ database: 'orders', target: 't', approvalTimeout: 'forever' })).toBe(
    'approvalTimeout: expected a duration from 1s to 7 days, such as "30 minutes" or "1 hour"',
  );
  expect(problems({ database: 'orders', target: 't', mode: 'everything' })).toBe('mode: expected "full", "schema", "data" or "tables"');
  expect(VerifyInputSchema.parse({ database: 'orders' })).toEqual({ database: 'orders', backup: 'latest' });
  expect(VerifyInputSchema.safeParse({ database: 'orders', target: 'x' }).success).toBe(false);
});

test('durations, scratch names and row count messages', () => {
  expect(parseDurationMs('5s')).toBe(5000);
  expect(parseDurationMs('1 hour')).toBe(3_600_000);
  expect(parseDurationMs('30 minutes')).toBe(1_800_000);
  expect(parseDurationMs('250ms')).toBe(250);
  expect(parseDurationMs('2d')).toBe(172_800_000);
  expect(parseDurationMs('soon')).toBeUndefined();
  const name = scratchDatabaseName('Orders-EU-west-with-a-very-long-name-indeed', new Date('2026-11-23T02:00:00Z'), 'AB12cd34-ef');
  expect(name).toBe('lb_verify_orders_eu_west_with_a_ve_20261123t020000z_ab12cd');
  expect(name.length).toBeLessThanOrEqual(63);
  expect(
    describeRowCountMismatches([
      { table: 'shop.orders', expected: 10, actual: 9 },
      { table: 'shop.items', expected: 3, actual: null },
    ]),
  ).toBe('shop.orders (restored 9, manifest 10); shop.items (missing, manifest 3)');
  const many = Array.from({ length: 25 }, (_, i) => ({ table: `t${i}`, expected: 1, actual: 0 }));
  expect(describeRowCountMismatches(many)).toMatch(/; and 5 more$/);
});

test('restore configuration: named targets, approvers, temp dir; passwords only through secret references', () => {
  const base = {
    storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } },
    databases: { orders: { engine: 'postgres', url: { env: 'ORDERS_URL' }, verify: { server: { env: 'VERIFY_URL' } } } },
  };
  const cfg = parseConfig({
    ...base,
    targets: { staging: { url: { env: 'STAGING_URL' }, protected: true }, scratch: { url: 'postgres://app@db:5432/scratch' } },
    approvers: ['alice', 'bob'],
    restore: { tempDir: '/var/tmp/lifeboat', jobs: 8 },
  });
  expect(cfg.targets?.staging).toEqual({ engine: 'postgres', url: { env: 'STAGING_URL' }, protected: true });
  expect(cfg.targets?.scratch?.protected).toBe(false);
  expect(cfg.approvers).toEqual(['alice', 'bob']);
  const problems = (raw: unknown) => {
    try {
      parseConfig(raw, 'lifeboat.yaml');
      return [];
    } catch (err) {
      return (err as ConfigError).problems;
    }
  };
  expect(problems({ ...base, targets: { staging: { url: 'postgres://app:hunter2@db/staging' } } })).toEqual([
    'targets.staging.url: contains a password; reference the URL as a secret with { env: NAME } or { file: PATH }',
  ]);
  expect(
    problems({ ...base, databases: { orders: { engine: 'postgres', url: { env: 'X' }, verify: { server: 'postgres://u:pw@verify/postgres' } } } }),
  ).toEqual(['databases.orders.verify.server: contains a password; reference the URL as a secret with { env: NAME } or { file: PATH }']);
  expect(problems({ ...base, restore: { jobs: 0 } })).toEqual(['restore.jobs: Too small: expected number to be >=1']);
});

test('restore-and-swap is planned only over an existing database in full mode, with names of at most 63 characters', () => {
  const target = { conn: { database: 'o'.repeat(60) } } as unknown as Parameters<typeof planSwap>[1];
  const at = new Date('2026-12-03T10:15:00Z');
  const plan = planSwap({ expect: 'existing', mode: 'full' }, target, true, at)!;
  expect(plan.keepAs).toBe(`${'o'.repeat(39)}_before_20261203t101500z`);
  expect(plan.incoming).toBe(`${'o'.repeat(40)}_lbnew_20261203t101500z`);
  expect(plan.keepAs.length).toBeLessThanOrEqual(63);
  expect(planSwap({ expect: 'new', mode: 'full' }, target, true, at)).toBeUndefined();
  expect(planSwap({ expect: 'existing', mode: 'tables' }, target, true, at)).toBeUndefined();
  expect(planSwap({ expect: 'existing', mode: 'full', overwrite: 'in-place' }, target, true, at)).toBeUndefined();
  expect(planSwap({ expect: 'existing', mode: 'full' }, target, false, at)).toBeUndefined();
  expect(() => checkBeforeSwap({ compared: 2, mismatches: [{ table: 'a.b', expected: 3, actual: 2 }] }, 'x into y', 'y')).toThrow(
    'Restore of x into y failed: row counts of the restored database differ from the manifest, nothing was swapped: a.b (restored 2, manifest 3)',
  );
});
