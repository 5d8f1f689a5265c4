import { parseConfig } from '../../src/config/load.js';
import type { Manifest } from '../../src/catalog/manifest.js';
import type { DatabaseCatalog, KindedVerification } from '../../src/observability/catalog.js';
import { evaluateDatabase, evaluateFleet, healthBounds, healthReport, type HealthBounds } from '../../src/observability/health.js';
import { statusExitCode, statusRows } from '../../src/observability/status.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const HOUR = 3_600_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function manifest(id: string, kind: Manifest['kind'], finishedAgoMs: number, rawBytes = 1_000_000): Manifest {
  return {
    formatVersion: 1,
    backupId: id,
    database: 'orders',
    kind,
    engine: 'postgres',
    provider: 'self-hosted',
    format: 'pg_dump-custom',
    server: { version: '15.8' },
    tool: { name: 'pg_dump', version: '15.8' },
    startedAt: ago(finishedAgoMs + 60_000),
    finishedAt: ago(finishedAgoMs),
    durationMs: 60_000,
    rawBytes,
    artifact: {
      storage: 'primary',
      key: `orders/backups/${id}/x.dump.zst`,
      bytes: Math.round(rawBytes / 4),
      sha256: 'a'.repeat(64),
      compression: { codec: 'zstd', level: 1 },
      encryption: null,
    },
    rowCounts: null,
    workflow: { workflowId: `backup:${id}`, runId: 'r', attempt: 1 },
    lifeboatVersion: '0.1.0',
  };
}

function verification(backupId: string, outcome: 'passed' | 'failed', agoMs: number): KindedVerification {
  return {
    formatVersion: 1,
    database: 'orders',
    backupId,
    verifiedAt: ago(agoMs),
    outcome,
    kind: 'full',
    restoreDurationMs: 42_000,
    scratchDatabase: 'lb_verify_x',
    checks: [
      { name: 'restore', ok: true, value: true },
      { name: 'has users', ok: outcome === 'passed', value: outcome === 'passed' },
    ],
    workflow: { workflowId: 'verify:orders', runId: 'r' },
  };
}

function catalog(backups: Manifest[], latestVerification?: KindedVerification, extra: Partial<DatabaseCatalog> = {}): DatabaseCatalog {
  return {
    database: 'orders',
    storage: 'primary',
    readAt: NOW.toISOString(),
    backups: [...backups].sort((a, b) => b.startedAt.localeCompare(a.startedAt)),
    latestVerification,
    latestPassed: {},
    audit: [],
    problems: [],
    ...extra,
  };
}

const bounds: HealthBounds = { rpoMs: 26 * HOUR, rpoSource: 'schedule', verifyWithinMs: 7.5 * 24 * HOUR, verifySource: 'schedule', sizeDropAlert: -0.5 };

describe('health of one database', () => {
  const cases: Array<{ name: string; catalog: DatabaseCatalog; bounds?: Partial<HealthBounds>; problems: string[]; since?: string }> = [
    {
      name: 'fresh backup, passed verification: healthy',
      catalog: catalog([manifest('b2', 'full', 2 * HOUR), manifest('b1', 'full', 26 * HOUR)], verification('b1', 'passed', 20 * HOUR)),
      problems: [],
    },
    {
      name: 'newest backup older than the RPO bound: stale since the bound ran out',
      catalog: catalog([manifest('b1', 'full', 30 * HOUR)], verification('b1', 'passed', 20 * HOUR)),
      problems: ['stale'],
      since: ago(4 * HOUR),
    },
    {
      name: 'no backup at all: stale since the epoch (one incident until a backup lands)',
      catalog: catalog([]),
      problems: ['stale'],
      since: new Date(0).toISOString(),
    },
    { name: 'only a fresh schema backup: stale (it holds no data)', catalog: catalog([manifest('s1', 'schema', HOUR)]), problems: ['stale'] },
    {
      name: 'a fresh data backup counts for freshness',
      catalog: catalog([manifest('d1', 'data', HOUR), manifest('f1', 'full', 40 * HOUR)], verification('f1', 'passed', HOUR)),
      problems: [],
    },
    {
      name: 'last verification failed',
      catalog: catalog([manifest('b1', 'full', HOUR)], verification('b1', 'failed', 30 * 60_000)),
      problems: ['verify-failed'],
      since: ago(30 * 60_000),
    },
    {
      name: 'last verification older than verifyWithin: overdue',
      catalog: catalog([manifest('b1', 'full', HOUR)], verification('b0', 'passed', 10 * 24 * HOUR)),
      problems: ['verify-overdue'],
      since: ago(2.5 * 24 * HOUR),
    },
    {
      name: 'never verified, oldest backup older than verifyWithin: overdue',
      catalog: catalog([manifest('b2', 'full', HOUR), manifest('b1', 'full', 9 * 24 * HOUR)]),
      problems: ['verify-overdue'],
    },
    { name: 'never verified, backups younger than verifyWithin: not yet a problem', catalog: catalog([manifest('b1', 'full', HOUR)]), problems: [] },
    {
      name: 'never verified and no verification bound: not judged',
      catalog: catalog([manifest('b2', 'full', HOUR), manifest('b1', 'full', 30 * 24 * HOUR)]),
      bounds: { verifyWithinMs: undefined },
      problems: [],
    },
    {
      name: 'dump 60% smaller than the previous one of its kind (alert at -50%)',
      catalog: catalog([manifest('b2', 'full', HOUR, 400_000), manifest('b1', 'full', 25 * HOUR, 1_000_000)], verification('b1', 'passed', HOUR)),
      problems: ['size-anomaly'],
    },
    {
      name: 'dump 40% smaller: within the bound',
      catalog: catalog([manifest('b2', 'full', HOUR, 600_000), manifest('b1', 'full', 25 * HOUR, 1_000_000)], verification('b1', 'passed', HOUR)),
      problems: [],
    },
    {
      name: 'size check turned off',
      catalog: catalog([manifest('b2', 'full', HOUR, 10), manifest('b1', 'full', 25 * HOUR, 1_000_000)], verification('b1', 'passed', HOUR)),
      bounds: { sizeDropAlert: false },
      problems: [],
    },
    {
      name: 'a small schema backup after a full one is no drop (kinds are compared with their own kind)',
      catalog: catalog([manifest('s1', 'schema', HOUR, 1000), manifest('b1', 'full', 2 * HOUR, 1_000_000)], verification('b1', 'passed', HOUR)),
      problems: [],
    },
    {
      name: 'storage unreadable: unhealthy, nothing reported as known',
      catalog: catalog([], undefined, { error: 'List failed: ECONNREFUSED', failingSince: ago(HOUR) }),
      problems: ['catalog-unreadable'],
      since: ago(HOUR),
    },
  ];

  test.each(cases)('$name', ({ catalog: c, bounds: b, problems, since }) => {
    const h = evaluateDatabase(c, { ...bounds, ...b }, 'production', NOW);
    expect(h.problems.map((p) => p.kind)).toEqual(problems);
    expect(h.status).toBe(problems.length ? 'unhealthy' : 'healthy');
    if (since) expect(h.problems[0]!.since).toBe(since);
    const report = healthReport([h], NOW);
    expect(report.httpStatus).toBe(problems.length ? 503 : 200);
  });

  test('the report says what it measured: age against the bound, verification and size change', () => {
    const h = evaluateDatabase(
      catalog([manifest('b2', 'full', 2 * HOUR, 300_000), manifest('b1', 'full', 26 * HOUR, 1_000_000)], verification('b1', 'passed', 20 * HOUR)),
      bounds,
      'production',
      NOW,
    );
    expect(h.backup).toEqual({
      backupId: 'b2',
      kind: 'full',
      finishedAt: ago(2 * HOUR),
      ageSeconds: 7200,
      rpoSeconds: 93_600,
      rpoSource: 'schedule',
      fresh: true,
    });
    expect(h.verification).toMatchObject({ backupId: 'b1', outcome: 'passed', ageSeconds: 72_000, withinSeconds: 648_000, restoreDurationMs: 42_000 });
    expect(h.sizes).toEqual([
      expect.objectContaining({
        kind: 'full',
        backupId: 'b2',
        previousBackupId: 'b1',
        rawBytes: 300_000,
        previousRawBytes: 1_000_000,
        change: -0.7,
        alertBelow: -0.5,
      }),
    ]);
    expect(h.problems[0]!.message).toBe('Backup of orders shrank: full backup b2 is 70% smaller than b1 (300000 vs 1000000 bytes; alert at -50%)');
  });

  test('a stale non-production database is reported unhealthy but does not make the report 503', () => {
    const stale = catalog([manifest('b1', 'full', 50 * HOUR)]);
    const dev = evaluateDatabase(stale, bounds, 'development', NOW);
    const prod = evaluateDatabase(catalog([manifest('b1', 'full', HOUR)]), bounds, 'production', NOW);
    expect(dev).toMatchObject({ status: 'unhealthy', production: false });
    expect(dev.problems[0]!.message).toBe('Backups of orders are stale: newest full backup b1 is 2d2h old (RPO bound 1d2h)');
    expect(healthReport([dev, prod], NOW)).toMatchObject({ status: 'healthy', httpStatus: 200 });
    expect(healthReport([dev, evaluateDatabase(stale, bounds, 'production', NOW)], NOW)).toMatchObject({ status: 'unhealthy', httpStatus: 503 });
  });
});

describe('health bounds', () => {
  const cfg = (databases: Record<string, Record<string, unknown>>) =>
    parseConfig({
      storage: { primary: { type: 'filesystem', path: '/tmp/x' } },
      databases: Object.fromEntries(Object.entries(databases).map(([k, v]) => [k, { engine: 'postgres', url: 'postgres://u@h/db', ...v }])),
    });

  test.each([
    [
      'production preset (full daily at 02:00, verify weekly)',
      {},
      { rpoMs: 26 * HOUR, rpoSource: 'schedule', verifyWithinMs: 7 * 24 * HOUR + 12 * HOUR, verifySource: 'schedule', sizeDropAlert: -0.5 },
    ],
    ['development preset (full weekly, no verify schedule)', { environment: 'development' }, { rpoMs: 170 * HOUR, rpoSource: 'schedule', sizeDropAlert: -0.5 }],
    ['an interval schedule with jitter', { schedules: [{ kind: 'full', every: '6h', jitter: '30m' }] }, { rpoMs: 8.5 * HOUR, rpoSource: 'schedule' }],
    [
      'a local-time schedule gets an hour for daylight saving',
      { schedules: [{ kind: 'full', cron: '0 2 * * *', timezone: 'Europe/Berlin' }] },
      { rpoMs: 27 * HOUR },
    ],
    ['no schedules: the environment default', { schedules: false }, { rpoMs: 26 * HOUR, rpoSource: 'environment' }],
    ['no schedules in development: 8 days', { schedules: false, environment: 'development' }, { rpoMs: 8 * 24 * HOUR, rpoSource: 'environment' }],
    [
      'explicit bounds win',
      { rpo: '2h', verifyWithin: '1d', sizeDropAlert: '-20%' },
      { rpoMs: 2 * HOUR, rpoSource: 'config', verifyWithinMs: 24 * HOUR, verifySource: 'config', sizeDropAlert: -0.2 },
    ],
    ['size check off', { sizeDropAlert: false }, { sizeDropAlert: false }],
  ])('%s', (_name, db, expected) => {
    expect(healthBounds(cfg({ orders: db }), 'orders')).toMatchObject(expected);
  });

  test('without a verify schedule or verifyWithin, verification age is not bounded', () => {
    expect(healthBounds(cfg({ orders: { schedules: false } }), 'orders').verifyWithinMs).toBeUndefined();
    expect(healthBounds(cfg({ orders: { environment: 'development' } }), 'orders').verifyWithinMs).toBeUndefined();
  });

  test('evaluateFleet applies each database its own bounds and environment', () => {
    const c = cfg({ orders: { rpo: '1h' }, dev: { environment: 'development' } });
    const fleet = [catalog([manifest('b1', 'full', 2 * HOUR)]), { ...catalog([manifest('b1', 'full', 2 * HOUR)]), database: 'dev' }];
    const report = evaluateFleet(c, fleet, NOW);
    expect(report.databases.map((d) => [d.database, d.status, d.production])).toEqual([
      ['orders', 'unhealthy', true],
      ['dev', 'healthy', false],
    ]);
    expect(report.httpStatus).toBe(503);
  });
});

describe('status rows (what `lifeboat status` prints)', () => {
  test('one row per database with age against the bound, verification, size change and problems', () => {
    const healthy = evaluateDatabase(
      catalog([manifest('b2', 'full', 2 * HOUR, 900_000), manifest('b1', 'full', 26 * HOUR)], verification('b1', 'passed', 20 * HOUR)),
      bounds,
      'production',
      NOW,
    );
    const stale = { ...evaluateDatabase(catalog([manifest('b1', 'full', 30 * HOUR)]), bounds, 'staging', NOW), database: 'billing' };
    const report = healthReport([healthy, stale], NOW);
    expect(statusRows(report)).toEqual([
      { healthy: true, cells: ['orders', 'production', 'healthy', 'b2 (full)', '2h / 1d2h', 'passed 20h ago', '-10% (full)', '-'] },
      { healthy: false, cells: ['billing', 'staging', 'unhealthy', 'b1 (full)', '1d6h / 1d2h', 'never', '-', 'stale'] },
    ]);
    expect(statusExitCode(report)).toBe(0);
    expect(statusExitCode(healthReport([{ ...stale, production: true }], NOW))).toBe(1);
  });
});
