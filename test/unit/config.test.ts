import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';

const base = {
  storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } },
  databases: { orders: { engine: 'postgres', url: { env: 'ORDERS_DATABASE_URL' } } },
};

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, 'lifeboat.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

function withDb(db: Record<string, unknown>) {
  return { ...base, databases: { orders: { ...base.databases.orders, ...db } } };
}

test('the example from the design notes is valid and gets defaults', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-cfg-'));
  const file = path.join(dir, 'lifeboat.yaml');
  writeFileSync(
    file,
    `temporal: { address: 127.0.0.1:7233, namespace: default, taskQueue: lifeboat }
storage:
  primary:
    type: s3
    bucket: lifeboat-backups
    prefix: prod/
    region: us-east-1
    endpoint: http://127.0.0.1:9000        # omit for AWS
    forcePathStyle: true
    accessKeyId: { env: S3_ACCESS_KEY_ID }
    secretAccessKey: { env: S3_SECRET_ACCESS_KEY }
  local: { type: filesystem, path: ./backups }
databases:
  orders:
    engine: postgres                     # postgres | mysql
    provider: neon                       # optional; detected from the host when omitted
    url: { env: ORDERS_DATABASE_URL }    # or { file: /run/secrets/orders-url }
    environment: production              # production | staging | development (presets)
    storage: [primary, local]
    compression: { codec: zstd, level: 1 }
    protected: true
    verify:
      checks:
        - { name: has users, sql: "select count(*) > 0 from users" }
    schedules:
      - { kind: full, cron: "0 2 * * *" }
      - { kind: schema, cron: "0 1 * * 0" }
    retention: { daily: 30, weekly: 12, monthly: 12, minKeep: 3 }
`,
  );
  const cfg = loadConfig(file);
  expect(cfg.databases.orders!.compression).toEqual({ codec: 'zstd', level: 1 });
  expect(cfg.storage.local).toEqual({ type: 'filesystem', path: path.join(dir, 'backups'), prefix: '' });
  expect(cfg.temporal.taskQueue).toBe('lifeboat');
});

test('defaults: zstd level 1, production, not protected, exact row counts', () => {
  const cfg = parseConfig(base);
  expect(cfg.databases.orders).toMatchObject({
    compression: { codec: 'zstd', level: 1 },
    environment: 'production',
    protected: false,
    rowCounts: 'exact',
  });
  expect(cfg.temporal).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lifeboat' });
});

test.each<[string, unknown, string[]]>([
  [
    'compression level out of range for zstd',
    withDb({ compression: { codec: 'zstd', level: 22 } }),
    ['databases.orders.compression.level: expected an integer from 1 to 19'],
  ],
  [
    'compression level not an integer',
    withDb({ compression: { codec: 'zstd', level: 1.5 } }),
    ['databases.orders.compression.level: expected an integer from 1 to 19'],
  ],
  ['gzip level out of range', withDb({ compression: { codec: 'gzip', level: 12 } }), ['databases.orders.compression.level: expected an integer from 1 to 9']],
  ['unknown codec', withDb({ compression: { codec: 'lz4' } }), ['databases.orders.compression.codec: Invalid option: expected one of "zstd"|"gzip"|"none"']],
  ['unknown engine', withDb({ engine: 'oracle' }), ['databases.orders.engine: expected one of postgres, mysql']],
  [
    'password inline in the URL',
    withDb({ url: 'postgres://app:hunter2@db:5432/orders' }),
    ['databases.orders.url: contains a password; reference the URL as a secret with { env: NAME } or { file: PATH }'],
  ],
  ['secret reference with both forms', withDb({ url: { env: 'A', file: 'b' } }), ['databases.orders.url: expected a string, { env: NAME } or { file: PATH }']],
  ['unknown storage target', withDb({ storage: ['offsite'] }), ['databases.orders.storage.0: unknown storage target "offsite" (defined: primary)']],
  ['misspelt key', withDb({ compresion: { codec: 'zstd' } }), ['databases.orders: Unrecognized key: "compresion"']],
  ['storage without a type', { ...base, storage: { primary: { bucket: 'x' } } }, ['storage.primary.type: expected type "s3" or "filesystem"']],
  [
    's3 endpoint is not a URL',
    { ...base, storage: { primary: { type: 's3', bucket: 'abc', endpoint: 'localhost:9000' } } },
    ['storage.primary.endpoint: expected a URL such as http://127.0.0.1:9000'],
  ],
  [
    'bad database name',
    { ...base, databases: { 'orders db': base.databases.orders } },
    ['databases.orders db: expected a name of letters, digits, "_" or "-" (at most 63 characters)'],
  ],
  ['no storage at all', { ...base, storage: {} }, ['storage: expected at least one storage target']],
  [
    'several problems are all reported',
    { ...withDb({ engine: 'oracle', compression: { codec: 'zstd', level: 0 } }), temporal: { address: 7233 } },
    [
      'temporal.address: Invalid input: expected string, received number',
      'databases.orders.engine: expected one of postgres, mysql',
      'databases.orders.compression.level: expected an integer from 1 to 19',
    ],
  ],
])('%s', (_name, raw, expected) => {
  expect(problems(raw)).toEqual(expected);
});

test('the error message names the file and lists every problem by path', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-cfg-'));
  const file = path.join(dir, 'bad.yaml');
  writeFileSync(
    file,
    'storage:\n  primary: { type: s3, bucket: b1x }\ndatabases:\n  orders: { engine: postgres, url: { env: X }, compression: { level: 30 } }\n',
  );
  expect(() => loadConfig(file)).toThrow(`Invalid configuration ${file}:\n  - databases.orders.compression.level: expected an integer from 1 to 19`);
});

test('YAML syntax errors and missing files are reported with the file name', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-cfg-'));
  const file = path.join(dir, 'broken.yaml');
  writeFileSync(file, 'storage:\n  primary: { type: s3\n');
  expect(() => loadConfig(file)).toThrow(/Invalid configuration .*broken\.yaml:\n {2}- \(yaml\) line \d+: /);
  expect(() => loadConfig(path.join(dir, 'missing.yaml'))).toThrow(/missing\.yaml:\n {2}- \(file\): file not found/);
});
