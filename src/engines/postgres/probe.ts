import type { Connection, EngineProbe } from '../types.js';
import { connectPg } from './connection.js';
import { serverInfo } from './catalog.js';
import { findPgTool } from './tools.js';

// Relations pg_dump reads that this role cannot: each would fail a backup with "permission denied".
const UNREADABLE_SQL = `
select n.nspname || '.' || c.relname as name
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind in ('r', 'p', 'm', 'S')
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'
  and not (case when c.relkind = 'S' then has_sequence_privilege(c.oid, 'SELECT') else has_table_privilege(c.oid, 'SELECT') end)
order by 1 limit 20`;

/** What `lifeboat doctor` needs to know about a PostgreSQL database before a backup runs. */
export async function probe(conn: Connection, label: string, toolsDir?: string): Promise<EngineProbe> {
  const client = await connectPg(conn, label);
  try {
    const server = await serverInfo(client);
    const unreadable = (await client.query<{ name: string }>(UNREADABLE_SQL)).rows.map((r) => r.name);
    const tool = await findPgTool('pg_dump', server.major, label, toolsDir, 'Backup');
    return { server, tool, unreadable };
  } finally {
    await client.end().catch(() => undefined);
  }
}
