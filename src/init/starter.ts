// `lifeboat init`: a starter configuration from a database URL. The URL is stored as an `{ env }`
// reference, so the file never holds a password.
import { parse as parseYaml } from 'yaml';
import { parseConfig } from '../config/load.js';
import { detectMysqlProvider } from '../engines/mysql/presets.js';
import { detectProvider, type Provider } from '../engines/providers.js';
import { LifeboatError } from '../errors.js';

export interface StarterRequest {
  url: string;
  /** Name of the database in the configuration; from the URL's database name when omitted. */
  name?: string;
  /** Environment variable that will hold the URL; `<NAME>_DATABASE_URL` when omitted. */
  env?: string;
  /** `s3://bucket/prefix` or a directory; `./backups` when omitted. */
  storage?: string;
  /** S3 endpoint for S3-compatible servers (SeaweedFS, MinIO, R2). */
  s3Endpoint?: string;
  s3Region?: string;
  temporalAddress?: string;
  environment?: 'production' | 'staging' | 'development';
}

export interface Starter {
  yaml: string;
  name: string;
  engine: 'postgres' | 'mysql';
  provider: Provider;
  /** Environment variables the configuration reads, with what each must hold. */
  env: Array<{ name: string; holds: string }>;
}

const ENGINE_BY_SCHEME: Record<string, Starter['engine']> = { postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql' };

function invalid(message: string): LifeboatError {
  return new LifeboatError('INVALID_INPUT', `Init refused: ${message}`, { subject: 'init' });
}

function configName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '_')
    .replace(/^[^a-z0-9]+/, '');
  if (!name) throw invalid(`cannot make a configuration name from "${raw}": pass --name`);
  return name.slice(0, 63);
}

function storageSection(req: StarterRequest): { yaml: string; env: Starter['env'] } {
  const target = req.storage ?? './backups';
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(target);
  if (target.startsWith('s3://') && !s3) throw invalid(`--storage ${target} is not s3://bucket[/prefix] with a valid bucket name`);
  if (!s3) return { yaml: `  primary: { type: filesystem, path: ${JSON.stringify(target)} }\n`, env: [] };
  const lines = [
    '  primary:',
    '    type: s3',
    `    bucket: ${s3[1]}`,
    ...(s3[2] ? [`    prefix: ${JSON.stringify(s3[2].replace(/\/?$/, '/'))}`] : []),
    `    region: ${req.s3Region ?? 'us-east-1'}`,
    ...(req.s3Endpoint ? [`    endpoint: ${JSON.stringify(req.s3Endpoint)}`, '    forcePathStyle: true'] : []),
    '    accessKeyId: { env: S3_ACCESS_KEY_ID }',
    '    secretAccessKey: { env: S3_SECRET_ACCESS_KEY }',
  ];
  return {
    yaml: `${lines.join('\n')}\n`,
    env: [
      { name: 'S3_ACCESS_KEY_ID', holds: 'the S3 access key id' },
      { name: 'S3_SECRET_ACCESS_KEY', holds: 'the S3 secret access key' },
    ],
  };
}

/** Builds a starter configuration and checks it with the same schema `lifeboat` loads it with. */
export function buildStarter(req: StarterRequest): Starter {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw invalid('the database URL is not a URL (expected postgres://user@host:5432/dbname or mysql://user@host:3306/dbname)');
  }
  const engine = ENGINE_BY_SCHEME[url.protocol.replace(/:$/, '')];
  if (!engine) throw invalid(`unknown URL scheme ${url.protocol} (expected postgres://, postgresql://, mysql:// or mariadb://)`);
  const dbname = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const name = configName(req.name ?? (dbname || url.hostname.split('.')[0] || 'db'));
  const env = req.env ?? `${name.toUpperCase().replace(/-/g, '_')}_DATABASE_URL`;
  if (!/^[A-Z_][A-Z0-9_]*$/.test(env)) throw invalid(`--env ${env} is not an environment variable name`);
  const provider: Provider = engine === 'mysql' ? detectMysqlProvider(url.hostname) : detectProvider(url.hostname);
  const storage = storageSection(req);
  const temporal = req.temporalAddress ? `address: ${JSON.stringify(req.temporalAddress)}, ` : '';
  const yaml = `# Written by \`lifeboat init\`. Secrets are never in this file: each { env } names an environment
# variable the worker and the CLI read. Check every part with \`lifeboat doctor\`.
# Temporal's address and namespace come from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (or a Temporal
# CLI profile) unless set here; the default is 127.0.0.1:7233, namespace default.
temporal: { ${temporal}taskQueue: lifeboat }
storage:
${storage.yaml}databases:
  ${name}:
    engine: ${engine}
    provider: ${provider}              # detected from ${url.hostname}
    url: { env: ${env} }
    environment: ${req.environment ?? 'production'}   # production | staging | development (schedules and retention presets)
    compression: { codec: zstd, level: 1 }
    verify:
      checks: []                     # e.g. - { name: has users, sql: "select count(*) > 0 from users" }
log: { level: info }
`;
  parseConfig(parseYaml(yaml) as unknown, 'the generated configuration');
  return { yaml, name, engine, provider, env: [{ name: env, holds: `the URL of ${name}, with its password` }, ...storage.env] };
}

/** The URL as it may be shown: the password replaced. */
export function maskedUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return '<not a URL>';
  }
}
