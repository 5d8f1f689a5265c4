// `lifeboat status` and `lifeboat audit`: read from storage only, so they work with Temporal down.
import type { Command } from 'commander';
import { listAudit } from '../audit/log.js';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from '../audit/schema.js';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { parseDuration } from '../contracts/duration.js';
import { AUDIT_HEADERS, STATUS_HEADERS, auditRows, readFleetHealth, statusExitCode, statusRows } from '../observability/status.js';
import { openStorage } from '../storage/index.js';
import { table } from './format.js';
import { CliExit, EXIT, print, type ConfigLoader } from './shared.js';

const COLOURS = { green: '\u001b[32m', red: '\u001b[31m', yellow: '\u001b[33m', reset: '\u001b[0m' };

/** Colour on a terminal only (and never with NO_COLOR set). */
export function useColour(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

/** The status table; each database's line green (healthy), red (unhealthy, production) or yellow (unhealthy elsewhere). */
export function statusTable(rows: ReturnType<typeof statusRows>, production: boolean[], colour: boolean): string {
  const [head, ...lines] = table(
    STATUS_HEADERS.map((h) => h.toUpperCase()),
    rows.map((r) => r.cells),
  ).split('\n');
  if (!colour) return [head, ...lines].join('\n');
  const paint = (line: string, i: number) => {
    const c = rows[i]!.healthy ? COLOURS.green : production[i] ? COLOURS.red : COLOURS.yellow;
    return `${c}${line}${COLOURS.reset}`;
  };
  return [head, ...lines.map(paint)].join('\n');
}

/** `--since`: an ISO time (`2026-11-23T00:00:00Z`) or a duration back from now (`24h`, `7d`). */
export function parseSince(text: string, now = Date.now()): Date {
  const ms = parseDuration(text);
  if (ms !== undefined) return new Date(now - ms);
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t))
    throw new CliExit(EXIT.usage, `Invalid --since "${text}": expected an ISO time such as 2026-11-23T00:00:00Z or a duration such as 24h or 7d`);
  return new Date(t);
}

/** Audit entries of the given databases (all configured ones by default), from each one's first storage target, oldest first. */
export async function readAudit(
  cfg: LifeboatConfig,
  q: { databases?: string[]; since?: Date; actions?: AuditAction[] },
): Promise<{ entries: AuditEntry[]; problems: string[] }> {
  const databases = q.databases ?? Object.keys(cfg.databases);
  const entries: AuditEntry[] = [];
  const problems: string[] = [];
  for (const database of databases) {
    getDatabase(cfg, database);
    const storage = openStorage(cfg, databaseStorageNames(cfg, database)[0]!);
    try {
      const r = await listAudit(storage, { database, since: q.since, actions: q.actions });
      entries.push(...r.entries);
      problems.push(...r.problems);
    } catch (err) {
      problems.push(`${database}: ${(err as Error).message}`);
    }
  }
  entries.sort((a, b) => a.at.localeCompare(b.at) || a.key.localeCompare(b.key));
  return { entries, problems };
}

export function registerObserveCommands(program: Command, config: ConfigLoader): void {
  program
    .command('status')
    .description('health of every database from storage: freshness against its RPO, last verification, size change (exit 1 when unhealthy)')
    .option('--json', 'print the health report as JSON')
    .action(async (opts: { json?: boolean }) => {
      const cfg = config();
      const report = await readFleetHealth(cfg);
      const rows = statusRows(report);
      print(opts.json, report, () => {
        const problems = report.databases.flatMap((d) => d.problems.map((p) => `  ${d.database}: ${p.message}`));
        const text = statusTable(
          rows,
          report.databases.map((d) => d.production),
          useColour(),
        );
        return [text, ...(problems.length ? ['', 'Problems:', ...problems] : []), '', `Overall: ${report.status}`].join('\n');
      });
      if (statusExitCode(report) !== 0) throw new CliExit(EXIT.failed, '');
    });

  program
    .command('audit')
    .description('the audit log: backups, verifications, restores, approvals, purges, retention deletions, runbook steps')
    .option('--database <name>', 'only this database (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--since <time>', 'only records at or after an ISO time, or this long ago (24h, 7d)')
    .option('--action <action>', `only this action (repeatable): ${AUDIT_ACTIONS.join(', ')}`, (v: string, prev: string[] = []) => [...prev, v])
    .option('--json', 'print the records as JSON')
    .action(async (opts: { database?: string[]; since?: string; action?: string[]; json?: boolean }) => {
      const cfg = config();
      const bad = opts.action?.find((a) => !(AUDIT_ACTIONS as readonly string[]).includes(a));
      if (bad) throw new CliExit(EXIT.usage, `Invalid --action "${bad}": expected one of ${AUDIT_ACTIONS.join(', ')}`);
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const { entries, problems } = await readAudit(cfg, { databases: opts.database, since, actions: opts.action as AuditAction[] | undefined });
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      print(opts.json, entries, () =>
        entries.length === 0
          ? 'No audit records.'
          : table(
              AUDIT_HEADERS.map((h) => h.toUpperCase()),
              auditRows(entries),
            ),
      );
    });
}
