// Provider-native snapshot steps through the real runbook workflow, against a local HTTP server
// standing in for each provider's API (mocked provider API, not exercised against the live
// service): it asserts each request's method, path, body and authentication, and answers the
// way the documented API does. The RDS signature is checked by the AWS SDK's own SigV4 signer.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { parseConfig } from '../../src/config/load.js';
import { checkStepWith, type RunbookProgress, type RunbookResult } from '../../src/contracts/index.js';
import { createBucket, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';
import { failureOf } from '../harness/assertions.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const secrets = {
  neon: `napi_${randomBytes(16).toString('hex')}`,
  psId: `ps-id-${randomBytes(6).toString('hex')}`,
  psToken: `pscale_tkn_${randomBytes(16).toString('hex')}`,
  awsKey: 'AKIAEXAMPLE0LIFEBOAT',
  awsSecret: randomBytes(20).toString('base64'),
};
const seen: Seen[] = [];
let server: http.Server;
let base: string;
let w: RunningWorker;
let taskQueue: string;

/** Node's hash as the SDK signer's Checksum. */
class NodeSha256 {
  private h;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    const key =
      secret === undefined || typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : new Uint8Array(secret);
    this.h = key ? createHmac('sha256', key) : createHash('sha256');
  }
  update(data: string | Uint8Array) {
    this.h.update(data);
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset() {}
}

/** The Authorization header the AWS SDK's signer computes for the request as received. */
async function sdkSignature(req: Seen): Promise<string | undefined> {
  const amz = String(req.headers['x-amz-date']);
  const date = new Date(`${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`);
  const signer = new SignatureV4({
    credentials: { accessKeyId: secrets.awsKey, secretAccessKey: secrets.awsSecret },
    region: 'eu-central-1',
    service: 'rds',
    sha256: NodeSha256,
    applyChecksum: false,
  });
  const { port, hostname } = new URL(base);
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname,
      port: Number(port),
      path: '/rds/',
      query: {},
      headers: { host: String(req.headers.host), 'content-type': String(req.headers['content-type']) },
      body: req.body,
    },
    { signingDate: date },
  );
  return signed.headers.authorization;
}

function answer(req: Seen, res: http.ServerResponse): void {
  const json = (status: number, v: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  if (req.url === '/neon/projects/shiny-river-123456/branches') {
    if (req.headers.authorization !== `Bearer ${secrets.neon}`) return json(401, { code: '', message: 'authorization failed' });
    const b = JSON.parse(req.body) as { branch: { name: string } };
    return json(201, { branch: { id: 'br-quiet-sun-a1b2c3', name: b.branch.name, current_state: 'init' }, endpoints: [{ id: 'ep-x', type: 'read_write' }] });
  }
  if (req.url === '/ps/organizations/acme/databases/shop/branches') {
    if (req.headers.authorization !== `${secrets.psId}:${secrets.psToken}`) return json(401, { code: 'unauthorized', message: 'Unauthorized' });
    return json(201, { id: 'bc7e9s1a2b3c', name: (JSON.parse(req.body) as { name: string }).name, ready: false, state: 'pending' });
  }
  if (req.url === '/rds/') {
    const p = new URLSearchParams(req.body);
    res.writeHead(200, { 'content-type': 'text/xml' });
    return void res.end(
      `<CreateDBSnapshotResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><CreateDBSnapshotResult><DBSnapshot><DBSnapshotIdentifier>${p.get('DBSnapshotIdentifier')}</DBSnapshotIdentifier><Status>creating</Status></DBSnapshot></CreateDBSnapshotResult></CreateDBSnapshotResponse>`,
    );
  }
  json(404, { message: 'no such route' });
}

const RUNBOOK = (name: string, neonToken: string) => `name: ${name}
params:
  at: { type: string, default: "2026-12-03T09:30:00Z" }
steps:
  - id: neon
    type: neon-branch
    with: { project: shiny-river-123456, name: "recovery-\${{ run.workflowId }}", parent: br-main-000, at: "\${{ params.at }}", token: { env: ${neonToken} }, apiBase: "BASE/neon" }
  - id: rds
    type: rds-snapshot
    with: { region: eu-central-1, instance: orders-prod, snapshot: lifeboat-before-cutover, accessKeyId: { env: LB_PS_AWS_KEY }, secretAccessKey: { env: LB_PS_AWS_SECRET }, apiBase: "BASE/rds/" }
  - id: planetscale
    type: planetscale-branch
    with: { organization: acme, database: shop, name: recovery, parent: main, tokenId: { env: LB_PS_ID }, token: { env: LB_PS_TOKEN }, apiBase: "BASE/ps" }
`;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, body };
      seen.push(s);
      answer(s, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  Object.assign(process.env, { LB_PS_NEON: secrets.neon, LB_PS_NEON_BAD: 'napi_wrong', LB_PS_ID: secrets.psId, LB_PS_TOKEN: secrets.psToken });
  Object.assign(process.env, { LB_PS_AWS_KEY: secrets.awsKey, LB_PS_AWS_SECRET: secrets.awsSecret, LB_PS_S3: services().s3.secretAccessKey });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-provider-'));
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(path.join(dir, 'runbooks', 'snapshots.yaml'), RUNBOOK('snapshots', 'LB_PS_NEON').replaceAll('BASE', base));
  writeFileSync(path.join(dir, 'runbooks', 'bad-token.yaml'), RUNBOOK('bad-token', 'LB_PS_NEON_BAD').replaceAll('BASE', base));
  taskQueue = uniqueName('lb-provider');
  const cfg = parseConfig({
    temporal: { address: services().temporal.address, taskQueue },
    storage: {
      primary: {
        type: 's3',
        bucket: await createBucket('lb-ps'),
        endpoint: services().s3.endpoint,
        forcePathStyle: true,
        accessKeyId: services().s3.accessKeyId,
        secretAccessKey: { env: 'LB_PS_S3' },
      },
    },
    databases: {},
    runbooks: { paths: [path.join(dir, 'runbooks')] },
  });
  w = await startWorker(cfg);
});

afterAll(async () => {
  await w?.stop();
  server?.close();
});

test('mocked provider API, not exercised against the live service: Neon branch at a time, RDS manual snapshot (SigV4), PlanetScale branch', async () => {
  const id = uniqueName('runbook-snapshots');
  const r = (await w.client.workflow.execute('runRunbook', { taskQueue, workflowId: id, args: [{ runbook: 'snapshots' }] })) as RunbookResult;
  expect(r.steps.map((s) => [s.id, s.state, s.summary])).toEqual([
    ['neon', 'succeeded', 'Neon branch br-quiet-sun-a1b2c3 (recovery-' + id + ') at 2026-12-03T09:30:00Z created'],
    ['rds', 'succeeded', 'RDS snapshot lifeboat-before-cutover of orders-prod started (creating)'],
    ['planetscale', 'succeeded', 'PlanetScale branch recovery of shop created from main'],
  ]);
  const [neon, rds, ps] = seen;
  expect(neon).toMatchObject({ method: 'POST', url: '/neon/projects/shiny-river-123456/branches', headers: { 'content-type': 'application/json' } });
  expect(JSON.parse(neon!.body)).toEqual({
    branch: { name: `recovery-${id}`, parent_id: 'br-main-000', parent_timestamp: '2026-12-03T09:30:00.000Z' },
    endpoints: [{ type: 'read_write' }],
  });
  expect(ps).toMatchObject({ method: 'POST', url: '/ps/organizations/acme/databases/shop/branches' });
  expect(JSON.parse(ps!.body)).toEqual({ name: 'recovery', parent_branch: 'main' });
  expect(rds).toMatchObject({ method: 'POST', url: '/rds/' });
  expect(Object.fromEntries(new URLSearchParams(rds!.body))).toEqual({
    Action: 'CreateDBSnapshot',
    Version: '2014-10-31',
    DBInstanceIdentifier: 'orders-prod',
    DBSnapshotIdentifier: 'lifeboat-before-cutover',
    'Tags.member.1.Key': 'created-by',
    'Tags.member.1.Value': 'lifeboat',
  });
  expect(rds!.headers.authorization).toMatch(
    /^AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE0LIFEBOAT\/\d{8}\/eu-central-1\/rds\/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=[0-9a-f]{64}$/,
  );
  expect(rds!.headers.authorization).toBe(await sdkSignature(rds!));
  // Tokens are references: no value reaches the workflow's history.
  const history = JSON.stringify(await w.client.workflow.getHandle(id).fetchHistory());
  for (const s of Object.values(secrets).filter((v) => v !== secrets.awsKey)) expect(history).not.toContain(s);
});

test('mocked provider API: a refused token fails the step with PROVIDER_API_REFUSED and the API message; the token is not in the message', async () => {
  const id = uniqueName('runbook-bad');
  const f = await failureOf(w.client.workflow.execute('runRunbook', { taskQueue, workflowId: id, args: [{ runbook: 'bad-token' }] }));
  expect(f.type).toBe('RUNBOOK_FAILED');
  expect(f.message).toMatch(
    /^Runbook bad-token failed: step neon: Neon branch recovery-.* of project shiny-river-123456 failed: HTTP 401: authorization failed$/,
  );
  expect(f.message).not.toContain('napi_wrong');
  const progress = (await w.client.workflow.getHandle(id).query('progress')) as RunbookProgress;
  expect(progress.steps[0]).toMatchObject({ id: 'neon', state: 'failed', failureType: 'PROVIDER_API_REFUSED', attempts: 1 });
});

test('provider steps take tokens only by reference, an RDS step exactly one of instance or cluster', () => {
  const neon = { project: 'p-1', name: 'b', token: 'napi_inline' };
  const bad = checkStepWith('neon-branch', neon);
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.issues[0]!.message).toMatch(/secret reference .* never the token itself/);
  const rds = { region: 'eu-central-1', snapshot: 's1', accessKeyId: { env: 'A' }, secretAccessKey: { env: 'B' } };
  const neither = checkStepWith('rds-snapshot', rds);
  expect(neither.ok ? [] : neither.issues.map((i) => i.message)).toEqual(['expected exactly one of instance or cluster']);
  expect(checkStepWith('rds-snapshot', { ...rds, cluster: 'aurora-1' }).ok).toBe(true);
  expect(checkStepWith('rds-snapshot', { ...rds, cluster: 'aurora-1', snapshot: 'bad--name' }).ok).toBe(false);
});
