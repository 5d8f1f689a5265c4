// Metrics and health over a real catalog: real backups (PostgreSQL -> S3) through a real worker,
// then the worker's observability port scraped over HTTP.
import { NativeConnection } from '@temporalio/worker';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { recordAudit } from '../../src/audit/log.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import type { BackupResult, VerifyResult } from '../../src/contracts/index.js';
import { OBSERVABILITY_DEFAULTS } from '../../src/observability/config.js';
import type { HealthReport } from '../../src/observability/health.js';
import { startObservability, type Observability } from '../../src/observability/service.js';
import { readFleetHealth } from '../../src/observability/status.js';
import { openStorage } from '../../src/storage/index.js';
import { captureLogger, createBucket, createRole, pgUrl, services, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

let w: RunningWorker;
let cfg: LifeboatConfig;
let connection: NativeConnection;
const servers: Observability[] = [];
const db = { a: uniqueName('lb_obs_a'), b: uniqueName('lb_obs_b') };

beforeAll(async () => {
  const bucket = await createBucket('lb-obs');
  const role = await createRole();
  await createSampleDatabase(services().pg.adminUrl, db.a, 0.05);
  await createSampleDatabase(services().pg.adminUrl, db.b, 0.05);
  cfg = testConfig({ bucket, databases: { obsa: { url: pgUrl(db.a, role) }, obsb: { url: pgUrl(db.b, role), extra: { environment: 'staging' } } } });
  w = await startWorker(cfg);
  connection = await NativeConnection.connect({ address: cfg.temporal.address });
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await connection?.close();
  await w?.stop();
});

const run = async <T>(workflow: string, input: unknown) =>
  (await (await w.client.workflow.start(workflow, { taskQueue: cfg.temporal.taskQueue, workflowId: uniqueName(workflow), args: [input] })).result()) as T;

async function serve(overrides: Partial<LifeboatConfig> = {}, observability: Partial<LifeboatConfig['observability']> = {}): Promise<Observability> {
  const c: LifeboatConfig = {
    ...cfg,
    ...overrides,
    observability: { ...OBSERVABILITY_DEFAULTS, port: 0, cacheTtl: '1s', sdkMetrics: false, ...observability },
  };
  const s = await startObservability(c, captureLogger().logger, { connection, worker: w.worker });
  servers.push(s!);
  return s!;
}

const get = (s: Observability, path: string, headers: Record<string, string> = {}) => fetch(`${s.url}${path}`, { headers });
/** The value of one series in an exposition text, or undefined when absent. */
function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((p) => l.includes(p)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('two real backups: /metrics carries their series from the catalog, /health/backups answers 200', async () => {
  const first = await run<BackupResult>('backupDatabase', { database: 'obsa' });
  const second = await run<BackupResult>('backupDatabase', { database: 'obsa' });
  await run<BackupResult>('backupDatabase', { database: 'obsb' });
  const verified = await run<VerifyResult>('verifyBackup', { database: 'obsa' });
  const s = await serve();

  const res = await get(s, '/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  const text = await res.text();
  const a = { database: 'obsa', kind: 'full' };
  const manifest = JSON.parse((await openStorage(cfg, 'primary').getBuffer(second.key.replace(/[^/]+$/, 'manifest.json'))).toString());
  expect(series(text, 'lifeboat_backup_last_success_timestamp_seconds', a)).toBe(Date.parse(manifest.finishedAt) / 1000);
  expect(series(text, 'lifeboat_backup_size_bytes', { ...a, type: 'stored' })).toBe(second.bytes);
  expect(series(text, 'lifeboat_backup_size_bytes', { ...a, type: 'raw' })).toBe(second.rawBytes);
  expect(series(text, 'lifeboat_backup_duration_seconds', a)).toBe(manifest.durationMs / 1000);
  expect(series(text, 'lifeboat_backups', a)).toBe(2);
  expect(series(text, 'lifeboat_verify_restore_duration_seconds', a)).toBe(verified.restoreDurationMs! / 1000);
  expect(series(text, 'lifeboat_verify_last_success_timestamp_seconds', a)).toBe(Date.parse(verified.verifiedAt) / 1000);
  expect(series(text, 'lifeboat_backup_failures_total', a)).toBe(0);
  expect(series(text, 'lifeboat_backup_rpo_seconds', { database: 'obsa' })).toBe(26 * 3600);
  expect(series(text, 'lifeboat_catalog_up', { database: 'obsb', storage: 'primary' })).toBe(1);
  expect(series(text, 'lifeboat_database_healthy', { database: 'obsa', environment: 'production' })).toBe(1);
  // What this worker did, counted in-process by the activity interceptor.
  expect(series(text, 'lifeboat_worker_activities_total', { activity: 'runBackup', database: 'obsa', outcome: 'completed' })).toBeGreaterThanOrEqual(2);
  expect(first.backupId).not.toBe(second.backupId);

  const health = await get(s, '/health/backups');
  expect(health.status).toBe(200);
  const report = (await health.json()) as HealthReport;
  const obsa = report.databases.find((d) => d.database === 'obsa')!;
  expect(obsa).toMatchObject({
    status: 'healthy',
    problems: [],
    backup: { backupId: second.backupId, fresh: true, rpoSource: 'schedule' },
    verification: { outcome: 'passed', backupId: second.backupId },
  });
  expect(obsa.sizes).toEqual([expect.objectContaining({ kind: 'full', backupId: second.backupId, previousBackupId: first.backupId })]);

  // `lifeboat status` reads the same from storage alone, without Temporal.
  expect((await readFleetHealth(cfg)).databases.map((d) => [d.database, d.status, d.backup?.backupId])).toEqual(
    report.databases.map((d) => [d.database, d.status, d.backup?.backupId]),
  );

  const live = await get(s, '/health');
  expect(live.status).toBe(200);
  expect(await live.json()).toMatchObject({ status: 'ok', temporal: { connected: true, taskQueue: cfg.temporal.taskQueue }, worker: { state: 'RUNNING' } });

  const detailed = (await (await get(s, '/health/detailed')).json()) as {
    databases: Array<{ database: string; targets: Array<{ storage: string; backups: number }> }>;
  };
  expect(detailed.databases.find((d) => d.database === 'obsa')!.targets).toEqual([
    expect.objectContaining({ storage: 'primary', backups: 2, newest: second.backupId }),
  ]);

  // A failure recorded in the audit log (as the backup workflow will) is counted from storage.
  await recordAudit(cfg, { action: 'backup', outcome: 'failed', database: 'obsa', actor: { name: 'lifeboat', source: 'schedule' }, target: { kind: 'full' } });
  await new Promise((r) => setTimeout(r, 1100));
  expect(series(await (await get(s, '/metrics')).text(), 'lifeboat_backup_failures_total', a)).toBe(1);
});

test('a production database past a short RPO bound makes /health/backups answer 503; a staging one does not', async () => {
  const stale = await serve({ databases: { ...cfg.databases, obsa: { ...cfg.databases.obsa!, rpo: '1s' } } });
  const res = await get(stale, '/health/backups');
  expect(res.status).toBe(503);
  const report = (await res.json()) as HealthReport;
  expect(report.status).toBe('unhealthy');
  const obsa = report.databases.find((d) => d.database === 'obsa')!;
  expect(obsa.problems).toEqual([
    expect.objectContaining({
      kind: 'stale',
      message: expect.stringMatching(/^Backups of obsa are stale: newest full backup \S+ is \d+[smh].* old \(RPO bound 1s\)$/),
    }),
  ]);
  const text = await (await get(stale, '/metrics')).text();
  expect(series(text, 'lifeboat_database_problem', { database: 'obsa', problem: 'stale' })).toBe(1);
  expect(series(text, 'lifeboat_database_healthy', { database: 'obsa' })).toBe(0);

  const stagingStale = await serve({ databases: { ...cfg.databases, obsb: { ...cfg.databases.obsb!, rpo: '1s' } } });
  const staging = await get(stagingStale, '/health/backups');
  expect(staging.status).toBe(200);
  expect(((await staging.json()) as HealthReport).databases.find((d) => d.database === 'obsb')).toMatchObject({ status: 'unhealthy', production: false });
});

test('with a token, every route needs the bearer token; unknown routes are 404', async () => {
  process.env.LB_OBS_TOKEN = `tok-${uniqueName('t')}`;
  const s = await serve({}, { token: { env: 'LB_OBS_TOKEN' } });
  for (const path of ['/metrics', '/health', '/health/backups']) {
    expect((await get(s, path)).status).toBe(401);
    expect((await get(s, path, { authorization: 'Bearer wrong' })).status).toBe(401);
  }
  const ok = await get(s, '/metrics', { authorization: `Bearer ${process.env.LB_OBS_TOKEN}` });
  expect(ok.status).toBe(200);
  expect(await ok.text()).toContain('lifeboat_backup_last_success_timestamp_seconds');
  expect((await get(s, '/nope', { authorization: `Bearer ${process.env.LB_OBS_TOKEN}` })).status).toBe(404);
});

test('a storage target that cannot be read removes the fleet series and says so, instead of reporting old values', async () => {
  const broken = { ...cfg.storage.primary!, bucket: uniqueName('lb-missing').replace(/_/g, '-') } as LifeboatConfig['storage'][string];
  const s = await serve({ storage: { primary: broken } });
  const text = await (await get(s, '/metrics')).text();
  expect(series(text, 'lifeboat_catalog_up', { database: 'obsa', storage: 'primary' })).toBe(0);
  expect(series(text, 'lifeboat_backup_last_success_timestamp_seconds', { database: 'obsa' })).toBeUndefined();
  const res = await get(s, '/health/backups');
  expect(res.status).toBe(503);
  expect(((await res.json()) as HealthReport).databases[0]!.problems[0]).toMatchObject({
    kind: 'catalog-unreadable',
    message: expect.stringMatching(/^Catalog of obsa is unreadable: List failed: NoSuchBucket/),
  });
});
