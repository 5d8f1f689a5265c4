// A worker process started through the CLI, reaching Temporal through a TCP proxy the test can
// cut: while Temporal is unreachable, the SDK core warns (gRPC retries) and /health says 503;
// every line the worker writes, on stdout and stderr, is one JSON object.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from '../../src/observability/service.js';
import { dashboardExpressions, selectors } from '../harness/dashboard.js';
import { createBucket, repoRoot, services, uniqueName } from '../harness/services.js';

const bin = path.join(repoRoot, 'bin', 'lifeboat.js');
const out = { stdout: '', stderr: '' };
let worker: ChildProcess;
let obsUrl: string;
const TOKEN = `obs-token-${uniqueName('x')}`;

/** A TCP proxy to the Temporal server that can be cut and restored. */
class Proxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  constructor(
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}
  open(): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined).on('close', () => this.sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }
  cut(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }
}
let proxy: Proxy;

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${what}; worker stderr:\n${out.stderr.slice(-2000)}\nstdout:\n${out.stdout.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
const get = (p: string) => fetch(`${obsUrl}${p}`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(15_000) });

beforeAll(async () => {
  const s = services();
  const [host, port] = s.temporal.address.split(':') as [string, string];
  proxy = new Proxy(await freeLoopbackPort(), { host, port: Number(port) });
  await proxy.open();
  const obsPort = await freeLoopbackPort();
  obsUrl = `http://127.0.0.1:${obsPort}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-e2e-obs-'));
  const configFile = path.join(dir, 'lifeboat.yaml');
  writeFileSync(
    configFile,
    `temporal: { address: "127.0.0.1:${proxy.port}", namespace: default, taskQueue: ${uniqueName('lb-e2e-obs')} }
storage:
  primary: { type: s3, bucket: ${await createBucket('lb-e2e-obs')}, endpoint: ${s.s3.endpoint}, region: ${s.s3.region}, forcePathStyle: true, accessKeyId: ${s.s3.accessKeyId}, secretAccessKey: { env: E2E_OBS_S3_SECRET } }
databases:
  shop: { engine: postgres, url: { env: E2E_OBS_URL } }
observability: { port: ${obsPort}, token: { env: E2E_OBS_TOKEN }, cacheTtl: 1s }
log: { level: info }
`,
  );
  worker = spawn(process.execPath, [bin, '--config', configFile, 'worker'], {
    env: { ...process.env, E2E_OBS_S3_SECRET: s.s3.secretAccessKey, E2E_OBS_URL: 'postgres://nobody@127.0.0.1:1/shop', E2E_OBS_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d: Buffer) => (out.stdout += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (out.stderr += d.toString()));
  await until('the observability server', () => (out.stdout.includes('observability server listening') ? true : undefined));
}, 120_000);

afterAll(async () => {
  proxy?.cut();
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
});

test('/metrics serves Lifeboat and Temporal SDK series on one port, including every SDK metric the dashboard uses', async () => {
  const text = await until('SDK worker metrics', async () => {
    const t = await (await get('/metrics')).text();
    return t.includes('temporal_worker_task_slots_available') ? t : undefined;
  });
  expect(text).toMatch(/^lifeboat_catalog_up\{database="shop",storage="primary"\} 1$/m);
  expect(text).toMatch(/^lifeboat_sdk_metrics_up 1$/m);
  const sdkNames = [
    ...new Set(
      dashboardExpressions()
        .flatMap((e) => selectors(e.expr))
        .map((s) => s.name)
        .filter((n) => n.startsWith('temporal_')),
    ),
  ];
  expect(sdkNames.length).toBeGreaterThan(0);
  for (const name of sdkNames) expect({ name, exported: new RegExp(`^${name}(_bucket|_sum|_count)?[{ ]`, 'm').test(text) }).toEqual({ name, exported: true });
  expect((await fetch(`${obsUrl}/metrics`)).status).toBe(401);
});

test('while Temporal is unreachable the core warns through pino and /health is 503; it recovers; every output line is JSON', async () => {
  expect((await get('/health')).status).toBe(200);
  proxy.cut();
  const warning = await until('a core gRPC retry warning', () => lines(out.stdout).find((l) => l.includes('retried')));
  expect(JSON.parse(warning)).toMatchObject({
    level: 40,
    component: 'temporal',
    sdkComponent: 'core',
    msg: expect.stringMatching(/^gRPC call \w+ retried \d+ times$/),
  });
  const down = await until('/health to say 503', async () => {
    const res = await get('/health');
    return res.status === 503 ? res.json() : undefined;
  });
  expect(down).toMatchObject({ status: 'unavailable', temporal: { connected: false } });

  await proxy.open();
  await until('/health to recover', async () => ((await get('/health')).status === 200 ? true : undefined));
  worker.kill('SIGTERM');
  await until('the worker to exit', () => (worker.exitCode !== null ? true : undefined), 60_000);

  const all = [...lines(out.stdout), ...lines(out.stderr)];
  const notJson = all.filter((l) => {
    try {
      return typeof JSON.parse(l) !== 'object';
    } catch {
      return true;
    }
  });
  expect(notJson).toEqual([]);
  expect(all.some((l) => l.includes('worker stopped'))).toBe(true);
  expect(out.stdout + out.stderr).not.toContain(services().s3.secretAccessKey);
  expect(out.stdout + out.stderr).not.toContain(TOKEN);
});
