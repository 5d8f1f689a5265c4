// `lifeboat codec-server` as an operator runs it: the real CLI, a config file, HTTP requests.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { SecretCanary } from '../harness/canary.js';
import { repoRoot } from '../harness/services.js';
import { removeTempDirs, tempDir } from '../harness/keys.js';

afterAll(removeTempDirs);

test('lifeboat codec-server encodes and decodes with the configured key, only for the allowed origin, and stops on SIGTERM', async () => {
  const dir = tempDir('lb-codec-cli-');
  const configFile = path.join(dir, 'lifeboat.yaml');
  writeFileSync(
    configFile,
    `temporal:
  payloadCodec:
    keys: [{ id: k1, key: { env: LB_CODEC_KEY } }]
storage: { local: { type: filesystem, path: ./backups } }
databases: {}
`,
  );
  const key = randomBytes(32).toString('base64');
  // The codec key is this process's secret: never in its argv or output.
  const canary = new SecretCanary(key);
  canary.startSampling();
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'bin/lifeboat.js'), '--config', configFile, 'codec-server', '--listen', '127.0.0.1:0', '--origin', 'http://ui.example:8080'],
    {
      env: { PATH: process.env.PATH!, LB_CODEC_KEY: key },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const output: string[] = [];
  const errors: string[] = [];
  child.stderr!.on('data', (d: Buffer) => errors.push(d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`codec server did not start: ${output.join('')}`)), 30_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      const m = /"listening":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  try {
    const call = (action: string, body: unknown, origin?: string) =>
      fetch(`${url}/${action}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(origin ? { Origin: origin } : {}) },
        body: JSON.stringify(body),
      });
    const plain = {
      payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('{"database":"orders"}').toString('base64') }],
    };
    const encoded = await call('encode', plain, 'http://ui.example:8080');
    expect(encoded.headers.get('access-control-allow-origin')).toBe('http://ui.example:8080');
    const sealed = (await encoded.json()) as typeof plain;
    expect(Buffer.from(sealed.payloads[0]!.metadata.encoding, 'base64').toString()).toBe('binary/encrypted');
    expect(Buffer.from(sealed.payloads[0]!.data, 'base64').includes(Buffer.from('orders'))).toBe(false);
    const decoded = await call('decode', sealed, 'http://other.example');
    expect(decoded.headers.get('access-control-allow-origin')).toBeNull();
    expect(await decoded.json()).toEqual(plain);
    expect(output.join('\n')).not.toContain(key);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(0);
  expect(canary.stopSampling()).toBeGreaterThan(3);
  canary.checkText('codec server output', `${output.join('\n')}\n${errors.join('')}`);
  expect(canary.found).toEqual([]);
});
