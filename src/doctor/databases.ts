import type { LifeboatConfig } from '../config/schema.js';
import { resolveConnection } from '../engines/index.js';
import { LifeboatError } from '../errors.js';
import { fail, ok, warn, within, type DoctorCheck } from './types.js';

function fixFor(err: unknown, name: string, envName: string | undefined): string {
  const code = err instanceof LifeboatError ? err.code : undefined;
  const urlRef = envName ? `the URL in ${envName}` : `databases.${name}.url`;
  switch (code) {
    case 'SECRET_UNAVAILABLE':
      return envName ? `set ${envName} to the database URL (postgres://user:password@host:5432/dbname)` : `make databases.${name}.url readable`;
    case 'AUTH_FAILED':
      return `correct the user or password in ${urlRef}`;
    case 'DATABASE_NOT_FOUND':
      return `correct the database name in ${urlRef}, or create the database`;
    case 'TOOL_MISSING':
    case 'TOOL_TOO_OLD':
      return `install a client as new as the server (Debian: postgresql-client-<major> from apt.postgresql.org), or set databases.${name}.toolsDir`;
    case 'UNSUPPORTED':
      return 'use an engine this version supports';
    default:
      return `check the host and port in ${urlRef}, the network, and TLS (sslmode)`;
  }
}

/** One database: reachable, its version, a dump tool for it, and privileges to dump every table. */
export async function checkDatabase(cfg: LifeboatConfig, name: string): Promise<DoctorCheck[]> {
  const db = cfg.databases[name]!;
  const part = `database ${name}`;
  const envName = typeof db.url === 'object' && 'env' in db.url ? db.url.env : undefined;
  try {
    const { engine, conn } = resolveConnection(cfg, db, `databases.${name}.url`, `Doctor of ${name}`, name);
    if (!engine.probe) return [ok(part, 'reachable', `${engine.name}: not probed by this engine`)];
    const p = await within(engine.probe(conn, name, db.toolsDir), 20_000, `${engine.name} at ${conn.host}:${conn.port}`);
    const checks = [
      ok(part, 'reachable', `${engine.name} ${p.server.version} at ${conn.host}:${conn.port}/${conn.database} as ${conn.user}`),
      ok(part, 'dump tool', `${p.tool.name} ${p.tool.version} (${p.tool.path})`),
    ];
    checks.push(
      p.unreadable.length
        ? fail(
            part,
            'privileges',
            `${conn.user} cannot read ${p.unreadable.length === 20 ? '20 or more' : p.unreadable.length} relation(s): ${p.unreadable.slice(0, 5).join(', ')}`,
            `grant SELECT on them to ${conn.user} (or back up as their owner)`,
          )
        : ok(part, 'privileges', `${conn.user} can read every table and sequence`),
    );
    if (p.server.sizeBytes !== undefined) checks.push(ok(part, 'size', `${(p.server.sizeBytes / 1024 / 1024).toFixed(1)} MiB`));
    return checks;
  } catch (err) {
    const message = (err as Error).message;
    if ((err as LifeboatError).code === 'UNSUPPORTED') return [warn(part, 'engine', message, fixFor(err, name, envName))];
    return [fail(part, 'reachable', message, fixFor(err, name, envName))];
  }
}
