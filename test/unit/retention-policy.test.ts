import { type ConfigError, parseConfig } from '../../src/config/load.js';
import { describePolicy, resolveRetentionPolicy } from '../../src/retention/policy.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function config(db: Record<string, unknown>) {
  return parseConfig({
    storage: {
      primary: { type: 's3', bucket: 'lifeboat-backups' },
      offsite: { type: 's3', bucket: 'lifeboat-offsite' },
      local: { type: 'filesystem', path: '/tmp/lb' },
    },
    databases: { orders: { engine: 'postgres', url: { env: 'X' }, storage: ['primary', 'offsite', 'local'], ...db } },
  });
}

test('presets: production keeps 30 daily / 12 weekly / 12 monthly, at least 3; freshness follows the schedule', () => {
  const cfg = config({});
  expect(describePolicy(resolveRetentionPolicy(cfg, 'orders', 'full', 'primary'))).toBe('daily 30, weekly 12, monthly 12; minKeep 3, fresh 1d12h');
  // Schema backups run weekly: 7 days + half of it.
  expect(resolveRetentionPolicy(cfg, 'orders', 'schema', 'primary').freshnessMs).toBe(Math.round(7 * DAY * 1.5));
  // Data backups are not scheduled: no freshness bound.
  expect(resolveRetentionPolicy(cfg, 'orders', 'data', 'primary').freshnessMs).toBeUndefined();
  expect(describePolicy(resolveRetentionPolicy(config({ environment: 'staging' }), 'orders', 'full', 'primary'))).toBe('daily 7; minKeep 3, fresh 1d12h');
  expect(describePolicy(resolveRetentionPolicy(config({ environment: 'development' }), 'orders', 'full', 'primary'))).toBe(
    'within 14d; minKeep 2, fresh 10d12h',
  );
});

test('levels: keep rules replace as a set, safety bounds are inherited one by one', () => {
  const cfg = config({
    schedules: [{ kind: 'full', every: '6h' }],
    retention: {
      keepLast: 10,
      keepWithin: '2d',
      minKeep: 4,
      timezone: 'Europe/Berlin',
      kinds: { schema: { keepLast: 8 } },
      storage: { local: { keepLast: 2, minKeep: 1 }, offsite: { freshness: '3d', kinds: { full: { monthly: 24 } } } },
    },
  });
  const p = (kind: 'full' | 'schema', storage: string) => resolveRetentionPolicy(cfg, 'orders', kind, storage);
  expect(p('full', 'primary')).toEqual({ keepLast: 10, keepWithinMs: 2 * DAY, minKeep: 4, freshnessMs: 18 * HOUR, timezone: 'Europe/Berlin' });
  expect(p('schema', 'primary')).toMatchObject({ keepLast: 8, keepWithinMs: undefined, minKeep: 4 });
  expect(p('full', 'local')).toMatchObject({ keepLast: 2, keepWithinMs: undefined, minKeep: 1, timezone: 'Europe/Berlin' });
  expect(p('full', 'offsite')).toMatchObject({ keepLast: undefined, monthly: 24, minKeep: 4, freshnessMs: 3 * DAY });
  expect(p('schema', 'offsite')).toMatchObject({ keepLast: 8, freshnessMs: 3 * DAY });
});

test('retention config errors', () => {
  const problems = (db: Record<string, unknown>) => {
    try {
      config(db);
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  };
  expect(problems({ retention: { minKeep: 0 } })).toEqual([
    'databases.orders.retention.minKeep: must be at least 1: retention never deletes the last good backup',
  ]);
  expect(problems({ retention: { storage: { elsewhere: { keepLast: 1 } } } })).toEqual([
    'databases.orders.retention.storage.elsewhere: is not a storage target of this database (its targets: primary, offsite, local)',
  ]);
  expect(problems({ retention: { keepWithin: 'two weeks' } })).toEqual([
    'databases.orders.retention.keepWithin: expected a duration such as "36h", "14d", "2w" or "1d12h" (units w, d, h, m, s)',
  ]);
  expect(problems({ retention: { kinds: { verify: { keepLast: 1 } } } })).toEqual(['databases.orders.retention.kinds: Unrecognized key: "verify"']);
});
