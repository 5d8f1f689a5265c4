// Temporal's own connection conventions, for what the configuration file leaves out: environment
// variables (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`,
// `TEMPORAL_GRPC_META_*`) over a profile of the TOML config file (`TEMPORAL_CONFIG_FILE`, else
// the user's `temporalio/temporal.toml`; profile `TEMPORAL_PROFILE`, else `default`), read with
// the SDK's envconfig. Per setting: configuration file > environment > profile > defaults.
import os from 'node:os';
import path from 'node:path';
import { loadClientConfigProfile, type ClientConfigProfile } from '@temporalio/envconfig';
import { z } from 'zod';

export const DEFAULT_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** The Temporal CLI's names of the TLS variables, read when the envconfig name is unset. */
const CLI_NAMES: Record<string, string> = {
  TEMPORAL_TLS_CLIENT_CERT_PATH: 'TEMPORAL_TLS_CERT',
  TEMPORAL_TLS_CLIENT_CERT_DATA: 'TEMPORAL_TLS_CERT_DATA',
  TEMPORAL_TLS_CLIENT_KEY_PATH: 'TEMPORAL_TLS_KEY',
  TEMPORAL_TLS_CLIENT_KEY_DATA: 'TEMPORAL_TLS_KEY_DATA',
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: 'TEMPORAL_TLS_CA',
  TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'TEMPORAL_TLS_CA_DATA',
};

/** Where a setting came from, for messages ("address from TEMPORAL_ADDRESS"). */
export type SettingSource = 'config' | 'env' | 'profile' | 'default';

/** The two layers under the configuration file: the environment and the profile. */
export interface TemporalLayers {
  env: ClientConfigProfile;
  profile: ClientConfigProfile;
  /** Profile name (`TEMPORAL_PROFILE` or `default`) and the file it was looked up in. */
  profileName: string;
  profileFile?: string;
}

type Env = Record<string, string | undefined>;

/** The TOML file Temporal's CLI and SDKs read: `TEMPORAL_CONFIG_FILE`, else the OS user config dir's. */
export function temporalConfigFile(env: Env = process.env, platform = os.platform()): string | undefined {
  if (env.TEMPORAL_CONFIG_FILE) return env.TEMPORAL_CONFIG_FILE;
  let dir: string | undefined;
  if (platform === 'win32') dir = env.APPDATA;
  else if (platform === 'darwin') dir = env.HOME && path.join(env.HOME, 'Library', 'Application Support');
  else dir = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : env.HOME && path.join(env.HOME, '.config');
  return dir ? path.join(dir, 'temporalio', 'temporal.toml') : undefined;
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  for (const [name, cliName] of Object.entries(CLI_NAMES)) if (out[name] === undefined && out[cliName] !== undefined) out[name] = out[cliName]!;
  return out;
}

/**
 * Reads the environment and profile layers. A named profile (`TEMPORAL_PROFILE`) that does not
 * exist, or a config file that is not valid TOML, is an error naming the file; a missing file is not.
 */
export function temporalLayers(env: Env = process.env): TemporalLayers {
  const vars = definedOnly(env);
  const named = vars.TEMPORAL_PROFILE;
  const profileName = named ?? 'default';
  const profileFile = temporalConfigFile(vars);
  let profile: ClientConfigProfile = {};
  if (profileFile) {
    try {
      profile = loadClientConfigProfile({ configSource: { path: profileFile }, disableEnv: true, overrideEnvVars: vars });
    } catch (err) {
      const why = (err as Error).message;
      if (named && /not found/i.test(why)) throw new Error(`Temporal profile "${named}" (TEMPORAL_PROFILE) not found in ${profileFile}`);
      throw new Error(`Unreadable Temporal config file ${profileFile}: ${why.split('\n')[0]}`);
    }
  } else if (named) {
    throw new Error(`Temporal profile "${named}" (TEMPORAL_PROFILE) cannot be read: no config file (set TEMPORAL_CONFIG_FILE or HOME)`);
  }
  const fromEnv = loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars });
  return { env: fromEnv, profile, profileName, profileFile };
}

/** Picks a setting by precedence: configuration file > environment > profile > default. */
export function pick<T>(
  config: T | undefined,
  layers: TemporalLayers,
  get: (p: ClientConfigProfile) => T | undefined,
  fallback: T,
): { value: T; source: SettingSource } {
  if (config !== undefined) return { value: config, source: 'config' };
  const fromEnv = get(layers.env);
  if (fromEnv !== undefined) return { value: fromEnv, source: 'env' };
  const fromProfile = get(layers.profile);
  if (fromProfile !== undefined) return { value: fromProfile, source: 'profile' };
  return { value: fallback, source: 'default' };
}

export interface TemporalTarget {
  address: string;
  namespace: string;
  origin: { address: SettingSource; namespace: SettingSource; profile: string; profileFile?: string };
}

const origins = new WeakMap<object, TemporalTarget['origin']>();

/** Resolves address and namespace of a `temporal:` section; remembers where they came from. */
export function resolveTarget<T extends { address?: string; namespace?: string }>(
  section: T,
  env: Env = process.env,
): T & { address: string; namespace: string } {
  const layers = temporalLayers(env);
  const address = pick(section.address, layers, (p) => p.address, DEFAULT_ADDRESS);
  const namespace = pick(section.namespace, layers, (p) => p.namespace, DEFAULT_NAMESPACE);
  const resolved = { ...section, address: address.value, namespace: namespace.value };
  origins.set(resolved, { address: address.source, namespace: namespace.source, profile: layers.profileName, profileFile: layers.profileFile });
  return resolved;
}

/** The transform of the configuration's `temporal:` section: a profile that cannot be read is a problem at `temporal`. */
export function resolveTemporalSection<T extends { address?: string; namespace?: string }>(
  section: T,
  ctx: z.RefinementCtx,
): T & { address: string; namespace: string } {
  try {
    return resolveTarget(section);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
}

/** Where the address and namespace of a resolved `temporal:` section came from. */
export function targetOrigin(section: object): TemporalTarget['origin'] | undefined {
  return origins.get(section);
}

const ENV_NAMES = { address: 'TEMPORAL_ADDRESS', namespace: 'TEMPORAL_NAMESPACE' } as const;

/** `from TEMPORAL_ADDRESS`, `from profile "prod" of ~/.config/temporalio/temporal.toml`, or undefined (config, default). */
export function describeOrigin(section: object, setting: 'address' | 'namespace'): string | undefined {
  const o = origins.get(section);
  if (!o) return undefined;
  if (o[setting] === 'env') return `from ${ENV_NAMES[setting]}`;
  if (o[setting] === 'profile') return `from profile "${o.profile}" of ${o.profileFile}`;
  return undefined;
}
