import fc from 'fast-check';
import { bucketKey, isoWeek } from '../../src/retention/calendar.js';
import { planRetention, type RetentionCandidate, type RetentionPlan, type RetentionPolicy, type VerificationStatus } from '../../src/retention/planner.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

// ------------------------------------------------------------------------------ generators ---

const statusArb = fc.constantFrom<VerificationStatus>('verified', 'unverified', 'unverified', 'corrupt');
const kindArb = fc.constantFrom('full', 'full', 'schema');

/** Random catalogs: ids unrelated to time order, times over three years, some at the same instant. */
const catalogArb = fc
  .array(fc.record({ t: fc.integer({ min: 0, max: 3 * 365 * 24 }), kind: kindArb, status: statusArb, tag: fc.integer({ min: 0, max: 1e9 }) }), {
    maxLength: 45,
  })
  .map((rows) =>
    rows.map((r, i): RetentionCandidate => ({
      backupId: `${r.tag.toString(36)}-${i}`,
      kind: r.kind,
      startedAt: new Date(T0 + r.t * HOUR).toISOString(),
      status: r.status,
    })),
  );

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const policyArb: fc.Arbitrary<RetentionPolicy> = fc.record({
  keepLast: opt(fc.integer({ min: 0, max: 8 })),
  keepWithinMs: opt(fc.integer({ min: 0, max: 90 }).map((d) => d * DAY)),
  hourly: opt(fc.integer({ min: 0, max: 6 })),
  daily: opt(fc.integer({ min: 0, max: 10 })),
  weekly: opt(fc.integer({ min: 0, max: 6 })),
  monthly: opt(fc.integer({ min: 0, max: 12 })),
  yearly: opt(fc.integer({ min: 0, max: 3 })),
  minKeep: fc.integer({ min: 1, max: 5 }),
  freshnessMs: opt(fc.integer({ min: 1, max: 400 }).map((d) => d * DAY)),
  timezone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'),
});
const nowArb = fc.integer({ min: 0, max: 4 * 365 }).map((d) => T0 + d * DAY);
const caseArb = fc.record({ backups: catalogArb, full: policyArb, schema: policyArb, now: nowArb });

function plan(c: { backups: RetentionCandidate[]; full: RetentionPolicy; schema: RetentionPolicy; now: number }): RetentionPlan {
  return planRetention({ backups: c.backups, policies: { full: c.full, schema: c.schema }, now: c.now });
}

const newestFirst = (a: RetentionCandidate, b: RetentionCandidate) => Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.backupId < b.backupId ? 1 : -1);
const RUNS = { numRuns: 300 };

// ------------------------------------------------------------------------------ properties ---

test('property: the newest verified backup of each kind is never deleted', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const deleted = new Set(plan(c).delete);
      for (const kind of ['full', 'schema']) {
        const newestVerified = c.backups.filter((b) => b.kind === kind && b.status === 'verified').sort(newestFirst)[0];
        if (newestVerified) expect(deleted.has(newestVerified.backupId)).toBe(false);
      }
    }),
    RUNS,
  );
});

test('property: at least minKeep good backups of each kind remain (or all of them when fewer exist)', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const deleted = new Set(plan(c).delete);
      for (const [kind, policy] of [
        ['full', c.full],
        ['schema', c.schema],
      ] as const) {
        const good = c.backups.filter((b) => b.kind === kind && b.status !== 'corrupt');
        const left = good.filter((b) => !deleted.has(b.backupId));
        expect(left.length).toBeGreaterThanOrEqual(Math.min(policy.minKeep, good.length));
        // The newest good backup always stays.
        if (good.length) expect(deleted.has(good.sort(newestFirst)[0]!.backupId)).toBe(false);
      }
    }),
    RUNS,
  );
});

test('property: deterministic, whatever the order of the catalog', () => {
  fc.assert(
    fc.property(caseArb, fc.func(fc.integer()), (c, order) => {
      const shuffled = [...c.backups].sort((a, b) => order(a.backupId) - order(b.backupId) || (a.backupId < b.backupId ? -1 : 1));
      expect(plan({ ...c, backups: shuffled })).toEqual(plan(c));
    }),
    RUNS,
  );
});

test('property: a plan applied twice deletes nothing the second time', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const first = plan(c);
      const gone = new Set(first.delete);
      const second = plan({ ...c, backups: c.backups.filter((b) => !gone.has(b.backupId)) });
      expect(second.delete).toEqual([]);
    }),
    RUNS,
  );
});

test('property: corrupt backups are never counted as kept (the good ones kept are the same without them)', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const withCorrupt = plan(c);
      const clean = c.backups.filter((b) => b.status !== 'corrupt');
      const withoutCorrupt = plan({ ...c, backups: clean });
      for (const kind of ['full', 'schema']) {
        if (!clean.some((b) => b.kind === kind)) continue; // no good backup: that kind is halted
        const keptGood = (p: RetentionPlan) =>
          new Set(
            p.kinds
              .find((k) => k.kind === kind)
              ?.decisions.filter((d) => d.keep && d.status !== 'corrupt')
              .map((d) => d.backupId),
          );
        expect(keptGood(withCorrupt)).toEqual(keptGood(withoutCorrupt));
      }
    }),
    RUNS,
  );
});

test('property: nothing is deleted while the newest good backup is older than the freshness bound', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const p = plan(c);
      for (const [kind, policy] of [
        ['full', c.full],
        ['schema', c.schema],
      ] as const) {
        const good = c.backups.filter((b) => b.kind === kind && b.status !== 'corrupt').sort(newestFirst);
        const stale = policy.freshnessMs !== undefined && good.length > 0 && c.now - Date.parse(good[0]!.startedAt) > policy.freshnessMs;
        const none = good.length === 0;
        if (stale || none) {
          const ofKind = new Set(c.backups.filter((b) => b.kind === kind).map((b) => b.backupId));
          expect(p.delete.filter((id) => ofKind.has(id))).toEqual([]);
          if (ofKind.size) expect(p.halted.map((h) => h.kind)).toContain(kind);
        }
      }
    }),
    RUNS,
  );
});

// ------------------------------------------------------------------------ written by hand ---

const P = (p: Partial<RetentionPolicy>): RetentionPolicy => ({ minKeep: 1, timezone: 'UTC', ...p });
const b = (id: string, startedAt: string, status: VerificationStatus = 'unverified', kind = 'full'): RetentionCandidate => ({
  backupId: id,
  kind,
  startedAt,
  status,
});

test('ordering is by start time, not by name: an id that sorts last is not "newest"', () => {
  // After an upgrade, ids changed format; "z-old" sorts after the others by name but is the oldest.
  const backups = [b('z-old', '2025-01-01T02:00:00Z'), b('20250103-full', '2025-01-03T02:00:00Z'), b('20250102-full', '2025-01-02T02:00:00Z')];
  const p = planRetention({ backups, policies: { full: P({ keepLast: 2 }) }, now: Date.parse('2025-01-03T03:00:00Z') });
  expect(p.delete).toEqual(['z-old']);
});

test.each<[string, RetentionCandidate[], RetentionPolicy, string, string[], string[]]>([
  [
    'keepLast counts good backups only; the corrupt newest is deleted',
    [b('a', '2025-01-05T02:00:00Z', 'corrupt'), b('b', '2025-01-04T02:00:00Z'), b('c', '2025-01-03T02:00:00Z'), b('d', '2025-01-02T02:00:00Z')],
    P({ keepLast: 2 }),
    '2025-01-05T03:00:00Z',
    ['b', 'c'],
    ['a', 'd'],
  ],
  [
    'the newest verified backup survives a policy that would drop it',
    [b('a', '2025-01-05T02:00:00Z'), b('b', '2025-01-04T02:00:00Z'), b('c', '2025-01-03T02:00:00Z', 'verified'), b('d', '2025-01-02T02:00:00Z', 'verified')],
    P({ keepLast: 1 }),
    '2025-01-05T03:00:00Z',
    ['a', 'c'],
    ['b', 'd'],
  ],
  [
    'minKeep overrides keepLast 0',
    [b('a', '2025-01-05T02:00:00Z'), b('b', '2025-01-04T02:00:00Z'), b('c', '2025-01-03T02:00:00Z')],
    P({ keepLast: 0, minKeep: 2 }),
    '2025-01-05T03:00:00Z',
    ['a', 'b'],
    ['c'],
  ],
  [
    'keepWithin is measured from the newest good backup, not from now (backups stopped a month ago)',
    [b('a', '2025-01-10T02:00:00Z'), b('b', '2025-01-08T02:00:00Z'), b('c', '2025-01-03T02:00:00Z')],
    P({ keepWithinMs: 3 * DAY }),
    '2025-02-10T00:00:00Z',
    ['a', 'b'],
    ['c'],
  ],
  [
    'stale: the newest good backup is older than the freshness bound, so nothing is deleted',
    [b('a', '2025-01-05T02:00:00Z'), b('b', '2025-01-04T02:00:00Z'), b('c', '2025-01-03T02:00:00Z')],
    P({ keepLast: 1, freshnessMs: 36 * HOUR }),
    '2025-01-07T00:00:00Z',
    ['a', 'b', 'c'],
    [],
  ],
  [
    'no good backup at all: nothing is deleted, not even the corrupt ones',
    [b('a', '2025-01-05T02:00:00Z', 'corrupt'), b('b', '2025-01-04T02:00:00Z', 'corrupt')],
    P({ keepLast: 1 }),
    '2025-01-05T03:00:00Z',
    ['a', 'b'],
    [],
  ],
  ['no keep rules: everything is kept', [b('a', '2025-01-05T02:00:00Z'), b('b', '2024-01-04T02:00:00Z')], P({}), '2025-01-05T03:00:00Z', ['a', 'b'], []],
  [
    'daily buckets keep the newest backup of each day; a day with only a corrupt backup is skipped',
    [
      b('d3-late', '2025-01-03T20:00:00Z'),
      b('d3-early', '2025-01-03T02:00:00Z'),
      b('d2', '2025-01-02T02:00:00Z', 'corrupt'),
      b('d1', '2025-01-01T02:00:00Z'),
      b('d0', '2024-12-31T02:00:00Z'),
    ],
    P({ daily: 2 }),
    '2025-01-03T21:00:00Z',
    ['d3-late', 'd1'],
    ['d3-early', 'd2', 'd0'],
  ],
])('%s', (_name, backups, policy, now, keep, del) => {
  const p = planRetention({ backups, policies: { full: policy }, now: Date.parse(now) });
  expect([...p.keep].sort()).toEqual([...keep].sort());
  expect([...p.delete].sort()).toEqual([...del].sort());
});

test('GFS buckets follow the policy time zone: 23:30 UTC on 31 Dec is already 1 Jan in Berlin', () => {
  const t = Date.parse('2025-12-31T23:30:00Z');
  expect(bucketKey('daily', t, 'UTC')).toBe('2025-12-31');
  expect(bucketKey('daily', t, 'Europe/Berlin')).toBe('2026-01-01');
  expect(bucketKey('monthly', t, 'Europe/Berlin')).toBe('2026-01');
  expect(bucketKey('yearly', t, 'America/New_York')).toBe('2025');
  expect(bucketKey('hourly', t, 'Asia/Kolkata')).toBe('2026-01-01T05');
  // ISO weeks: 29 Dec 2025 starts 2026-W01; 1 Jan 2021 is in 2020-W53.
  expect(bucketKey('weekly', Date.parse('2025-12-29T00:00:00Z'))).toBe('2026-W01');
  expect(bucketKey('weekly', Date.parse('2025-12-28T23:59:59Z'))).toBe('2025-W52');
  expect(isoWeek(2021, 1, 1)).toEqual({ year: 2020, week: 53 });
  const backups = [b('late', '2025-12-31T23:30:00Z'), b('evening', '2025-12-31T20:00:00Z'), b('morning', '2025-12-31T02:00:00Z')];
  const utc = planRetention({ backups, policies: { full: P({ daily: 2 }) }, now: Date.parse('2026-01-01T00:00:00Z') });
  const berlin = planRetention({ backups, policies: { full: P({ daily: 2, timezone: 'Europe/Berlin' }) }, now: Date.parse('2026-01-01T00:00:00Z') });
  expect(utc.keep).toEqual(['late']);
  expect(berlin.keep).toEqual(['late', 'evening']);
});

test('an unreadable start time is never deleted and is reported', () => {
  const p = planRetention({
    backups: [b('a', '2025-01-05T02:00:00Z'), b('weird', 'yesterday')],
    policies: { full: P({ keepLast: 1 }) },
    now: Date.parse('2025-01-05T03:00:00Z'),
  });
  expect(p.delete).toEqual([]);
  expect(p.warnings.join('\n')).toMatch(/weird has an unreadable start time/);
});
