// A database shaped like a Supabase project (managed schemas, platform roles, extensions in schema
// `extensions`, event triggers, the realtime publication, an app referencing auth.users under row
// level security), backed up through the real workflows and restored on a plain server: the
// platform roles are dropped after the backups, as on a server that never had them.
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BackupResult, RestoreResult, VerifyResult } from '../../src/contracts/index.js';
import { openStorage } from '../../src/storage/index.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import { createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';
import { databaseExists, failureOf } from '../harness/assertions.js';
import { createSupabaseShapedDatabase, dropSupabaseRoles, SUPABASE_ROLES } from '../harness/supabase-shape.js';

let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let sourceCounts: Record<string, number>;
const backups: Record<string, BackupResult> = {};
const source = uniqueName('lb_supabase');

const run = <T>(workflow: string, input: unknown) =>
  w.client.workflow.execute(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] }) as Promise<T>;

async function manifestOf(b: BackupResult): Promise<Manifest> {
  return JSON.parse((await openStorage(cfg, 'primary').getBuffer(b.key.replace(/[^/]+$/, 'manifest.json'))).toString()) as Manifest;
}

const rolesOnServer = () =>
  withPg('postgres', async (c) => (await c.query<{ r: string }>('select rolname as r from pg_roles where rolname = any($1)', [SUPABASE_ROLES])).rows.length);

beforeAll(async () => {
  const bucket = await createBucket();
  const role = await createRole();
  await dropSupabaseRoles(services().pg.adminUrl); // left over by an interrupted run
  sourceCounts = await createSupabaseShapedDatabase(services().pg.adminUrl, source);
  // The harness server has no TLS; the preset's sslmode=require is overridden by the URL.
  const url = `${pgUrl(source, role)}?sslmode=disable`;
  // A provider that refuses to show its roles, played by a stand-in pg_dumpall (the server here always permits it).
  const major = await withPg('postgres', async (c) =>
    (await c.query<{ v: string }>(`select current_setting('server_version_num') as v`)).rows[0]!.v.slice(0, 2),
  );
  const toolsDir = mkdtempSync(path.join(os.tmpdir(), 'lb-denied-tools-'));
  writeFileSync(
    path.join(toolsDir, 'pg_dumpall'),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "pg_dumpall (PostgreSQL) ${major}.99"; exit 0; fi\necho 'pg_dumpall: error: query failed: ERROR:  permission denied for table pg_authid' >&2\nexit 1\n`,
  );
  chmodSync(path.join(toolsDir, 'pg_dumpall'), 0o755);
  const check = { verify: { checks: [{ name: 'todos of users', sql: 'select count(*) = 100 from public.todos' }] } };
  cfg = testConfig({
    bucket,
    extraStorage: { local: { type: 'filesystem', path: mkdtempSync(path.join(os.tmpdir(), 'lb-supa-copy-')) } },
    databases: {
      supa: { url, extra: { provider: 'supabase', storage: ['primary', 'local'], ...check } },
      nopreset: { url, extra: { provider: 'self-hosted', ...check } },
      denied: { url, extra: { provider: 'supabase', toolsDir } },
    },
  });
  w = await startWorker(cfg);
  backups.supa = await run<BackupResult>('backupDatabase', { database: 'supa' });
  backups.nopreset = await run<BackupResult>('backupDatabase', { database: 'nopreset' });
  backups.denied = await run<BackupResult>('backupDatabase', { database: 'denied' });
  // From here on the server is a plain one: no Supabase project, no platform roles.
  await withPg('postgres', (c) => c.query(`drop database ${source} with (force)`));
  await dropSupabaseRoles(services().pg.adminUrl);
});

afterAll(async () => {
  await w?.stop();
  await dropSupabaseRoles(services().pg.adminUrl).catch(() => undefined);
});

test('the supabase preset backs up the application only: managed schemas excluded and recorded, row counts of public tables', async () => {
  expect(sourceCounts['auth.users']).toBe(25);
  const m = await manifestOf(backups.supa!);
  expect(m).toMatchObject({ provider: 'supabase', excludedSchemas: expect.arrayContaining(['auth', 'storage', 'extensions', 'vault', 'realtime']) });
  expect(m.rowCounts?.tables).toEqual({ 'public.profiles': 25, 'public.todos': 100 });
  const plain = await manifestOf(backups.nopreset!);
  expect(plain.excludedSchemas).toBeUndefined();
  expect(plain.rowCounts?.tables).toMatchObject({ 'auth.users': 25, 'storage.buckets': 2, 'vault.secrets': 1, 'public.todos': 100 });
});

test('with the preset it restores on a plain server with no error: what needs the platform is left out and named', async () => {
  expect(await rolesOnServer()).toBe(0);
  const target = uniqueName('lb_supa_restored');
  const r = await run<RestoreResult>('restoreDatabase', { database: 'supa', backup: backups.supa!.backupId, target });
  expect(r).toMatchObject({ created: true, rowCounts: { compared: 2, mismatches: [] } });
  const notes = r.notes.join('\n');
  expect(notes).toMatch(/left out 2 foreign keys .*public profiles profiles_id_fkey \(references auth\.users\).*public todos todos_user_id_fkey/);
  expect(notes).toMatch(/left out 3 row level security policies .*role authenticated missing, uses schema auth/);
  expect(notes).toMatch(/left out 2 event triggers .*issue_pg_graphql_access \(runs a function of extensions\)/);
  expect(notes).toMatch(/created schema extensions for the extensions/);
  await withPg(target, async (c) => {
    const schemas = (
      await c.query<{ n: string }>(`select nspname as n from pg_namespace where nspname !~ '^pg_' and nspname <> 'information_schema' order by 1`)
    ).rows;
    expect(schemas.map((s) => s.n)).toEqual(['extensions', 'public']);
    // The extensions work where the application's defaults and code expect them.
    expect((await c.query(`select extensions.crypt('x', extensions.gen_salt('bf', 4)) like '$2a$%' as ok`)).rows[0].ok).toBe(true);
    const rls = await c.query<{ relname: string; relrowsecurity: boolean }>(
      `select relname, relrowsecurity from pg_class where relname in ('profiles', 'todos') order by 1`,
    );
    expect(rls.rows).toEqual([
      { relname: 'profiles', relrowsecurity: true },
      { relname: 'todos', relrowsecurity: true },
    ]);
    // The policy for everyone stays; the ones for missing roles are gone (stricter, never looser).
    expect((await c.query(`select policyname from pg_policies order by 1`)).rows).toEqual([{ policyname: 'Public profiles are viewable by everyone.' }]);
    expect((await c.query(`select count(*)::int as n from pg_publication where pubname = 'supabase_realtime'`)).rows[0].n).toBe(1);
  });
  const v = await run<VerifyResult>('verifyBackup', { database: 'supa', backup: backups.supa!.backupId });
  expect(v.outcome).toBe('passed');
  expect(v.checks.map((c) => [c.name, c.ok])).toEqual([
    ['checksum', true],
    ['restore', true],
    ['row counts', true],
    ['todos of users', true],
  ]);
});

test('without the preset the same project fails to restore and to verify on a plain server: why the preset exists', async () => {
  const target = uniqueName('lb_nopreset');
  const f = await failureOf(run('restoreDatabase', { database: 'nopreset', backup: backups.nopreset!.backupId, target }));
  expect(f.type).toBe('RESTORE_FAILED');
  expect(f.message).toMatch(/pg_restore .*role "(anon|authenticated|service_role)" does not exist/s);
  expect(await databaseExists(target)).toBe(false);
  const v = await failureOf(run('verifyBackup', { database: 'nopreset', backup: backups.nopreset!.backupId }));
  expect(v.message).toMatch(/role "(anon|authenticated|service_role)" does not exist/);
});

test('the roles are a second artifact, hashed in the manifest, without passwords, carried by copies; on by default for Supabase only', async () => {
  const m = await manifestOf(backups.supa!);
  expect(m.roles).toMatchObject({ status: 'stored', key: `supa/backups/${m.backupId}/roles.sql`, tool: { name: 'pg_dumpall' } });
  if (m.roles?.status !== 'stored') throw new Error('roles not stored');
  const body = await openStorage(cfg, 'primary').getBuffer(m.roles.key);
  expect(createHash('sha256').update(body).digest('hex')).toBe(m.roles.sha256);
  expect(body.length).toBe(m.roles.bytes);
  const sql = body.toString();
  for (const r of SUPABASE_ROLES) expect(sql).toContain(`CREATE ROLE ${r};`);
  expect(sql).toMatch(/GRANT (anon|authenticated|service_role) TO authenticator/);
  expect(sql).not.toMatch(/PASSWORD|SCRAM-SHA-256|md5[0-9a-f]{32}/);
  expect((await manifestOf(backups.nopreset!)).roles).toBeUndefined();
  // The copy on the second storage target carries the roles file its manifest names.
  const copy = await openStorage(cfg, 'local').getBuffer(m.roles.key);
  expect(createHash('sha256').update(copy).digest('hex')).toBe(m.roles.sha256);
});

test('(mocked provider refusal: a stand-in pg_dumpall) a provider that does not permit dumping roles: recorded, the backup stands, --with-roles refused with why', async () => {
  const m = await manifestOf(backups.denied!);
  expect(m.roles).toEqual({
    status: 'not-permitted',
    reason: expect.stringMatching(/^pg_dumpall exited with code 1: .*permission denied for table pg_authid/),
  });
  expect(m.rowCounts?.tables).toEqual({ 'public.profiles': 25, 'public.todos': 100 });
  const f = await failureOf(run('restoreDatabase', { database: 'denied', backup: backups.denied!.backupId, target: uniqueName('lb_denied'), withRoles: true }));
  expect(f).toMatchObject({
    type: 'INVALID_INPUT',
    message: expect.stringMatching(/with roles refused: the roles of backup .* were not dumped \(not-permitted\): pg_dumpall/),
  });
  const none = await failureOf(
    run('restoreDatabase', { database: 'nopreset', backup: backups.nopreset!.backupId, target: uniqueName('lb_x'), withRoles: true }),
  );
  expect(none.message).toMatch(/has no roles \(set roles: true on databases\.nopreset to dump them\)/);
});

test('roles are restored only on request: --with-roles creates the platform roles on the plain server before the database, so grants to them restore', async () => {
  expect(await rolesOnServer()).toBe(0);
  const plain = await run<RestoreResult>('restoreDatabase', { database: 'supa', backup: backups.supa!.backupId, target: uniqueName('lb_noroles') });
  expect(plain.notes.join(' ')).not.toMatch(/roles restored/);
  expect(await rolesOnServer()).toBe(0);
  const target = uniqueName('lb_withroles');
  const r = await run<RestoreResult>('restoreDatabase', { database: 'supa', backup: backups.supa!.backupId, target, withRoles: true, privileges: 'restore' });
  expect(await rolesOnServer()).toBe(SUPABASE_ROLES.length);
  expect(r.notes[0]).toMatch(/^roles restored from the backup: \d+ created \(.*\banon\b.*\), the others existed; passwords are never backed up/);
  const member = await withPg('postgres', async (c) => (await c.query(`select pg_has_role('authenticator', 'authenticated', 'member') as m`)).rows[0].m);
  expect(member).toBe(true);
  // With the roles there, the policies for them still need auth.uid(): left out, and the note says so.
  expect(r.notes.join(' ')).toMatch(/left out 3 row level security policies .*\(uses schema auth\)/);
  // With the roles there, the grants to them come back too (privileges: restore).
  const granted = await withPg(target, async (c) => (await c.query(`select has_table_privilege('authenticated', 'public.todos', 'select') as g`)).rows[0].g);
  expect(granted).toBe(true);
  await withPg('postgres', (c) => c.query(`drop database ${target} with (force)`));
});
