import { parse } from 'yaml';
import { buildStarter, maskedUrl } from '../../src/init/starter.js';

test.each([
  ['postgres://app:pw1@ep-cool-rain-123456.eu-central-1.aws.neon.tech/orders?sslmode=require', 'orders', 'postgres', 'neon', 'ORDERS_DATABASE_URL'],
  ['postgresql://postgres:pw2@db.abcdefgh.supabase.co:5432/postgres', 'postgres', 'postgres', 'supabase', 'POSTGRES_DATABASE_URL'],
  ['mysql://u:pw3@aws.connect.psdb.cloud/shop', 'shop', 'mysql', 'planetscale', 'SHOP_DATABASE_URL'],
  ['postgres://u:pw4@mydb.abc123.us-east-1.rds.amazonaws.com/Billing-2026', 'billing-2026', 'postgres', 'rds', 'BILLING_2026_DATABASE_URL'],
  ['postgres://u:pw5@10.0.0.5/inventory', 'inventory', 'postgres', 'self-hosted', 'INVENTORY_DATABASE_URL'],
])('init from %s: name %s, engine %s, provider %s, URL in %s, no password', (url, name, engine, provider, env) => {
  const s = buildStarter({ url });
  expect([s.name, s.engine, s.provider, s.env[0]!.name]).toEqual([name, engine, provider, env]);
  expect(s.yaml).not.toMatch(/pw\d/);
  const doc = parse(s.yaml) as { databases: Record<string, { url: unknown }> };
  expect(doc.databases[name]!.url).toEqual({ env });
});

test('init with S3 storage refers to the keys by environment variable', () => {
  const s = buildStarter({ url: 'postgres://u@h/app', storage: 's3://my-backups/prod', s3Endpoint: 'http://127.0.0.1:8333' });
  const doc = parse(s.yaml) as { storage: { primary: Record<string, unknown> } };
  expect(doc.storage.primary).toMatchObject({
    type: 's3',
    bucket: 'my-backups',
    prefix: 'prod/',
    accessKeyId: { env: 'S3_ACCESS_KEY_ID' },
    forcePathStyle: true,
  });
  expect(s.env.map((e) => e.name)).toEqual(['APP_DATABASE_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']);
});

test('init refuses what it cannot turn into a configuration, saying why', () => {
  expect(() => buildStarter({ url: 'not a url' })).toThrow(/Init refused: the database URL is not a URL/);
  expect(() => buildStarter({ url: 'redis://h/0' })).toThrow(/unknown URL scheme redis:/);
  expect(() => buildStarter({ url: 'postgres://h/db', storage: 's3://X_bad' })).toThrow(/not s3:\/\/bucket/);
  expect(() => buildStarter({ url: 'postgres://h/db', env: 'lower-case' })).toThrow(/not an environment variable name/);
  expect(maskedUrl('postgres://u:secret@h/db')).toBe('postgres://u:****@h/db');
});
