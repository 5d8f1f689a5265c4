// Point-in-time recovery from the CLI: `base-backup`, `restore <db> --to-time/--to-lsn/--to-name`,
// `restore-point`, `verify-point`, `archive-check`, and the help entries of `wal-push`/`wal-fetch`
// (which bin/lifeboat.js runs on a fast path without this command tree).
import type { Command } from 'commander';
import { getDatabase } from '../config/load.js';
import {
  PitrRestoreInputSchema,
  VerifyRecoveryPointInputSchema,
  WORKFLOWS,
  compactTimestamp,
  describeIssues,
  type PitrRestoreResult,
  type RecoveryPointVerification,
} from '../contracts/index.js';
import { formatBytes } from './format.js';
import { CliExit, EXIT, print, startAndFollow, withClient, type ConfigLoader } from './shared.js';

export interface PitrTargetOptions {
  toTime?: string;
  toLsn?: string;
  toName?: string;
  baseBackup?: string;
  wait?: boolean;
  json?: boolean;
  id?: string;
}

/** True when a `restore` asks for a point in time rather than a dump. */
export function wantsPointInTime(opts: PitrTargetOptions): boolean {
  return opts.toTime !== undefined || opts.toLsn !== undefined || opts.toName !== undefined;
}

function pitrSummary(r: PitrRestoreResult): string {
  return [
    `Recovered ${r.database} from base backup ${r.backupId} to ${r.recoveredTo ?? 'the end of the archive'} in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  ${formatBytes(r.walReplayedBytes)} of WAL replayed (${r.segmentsRestored} files fetched), last LSN ${r.replayedLsn}`,
    `  server running on ${r.host}:${r.port}, data directory ${r.dataDir}`,
  ].join('\n');
}

function verifySummary(r: RecoveryPointVerification): string {
  const rpo = r.achievedRpoMs === null ? 'n/a' : `${(r.achievedRpoMs / 1000).toFixed(1)} s`;
  return [
    `Recovery point of ${r.database} ${r.outcome}: base backup ${r.backupId}, recovered to ${r.recoveredTo ?? '-'}`,
    `  RTO ${(r.rtoMs / 1000).toFixed(1)} s, achieved RPO ${rpo}, ${Object.keys(r.rowCounts).length} tables counted, ${r.checks.filter((c) => c.ok).length}/${r.checks.length} checks passed, server ${r.serverStopped ? 'stopped' : 'NOT stopped'}`,
  ].join('\n');
}

/** `lifeboat restore <db> --to-time|--to-lsn|--to-name`: a new server process recovered to that point. */
export async function pointInTimeRestoreCommand(config: ConfigLoader, database: string, opts: PitrTargetOptions): Promise<void> {
  const cfg = config();
  getDatabase(cfg, database);
  const parsed = PitrRestoreInputSchema.safeParse({ database, toTime: opts.toTime, toLsn: opts.toLsn, toName: opts.toName, baseBackup: opts.baseBackup });
  if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid point-in-time restore: ${describeIssues(parsed.error)}`);
  const workflowId = opts.id ?? `pitr:${database}:${compactTimestamp(new Date())}`;
  await withClient(cfg, (client) =>
    startAndFollow(client, cfg, WORKFLOWS.pointInTimeRestore, parsed.data, {
      workflowId,
      memo: { database },
      alreadyRunning: `Point-in-time restore not started: workflow ${workflowId} is already running`,
      wait: opts.wait,
      json: opts.json,
      started: `Started point-in-time restore of ${database}`,
      following: `Recovering ${database}`,
      failure: `Recovery of ${database}`,
      summary: pitrSummary,
    }),
  );
}

function registerBaseBackup(program: Command, config: ConfigLoader): void {
  program
    .command('base-backup')
    .description('take a base backup (pg_basebackup) for point-in-time recovery')
    .argument('<database>', 'database name from the configuration')
    .option('-w, --wait', 'follow the base backup until it ends')
    .option('--json', 'print a machine-readable result')
    .option('--id <workflowId>', 'workflow id (default: base:<db>:<time>)')
    .option('--max-rate <rate>', 'cap the read rate on the server (pg_basebackup --max-rate), e.g. 50M')
    .action(async (database: string, opts: { wait?: boolean; json?: boolean; id?: string; maxRate?: string }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const workflowId = opts.id ?? `base:${database}:${compactTimestamp(new Date())}`;
      await withClient(cfg, (client) =>
        startAndFollow(
          client,
          cfg,
          WORKFLOWS.baseBackup,
          { database, ...(opts.maxRate ? { maxRate: opts.maxRate } : {}) },
          {
            workflowId,
            memo: { database },
            alreadyRunning: `Base backup not started: workflow ${workflowId} is already running`,
            wait: opts.wait,
            json: opts.json,
            started: `Started base backup of ${database}`,
            following: `Base backup of ${database}`,
            failure: `Base backup of ${database}`,
            summary: (r) =>
              `Base backup ${r.backupId} of ${database}: WAL ${r.startLsn} to ${r.stopLsn} (timeline ${r.startTimeline}), ${formatBytes(r.rawBytes)} -> ${formatBytes(r.storedBytes)} stored`,
          },
        ),
      );
    });
}

function registerRestorePoint(program: Command, config: ConfigLoader): void {
  program
    .command('restore-point')
    .description('create a named restore point (pg_create_restore_point) to recover to with restore --to-name')
    .argument('<database>', 'database name from the configuration')
    .argument('<name>', 'restore point name')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, name: string, opts: { json?: boolean }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const workflowId = `restore-point:${database}:${name}`;
      await withClient(cfg, (client) =>
        startAndFollow(
          client,
          cfg,
          WORKFLOWS.createRestorePoint,
          { database, name },
          {
            workflowId,
            alreadyRunning: `Restore point not created: workflow ${workflowId} is already running`,
            wait: true,
            json: opts.json,
            started: `Creating restore point ${name}`,
            following: `Creating restore point ${name} on ${database}`,
            failure: `Restore point ${name} of ${database}`,
            summary: (r) => `Restore point ${r.name} of ${database} at LSN ${r.lsn} (${r.createdAt})`,
          },
        ),
      );
    });
}

function registerVerifyPoint(program: Command, config: ConfigLoader): void {
  program
    .command('verify-point')
    .description('verify a recovery point: recover into a scratch server, count rows, run the checks, record RTO and RPO, stop it')
    .argument('<database>', 'database name from the configuration')
    .option('--to-time <time>', 'ISO time to recover to (default: now)')
    .option('--to-lsn <lsn>', 'LSN to recover to')
    .option('--to-name <name>', 'restore point to recover to')
    .option('-w, --wait', 'follow the verification until it ends')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, opts: PitrTargetOptions) => {
      const cfg = config();
      getDatabase(cfg, database);
      const parsed = VerifyRecoveryPointInputSchema.safeParse({ database, toTime: opts.toTime, toLsn: opts.toLsn, toName: opts.toName });
      if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid recovery point verification: ${describeIssues(parsed.error)}`);
      const workflowId = `verify-point:${database}:${compactTimestamp(new Date())}`;
      await withClient(cfg, (client) =>
        startAndFollow(client, cfg, WORKFLOWS.verifyRecoveryPoint, parsed.data, {
          workflowId,
          alreadyRunning: `Verification not started: workflow ${workflowId} is already running`,
          wait: opts.wait,
          json: opts.json,
          started: `Started verification of a recovery point of ${database}`,
          following: `Verifying a recovery point of ${database}`,
          summary: verifySummary,
        }),
      );
    });
}

function registerArchiveCheck(program: Command, config: ConfigLoader): void {
  program
    .command('archive-check')
    .description('check the WAL archive of a database: gaps, and the newest segment against the RPO (reads storage only)')
    .argument('<database>', 'database name from the configuration')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, opts: { json?: boolean }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const { archiveRpoMs, checkArchive } = await import('../pitr/archive-check.js');
      const { walStorage } = await import('../pitr/wal-archive.js');
      const s = await checkArchive(walStorage(cfg, database), database, archiveRpoMs(cfg, database));
      if (!s) throw new CliExit(EXIT.failed, `WAL archive of ${database} is empty and it has no base backup: point-in-time recovery is not set up`);
      print(opts.json, s, () =>
        [
          `WAL archive of ${database}: ${s.segments} segments (${s.firstSegment ?? '-'} .. ${s.newestSegment ?? '-'}), ${s.baseBackups} base backups, newest ${s.newestAgeSeconds ?? '-'} s old (RPO ${s.rpoSeconds} s)`,
          ...s.problems.map((p) => `  PROBLEM: ${p}`),
        ].join('\n'),
      );
      if (!s.ok) throw new CliExit(EXIT.failed, '');
    });
}

function registerPitrRetention(program: Command, config: ConfigLoader): void {
  program
    .command('pitr-retention')
    .description('delete base backups beyond the newest --keep and the WAL only they needed')
    .argument('<database>', 'database name from the configuration')
    .requiredOption('--keep <n>', 'base backups to keep (at least 1)', (v) => Number(v))
    .option('--dry-run', 'only print what would be deleted')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, opts: { keep: number; dryRun?: boolean; json?: boolean }) => {
      const cfg = config();
      getDatabase(cfg, database);
      if (!Number.isInteger(opts.keep) || opts.keep < 1) throw new CliExit(EXIT.usage, 'Invalid --keep: expected an integer of at least 1');
      const { applyPitrRetention } = await import('../pitr/retention.js');
      const { walStorage } = await import('../pitr/wal-archive.js');
      const r = await applyPitrRetention(walStorage(cfg, database), database, opts.keep, opts.dryRun ?? false);
      print(
        opts.json,
        r,
        () =>
          `${r.dryRun ? 'Would delete' : 'Deleted'} ${r.deleteBase.length} base backups and ${r.deleteWal.length} WAL files of ${database}; kept ${r.keepBase.join(', ') || 'none'}`,
      );
    });
}

function registerWalHelp(program: Command): void {
  for (const [name, args, what] of [
    ['wal-push', '<path>', "archive_command: archive one WAL file (%p) into the database's storage"],
    ['wal-fetch', '<file> <path>', 'restore_command: fetch WAL file %f from the archive into %p (exit 1 when absent)'],
  ] as const) {
    program
      .command(name)
      .description(`${what}; --db NAME selects the database`)
      .arguments(args)
      .option('--db <name>', 'database name from the configuration')
      .action(async () => {
        const { runWalCommand } = await import('../pitr/wal-cli.js');
        const code = await runWalCommand(process.argv.slice(2));
        if (code !== 0) throw new CliExit(code, '');
      });
  }
}

/** The point-in-time recovery commands. */
export function registerPitrCommands(program: Command, config: ConfigLoader): void {
  registerBaseBackup(program, config);
  registerRestorePoint(program, config);
  registerVerifyPoint(program, config);
  registerArchiveCheck(program, config);
  registerPitrRetention(program, config);
  registerWalHelp(program);
}
