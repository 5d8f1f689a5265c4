import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { LifeboatConfig } from './config/schema.js';
import { resolveSecret } from './config/secrets.js';
import { lifeboatDataConverter } from './temporal/codec.js';

interface ConnectionSettings {
  address: string;
  tls?: NativeConnectionOptions['tls'];
  apiKey?: string;
}

function pem(value: string): Buffer {
  // An inline PEM, or a path to one.
  return Buffer.from(value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8'));
}

/** Resolves the Temporal connection settings (TLS material and API key are secrets). */
export function connectionSettings(cfg: LifeboatConfig): ConnectionSettings {
  const t = cfg.temporal;
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  const apiKey = t.apiKey ? resolveSecret(t.apiKey, 'temporal.apiKey', base) : undefined;
  let tls: ConnectionSettings['tls'];
  if (t.tls) {
    const cert = t.tls.clientCert ? pem(resolveSecret(t.tls.clientCert, 'temporal.tls.clientCert', base)) : undefined;
    const key = t.tls.clientKey ? pem(resolveSecret(t.tls.clientKey, 'temporal.tls.clientKey', base)) : undefined;
    tls = {
      serverNameOverride: t.tls.serverName,
      serverRootCACertificate: t.tls.serverRootCACert ? pem(resolveSecret(t.tls.serverRootCACert, 'temporal.tls.serverRootCACert', base)) : undefined,
      clientCertPair: cert && key ? { crt: cert, key } : undefined,
    };
  } else if (apiKey) {
    tls = true; // API keys are only sent over TLS
  }
  return { address: t.address, tls, apiKey };
}

/** A Temporal client for the configured namespace. */
export async function connectClient(cfg: LifeboatConfig): Promise<Client> {
  const s = connectionSettings(cfg);
  const connection = await Connection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, connectTimeout: '10s' });
  return new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: lifeboatDataConverter(cfg) });
}

export async function connectWorkerConnection(cfg: LifeboatConfig): Promise<NativeConnection> {
  const s = connectionSettings(cfg);
  return NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey });
}
