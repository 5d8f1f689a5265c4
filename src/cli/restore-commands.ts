import { Option, type Command } from 'commander';
import { getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import {
  OVERWRITE_MODES,
  PRIVILEGE_MODES,
  RESTORE_MODES,
  RestoreInputSchema,
  VerifyInputSchema,
  WORKFLOWS,
  describeIssues,
  restoreProgressQuery,
  restoreWorkflowId,
  verifyWorkflowId,
  type RestoreRequestInput,
  type WorkflowTypes,
} from '../contracts/index.js';
import { osUser } from '../identity.js';
import { describeHeartbeat, progressWriter } from './progress.js';
import { approveRestore, approverIdentity, restoreSummary, restoreTick, verifySummary, verifyTick } from './restore-follow.js';
import { CliExit, EXIT, print, startAndFollow, withClient, type ConfigLoader } from './shared.js';
import { pointInTimeRestoreCommand, wantsPointInTime, type PitrTargetOptions } from './pitr-commands.js';

interface RestoreOptions {
  target: string;
  backup?: string;
  before?: string;
  mode?: string;
  tables?: string;
  privileges: string;
  withRoles?: boolean;
  overwrite?: string;
  jobs?: number;
  approve?: string;
  approver?: string;
  approvalTimeout?: string;
  wait?: boolean;
  json?: boolean;
  local?: boolean;
  id?: string;
}

function selector(opts: { backup?: string; before?: string }): unknown {
  if (opts.before && opts.backup) throw new CliExit(EXIT.usage, 'Use either --backup or --before, not both');
  return opts.before ? { before: opts.before } : (opts.backup ?? 'latest');
}

function restoreRequest(database: string, opts: RestoreOptions): RestoreRequestInput {
  const tables = opts.tables
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const parsed = RestoreInputSchema.safeParse({
    database,
    backup: selector(opts),
    target: opts.target,
    mode: opts.mode ?? (tables ? 'tables' : 'full'),
    ...(tables ? { tables } : {}),
    privileges: opts.privileges,
    ...(opts.withRoles ? { withRoles: true } : {}),
    ...(opts.overwrite ? { overwrite: opts.overwrite } : {}),
    ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
    ...(opts.approvalTimeout ? { approvalTimeout: opts.approvalTimeout } : {}),
    requestedBy: osUser(),
  });
  if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid restore request: ${describeIssues(parsed.error)}`);
  if (opts.approve !== undefined && opts.approve !== opts.target) {
    throw new CliExit(EXIT.usage, `--approve must repeat the target name exactly: expected "${opts.target}", got "${opts.approve}"`);
  }
  return parsed.data;
}

/** Break-glass: the same restore in this process, without Temporal (`--local`). */
async function restoreViaLocal(cfg: LifeboatConfig, input: RestoreRequestInput, opts: RestoreOptions): Promise<void> {
  const [{ pino }, { createLogger }, { restoreLocally }] = await Promise.all([import('pino'), import('../logger.js'), import('../restore/local.js')]);
  const log = createLogger({ level: process.env.LIFEBOAT_LOG_LEVEL ?? 'warn', destination: pino.destination({ dest: 2, sync: true }) });
  const w = progressWriter(process.stderr);
  const ac = new AbortController();
  let interrupted = 0;
  const onSigint = () => {
    if (++interrupted > 1) process.exit(130);
    w.note('Interrupted: stopping the restore (and dropping a database it created)…');
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  const started = Date.now();
  try {
    const result = await restoreLocally(cfg, input, {
      approveTarget: opts.approve,
      log,
      signal: ac.signal,
      onBackup: (b) => {
        if (!opts.json) w.note(`Restoring ${b.database} backup ${b.backupId} (${b.kind}, started ${b.startedAt}) into ${input.target}, without Temporal`);
      },
      onProgress: (p) => w.line(describeHeartbeat({ activity: 'restore', ...p, elapsedMs: Date.now() - started }, { tty: w.live })),
    });
    w.clear();
    print(opts.json, { ok: true, local: true, ...result }, () => restoreSummary(result));
  } catch (err) {
    w.clear();
    if (opts.json) print(true, { ok: false, local: true, error: { type: (err as { code?: string }).code, message: (err as Error).message } }, () => '');
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function registerRestore(program: Command, config: ConfigLoader): void {
  program
    .command('restore')
    .description('restore a backup into a new database, a named target, or (approved) an existing database')
    .argument('<database>', 'source database name from the configuration')
    .option('-t, --target <target>', "a target from the configuration, or a new database name on the source's server")
    .option('--to-time <time>', 'point-in-time recovery to this ISO time into a new server (WAL archiving, docs/pitr.md)')
    .option('--to-lsn <lsn>', 'point-in-time recovery to this LSN into a new server')
    .option('--to-name <name>', 'point-in-time recovery to a restore point (lifeboat restore-point) into a new server')
    .option('--base-backup <id>', 'with --to-*: start from this base backup instead of the newest before the target')
    .option('-b, --backup <backup>', 'backup id, "latest" or "latest-verified" (default: latest)')
    .option('--before <time>', 'the newest backup started at or before this ISO time')
    .addOption(new Option('-m, --mode <mode>', 'what to restore (default: full; tables with --tables)').choices([...RESTORE_MODES]))
    .option('--tables <list>', 'comma-separated tables to restore, as schema.table')
    .addOption(new Option('--privileges <mode>', 'skip or restore owners and grants').choices([...PRIVILEGE_MODES]).default('skip'))
    .option('--with-roles', "first restore the roles stored with the backup onto the target's server (no passwords)")
    .addOption(
      new Option('--overwrite <how>', 'over an existing database: swap (restore beside it, then rename; default) or in-place').choices([...OVERWRITE_MODES]),
    )
    .option('-j, --jobs <n>', 'parallel pg_restore jobs (new databases only)', (v) => Number(v))
    .option('--approve <target>', 'approve overwriting the target: type its name out')
    .option('--approver <name>', 'optional check: must be your OS user name (approvals are made as the OS user)')
    .option('--approval-timeout <duration>', 'how long the restore waits for an approval (default: 1 hour)')
    .option('-w, --wait', 'follow the restore until it ends, with live progress')
    .option('--json', 'print a machine-readable result')
    .option('--local', 'restore in this process, without Temporal (break-glass)')
    .option('--id <workflowId>', 'workflow id (default: restore:<target>)')
    .action(async (database: string, opts: RestoreOptions & PitrTargetOptions) => {
      if (wantsPointInTime(opts)) return pointInTimeRestoreCommand(config, database, opts);
      if (!opts.target) throw new CliExit(EXIT.usage, "error: required option '-t, --target <target>' not specified");
      const cfg = config();
      getDatabase(cfg, database);
      const input = restoreRequest(database, opts);
      if (opts.local) {
        if (opts.approve !== undefined) approverIdentity(opts.approver);
        return restoreViaLocal(cfg, input, opts);
      }
      const workflowId = opts.id ?? restoreWorkflowId(opts.target);
      const approver = opts.approve !== undefined ? approverIdentity(opts.approver) : undefined;
      await withClient(
        cfg,
        (client) =>
          startAndFollow(client, cfg, WORKFLOWS.restoreDatabase, input, {
            workflowId,
            memo: { database, target: opts.target },
            alreadyRunning: `Restore not started: another restore into ${opts.target} is running (${workflowId})`,
            wait: opts.wait || approver !== undefined,
            json: opts.json,
            started: `Started restore of ${database} into ${opts.target}`,
            following: `Restoring ${database} into ${opts.target}`,
            summary: restoreSummary,
            tick: restoreTick(client.workflow.getHandle<WorkflowTypes['restoreDatabase']>(workflowId), { target: opts.target, approver }),
          }),
        '; to restore without Temporal, add --local',
      );
    });
}

function registerApproveRestore(program: Command, config: ConfigLoader): void {
  program
    .command('approve-restore')
    .description('approve a restore that waits for an approval (protected, non-empty or source target)')
    .argument('<workflowId>', 'the restore workflow id, e.g. restore:orders_staging')
    .requiredOption('--approve <target>', "the restore's target, typed out")
    .option('--approver <name>', 'optional check: must be your OS user name (approvals are made as the OS user)')
    .option('--json', 'print a machine-readable result')
    .action(async (workflowId: string, opts: { approve: string; approver?: string; json?: boolean }) => {
      const cfg = config();
      await withClient(cfg, async (client) => {
        const handle = client.workflow.getHandle<WorkflowTypes['restoreDatabase']>(workflowId);
        const state = await handle.query(restoreProgressQuery);
        if (opts.approve !== state.target)
          throw new CliExit(EXIT.usage, `--approve must repeat the target name exactly: expected "${state.target}", got "${opts.approve}"`);
        const approver = approverIdentity(opts.approver);
        await approveRestore(handle, approver, opts.approve);
        print(
          opts.json,
          { ok: true, workflowId, approvedBy: approver, target: state.target },
          () => `Approved the restore of ${state.database} into ${state.target} as ${approver}`,
        );
      });
    });
}

function registerVerify(program: Command, config: ConfigLoader): void {
  program
    .command('verify')
    .description('verify a backup by restoring it into a scratch database and checking it')
    .argument('<database>', 'database name from the configuration')
    .option('-b, --backup <backup>', 'backup id, "latest" or "latest-verified" (default: latest)')
    .option('--before <time>', 'the newest backup started at or before this ISO time')
    .option('-w, --wait', 'follow the verification until it ends, with live progress')
    .option('--json', 'print a machine-readable result')
    .option('--id <workflowId>', 'workflow id (default: verify:<db>:<time>)')
    .action(async (database: string, opts: { backup?: string; before?: string; wait?: boolean; json?: boolean; id?: string }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const parsed = VerifyInputSchema.safeParse({ database, backup: selector(opts) });
      if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid verification request: ${describeIssues(parsed.error)}`);
      const workflowId = opts.id ?? verifyWorkflowId(database, new Date());
      await withClient(cfg, (client) =>
        startAndFollow(client, cfg, WORKFLOWS.verifyBackup, parsed.data, {
          workflowId,
          memo: { database },
          alreadyRunning: `Verification not started: workflow ${workflowId} is already running`,
          wait: opts.wait,
          json: opts.json,
          started: `Started verification of ${database}`,
          following: `Verifying ${database}`,
          summary: (r) => verifySummary(database, r),
          tick: verifyTick(client.workflow.getHandle<WorkflowTypes['verifyBackup']>(workflowId)),
        }),
      );
    });
}

/** `lifeboat restore`, `lifeboat approve-restore` and `lifeboat verify`. */
export function registerRestoreCommands(program: Command, config: ConfigLoader): void {
  registerRestore(program, config);
  registerApproveRestore(program, config);
  registerVerify(program, config);
}
