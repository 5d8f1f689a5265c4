import { Option, type Command } from 'commander';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import {
  BACKUP_KINDS,
  BackupInputSchema,
  WORKFLOWS,
  backupWorkflowId,
  describeIssues,
  type BackupKind,
  type BackupWithCopiesResult,
} from '../contracts/index.js';
import { durationOrDash, formatBytes, formatDuration, shortIso, table } from './format.js';
import { CliExit, EXIT, print, startAndFollow, withClient, type ConfigLoader } from './shared.js';

function backupSummary(database: string, r: BackupWithCopiesResult, link?: string): string {
  return [
    `Backup ${r.backupId} of ${database} committed`,
    `  stored at  ${r.location}`,
    `  size       ${formatBytes(r.bytes)} stored, ${formatBytes(r.rawBytes)} dumped`,
    `  sha256     ${r.sha256}`,
    `  took       ${formatDuration(r.durationMs)}${r.tables !== null ? `, ${r.tables} tables counted` : ''}`,
    ...(r.copies ?? []).map((c) => `  copied to  ${c.location} (${c.status === 'already-present' ? 'already there' : formatDuration(c.durationMs)})`),
    link ? `  workflow   ${link}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** `lifeboat codec-server`: decodes payloads for the Web UI. */
function registerCodecServerCommand(program: Command, config: ConfigLoader): void {
  program
    .command('codec-server')
    .description('decode encrypted payloads for the Temporal Web UI (POST /encode, /decode); needs temporal.payloadCodec')
    .option('--listen <host:port>', 'where to listen (default: temporal.payloadCodec.server.listen, else 127.0.0.1:8888)')
    .option('--origin <url...>', 'Web UI origins allowed by CORS (default: the configured Web UI)')
    .action(async (opts: { listen?: string; origin?: string[] }) => {
      const cfg = config();
      const [{ runCodecServer }, { createLogger }] = await Promise.all([import('../temporal/codec-server.js'), import('../logger.js')]);
      await runCodecServer(cfg, createLogger({ level: cfg.log.level }), { listen: opts.listen, origins: opts.origin });
    });
}

/** `lifeboat worker`, `lifeboat codec-server`, `lifeboat backup` and `lifeboat backups`. */
export function registerBackupCommands(program: Command, config: ConfigLoader): void {
  program
    .command('worker')
    .description('run a worker serving Lifeboat workflows and activities')
    .option(
      '--restore-only',
      'serve only the restore activity of restores and verifications, on temporal.restoreTaskQueue (the worker holding restore.identities)',
    )
    .action(async (opts: { restoreOnly?: boolean }) => {
      const cfg = config();
      const [{ runWorker }, { createLogger }] = await Promise.all([import('../worker.js'), import('../logger.js')]);
      await runWorker(cfg, createLogger({ level: cfg.log.level }), { restoreOnly: opts.restoreOnly });
    });

  registerCodecServerCommand(program, config);

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
      if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid backup request: ${describeIssues(parsed.error)}`);
      const workflowId = opts.id ?? backupWorkflowId(database, opts.kind, new Date());
      await withClient(cfg, (client) =>
        startAndFollow(client, cfg, WORKFLOWS.backupDatabase, parsed.data, {
          workflowId,
          memo: { database, kind: opts.kind },
          alreadyRunning: `Backup not started: workflow ${workflowId} is already running`,
          wait: opts.wait,
          json: opts.json,
          started: `Started backup of ${database} (${opts.kind})`,
          following: `Backing up ${database} (${opts.kind})`,
          failure: `Backup of ${database}`,
          summary: (r, link) => backupSummary(database, r, link),
        }),
      );
    });

  registerBackupsCommand(program, config);
}

/** `lifeboat backups`: read from storage. */
function registerBackupsCommand(program: Command, config: ConfigLoader): void {
  program
    .command('backups')
    .description('list the committed backups of a database, newest first')
    .argument('<database>', 'database name from the configuration')
    .option('--storage <name>', "storage target to list (default: the database's first)")
    .option('--json', 'print a machine-readable list')
    .action(async (database: string, opts: { storage?: string; json?: boolean }) => {
      const cfg = config();
      const storageName = opts.storage ?? databaseStorageNames(cfg, database)[0]!;
      const [{ openStorage }, { listBackups }, { latestVerification }] = await Promise.all([
        import('../storage/index.js'),
        import('../catalog/catalog.js'),
        import('../restore/verification.js'),
      ]);
      const storage = openStorage(cfg, storageName);
      const { backups, problems } = await listBackups(storage, database);
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      const verified = await Promise.all(backups.map((m) => latestVerification(storage, database, m.backupId).catch(() => undefined)));
      const rows = backups.map((m, i) => ({ ...m, lastVerification: verified[i] ?? null }));
      print(opts.json, rows, () => {
        if (backups.length === 0) return `No committed backups of ${database} in ${storageName}.`;
        return table(
          ['BACKUP ID', 'KIND', 'STARTED', 'DUMPED', 'STORED', 'TABLES', 'VERIFIED', 'RTO', 'SHA256'],
          rows.map((m) => [
            m.backupId,
            m.kind,
            shortIso(m.startedAt),
            formatBytes(m.rawBytes),
            formatBytes(m.artifact.bytes),
            m.rowCounts ? String(Object.keys(m.rowCounts.tables).length) : '-',
            m.lastVerification ? `${m.lastVerification.outcome} ${m.lastVerification.verifiedAt.slice(0, 10)}` : '-',
            durationOrDash(m.lastVerification?.restoreDurationMs),
            `${m.artifact.sha256.slice(0, 12)}…`,
          ]),
        );
      });
    });
}
