// Provider-native snapshots as runbook steps, through each provider's documented HTTP API:
// Neon `POST /projects/{id}/branches`, RDS `CreateDBSnapshot`/`CreateDBClusterSnapshot` (Query
// API, SigV4-signed), PlanetScale `POST /organizations/{org}/databases/{db}/branches`.
import { createHash, createHmac } from 'node:crypto';
import type { NeonBranchStepWith, PlanetScaleBranchStepWith, ProviderSnapshotResult, RdsSnapshotStepWith } from '../contracts/index.js';
import { registerSecret, resolveSecret } from '../config/secrets.js';
import type { SecretRef } from '../config/schema.js';
import { LifeboatError } from '../errors.js';

export type ProviderStepInput =
  | { type: 'neon-branch'; with: NeonBranchStepWith; step: string }
  | { type: 'rds-snapshot'; with: RdsSnapshotStepWith; step: string }
  | { type: 'planetscale-branch'; with: PlanetScaleBranchStepWith; step: string };

const NEON_API = 'https://console.neon.tech/api/v2';
const PLANETSCALE_API = 'https://api.planetscale.com/v1';

function secret(ref: SecretRef, step: string, field: string): string {
  const value = resolveSecret(ref, `step ${step} with.${field}`).trim();
  registerSecret(value);
  return value;
}

/** One call to a provider's API; 4xx (but 429) is PROVIDER_API_REFUSED, the rest PROVIDER_API_FAILED. */
async function call(what: string, url: string, init: RequestInit, signal?: AbortSignal): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.any([AbortSignal.timeout(30_000), ...(signal ? [signal] : [])]) });
  } catch (err) {
    throw new LifeboatError('PROVIDER_API_FAILED', `${what} failed: ${new URL(url).host} unreachable: ${(err as Error).message}`, { subject: what });
  }
  const body = await res.text();
  if (res.ok) return body;
  const detail = (/<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? safeJson(body)?.message ?? body).toString().slice(0, 300);
  const code = res.status >= 400 && res.status < 500 && res.status !== 429 ? 'PROVIDER_API_REFUSED' : 'PROVIDER_API_FAILED';
  throw new LifeboatError(code, `${what} failed: HTTP ${res.status}: ${detail}`, { subject: what });
}

function safeJson(s: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(s) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Creates a Neon branch from `parent` (default branch when omitted) as it was at `at` (now when omitted), with a read-write endpoint. */
export async function neonBranch(w: NeonBranchStepWith, step: string, signal?: AbortSignal): Promise<ProviderSnapshotResult> {
  const what = `Neon branch ${w.name} of project ${w.project}`;
  const branch = { name: w.name, ...(w.parent ? { parent_id: w.parent } : {}), ...(w.at ? { parent_timestamp: new Date(w.at).toISOString() } : {}) };
  const body = await call(
    what,
    `${w.apiBase ?? NEON_API}/projects/${encodeURIComponent(w.project)}/branches`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${secret(w.token, step, 'token')}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ branch, endpoints: [{ type: 'read_write' }] }),
    },
    signal,
  );
  const b = (safeJson(body)?.branch ?? {}) as { id?: string; name?: string; current_state?: string };
  if (!b.id) throw new LifeboatError('PROVIDER_API_FAILED', `${what} failed: the answer names no branch id`, { subject: what });
  return {
    provider: 'neon',
    id: b.id,
    name: b.name ?? w.name,
    status: b.current_state,
    summary: `Neon branch ${b.id} (${w.name})${w.at ? ` at ${w.at}` : ''} created`,
  };
}

/** Creates a PlanetScale branch from `parent` (or from one of its backups). */
export async function planetScaleBranch(w: PlanetScaleBranchStepWith, step: string, signal?: AbortSignal): Promise<ProviderSnapshotResult> {
  const what = `PlanetScale branch ${w.name} of ${w.organization}/${w.database}`;
  const auth = `${secret(w.tokenId, step, 'tokenId')}:${secret(w.token, step, 'token')}`;
  const body = await call(
    what,
    `${w.apiBase ?? PLANETSCALE_API}/organizations/${encodeURIComponent(w.organization)}/databases/${encodeURIComponent(w.database)}/branches`,
    {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ name: w.name, parent_branch: w.parent, ...(w.backupId ? { backup_id: w.backupId } : {}) }),
    },
    signal,
  );
  const b = (safeJson(body) ?? {}) as { id?: string; name?: string; state?: string; ready?: boolean };
  if (!b.id) throw new LifeboatError('PROVIDER_API_FAILED', `${what} failed: the answer names no branch id`, { subject: what });
  return {
    provider: 'planetscale',
    id: b.id,
    name: b.name ?? w.name,
    status: b.state ?? (b.ready ? 'ready' : 'pending'),
    summary: `PlanetScale branch ${w.name} of ${w.database} created from ${w.backupId ? `backup ${w.backupId}` : w.parent}`,
  };
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (key: string | Buffer, s: string) => createHmac('sha256', key).update(s).digest();

/** AWS Signature Version 4 headers of a POST with a form body (no query string). */
export function signV4(opts: {
  url: URL;
  body: string;
  region: string;
  service: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  now: Date;
}): Record<string, string> {
  const amzDate = opts.now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
    host: opts.url.host,
    'x-amz-date': amzDate,
    ...(opts.sessionToken ? { 'x-amz-security-token': opts.sessionToken } : {}),
  };
  const names = Object.keys(headers).sort();
  const canonical = ['POST', opts.url.pathname || '/', '', ...names.map((n) => `${n}:${headers[n]!.trim()}`), '', names.join(';'), sha256(opts.body)].join(
    '\n',
  );
  const scope = `${day}/${opts.region}/${opts.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${opts.secretAccessKey}`, day), opts.region), opts.service), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${opts.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
  return headers;
}

/** Starts a manual RDS snapshot of an instance (`CreateDBSnapshot`) or an Aurora cluster (`CreateDBClusterSnapshot`). */
export async function rdsSnapshot(w: RdsSnapshotStepWith, step: string, signal?: AbortSignal, now = new Date()): Promise<ProviderSnapshotResult> {
  const cluster = w.cluster !== undefined;
  const source = (w.cluster ?? w.instance)!;
  const what = `RDS snapshot ${w.snapshot} of ${cluster ? 'cluster' : 'instance'} ${source}`;
  const params = new URLSearchParams({
    Action: cluster ? 'CreateDBClusterSnapshot' : 'CreateDBSnapshot',
    Version: '2014-10-31',
    [cluster ? 'DBClusterIdentifier' : 'DBInstanceIdentifier']: source,
    [cluster ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier']: w.snapshot,
    'Tags.member.1.Key': 'created-by',
    'Tags.member.1.Value': 'lifeboat',
  });
  const url = new URL(w.apiBase ?? `https://rds.${w.region}.amazonaws.com/`);
  const body = params.toString();
  const headers = signV4({
    url,
    body,
    region: w.region,
    service: 'rds',
    accessKeyId: secret(w.accessKeyId, step, 'accessKeyId'),
    secretAccessKey: secret(w.secretAccessKey, step, 'secretAccessKey'),
    sessionToken: w.sessionToken ? secret(w.sessionToken, step, 'sessionToken') : undefined,
    now,
  });
  delete headers.host; // fetch sets it from the URL, exactly as signed
  const xml = await call(what, url.toString(), { method: 'POST', headers, body }, signal);
  const id = /<DB(?:Cluster)?SnapshotIdentifier>([^<]+)</.exec(xml)?.[1];
  if (!id) throw new LifeboatError('PROVIDER_API_FAILED', `${what} failed: the answer names no snapshot`, { subject: what });
  const status = /<Status>([^<]+)</.exec(xml)?.[1];
  return { provider: 'rds', id, name: id, status, summary: `RDS snapshot ${id} of ${source} started (${status ?? 'status unknown'})` };
}

/** Runs one provider step. */
export function providerSnapshot(input: ProviderStepInput, signal?: AbortSignal): Promise<ProviderSnapshotResult> {
  switch (input.type) {
    case 'neon-branch':
      return neonBranch(input.with, input.step, signal);
    case 'rds-snapshot':
      return rdsSnapshot(input.with, input.step, signal);
    case 'planetscale-branch':
      return planetScaleBranch(input.with, input.step, signal);
  }
}
