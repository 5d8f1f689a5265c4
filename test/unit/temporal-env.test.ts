import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { connectionSettings, describeAddress } from '../../src/temporal.js';
import { resolveTarget, targetOrigin, temporalConfigFile } from '../../src/temporal-env.js';

// Temporal's own connection conventions for what the configuration file leaves out:
// configuration file > environment > TOML profile > defaults, setting by setting.

const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-temporal-env-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const toml = file(
  'temporal.toml',
  `[profile.default]
address = "profile.example:7233"
namespace = "from-profile"

[profile.prod]
address = "prod.tmprl.cloud:7233"
namespace = "prod.a1b2"
api_key = "profile-key"
[profile.prod.tls]
server_name = "prod.sni"

[profile.local]
address = "127.0.0.1:7233"
api_key = "local-key"
[profile.local.tls]
disabled = true
`,
);
const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\ncert\n-----END CERTIFICATE-----\n');
const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n');
const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n');
const noFile = { TEMPORAL_CONFIG_FILE: path.join(dir, 'absent.toml') };

function config(temporal: Record<string, unknown> = {}) {
  return parseConfig({ temporal, storage: { s: { type: 'filesystem', path: dir } }, databases: { d: { engine: 'postgres', url: 'postgres://u@h/d' } } });
}

test('the config file is TEMPORAL_CONFIG_FILE, else the user config directory of the OS', () => {
  expect(temporalConfigFile({ TEMPORAL_CONFIG_FILE: '/etc/t.toml', HOME: '/home/a' })).toBe('/etc/t.toml');
  expect(temporalConfigFile({ HOME: '/home/a' }, 'linux')).toBe('/home/a/.config/temporalio/temporal.toml');
  expect(temporalConfigFile({ HOME: '/home/a', XDG_CONFIG_HOME: '/xdg' }, 'linux')).toBe('/xdg/temporalio/temporal.toml');
  expect(temporalConfigFile({ HOME: '/Users/a' }, 'darwin')).toBe('/Users/a/Library/Application Support/temporalio/temporal.toml');
  expect(temporalConfigFile({}, 'linux')).toBeUndefined();
});

test('address and namespace: configuration file > environment > profile > defaults', () => {
  const env = { TEMPORAL_CONFIG_FILE: toml };
  expect(resolveTarget({}, noFile)).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default' });
  expect(resolveTarget({}, env)).toMatchObject({ address: 'profile.example:7233', namespace: 'from-profile' });
  const fromEnv = resolveTarget({}, { ...env, TEMPORAL_ADDRESS: 'env.example:7233' });
  expect(fromEnv).toMatchObject({ address: 'env.example:7233', namespace: 'from-profile' });
  expect(targetOrigin(fromEnv)).toMatchObject({ address: 'env', namespace: 'profile', profile: 'default', profileFile: toml });
  const explicit = resolveTarget(
    { address: 'config.example:7233', namespace: 'cfg' },
    { ...env, TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_NAMESPACE: 'envns' },
  );
  expect(explicit).toMatchObject({ address: 'config.example:7233', namespace: 'cfg' });
  expect(targetOrigin(explicit)).toMatchObject({ address: 'config', namespace: 'config' });
  expect(resolveTarget({}, { ...env, TEMPORAL_PROFILE: 'prod' })).toMatchObject({ address: 'prod.tmprl.cloud:7233', namespace: 'prod.a1b2' });
});

test('a named profile that does not exist, or a file that is not TOML, is an error naming the file', () => {
  expect(() => resolveTarget({}, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' })).toThrow(
    `Temporal profile "staging" (TEMPORAL_PROFILE) not found in ${toml}`,
  );
  const broken = file('broken.toml', '[profile.default\naddress = 1\n');
  expect(() => resolveTarget({}, { TEMPORAL_CONFIG_FILE: broken })).toThrow(new RegExp(`^Unreadable Temporal config file ${broken}: `));
  // Without TEMPORAL_PROFILE, a missing file is simply no profile.
  expect(resolveTarget({}, noFile).address).toBe('127.0.0.1:7233');
});

test('parsing a configuration applies the environment, and the CLI says where the address came from', () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, noFile, { TEMPORAL_ADDRESS: 'env.example:7233', TEMPORAL_NAMESPACE: 'envns' });
    const cfg = config({ taskQueue: 'q' });
    expect(cfg.temporal).toMatchObject({ address: 'env.example:7233', namespace: 'envns', taskQueue: 'q' });
    expect(describeAddress(cfg)).toBe('env.example:7233 (from TEMPORAL_ADDRESS)');
    expect(describeAddress(config({ address: 'explicit:7233' }))).toBe('explicit:7233');
    process.env.TEMPORAL_PROFILE = 'missing';
    process.env.TEMPORAL_CONFIG_FILE = toml;
    expect(() => config()).toThrow(ConfigError);
    expect(() => config()).toThrow(`temporal: Temporal profile "missing" (TEMPORAL_PROFILE) not found in ${toml}`);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('API key and TLS from the environment, with the Temporal CLI names too', () => {
  const cfg = config({ address: 'x:7233' });
  expect(connectionSettings(cfg, { ...noFile, TEMPORAL_API_KEY: 'env-key' })).toMatchObject({ apiKey: 'env-key', tls: true });
  const mtls = connectionSettings(cfg, {
    ...noFile,
    TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: key,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
    TEMPORAL_TLS_SERVER_NAME: 'sni',
  });
  const cliNames = connectionSettings(cfg, { ...noFile, TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_SERVER_NAME: 'sni' });
  for (const s of [mtls, cliNames]) {
    const tls = s.tls as { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair?: { crt: Buffer; key: Buffer } };
    expect(tls.serverNameOverride).toBe('sni');
    expect(tls.serverRootCACertificate?.toString()).toContain('ca');
    expect(tls.clientCertPair?.crt.toString()).toContain('cert');
    expect(tls.clientCertPair?.key.toString()).toContain('PRIVATE KEY');
    expect(s.apiKey).toBeUndefined();
  }
  expect(connectionSettings(cfg, { ...noFile, TEMPORAL_TLS: 'true' }).tls).toEqual({
    serverNameOverride: undefined,
    serverRootCACertificate: undefined,
    clientCertPair: undefined,
  });
  expect(connectionSettings(cfg, { ...noFile, TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }).tls).toBe(false);
  expect(connectionSettings(cfg, { ...noFile, TEMPORAL_GRPC_META_TENANT: 'blue' }).metadata).toEqual({ tenant: 'blue' });
  expect(connectionSettings(cfg, noFile)).toEqual({ address: 'x:7233', tls: undefined, apiKey: undefined, metadata: undefined });
});

test('API key and TLS from a profile; the configuration file and the environment take precedence', () => {
  const cfg = config({ address: 'x:7233' });
  const prod = { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' };
  expect(connectionSettings(cfg, prod)).toMatchObject({ apiKey: 'profile-key', tls: { serverNameOverride: 'prod.sni' } });
  expect(connectionSettings(cfg, { ...prod, TEMPORAL_API_KEY: 'env-key', TEMPORAL_TLS_SERVER_NAME: 'env.sni' })).toMatchObject({
    apiKey: 'env-key',
    tls: { serverNameOverride: 'env.sni' },
  });
  const saved = process.env.LB_TEST_TEMPORAL_KEY;
  process.env.LB_TEST_TEMPORAL_KEY = 'config-key';
  try {
    const explicit = config({ address: 'x:7233', apiKey: { env: 'LB_TEST_TEMPORAL_KEY' }, tls: { serverName: 'config.sni' } });
    expect(connectionSettings(explicit, { ...prod, TEMPORAL_API_KEY: 'env-key' })).toMatchObject({
      apiKey: 'config-key',
      tls: { serverNameOverride: 'config.sni' },
    });
    // A profile that turns TLS off does not override TLS the configuration file asks for.
    expect(connectionSettings(explicit, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'local' }).tls).toMatchObject({ serverNameOverride: 'config.sni' });
  } finally {
    if (saved === undefined) delete process.env.LB_TEST_TEMPORAL_KEY;
    else process.env.LB_TEST_TEMPORAL_KEY = saved;
  }
  expect(connectionSettings(cfg, { TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'local' })).toMatchObject({ apiKey: 'local-key', tls: false });
});
