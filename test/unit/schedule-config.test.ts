import { type ConfigError, parseConfig } from '../../src/config/load.js';
import { cronProblem, longestGapMs } from '../../src/schedules/cron.js';
import { desiredSchedules, effectiveSchedules, describeTiming, scheduleId } from '../../src/schedules/desired.js';
import { parseDuration } from '../../src/contracts/duration.js';
import { diffSchedules, type ObservedSchedule } from '../../src/schedules/reconcile.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function config(databases: Record<string, Record<string, unknown>>, taskQueue = 'lifeboat') {
  return parseConfig({
    temporal: { taskQueue },
    storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } },
    databases: Object.fromEntries(Object.entries(databases).map(([k, v]) => [k, { engine: 'postgres', url: { env: 'X' }, ...v }])),
  });
}

function problems(db: Record<string, unknown>): string[] {
  try {
    config({ orders: db });
  } catch (err) {
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

test('durations: units w, d, h, m, s, combined', () => {
  expect(parseDuration('36h')).toBe(36 * HOUR);
  expect(parseDuration('1d12h')).toBe(36 * HOUR);
  expect(parseDuration('2w')).toBe(14 * DAY);
  expect(parseDuration('90m')).toBe(90 * 60_000);
  for (const bad of ['', '36', 'h', '1.5h', '-1d', '0s', '1y']) expect(parseDuration(bad)).toBeUndefined();
});

test.each([
  ['0 2 * * *', undefined],
  ['*/15 1-5 1,15 JAN-mar MON-FRI', undefined],
  ['@daily', undefined],
  ['0 2 * *', 'expected 5 fields (minute hour day-of-month month day-of-week), got 4'],
  ['61 2 * * *', 'minute 61 is out of range 0-59'],
  ['0 2 * * 7', 'day of week 7 is out of range 0-6'],
  ['0 2 * * FUN', 'day of week "FUN" is not a number or a name (SUN…SAT)'],
  ['0 5-1 * * *', 'hour range "5-1" ends before it starts'],
  ['@fortnightly', 'unknown shorthand "@fortnightly" (use @yearly, @annually, @monthly, @weekly, @daily, @hourly, or "every")'],
  ['CRON_TZ=Europe/Berlin 0 2 * * *', 'set the time zone with the "timezone" field, not in the expression'],
])('cron %s', (expr, problem) => {
  expect(cronProblem(expr)).toBe(problem);
});

test('the longest gap between runs: daily, weekly, monthly, several crons, intervals', () => {
  expect(longestGapMs(['0 2 * * *'], [])).toBe(DAY);
  expect(longestGapMs(['0 1 * * 0'], [])).toBe(7 * DAY);
  expect(longestGapMs(['0 2,14 * * *'], [])).toBe(12 * HOUR);
  expect(longestGapMs(['0 0 1 * *'], [])).toBe(31 * DAY);
  expect(longestGapMs(['0 2 * * 1-5'], [])).toBe(3 * DAY); // Friday -> Monday
  expect(longestGapMs([], [{ every: 6 * HOUR, offset: 0 }])).toBe(6 * HOUR);
  expect(longestGapMs(['0 2 * * *'], [{ every: 6 * HOUR, offset: 0 }])).toBe(6 * HOUR);
});

test('schedule config errors name the entry and the problem', () => {
  expect(problems({ schedules: [{ kind: 'full' }] })).toEqual(['databases.orders.schedules.0: expected "cron" or "every" (or enabled: false)']);
  expect(problems({ schedules: [{ kind: 'full', cron: '0 25 * * *' }] })).toEqual([
    'databases.orders.schedules.0.cron: hour 25 is out of range 0-23: "0 25 * * *"',
  ]);
  expect(problems({ schedules: [{ kind: 'full', cron: '0 2 * * *', every: '6h' }] })).toEqual([
    'databases.orders.schedules.0.every: use either "cron" or "every", not both',
  ]);
  expect(problems({ schedules: [{ kind: 'full', every: '6x' }] })).toEqual([
    'databases.orders.schedules.0.every: expected a duration such as "36h", "14d", "2w" or "1d12h" (units w, d, h, m, s)',
  ]);
  expect(problems({ schedules: [{ kind: 'full', cron: '0 2 * * *', timezone: 'Mars/Olympus' }] })).toEqual([
    'databases.orders.schedules.0.timezone: expected an IANA time zone such as "UTC" or "Europe/Berlin"',
  ]);
  expect(problems({ schedules: [{ kind: 'full', cron: '0 2 * * *', overlap: 'NEVER' }] })).toEqual([
    'databases.orders.schedules.0.overlap: expected one of SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, TERMINATE_OTHER, ALLOW_ALL',
  ]);
  expect(
    problems({
      schedules: [
        { kind: 'full', cron: '0 2 * * *' },
        { kind: 'full', cron: '0 14 * * *' },
      ],
    }),
  ).toEqual(['databases.orders.schedules.1.kind: duplicates entry 0 ("full"): give one entry several times with cron: [...]']);
  expect(problems({ schedules: [{ kind: 'backup', cron: '0 2 * * *' }] })).toEqual([
    'databases.orders.schedules.0.kind: expected one of full, schema, data, verify, retention, base, wal-check',
  ]);
});

test('environment presets: production, staging and development carry the seed crontabs', () => {
  const cfg = config({ prod: {}, stage: { environment: 'staging' }, dev: { environment: 'development' } });
  const summary = (db: string) => effectiveSchedules(cfg, db).map((s) => `${s.kind} ${s.crons.join(',')} ${s.timezone}`);
  expect(summary('prod')).toEqual(['full 0 2 * * * UTC', 'schema 0 1 * * 0 UTC', 'verify 0 4 * * 0 UTC', 'retention 0 5 * * * UTC']);
  expect(summary('stage')).toEqual(['full 0 3 * * * UTC', 'verify 0 4 * * 0 UTC', 'retention 0 5 * * * UTC']);
  expect(summary('dev')).toEqual(['full 0 3 * * 0 UTC', 'retention 0 5 * * 0 UTC']);
});

test('a database overrides its preset per kind, disables a kind, or has no schedules at all', () => {
  const cfg = config({
    orders: {
      schedules: [
        { kind: 'full', cron: ['0 2 * * *', '0 14 * * *'], timezone: 'Europe/Berlin', jitter: '10m', catchupWindow: '2h', overlap: 'BUFFER_ONE' },
        { kind: 'data', every: '6h', offset: '15m' },
        { kind: 'verify', enabled: false },
      ],
    },
    adhoc: { schedules: false },
  });
  const s = effectiveSchedules(cfg, 'orders');
  expect(s.map((x) => x.kind)).toEqual(['full', 'schema', 'data', 'retention']);
  expect(s[0]).toEqual({
    kind: 'full',
    crons: ['0 2 * * *', '0 14 * * *'],
    intervals: [],
    timezone: 'Europe/Berlin',
    jitterMs: 10 * 60_000,
    catchupWindowMs: 2 * HOUR,
    overlap: 'BUFFER_ONE',
    pauseOnFailure: false,
    source: 'config',
  });
  expect(s[2]!.intervals).toEqual([{ every: 6 * HOUR, offset: 15 * 60_000 }]);
  expect(effectiveSchedules(cfg, 'adhoc')).toEqual([]);
});

test('desired schedules: ids, workflows, inputs, defaults (SKIP, explicit catch-up window) and stable hashes', () => {
  const cfg = config({ orders: { schedules: [{ kind: 'schema', enabled: false }] } }, 'lb-q');
  const d = desiredSchedules(cfg);
  expect(d.map((x) => [x.scheduleId, x.workflowType, JSON.stringify(x.args[0]), x.workflowId])).toEqual([
    ['lifeboat:orders:full', 'backupDatabase', '{"database":"orders","kind":"full"}', 'backup:orders:full'],
    ['lifeboat:orders:retention', 'applyRetention', '{"database":"orders"}', 'retention:orders'],
    ['lifeboat:orders:verify', 'verifyBackup', '{"database":"orders","backup":"latest"}', 'verify:orders'],
  ]);
  expect(d[0]!.taskQueue).toBe('lb-q');
  expect(describeTiming(d[0]!)).toBe('cron "0 2 * * *" UTC, overlap SKIP, catch-up 12h');
  expect(desiredSchedules(cfg).map((x) => x.hash)).toEqual(d.map((x) => x.hash));
  const changed = desiredSchedules(
    config(
      {
        orders: {
          schedules: [
            { kind: 'schema', enabled: false },
            { kind: 'full', cron: '0 3 * * *' },
          ],
        },
      },
      'lb-q',
    ),
  );
  expect(changed[0]!.hash).not.toBe(d[0]!.hash);
  expect(changed[1]!.hash).toBe(d[1]!.hash);
});

test('diff: create, update, delete, unchanged and conflicts; only Lifeboat-marked schedules of this scope are touched', () => {
  const d = desiredSchedules(config({ orders: {} }, 'q1'));
  const observed = (id: string, over: Partial<ObservedSchedule> = {}): ObservedSchedule => {
    const desired = d.find((x) => x.scheduleId === id);
    const { hash, ...body } = desired ?? { hash: 'h', scheduleId: id };
    return {
      scheduleId: id,
      marker: { managedBy: 'lifeboat', scope: 'q1', database: id.split(':')[1]!, kind: id.split(':')[2]! },
      stored: desired ? { hash, fingerprint: 'fp', desired: body as never } : undefined,
      fingerprint: 'fp',
      paused: false,
      ...over,
    };
  };
  const plan = diffSchedules(
    d,
    [
      observed(scheduleId('orders', 'full'), { paused: true }),
      observed(scheduleId('orders', 'schema'), { stored: { ...observed(scheduleId('orders', 'schema')).stored!, hash: 'old' } }),
      observed(scheduleId('orders', 'verify'), { fingerprint: 'edited-in-ui' }),
      observed(scheduleId('orders', 'retention'), { marker: undefined }),
      observed('lifeboat:gone:full'),
      observed('lifeboat:other:full', { marker: { managedBy: 'lifeboat', scope: 'q2', database: 'other', kind: 'full' } }),
      observed('payroll-nightly', { marker: undefined }),
    ],
    'q1',
  );
  expect(plan.changes.map((c) => [c.action, c.scheduleId])).toEqual([
    ['conflict', 'lifeboat:orders:retention'],
    ['update', 'lifeboat:orders:schema'],
    ['update', 'lifeboat:orders:verify'],
    ['delete', 'lifeboat:gone:full'],
    ['unchanged', 'lifeboat:orders:full'],
  ]);
  const verify = plan.changes.find((c) => c.scheduleId === 'lifeboat:orders:verify');
  expect(verify?.action === 'update' && verify.reasons).toEqual(['changed outside Lifeboat (e.g. edited in the Web UI)']);
  const del = plan.changes.find((c) => c.action === 'delete');
  expect(del?.action === 'delete' && del.reason).toBe('database "gone" is no longer configured');
  expect(plan.counts).toEqual({ create: 0, update: 2, delete: 1, unchanged: 1, conflict: 1 });
  expect(diffSchedules(d, [], 'q1').counts.create).toBe(4);
});

test('schedules must be a list or false', () => {
  expect(problems({ schedules: 'daily' })).toEqual(['databases.orders.schedules: Invalid input: expected array, received string']);
});
