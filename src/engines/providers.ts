import type { DatabaseConfig } from '../config/schema.js';

export type Provider = NonNullable<DatabaseConfig['provider']>;

export interface ProviderPreset {
  provider: Provider;
  /** libpq sslmode used when the URL does not say. */
  sslmode?: string;
  /** Connection poolers in transaction mode cannot export snapshots; dump through a direct host. */
  poolerHint?: string;
  /** The direct host a pooler host was rewritten to (Neon: without `-pooler`). */
  directHost?: string;
  /** Schemas the provider manages, left out of dumps (`pg_dump --exclude-schema` patterns). */
  excludeSchemas?: string[];
}

/** Supabase-managed schemas, left out the way Supabase's own CLI does for `db dump`. */
export const SUPABASE_MANAGED_SCHEMAS = [
  '_analytics',
  '_realtime',
  '_supavisor',
  'auth',
  'cron',
  'extensions',
  'graphql',
  'graphql_public',
  'net',
  'pgbouncer',
  'pgsodium',
  'pgsodium_masks',
  'pgtle',
  'realtime',
  'storage',
  'supabase_functions',
  'supabase_migrations',
  'vault',
];

/** Hosts of PostgreSQL providers. PlanetScale (`*.psdb.cloud`) hosts MySQL: see src/engines/mysql/presets.ts. */
const HOST_RULES: Array<[RegExp, Provider]> = [
  [/\.neon\.tech$/i, 'neon'],
  [/\.supabase\.(co|com)$/i, 'supabase'],
  [/(\.rlwy\.net|\.railway\.app|\.railway\.internal)$/i, 'railway'],
  [/\.vercel-storage\.com$/i, 'vercel'],
  [/\.rds\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$/i, 'rds'],
  [/\.ondigitalocean\.com$/i, 'digitalocean'],
  [/\.postgres\.database\.azure\.com$/i, 'azure'],
];

/** PlanetScale's MySQL hosts. */
export const PLANETSCALE_HOST = /\.psdb\.cloud\.?$/i;

/** Detects a hosted PostgreSQL provider from the host name; `self-hosted` when nothing matches. */
export function detectProvider(host: string): Provider {
  const h = host.replace(/\.$/, '');
  for (const [re, p] of HOST_RULES) if (re.test(h)) return p;
  return 'self-hosted';
}

export function providerPreset(configured: Provider | undefined, host: string): ProviderPreset {
  const provider = configured ?? detectProvider(host);
  switch (provider) {
    case 'self-hosted':
      return { provider };
    case 'neon': {
      // Neon: pg_dump must never go through the pooler; its direct endpoint is the same name without "-pooler".
      const pooled = /-pooler\./i.test(host);
      return {
        provider,
        sslmode: 'require',
        directHost: pooled ? host.replace(/-pooler\./i, '.') : undefined,
        poolerHint: pooled
          ? `the pooler host was rewritten to the direct endpoint ${host.replace(/-pooler\./i, '.')} (dumps never go through Neon's pooler)`
          : undefined,
      };
    }
    case 'supabase':
      return {
        provider,
        sslmode: 'require',
        excludeSchemas: SUPABASE_MANAGED_SCHEMAS,
        poolerHint: /pooler\.supabase\.com$/i.test(host) ? 'use the direct connection (db.<ref>.supabase.co:5432) or the session pooler' : undefined,
      };
    default:
      return { provider, sslmode: 'require' };
  }
}
