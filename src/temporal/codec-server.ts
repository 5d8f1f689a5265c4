// `lifeboat codec-server`: Temporal's remote codec protocol (POST /encode and /decode with
// `{ payloads: [...] }` in protobuf JSON) so the Web UI and `temporal` CLI can show payloads that
// the worker encrypted. CORS admits the configured Web UI origins; a bearer token is optional.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import type { LifeboatConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import { payloadCodec } from './codec.js';

const MAX_BODY = 16 * 1024 * 1024;

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** Origins (`http://127.0.0.1:8233`) whose pages may call the server from a browser. */
  origins: string[];
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  logger?: Logger;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

function fromJson(p: JsonPayload): Payload {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  return { metadata, data: Buffer.from(p.data ?? '', 'base64') };
}

function toJson(p: Payload): JsonPayload {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]));
  return { metadata, data: Buffer.from(p.data ?? new Uint8Array()).toString('base64') };
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!.trim());
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw Object.assign(new Error(`request body over ${MAX_BODY} bytes`), { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Handles one codec request (exported for embedding; `startCodecServer` is the usual entry). */
export async function handleCodecRequest(opts: CodecServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const origin = req.headers.origin;
  if (origin && opts.origins.includes(origin)) {
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
    res.setHeader('Access-Control-Max-Age', '600');
  }
  res.setHeader('Vary', 'Origin');
  if (req.method === 'OPTIONS') {
    res.writeHead(origin && opts.origins.includes(origin) ? 204 : 403).end();
    return;
  }
  const action = /\/(encode|decode)\/?$/.exec(new URL(req.url ?? '/', 'http://codec').pathname)?.[1];
  if (req.method !== 'POST' || !action) return send(res, 404, { message: 'expected POST /encode or POST /decode' });
  if (opts.token && !tokenMatches(req.headers.authorization, opts.token))
    return send(res, 401, { message: 'unauthorized: expected Authorization: Bearer <token>' });
  let payloads: Payload[];
  try {
    const body = JSON.parse(await readBody(req)) as { payloads?: JsonPayload[] };
    if (!Array.isArray(body.payloads)) throw new Error('expected { "payloads": [...] }');
    payloads = body.payloads.map(fromJson);
  } catch (err) {
    return send(res, (err as { status?: number }).status ?? 400, { message: `bad request: ${(err as Error).message}` });
  }
  try {
    const out = action === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
    send(res, 200, { payloads: out.map(toJson) });
  } catch (err) {
    opts.logger?.warn({ action, reason: (err as Error).message }, 'codec request failed');
    send(res, 400, { message: (err as Error).message });
  }
}

/** Starts the codec server on `host:port` (port 0: any free port); resolves once it listens. */
export async function startCodecServer(
  opts: CodecServerOptions & { host: string; port: number },
): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    handleCodecRequest(opts, req, res).catch((err: Error) => {
      if (!res.headersSent) send(res, 500, { message: err.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as { port: number };
  return {
    server,
    url: `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The Web UI origin of the configured Temporal (temporal.uiUrl, else the dev server's: gRPC port + 1000). */
export function defaultUiOrigins(cfg: LifeboatConfig): string[] {
  if (cfg.temporal.uiUrl) return [new URL(cfg.temporal.uiUrl).origin];
  const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(cfg.temporal.address);
  return m ? [`http://${m[1]}:${Number(m[2]) + 1000}`] : [];
}

/** The codec server's settings from `temporal.payloadCodec` (and `--listen`/`--origin` overrides). */
export function codecServerSettings(
  cfg: LifeboatConfig,
  overrides: { listen?: string; origins?: string[] } = {},
): CodecServerOptions & { host: string; port: number } {
  const codec = payloadCodec(cfg);
  if (!codec)
    throw new LifeboatError('CONFIG_INVALID', 'Codec server cannot start: temporal.payloadCodec is not configured', { subject: 'temporal.payloadCodec' });
  const server = cfg.temporal.payloadCodec?.server;
  const listen = overrides.listen ?? server?.listen ?? '127.0.0.1:8888';
  const sep = listen.lastIndexOf(':');
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  return {
    codec,
    host: listen.slice(0, sep).replace(/^\[|\]$/g, ''),
    port: Number(listen.slice(sep + 1)),
    origins: (overrides.origins?.length ? overrides.origins : (server?.origins ?? defaultUiOrigins(cfg))).map((o) => new URL(o).origin),
    token: server?.token ? resolveSecret(server.token, 'temporal.payloadCodec.server.token', base) : undefined,
  };
}

/** Runs the codec server until SIGINT/SIGTERM. */
export async function runCodecServer(cfg: LifeboatConfig, logger: Logger, overrides: { listen?: string; origins?: string[] } = {}): Promise<void> {
  const settings = codecServerSettings(cfg, overrides);
  const running = await startCodecServer({ ...settings, logger });
  logger.info({ listening: running.url, origins: settings.origins, token: settings.token ? 'required' : 'none' }, 'codec server listening');
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
}
