import path from 'node:path';
import { clientIdentity } from './identity.js';
import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { ConfigDataSource } from '@temporalio/envconfig';
import type { NativeConnection, NativeConnectionOptions } from '@temporalio/worker';
import type { LifeboatConfig } from './config/schema.js';
import { resolveSecret } from './config/secrets.js';
import { describeOrigin, temporalLayers, type TemporalLayers } from './temporal-env.js';
import { lifeboatDataConverter } from './temporal/codec.js';

interface ConnectionSettings {
  address: string;
  tls?: NativeConnectionOptions['tls'];
  apiKey?: string;
  metadata?: Record<string, string>;
}

type TlsOptions = Exclude<NativeConnectionOptions['tls'], boolean | null | undefined>;

function pem(value: string): Buffer {
  // An inline PEM, or a path to one.
  return Buffer.from(value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8'));
}

function sourceData(source: ConfigDataSource | undefined): Buffer | undefined {
  if (!source) return undefined;
  if ('path' in source) return readFileSync(source.path);
  return Buffer.from(source.data);
}

/**
 * TLS settings, each from the configuration file, else the environment, else the profile. TLS is
 * on when any layer configures it or an API key is used, unless the environment or profile turns
 * it off (`TEMPORAL_TLS=false`, `tls.disabled = true`) and the configuration file sets none.
 */
function tlsSettings(cfg: LifeboatConfig, layers: TemporalLayers, base: string | undefined, apiKey: boolean): ConnectionSettings['tls'] {
  const t = cfg.temporal.tls;
  const other = { ...layers.profile.tls, ...layers.env.tls };
  const secret = (value: Parameters<typeof resolveSecret>[0] | undefined, field: string) =>
    value ? pem(resolveSecret(value, `temporal.tls.${field}`, base)) : undefined;
  if (!t && other.disabled === true) return false;
  const cert = secret(t?.clientCert, 'clientCert') ?? sourceData(other.clientCert);
  const key = secret(t?.clientKey, 'clientKey') ?? sourceData(other.clientKey);
  const tls: TlsOptions = {
    serverNameOverride: t?.serverName ?? other.serverName,
    serverRootCACertificate: secret(t?.serverRootCACert, 'serverRootCACert') ?? sourceData(other.serverCACert),
    clientCertPair: cert && key ? { crt: cert, key } : undefined,
  };
  const configured = Boolean(t) || Object.values(other).some((v) => v !== undefined);
  if (configured) return tls;
  return apiKey ? true : undefined; // API keys are only sent over TLS
}

/**
 * Resolves the Temporal connection settings (TLS material and API key are secrets), each from
 * the configuration file, else Temporal's environment variables, else its TOML profile.
 */
export function connectionSettings(cfg: LifeboatConfig, env: Record<string, string | undefined> = process.env): ConnectionSettings {
  const t = cfg.temporal;
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : undefined;
  const layers = temporalLayers(env);
  const apiKey = t.apiKey ? resolveSecret(t.apiKey, 'temporal.apiKey', base) : (layers.env.apiKey ?? layers.profile.apiKey);
  const metadata = { ...layers.profile.grpcMeta, ...layers.env.grpcMeta };
  return {
    address: t.address,
    tls: tlsSettings(cfg, layers, base, apiKey !== undefined),
    apiKey,
    metadata: Object.keys(metadata).length ? metadata : undefined,
  };
}

/** `127.0.0.1:7233`, or `my-ns.tmprl.cloud:7233 (from TEMPORAL_ADDRESS)`: where the CLI tried to connect. */
export function describeAddress(cfg: LifeboatConfig): string {
  const origin = describeOrigin(cfg.temporal, 'address');
  return origin ? `${cfg.temporal.address} (${origin})` : cfg.temporal.address;
}

/** A Temporal client for the configured namespace. */
export async function connectClient(cfg: LifeboatConfig): Promise<Client> {
  const s = connectionSettings(cfg);
  const connection = await Connection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata, connectTimeout: '10s' });
  return new Client({ connection, namespace: cfg.temporal.namespace, dataConverter: lifeboatDataConverter(cfg), identity: clientIdentity() });
}

export async function connectWorkerConnection(cfg: LifeboatConfig): Promise<NativeConnection> {
  // Loaded here, not at the top: the worker package costs a CLI command about a second to import.
  const { NativeConnection } = await import('@temporalio/worker');
  const s = connectionSettings(cfg);
  return NativeConnection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, metadata: s.metadata });
}
