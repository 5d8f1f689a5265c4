import { Command, InvalidArgumentError, Option } from 'commander';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { loadConfig, getDatabase, databaseStorageNames, ConfigError } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { redactSecrets } from '../config/secrets.js';
import { LifeboatError } from '../errors.js';
import { connectClient } from '../temporal.js';
import { runWorker } from '../worker.js';
import { runCodecServer } from '../temporal/codec-server.js';
import { listBackups } from '../catalog/catalog.js';
import { latestVerification } from '../restore/verification.js';
import { openStorage } from '../storage/index.js';
import { BACKUP_KINDS, BackupInputSchema, backupWorkflowId, describeIssues, type BackupKind, type BackupResult } from '../contracts/index.js';
import { follow, failureCause } from './follow.js';
import { formatBytes, formatDuration, table } from './format.js';
import { LIFEBOAT_VERSION } from '../version.js';
import { registerRestoreCommands } from './restore-commands.js';
import { registerRunbookCommands, RunbookCliError } from './runbook-commands.js';
import { registerScheduleCommands } from './schedule-commands.js';
import { registerRetentionCommands } from './retention-commands.js';

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration. */
export class CliExit extends Error {
  constructor(
    public readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function uiLink(cfg: LifeboatConfig, workflowId: string): string | undefined {
  let base = cfg.temporal.uiUrl;
  if (!base) {
    const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(cfg.temporal.address);
    if (!m) return undefined;
    base = `http://${m[1]}:${Number(m[2]) + 1000}`;
  }
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

function print(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function buildProgram(): Command {
  const program = new Command('lifeboat')
    .description('Database backups, verify-by-test-restore and DR runbooks on Temporal')
    .version(LIFEBOAT_VERSION)
    .option('-c, --config <file>', 'configuration file (default: $LIFEBOAT_CONFIG or ./lifeboat.yaml)')
    .showHelpAfterError()
    .exitOverride();

  const config = (): LifeboatConfig => loadConfig(program.opts<{ config?: string }>().config);

  program
    .command('worker')
    .description('run a worker serving Lifeboat workflows and activities')
    .action(async () => {
      const cfg = config();
      await runWorker(cfg, createLogger({ level: cfg.log.level }));
    });

  program
    .command('codec-server')
    .description('decode encrypted payloads for the Temporal Web UI (POST /encode, /decode); needs temporal.payloadCodec')
    .option('--listen <host:port>', 'where to listen (default: temporal.payloadCodec.server.listen, else 127.0.0.1:8888)')
    .option('--origin <url...>', 'Web UI origins allowed by CORS (default: the configured Web UI)')
    .action(async (opts: { listen?: string; origin?: string[] }) => {
      const cfg = config();
      await runCodecServer(cfg, createLogger({ level: cfg.log.level }), { listen: opts.listen, origins: opts.origin });
    });

  program
    .command('backup')
    .description('take a backup of a configured database')
    .argument('<database>', 'database name from the configuration')
    .addOption(new Option('-k, --kind <kind>', 'what to back up').choices([...BACKUP_KINDS]).default('full'))
    .option('-w, --wait', 'follow the backup until it ends, with live progress')
    .option('--json', 'print a machine-readable result')
    .option('--id <workflowId>', 'workflow id (default: backup:<db>:<kind>:<time>)')
    .action(async (database: string, opts: { kind: BackupKind; wait?: boolean; json?: boolean; id?: string }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const parsed = BackupInputSchema.safeParse({ database, kind: opts.kind });
      if (!parsed.success) throw new CliExit(2, `Invalid backup request: ${describeIssues(parsed.error)}`);
      const client = await connectClient(cfg);
      try {
        const workflowId = opts.id ?? backupWorkflowId(database, opts.kind, new Date());
        let handle;
        try {
          handle = await client.workflow.start('backupDatabase', {
            taskQueue: cfg.temporal.taskQueue,
            workflowId,
            args: [parsed.data],
            memo: { database, kind: opts.kind },
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliExit(1, `Backup not started: workflow ${workflowId} is already running`);
          throw err;
        }
        const link = uiLink(cfg, workflowId);
        if (!opts.wait) {
          print(Boolean(opts.json), { workflowId, runId: handle.firstExecutionRunId, ui: link }, () =>
            [`Started backup of ${database} (${opts.kind}): ${workflowId}`, link ? `Follow it at ${link}` : ''].filter(Boolean).join('\n'),
          );
          return;
        }
        if (!opts.json) process.stderr.write(`Backing up ${database} (${opts.kind}): ${workflowId}\n`);
        try {
          const result = await follow<BackupResult>(client, handle, { out: process.stderr });
          print(Boolean(opts.json), { ok: true, workflowId, ...result }, () =>
            [
              `Backup ${result.backupId} of ${database} committed`,
              `  stored at  ${result.location}`,
              `  size       ${formatBytes(result.bytes)} stored, ${formatBytes(result.rawBytes)} dumped`,
              `  sha256     ${result.sha256}`,
              `  took       ${formatDuration(result.durationMs)}${result.tables !== null ? `, ${result.tables} tables counted` : ''}`,
              link ? `  workflow   ${link}` : '',
            ]
              .filter(Boolean)
              .join('\n'),
          );
        } catch (err) {
          const cause = failureCause(err);
          if (opts.json) print(true, { ok: false, workflowId, error: cause }, () => '');
          throw new CliExit(1, `Backup of ${database} failed: ${cause.message}${cause.type ? ` [${cause.type}]` : ''}`);
        }
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('backups')
    .description('list the committed backups of a database, newest first')
    .argument('<database>', 'database name from the configuration')
    .option('--storage <name>', 'storage target to list (default: the database\'s first)')
    .option('--json', 'print a machine-readable list')
    .action(async (database: string, opts: { storage?: string; json?: boolean }) => {
      const cfg = config();
      const storageName = opts.storage ?? databaseStorageNames(cfg, database)[0]!;
      const storage = openStorage(cfg, storageName);
      const { backups, problems } = await listBackups(storage, database);
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      const verified = await Promise.all(backups.map((m) => latestVerification(storage, database, m.backupId).catch(() => undefined)));
      const rows = backups.map((m, i) => ({ ...m, lastVerification: verified[i] ?? null }));
      print(Boolean(opts.json), rows, () => {
        if (backups.length === 0) return `No committed backups of ${database} in ${storageName}.`;
        return table(
          ['BACKUP ID', 'KIND', 'STARTED', 'DUMPED', 'STORED', 'TABLES', 'VERIFIED', 'RTO', 'SHA256'],
          rows.map((m) => [
            m.backupId,
            m.kind,
            m.startedAt.replace(/\.\d{3}Z$/, 'Z'),
            formatBytes(m.rawBytes),
            formatBytes(m.artifact.bytes),
            m.rowCounts ? String(Object.keys(m.rowCounts.tables).length) : '-',
            m.lastVerification ? `${m.lastVerification.outcome} ${m.lastVerification.verifiedAt.slice(0, 10)}` : '-',
            m.lastVerification?.restoreDurationMs != null ? formatDuration(m.lastVerification.restoreDurationMs) : '-',
            `${m.artifact.sha256.slice(0, 12)}…`,
          ]),
        );
      });
    });

  registerRestoreCommands(program, config);
  registerScheduleCommands(program, config);
  registerRetentionCommands(program, config);
  registerRunbookCommands(program, config);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
    }
    if (err instanceof CliExit || err instanceof RunbookCliError) {
      process.stderr.write(`${redactSecrets(err.message)}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    if (err instanceof LifeboatError) {
      process.stderr.write(`${redactSecrets(err.message)}\n`);
      return err.code === 'UNKNOWN_DATABASE' || err.code === 'UNKNOWN_STORAGE' ? 2 : 1;
    }
    process.stderr.write(`${redactSecrets((err as Error)?.stack ?? String(err))}\n`);
    return 1;
  }
}

export { InvalidArgumentError };
