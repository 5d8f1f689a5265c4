// One HTTP port for `/metrics`, `/health`, `/health/backups` and `/health/detailed` (node:http),
// behind an optional bearer token compared in constant time.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { redactSecrets } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';

/** What a route answers: an HTTP status, a content type and a body. */
export interface RouteResult {
  status: number;
  contentType: string;
  body: string;
}

export type Route = () => Promise<RouteResult>;

export interface ObservabilityServerOptions {
  bind: string;
  port: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  routes: Record<string, Route>;
  logger: Logger;
}

export interface ObservabilityServer {
  /** `http://host:port` as bound (the port is the real one when 0 was asked for). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A JSON answer. */
export function json(status: number, value: unknown): RouteResult {
  return { status, contentType: 'application/json; charset=utf-8', body: `${JSON.stringify(value, null, 2)}\n` };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether an Authorization header carries `token`; constant time in the token's content. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return m !== null && timingSafeEqual(digest(m[1]!), digest(token));
}

function send(res: ServerResponse, r: RouteResult, head: boolean, extra: Record<string, string> = {}): void {
  res.writeHead(r.status, { 'content-type': r.contentType, 'cache-control': 'no-store', ...extra });
  res.end(head ? undefined : r.body);
}

async function handle(opts: ObservabilityServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head) return send(res, json(405, { error: 'method not allowed: use GET' }), false, { allow: 'GET, HEAD' });
  if (opts.token !== undefined && !bearerMatches(req.headers.authorization, opts.token)) {
    return send(res, json(401, { error: 'unauthorized: send Authorization: Bearer <observability.token>' }), head, {
      'www-authenticate': 'Bearer realm="lifeboat"',
    });
  }
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
  const route = opts.routes[path];
  if (!route) return send(res, json(404, { error: `not found: ${path}`, routes: Object.keys(opts.routes) }), head);
  try {
    send(res, await route(), head);
  } catch (err) {
    const message = redactSecrets((err as Error).message);
    opts.logger.error({ path, reason: message }, 'observability request failed');
    send(res, json(500, { error: message }), head);
  }
}

/** Starts the server; a port that is taken is a LISTEN_FAILED error naming the address. */
export async function startObservabilityServer(opts: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const server: Server = createServer((req, res) => void handle(opts, req, res));
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new LifeboatError(
          'LISTEN_FAILED',
          `Observability server failed to start: ${err.code ?? err.message} on ${opts.bind}:${opts.port} (set observability.port or observability.enabled: false)`,
          { subject: `${opts.bind}:${opts.port}` },
        ),
      ),
    );
    server.listen(opts.port, opts.bind, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.bind.includes(':') ? `[${opts.bind}]` : opts.bind;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
