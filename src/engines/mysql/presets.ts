import type { MysqlPreset, MysqlProvider } from './types.js';

const HOST_RULES: Array<[RegExp, MysqlProvider]> = [
  [/\.psdb\.cloud$/i, 'planetscale'],
  [/\.rds\.([a-z0-9-]+\.)?amazonaws\.com(\.cn)?$/i, 'rds'],
  [/\.mysql\.database\.(azure\.com|chinacloudapi\.cn|usgovcloudapi\.net)$/i, 'azure'],
  [/\.mariadb\.database\.azure\.com$/i, 'azure'],
  [/\.db\.ondigitalocean\.com$/i, 'digitalocean'],
  [/(\.rlwy\.net|\.railway\.app|\.railway\.internal)$/i, 'railway'],
];

/** Detects a hosted MySQL provider from the host name; `self-hosted` when nothing matches. */
export function detectMysqlProvider(host: string): MysqlProvider {
  const h = host.replace(/\.$/, '');
  for (const [re, p] of HOST_RULES) if (re.test(h)) return p;
  return 'self-hosted';
}

const DEFINER_NOTE =
  'routines, triggers, events and views keep their DEFINER: restoring them as another user needs SET_USER_ID/SUPER (or log_bin_trust_function_creators=1 for functions)';

const PRESETS: Record<MysqlProvider, Omit<MysqlPreset, 'provider'>> = {
  'self-hosted': { tls: 'preferred', programs: true, noLocking: false, restoreNotes: [] },
  rds: {
    tls: 'required',
    programs: true,
    noLocking: false,
    restoreNotes: [DEFINER_NOTE, 'no SUPER privilege: GTID_PURGED and SQL_LOG_BIN cannot be set on restore'],
  },
  azure: { tls: 'required', programs: true, noLocking: false, restoreNotes: [DEFINER_NOTE, 'no SUPER privilege: GTID_PURGED cannot be set on restore'] },
  digitalocean: {
    tls: 'required',
    programs: true,
    noLocking: false,

    restoreNotes: [DEFINER_NOTE, 'sql_require_primary_key is on: every restored table needs a primary key'],
  },
  railway: { tls: 'preferred', programs: true, noLocking: false, restoreNotes: [] },
  planetscale: {
    tls: 'verify-identity',
    programs: false,
    noLocking: true,

    dumpInitCommand: "SET workload = 'olap'",
    restoreNotes: [
      'databases are created in PlanetScale, not by SQL: restore into an existing branch (a named target, approved)',
      'stored routines, triggers and events are not dumped: PlanetScale rejects them',
      'no LOCK TABLES, no GTID or binlog statements; restore in OLAP mode for long imports (20 s transaction and 900 s query limits otherwise)',
      'foreign key constraints need foreign key support enabled on the database',
    ],
  },
};

/** The preset of a provider (configured, else detected from the host). */
export function mysqlPreset(configured: MysqlProvider | undefined, host: string): MysqlPreset {
  const provider = configured ?? detectMysqlProvider(host);
  return { provider, ...PRESETS[provider], restoreNotes: [...PRESETS[provider].restoreNotes] };
}
