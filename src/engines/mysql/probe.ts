import type { Connection, EngineProbe } from '../types.js';
import { neutralServer, toMysql } from './adapter.js';
import { queryRows, serverInfo, withMysql } from './client.js';
import { findMysqlTool } from './tools.js';

/**
 * What `lifeboat doctor` needs from a MySQL/MariaDB database: the server, the dump tool of its
 * flavour, and the tables of the database the user has no SELECT on. (A table the user has no
 * privilege on at all is invisible to it, and so to the dump: grant SELECT on `db`.* to be sure.)
 */
export async function probe(conn: Connection, label: string, toolsDir?: string): Promise<EngineProbe> {
  return withMysql(toMysql(conn), label, 'Doctor', async (c) => {
    const server = await serverInfo(c);
    const tool = await findMysqlTool('dump', server, label, 'Backup', toolsDir);
    const grants = (await queryRows<Record<string, string>>(c, 'SHOW GRANTS')).map((r) => Object.values(r)[0] ?? '');
    const schemaWide = grants.some((g) => /GRANT (ALL PRIVILEGES|.*\bSELECT\b.*) ON (\*|`?[^`]*`?)\.\* TO/i.test(g));
    const unreadable = schemaWide
      ? []
      : (
          await queryRows<{ t: string }>(
            c,
            `SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) AS t FROM information_schema.TABLES t
              WHERE TABLE_SCHEMA = DATABASE() AND NOT EXISTS (
                SELECT 1 FROM information_schema.TABLE_PRIVILEGES p
                 WHERE p.TABLE_SCHEMA = t.TABLE_SCHEMA AND p.TABLE_NAME = t.TABLE_NAME AND p.PRIVILEGE_TYPE = 'SELECT') LIMIT 20`,
          )
        ).map((r) => r.t);
    return { server: neutralServer(server), tool: { name: tool.name, path: tool.path, version: tool.version, major: tool.major }, unreadable };
  });
}
