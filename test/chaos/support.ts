// Helpers of the chaos suite: worker processes (dev/chaos-worker.ts, loading the bundle with
// activity timeouts of seconds), configuration files, a slow-to-dump database, and what a
// scenario asserts about storage afterwards.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createFilledDatabase } from '../../dev/sample-data.js';
import { getObject, listKeys, listMultipart, repoRoot, services, uniqueName } from '../harness/services.js';

const workerScript = path.join(repoRoot, 'dist', 'dev', 'chaos-worker.js');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function chaosBundle(): string {
  const p = process.env.LIFEBOAT_CHAOS_BUNDLE;
  if (!p) throw new Error('Chaos bundle missing: run the chaos suite with `npm run test:chaos`');
  return p;
}

/** A worker process of the chaos suite, with its output kept. */
export class ChaosWorker {
  readonly output: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(configFile: string, env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [workerScript, '--config', configFile, '--bundle', chaosBundle()], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [this.child.stdout!, this.child.stderr!]) s.on('data', (d: Buffer) => this.output.push(d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  text(): string {
    return this.output.join('');
  }

  async waitForLog(text: string | RegExp, timeoutMs = 60_000): Promise<void> {
    const start = Date.now();
    const seen = () => (typeof text === 'string' ? this.text().includes(text) : text.test(this.text()));
    while (!seen()) {
      if (Date.now() - start > timeoutMs) throw new Error(`worker did not log ${String(text)} in time:\n${this.text().slice(-3000)}`);
      await sleep(100);
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** Starts a chaos worker and waits until it polls. */
export async function startChaosWorker(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<ChaosWorker> {
  const w = new ChaosWorker(configFile, env);
  await w.waitForLog('worker started');
  return w;
}

/** A client of the Temporal server at `address` (the suite's by default). */
export async function connectClient(address = services().temporal.address): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace: 'default' }), close: () => connection.close() };
}

export interface ChaosSetup {
  dir: string;
  configFile: string;
  taskQueue: string;
  /** The environment holding the config's `{ env }` secrets: give it to worker processes. */
  env: Record<string, string>;
}

/**
 * Writes a configuration file (JSON is YAML) for the suite's S3 server and the databases given
 * (`url` is put into a fresh environment variable); `storage`/`database` extend the defaults.
 */
export function writeChaosConfig(opts: {
  bucket: string;
  databases: Record<string, { url: string; engine?: string; extra?: Record<string, unknown> }>;
  temporalAddress?: string;
  s3?: { endpoint: string; accessKeyId: string; secretAccessKey: string };
  storage?: Record<string, unknown>;
  primary?: Record<string, unknown>;
  /** More top-level sections, e.g. `{ restore: { tempDir } }`. */
  more?: Record<string, unknown>;
}): ChaosSetup {
  const s3 = opts.s3 ?? services().s3;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-chaos-'));
  const taskQueue = uniqueName('lb-chaos');
  const env: Record<string, string> = { CHAOS_S3_SECRET: s3.secretAccessKey };
  const databases: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(opts.databases)) {
    const envName = `CHAOS_URL_${name.toUpperCase()}`;
    env[envName] = d.url;
    databases[name] = { engine: d.engine ?? 'postgres', url: { env: envName }, storage: ['primary'], ...(d.extra ?? {}) };
  }
  const config = {
    temporal: { address: opts.temporalAddress ?? services().temporal.address, namespace: 'default', taskQueue },
    storage: {
      primary: {
        type: 's3',
        bucket: opts.bucket,
        endpoint: s3.endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        accessKeyId: s3.accessKeyId,
        secretAccessKey: { env: 'CHAOS_S3_SECRET' },
        ...(opts.primary ?? {}),
      },
      ...(opts.storage ?? {}),
    },
    databases,
    log: { level: 'debug' },
    ...(opts.more ?? {}),
  };
  const configFile = path.join(dir, 'lifeboat.yaml');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  return { dir, configFile, taskQueue, env };
}

/**
 * A PostgreSQL database whose dump takes seconds at zstd level 15 and is stored as several 8 MiB
 * parts: `rows` lines of hex (about 33 bytes each, half of it entropy).
 */
export async function createSlowDatabase(database: string, rows = 1_200_000): Promise<void> {
  await createFilledDatabase(
    services().pg.adminUrl,
    database,
    `create table noise (id bigint primary key, hex text not null);
     insert into noise select g, md5(random()::text || g) from generate_series(1, ${rows}) g;`,
  );
}

/** The committed manifests (`manifest.json` keys) under `database/` in `bucket`. */
export async function manifestKeys(bucket: string, database: string, prefix = ''): Promise<string[]> {
  return (await listKeys(bucket, `${prefix}${database}/`)).filter((k) => k.endsWith('/manifest.json'));
}

interface StoredManifest {
  backupId: string;
  artifact: { key: string; bytes: number; sha256: string };
  workflow: { workflowId: string; attempt: number };
}

/** Reads a committed manifest and checks that the stored artifact's size and sha256 match it. */
export async function checkCommitted(bucket: string, manifestKey: string, prefix = ''): Promise<StoredManifest> {
  const manifest = JSON.parse((await getObject(bucket, manifestKey)).toString()) as StoredManifest;
  const stored = await getObject(bucket, `${prefix}${manifest.artifact.key}`);
  expect(stored.length).toBe(manifest.artifact.bytes);
  expect(sha256(stored)).toBe(manifest.artifact.sha256);
  return manifest;
}

/** Unfinished multipart uploads in `bucket`. */
export const openUploads = listMultipart;

/** Pids of running processes named `comm` (whose environment has `NAME=value`, when given). */
export function processesWithEnv(comm: string, env?: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== comm) continue;
      if (env === undefined || readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(env)) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

export const processesNamed = (comm: string) => processesWithEnv(comm);

/** Waits until `cond` holds (polling every 100 ms); fails with `what` after `timeoutMs`. */
export async function waitUntil(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 60_000, state?: () => Promise<string>): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > timeoutMs) throw new Error(`Timed out waiting: ${what}${state ? ` (now: ${await state()})` : ''}`);
    await sleep(100);
  }
}

const suiteStart = Date.now();
/** Prints a scenario's progress (the chaos suite is slow; this shows where it is). */
export function step(what: string): void {
  process.stderr.write(`[chaos +${((Date.now() - suiteStart) / 1000).toFixed(1)} s] ${what}\n`);
}
