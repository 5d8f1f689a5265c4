// Temporal payload encryption with a real server: the raw history of a backup holds no readable
// database name, and the codec server decodes it over HTTP as the Web UI would.
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { parseConfig, type ConfigError } from '../../src/config/load.js';
import type { BackupResult } from '../../src/contracts/index.js';
import { AesGcmPayloadCodec, lifeboatDataConverter, parseCodecKey } from '../../src/temporal/codec.js';
import { codecServerSettings, startCodecServer } from '../../src/temporal/codec-server.js';
import { createBucket, pgUrl, services, startWorker, testConfig, uniqueName, type RunningWorker } from '../harness/services.js';

const NAME = `confidentialledger${randomBytes(3).toString('hex')}`;
const UI = 'http://127.0.0.1:8233';
let w: RunningWorker;
let cfg: ReturnType<typeof testConfig>;
let codecClient: Client;
let connection: Connection;

beforeAll(async () => {
  process.env.LB_TEST_CODEC_K2 = randomBytes(32).toString('base64');
  process.env.LB_TEST_CODEC_K1 = randomBytes(32).toString('hex');
  process.env.LB_TEST_CODEC_TOKEN = `tok-${randomBytes(8).toString('hex')}`;
  const dbName = uniqueName('lb_codec');
  await createSampleDatabase(services().pg.adminUrl, dbName, 0.05);
  const base = testConfig({ bucket: await createBucket(), databases: { [NAME]: { url: pgUrl(dbName) } } });
  cfg = {
    ...base,
    temporal: {
      ...base.temporal,
      payloadCodec: {
        keys: [
          { id: 'k2', key: { env: 'LB_TEST_CODEC_K2' } },
          { id: 'k1', key: { env: 'LB_TEST_CODEC_K1' } },
        ],
        server: { listen: '127.0.0.1:0', origins: [UI], token: { env: 'LB_TEST_CODEC_TOKEN' } },
      },
    },
  };
  w = await startWorker(cfg);
  connection = await Connection.connect({ address: cfg.temporal.address });
  codecClient = new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: lifeboatDataConverter(cfg) });
});

afterAll(async () => {
  await w?.stop();
  await connection?.close();
});

/** The history as the server stores it, serialized: what anyone with read access to Temporal sees. */
async function rawHistory(workflowId: string): Promise<{ bytes: Buffer; input: proto.temporal.api.common.v1.IPayload }> {
  const history = await w.client.workflow.getHandle(workflowId).fetchHistory(); // w.client has no codec
  const bytes = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
  const input = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  return { bytes, input };
}

/** Paths of the payloads in `value` whose encoding is not `binary/encrypted`. */
function plainPayloadPaths(value: unknown, at = ''): string[] {
  if (!value || typeof value !== 'object' || ArrayBuffer.isView(value)) return [];
  const o = value as Record<string, unknown>;
  const meta = o.metadata as Record<string, Uint8Array> | undefined;
  if (meta?.encoding instanceof Uint8Array) return Buffer.from(meta.encoding).toString() === 'binary/encrypted' ? [] : [at.slice(1)];
  return Object.entries(o).flatMap(([k, v]) => plainPayloadPaths(v, `${at}.${k}`));
}

test('with the payload codec on, the raw history of a backup holds no readable database name', async () => {
  const id = uniqueName('codec-backup');
  const result: BackupResult = await codecClient.workflow.execute('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: id,
    args: [{ database: NAME, kind: 'full' }],
  });
  expect(result.database).toBe(NAME); // decoded by the client
  const { bytes, input } = await rawHistory(id);
  expect(Buffer.from(input.metadata!.encoding!).toString()).toBe('binary/encrypted');
  expect(Buffer.from(input.metadata!['encryption-key-id']!).toString()).toBe('k2');
  expect(bytes.includes(Buffer.from(NAME))).toBe(false);
  // Every payload is sealed, except the SDK's own local-activity marker data (ids and times).
  const unsealed = plainPayloadPaths(await w.client.workflow.getHandle(id).fetchHistory());
  expect(unsealed.filter((p) => !/^events\.\d+\.markerRecordedEventAttributes\.details\.data\.payloads\.0$/.test(p))).toEqual([]);

  // The same search finds the name in a history started without the codec (the check can fail).
  const plainId = uniqueName('plain-backup');
  const plain = await w.client.workflow.start('backupDatabase', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId: plainId,
    args: [{ database: NAME, kind: 'schema' }],
  });
  await expect(plain.result()).rejects.toThrow('Unknown encoding: binary/encrypted'); // a client without the key cannot read the result
  expect(((await codecClient.workflow.getHandle(plainId).result()) as BackupResult).database).toBe(NAME);
  expect((await rawHistory(plainId)).bytes.includes(Buffer.from(NAME))).toBe(true);
  expect(plainPayloadPaths(await w.client.workflow.getHandle(plainId).fetchHistory())).toContain(
    'events.0.workflowExecutionStartedEventAttributes.input.payloads.0',
  );
});

test('the codec server decodes history payloads over HTTP for the Web UI, with CORS and a bearer token', async () => {
  const id = uniqueName('codec-http');
  await codecClient.workflow.execute('backupDatabase', { taskQueue: cfg.temporal.taskQueue, workflowId: id, args: [{ database: NAME, kind: 'schema' }] });
  const { input } = await rawHistory(id);
  const server = await startCodecServer(codecServerSettings(cfg));
  const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64');
  const body = JSON.stringify({
    payloads: [{ metadata: Object.fromEntries(Object.entries(input.metadata!).map(([k, v]) => [k, b64(v)])), data: b64(input.data!) }],
  });
  const post = (p: string, init: { body?: string; token?: string; origin?: string }) =>
    fetch(`${server.url}${p}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-Namespace': 'default',
        ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
        ...(init.origin ? { Origin: init.origin } : {}),
      },
      body: init.body ?? body,
    });
  try {
    const ok = await post('/decode', { token: process.env.LB_TEST_CODEC_TOKEN, origin: UI });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI);
    const decoded = (await ok.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    expect(Buffer.from(decoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('json/plain');
    expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString())).toMatchObject({ database: NAME, kind: 'schema' });

    expect((await post('/decode', {})).status).toBe(401);
    expect((await post('/decode', { token: 'tok-wrong' })).status).toBe(401);
    expect((await post('/decode', { token: process.env.LB_TEST_CODEC_TOKEN, body: '{"nope":1}' })).status).toBe(400);

    const preflight = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: UI, 'Access-Control-Request-Method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const foreign = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    // /encode then /decode gives the original back.
    const plain = { payloads: [{ metadata: { encoding: b64(Buffer.from('json/plain')) }, data: b64(Buffer.from('"hello"')) }] };
    const enc = (await (await post('/encode', { token: process.env.LB_TEST_CODEC_TOKEN, body: JSON.stringify(plain) })).json()) as typeof plain;
    expect(enc.payloads[0]!.data).not.toBe(plain.payloads[0]!.data);
    const dec = (await (await post('/decode', { token: process.env.LB_TEST_CODEC_TOKEN, body: JSON.stringify(enc) })).json()) as typeof plain;
    expect(dec).toEqual(plain);
  } finally {
    await server.close();
  }
});

test('key rotation: payloads sealed with an older key still decode; an unknown key id or wrong key is refused by name', async () => {
  const k1 = { id: 'k1', key: randomBytes(32) };
  const k2 = { id: 'k2', key: randomBytes(32) };
  const payload = { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('{"database":"orders"}') };
  const [sealed] = await new AesGcmPayloadCodec([k1]).encode([payload]);
  const [opened] = await new AesGcmPayloadCodec([k2, k1]).decode([sealed!]);
  expect(Buffer.from(opened!.data!).toString()).toBe('{"database":"orders"}');
  await expect(new AesGcmPayloadCodec([k2]).decode([sealed!])).rejects.toThrow(
    'Payload decryption failed: key id "k1" is not among temporal.payloadCodec.keys (k2)',
  );
  await expect(new AesGcmPayloadCodec([{ id: 'k1', key: randomBytes(32) }]).decode([sealed!])).rejects.toThrow(/key "k1" does not authenticate/);
  expect(() => parseCodecKey('too-short', 'temporal.payloadCodec.keys.0.key')).toThrow(
    'Secret temporal.payloadCodec.keys.0.key is unusable: expected a 256-bit key as base64 (openssl rand -base64 32) or 64 hex digits',
  );
  const problems = (() => {
    try {
      parseConfig({
        temporal: {
          payloadCodec: {
            keys: [
              { id: 'a', key: { env: 'A' } },
              { id: 'a', key: 'inline' },
            ],
          },
        },
        storage: { s: { type: 'filesystem', path: '/tmp' } },
        databases: {},
      });
    } catch (err) {
      return (err as ConfigError).problems;
    }
    return [];
  })();
  expect(problems).toEqual(['temporal.payloadCodec.keys.1.key: expected { env: NAME } or { file: PATH }']);
});
