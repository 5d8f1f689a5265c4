import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Writable } from 'node:stream';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createWorker } from '../../src/worker.js';
import type { Activities } from '../../activities/index.js';

export interface TestServices {
  temporal: { address: string; uiUrl: string };
  s3: { endpoint: string; accessKeyId: string; secretAccessKey: string; region: string };
  pg: { adminUrl: string };
  /** The workflow bundle jest globalSetup built once for the whole run. */
  workflowBundle?: { codePath: string };
}

export function services(): TestServices {
  const raw = process.env.LIFEBOAT_TEST_SERVICES;
  if (!raw) throw new Error('Test services are not set up: run the suite with `npm test` (jest globalSetup starts them)');
  return JSON.parse(raw) as TestServices;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/** URL of `database` on the test server, as `user`/`password` (default: the superuser). */
export function pgUrl(database: string, user?: { name: string; password: string }): string {
  const u = new URL(services().pg.adminUrl);
  u.pathname = `/${database}`;
  if (user) {
    u.username = encodeURIComponent(user.name);
    u.password = encodeURIComponent(user.password);
  }
  return u.toString();
}

export async function withPg<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: pgUrl(database) });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Creates a login role with a password (random unless given, e.g. a {@link SecretCanary}'s) and returns it. */
export async function createRole(prefix = 'lb_role', password = `pw-${randomBytes(12).toString('hex')}`): Promise<{ name: string; password: string }> {
  const role = { name: uniqueName(prefix), password };
  await withPg('postgres', (c) => c.query(`create role ${role.name} login superuser password '${role.password}'`));
  return role;
}

export function s3Client(): S3Client {
  const s = services().s3;
  return new S3Client({
    endpoint: s.endpoint,
    region: s.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
  });
}

export async function createBucket(prefix = 'lb-test'): Promise<string> {
  const bucket = `${prefix}-${randomBytes(4).toString('hex')}`;
  await s3Client().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const res = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key!).sort();
}

export async function listMultipart(bucket: string): Promise<string[]> {
  const res = await s3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (res.Uploads ?? []).map((u) => u.Key!);
}

export async function getObject(bucket: string, key: string): Promise<Buffer> {
  const res = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/**
 * A configuration for the test services. Database URLs are passed as `{ env }` references:
 * each URL is put into a fresh environment variable, as an operator would.
 */
/** A storage target (as written in a config file) on the suite's S3 server; its secret by env reference. */
export function s3Target(bucket: string, prefix = ''): Record<string, unknown> {
  const s = services();
  process.env.LB_TEST_S3_SECRET = s.s3.secretAccessKey;
  return {
    type: 's3',
    bucket,
    prefix,
    region: s.s3.region,
    endpoint: s.s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s.s3.accessKeyId,
    secretAccessKey: { env: 'LB_TEST_S3_SECRET' },
  };
}

export function testConfig(opts: {
  bucket: string;
  databases: Record<string, { url: string; compression?: { codec: string; level?: number }; extra?: Record<string, unknown> }>;
  taskQueue?: string;
  prefix?: string;
  extraStorage?: Record<string, unknown>;
}): LifeboatConfig {
  const s = services();
  process.env.LB_TEST_S3_SECRET = s.s3.secretAccessKey;
  const databases: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(opts.databases)) {
    const envName = `LB_TEST_URL_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_${randomBytes(3).toString('hex')}`;
    process.env[envName] = d.url;
    databases[name] = { engine: 'postgres', url: { env: envName }, storage: ['primary'], compression: d.compression, ...(d.extra ?? {}) };
  }
  return parseConfig({
    temporal: { address: s.temporal.address, namespace: 'default', taskQueue: opts.taskQueue ?? uniqueName('lifeboat-test') },
    storage: { primary: s3Target(opts.bucket, opts.prefix), ...(opts.extraStorage ?? {}) },
    databases,
    log: { level: 'debug' },
  });
}

/** A pino logger whose lines are kept in memory (to assert on, e.g. that no secret appears). */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

let runtimeInstalled = false;

/** Keeps the SDK's own logs to warnings and errors in test output. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    /* already installed in this process */
  }
}

export interface RunningWorker {
  worker: Worker;
  client: Client;
  lines: string[];
  stop(): Promise<void>;
}

export interface StartWorkerOptions {
  heartbeatIntervalMs?: number;
  /** Activities replacing the real ones by name (workflow logic without databases); the failure interceptor still applies. */
  activities?: Partial<Activities>;
  /** A restore worker on `temporal.restoreTaskQueue` (activities only). */
  restoreOnly?: boolean;
}

/**
 * Starts an in-process worker on the config's task queue, plus a client, on the run's Temporal
 * server (through `TestWorkflowEnvironment.createFromExistingServer`). Workers load the workflow
 * bundle built once by globalSetup.
 */
export async function startWorker(cfg: LifeboatConfig, opts: StartWorkerOptions = {}): Promise<RunningWorker> {
  quietRuntime();
  const { logger, lines } = captureLogger();
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address: cfg.temporal.address, namespace: cfg.temporal.namespace });
  const worker = await createWorker(cfg, logger, {
    connection: env.nativeConnection,
    heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 500,
    shutdownGraceTime: '1s',
    maxHeartbeatThrottleInterval: '200ms',
    workflowBundle: services().workflowBundle,
    activities: opts.activities,
    restoreOnly: opts.restoreOnly,
  }).catch(async (err: unknown) => {
    await env.teardown();
    throw err;
  });
  const running = worker.run();
  return {
    worker,
    client: env.client,
    lines,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
      await env.teardown();
    },
  };
}

export function fixturePath(rel: string): string | undefined {
  const base = process.env.LIFEBOAT_FIXTURES_DIR ?? path.resolve(repoRoot, '..', 'shared', 'fixtures');
  const p = path.resolve(base, rel);
  return existsSync(p) ? p : undefined;
}
