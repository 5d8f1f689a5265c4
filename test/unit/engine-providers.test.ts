// Provider detection is engine-aware: the same host name means a MySQL preset for the MySQL engine
// and is refused (or means something else) for PostgreSQL; the MySQL engine carries the preset
// through the engine-neutral connection to its dump and restore.
import { engineFor } from '../../src/engines/index.js';
import { toMysql } from '../../src/engines/mysql/adapter.js';
import { planDump } from '../../src/engines/mysql/index.js';
import { pgDumpallArgs, pgDumpArgs, roleStatements } from '../../src/engines/postgres/index.js';
import { adaptToTarget } from '../../src/engines/postgres/managed.js';
import { SUPABASE_MANAGED_SCHEMAS, type Provider } from '../../src/engines/providers.js';

const mysql = engineFor('mysql', 'Test', 'test');
const postgres = engineFor('postgres', 'Test', 'test');

describe('provider detection by engine over real host names', () => {
  test.each<[string, string, string]>([
    ['aws.connect.psdb.cloud', 'planetscale', 'verify-identity'],
    ['eu-west.connect.psdb.cloud', 'planetscale', 'verify-identity'],
    ['orders.c9akciq32.us-east-1.rds.amazonaws.com', 'rds', 'required'],
    ['orders.cluster-c9akciq32.eu-central-1.rds.amazonaws.com', 'rds', 'required'],
    ['db-mysql-fra1-12345-do-user-1-0.b.db.ondigitalocean.com', 'digitalocean', 'required'],
    ['orders.mysql.database.azure.com', 'azure', 'required'],
    ['roundhouse.proxy.rlwy.net', 'railway', 'preferred'],
    ['db.internal', 'self-hosted', 'preferred'],
    ['psdb.cloud.evil.example', 'self-hosted', 'preferred'],
  ])('mysql://…@%s is %s (TLS %s)', (host, provider, tls) => {
    const conn = mysql.parseUrl(`mysql://app:pw@${host}:3306/orders`, undefined, 'connection URL databases.orders.url');
    expect(conn).toMatchObject({ engine: 'mysql', host, preset: { provider }, sslmode: tls });
    expect(toMysql(conn).preset.provider).toBe(provider);
  });

  test.each<[string, string]>([
    ['ep-cool-darkness-123456.us-east-2.aws.neon.tech', 'neon'],
    ['db.abcdefghijklmnop.supabase.co', 'supabase'],
    ['aws-0-eu-central-1.pooler.supabase.com', 'supabase'],
    ['orders.c9akciq32.us-east-1.rds.amazonaws.com', 'rds'],
    ['db-postgresql-fra1-1-do-user-1-0.b.db.ondigitalocean.com', 'digitalocean'],
    ['orders.postgres.database.azure.com', 'azure'],
    ['ep-x.us-east-1.postgres.vercel-storage.com', 'vercel'],
    ['db.internal', 'self-hosted'],
  ])('postgres://…@%s is %s', (host, provider) => {
    expect(postgres.parseUrl(`postgres://app:pw@${host}:5432/orders`)).toMatchObject({ engine: 'postgres', preset: { provider } });
  });

  test('a PlanetScale host is never taken for PostgreSQL; a PostgreSQL-only provider is refused for MySQL; both name the configuration path', () => {
    expect(() => postgres.parseUrl('postgres://app:secret-pw@aws.connect.psdb.cloud/orders', undefined, 'connection URL databases.orders.url')).toThrow(
      'Invalid connection URL databases.orders.url: PlanetScale hosts MySQL, not PostgreSQL: set engine: mysql and a mysql:// URL',
    );
    expect(() => postgres.parseUrl('postgres://app:pw@db.internal/orders', 'planetscale', 'connection URL databases.orders.url')).toThrow(/set engine: mysql/);
    expect(() => mysql.parseUrl('mysql://app:pw@db.internal/orders', 'supabase' as Provider, 'connection URL databases.shop.url')).toThrow(
      'Invalid connection URL databases.shop.url: provider supabase hosts PostgreSQL, not MySQL (set engine: postgres)',
    );
    expect(() => mysql.parseUrl('mysql://app:pw@db.internal/orders?bogus=1', undefined, 'connection URL databases.shop.url')).toThrow(
      'Invalid connection URL databases.shop.url: unknown parameter "bogus" (known: ssl-mode, ssl-ca)',
    );
  });
});

test('the PlanetScale preset reaches the dump through the engine-neutral connection: no locks, no programs, OLAP mode, TLS verified', () => {
  const conn = mysql.parseUrl('mysql://app:pw@aws.connect.psdb.cloud/orders');
  const my = toMysql(conn);
  expect(my).toMatchObject({
    tls: 'verify-identity',
    preset: { provider: 'planetscale', programs: false, noLocking: true, dumpInitCommand: "SET workload = 'olap'" },
  });
  const plan = planDump({
    preset: my.preset,
    server: { flavour: 'mysql', major: 8, minor: 0, logBin: true, vitess: true },
    tool: { flavour: 'mysql', major: 8 },
    kind: 'full',
    database: 'orders',
    optionFile: '/tmp/o.cnf',
  });
  expect(plan.args).toEqual([
    '--defaults-extra-file=/tmp/o.cnf',
    '--single-transaction',
    '--quick',
    '--hex-blob',
    '--default-character-set=utf8mb4',
    '--no-tablespaces',
    '--max-allowed-packet=1G',
    '--skip-triggers',
    '--skip-lock-tables',
    '--skip-add-locks',
    '--set-gtid-purged=OFF',
    '--column-statistics=0',
    'orders',
  ]);
  expect(plan.optionLines).toEqual([`loose-init-command="SET workload = 'olap'"`]);
  expect(my.preset.restoreNotes.join(' ')).toMatch(/restore into an existing branch/);
  // A configured sslmode survives the round trip; the connection's database can be swapped.
  const strict = mysql.withDatabase(mysql.parseUrl('mysql://app:pw@db.internal/orders?ssl-mode=verify-ca'), 'other');
  expect(toMysql(strict)).toMatchObject({ tls: 'verify-ca', database: 'other', preset: { provider: 'self-hosted' } });
});

test('MySQL target rules: system databases and the marker registry are refused, names over 64 characters too', () => {
  expect(mysql.targetRules('mysql')).toEqual({ refuse: 'is a system database' });
  expect(mysql.targetRules('performance_schema')).toEqual({ refuse: 'is a system database' });
  expect(mysql.targetRules('_lifeboat')).toEqual({ refuse: "holds Lifeboat's registry of the databases it created" });
  expect(mysql.targetRules('x'.repeat(65)).refuse).toMatch(/64 characters/);
  expect(mysql.targetRules('orders_restore')).toEqual({});
});

describe('hosted PostgreSQL presets: the exact pg_dump command each produces', () => {
  const BASE = ['--format=custom', '--compress=0', '--no-password', '--lock-wait-timeout=300000', '--snapshot=S1'];
  const SUPABASE = SUPABASE_MANAGED_SCHEMAS.map((s) => `--exclude-schema=${s}`);
  test.each<[string, string, { host: string; sslmode?: string }, string[]]>([
    ['self-hosted', 'postgres://app:pw@db.internal:5432/orders', { host: 'db.internal' }, BASE],
    [
      'Supabase (direct)',
      'postgres://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres',
      { host: 'db.abcdefghijklmnop.supabase.co', sslmode: 'require' },
      [...BASE, ...SUPABASE],
    ],
    [
      'Supabase (session pooler)',
      'postgres://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:5432/postgres',
      { host: 'aws-0-eu-central-1.pooler.supabase.com', sslmode: 'require' },
      [...BASE, ...SUPABASE],
    ],
    [
      'Neon (pooler rewritten to the direct endpoint)',
      'postgres://app:pw@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/neondb',
      { host: 'ep-cool-darkness-123456.us-east-2.aws.neon.tech', sslmode: 'require' },
      BASE,
    ],
    [
      'RDS',
      'postgres://app:pw@orders.c9akciq32.us-east-1.rds.amazonaws.com/orders',
      { host: 'orders.c9akciq32.us-east-1.rds.amazonaws.com', sslmode: 'require' },
      BASE,
    ],
    [
      'DigitalOcean',
      'postgres://app:pw@db-pg-fra1-1-do-user-1-0.b.db.ondigitalocean.com:25060/defaultdb',
      { host: 'db-pg-fra1-1-do-user-1-0.b.db.ondigitalocean.com', sslmode: 'require' },
      BASE,
    ],
    ['Railway', 'postgres://app:pw@roundhouse.proxy.rlwy.net:41234/railway', { host: 'roundhouse.proxy.rlwy.net', sslmode: 'require' }, BASE],
    [
      'Vercel',
      'postgres://app:pw@ep-x.us-east-1.postgres.vercel-storage.com/verceldb',
      { host: 'ep-x.us-east-1.postgres.vercel-storage.com', sslmode: 'require' },
      BASE,
    ],
  ])('%s', (_name, url, expected, args) => {
    const conn = postgres.parseUrl(url);
    expect(conn).toMatchObject(expected);
    if (!expected.sslmode) expect(conn.sslmode).toBeUndefined();
    expect(pgDumpArgs('full', 'S1', conn.preset.excludeSchemas)).toEqual(args);
  });

  test("Supabase's transaction pooler is refused with the fix; Neon's rewrite is explained", () => {
    expect(() =>
      postgres.parseUrl('postgres://p:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres', undefined, 'connection URL databases.app.url'),
    ).toThrow(
      "Invalid connection URL databases.app.url: Supabase's transaction pooler (port 6543) cannot export the dump's snapshot: use the direct connection db.<project>.supabase.co:5432, or the session pooler on port 5432",
    );
    expect(postgres.parseUrl('postgres://app:pw@ep-a-pooler.eu-central-1.aws.neon.tech/db').preset.poolerHint).toBe(
      "the pooler host was rewritten to the direct endpoint ep-a.eu-central-1.aws.neon.tech (dumps never go through Neon's pooler)",
    );
  });
});

describe('Supabase preset: roles dumped apart, restores adapted to a server without the platform', () => {
  test('the exact pg_dumpall command: roles only, never passwords, through the database itself (no password in argv)', () => {
    expect(pgDumpallArgs('postgres')).toEqual(['--roles-only', '--no-role-passwords', '--no-password', "--dbname=dbname='postgres'"]);
  });

  test('a roles dump splits into statements without comments or meta-commands', () => {
    const sql = `--\n-- Roles\n--\n\\restrict abc\nCREATE ROLE anon;\nALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOLOGIN;\n\nGRANT anon TO authenticator WITH INHERIT TRUE GRANTED BY postgres;\n\\unrestrict abc\n`;
    expect(roleStatements(sql)).toEqual([
      'CREATE ROLE anon;',
      'ALTER ROLE anon WITH NOSUPERUSER NOINHERIT NOLOGIN;',
      'GRANT anon TO authenticator WITH INHERIT TRUE GRANTED BY postgres;',
    ]);
  });

  const entry = (id: number, desc: string, rest: string) => ({ id, desc, rest, deps: [], line: `${id}; 0 0 ${desc} ${rest}` });
  const candidates = [
    { entry: entry(1, 'EXTENSION', '- pgcrypto '), sql: 'CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;' },
    {
      entry: entry(2, 'FK CONSTRAINT', 'public todos todos_user_id_fkey postgres'),
      sql: 'ALTER TABLE ONLY public.todos\n    ADD CONSTRAINT todos_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id);',
    },
    {
      entry: entry(3, 'FK CONSTRAINT', 'public todos todos_list_fkey postgres'),
      sql: 'ALTER TABLE ONLY public.todos ADD CONSTRAINT todos_list_fkey FOREIGN KEY (list) REFERENCES public.lists(id);',
    },
    {
      entry: entry(4, 'POLICY', 'public todos own todos postgres'),
      sql: 'CREATE POLICY "own todos" ON public.todos FOR SELECT TO authenticated USING ((( SELECT auth.uid() AS uid) = user_id));',
    },
    { entry: entry(5, 'POLICY', 'public profiles readable postgres'), sql: 'CREATE POLICY readable ON public.profiles FOR SELECT USING (true);' },
    {
      entry: entry(6, 'EVENT TRIGGER', '- pgrst_ddl_watch postgres'),
      sql: 'CREATE EVENT TRIGGER pgrst_ddl_watch ON ddl_command_end\n   EXECUTE FUNCTION extensions.pgrst_ddl_watch();',
    },
    { entry: entry(7, 'PUBLICATION', '- supabase_realtime postgres'), sql: "CREATE PUBLICATION supabase_realtime WITH (publish = 'insert');" },
  ];
  const excluded = ['auth', 'extensions', 'storage'];

  test('on a plain server: foreign keys to auth, policies needing its roles or functions, event triggers of managed schemas are left out; schema extensions created', () => {
    const plain = { schemas: new Set(['public', 'pg_catalog']), roles: new Set(['postgres']), relations: new Set<string>(), publications: new Set<string>() };
    const a = adaptToTarget(candidates, excluded, plain, 'supabase');
    expect([...a.omit].sort()).toEqual([2, 4, 6]);
    expect(a.createSchemas).toEqual(['extensions']);
    expect(a.notes).toEqual([
      'left out 1 foreign keys the supabase preset cannot restore on this server: public todos todos_user_id_fkey (references auth.users)',
      'left out 1 row level security policies the supabase preset cannot restore on this server: public todos own todos (role authenticated missing, uses schema auth)',
      'left out 1 event triggers the supabase preset cannot restore on this server: pgrst_ddl_watch (runs a function of extensions)',
      'created schema extensions for the extensions the backup installs into it',
    ]);
  });

  test('on a Supabase project (the platform present) nothing is left out but a publication it already has', () => {
    const project = {
      schemas: new Set(['public', 'auth', 'extensions', 'storage']),
      roles: new Set(['postgres', 'authenticated', 'anon']),
      relations: new Set(['auth.users']),
      publications: new Set(['supabase_realtime']),
    };
    const a = adaptToTarget(candidates, excluded, project, 'supabase');
    expect([...a.omit]).toEqual([7]);
    expect(a.createSchemas).toEqual([]);
  });
});
