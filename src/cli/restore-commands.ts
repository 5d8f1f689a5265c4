import { Option, type Command } from 'commander';
import os from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowUpdateFailedError, type Client, type WorkflowHandle, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { createLogger } from '../logger.js';
import { pino } from 'pino';
import { connectClient } from '../temporal.js';
import { restoreLocally } from '../restore/local.js';
import {
  approveRestoreUpdate as approveUpdate,
  restoreProgressQuery,
  verifyProgressQuery,
  PRIVILEGE_MODES,
  RESTORE_MODES,
  RestoreInputSchema,
  VerifyInputSchema,
  describeIssues,
  restoreWorkflowId,
  verifyWorkflowId,
  type RestoreHeartbeat,
  type RestoreResult,
  type RestoreState,
  type VerifyResult,
  type VerifyState,
} from '../contracts/index.js';
import { currentProgress, failureCause } from './follow.js';
import { formatBytes, formatDuration, table } from './format.js';
import { CliExit } from './main.js';

interface RestoreOptions {
  target: string;
  backup?: string;
  before?: string;
  mode?: string;
  tables?: string;
  privileges: string;
  jobs?: number;
  approve?: string;
  approver?: string;
  approvalTimeout?: string;
  wait?: boolean;
  json?: boolean;
  local?: boolean;
  id?: string;
}

function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

function defaultApprover(): string {
  return process.env.LIFEBOAT_APPROVER ?? os.userInfo().username;
}

function selector(opts: { backup?: string; before?: string }): unknown {
  if (opts.before && opts.backup) throw new CliExit(2, 'Use either --backup or --before, not both');
  return opts.before ? { before: opts.before } : (opts.backup ?? 'latest');
}

async function connect(cfg: LifeboatConfig, local: string): Promise<Client> {
  try {
    return await connectClient(cfg);
  } catch (err) {
    throw new CliExit(1, `Cannot reach Temporal at ${cfg.temporal.address}: ${(err as Error).message}${local}`);
  }
}

/** A progress line, redrawn in place on a TTY and printed every 30 s otherwise. */
function progressWriter(out: NodeJS.WriteStream): { line(text: string): void; note(text: string): void; clear(): void } {
  const live = Boolean(out.isTTY);
  let last = 0;
  return {
    line(text) {
      if (live) out.write(`\r\x1b[2K${text}`);
      else if (Date.now() - last > 30_000) {
        last = Date.now();
        out.write(`${text}\n`);
      }
    },
    note(text) {
      out.write(`${live ? '\r\x1b[2K' : ''}${text}\n`);
    },
    clear() {
      if (live) out.write('\r\x1b[2K');
    },
  };
}

function heartbeatLine(hb: RestoreHeartbeat | undefined, started: number): string {
  const elapsed = formatDuration(Date.now() - started);
  if (!hb) return `waiting for a worker… ${elapsed}`;
  const bytes = `${formatBytes(hb.storedBytes)} downloaded, ${formatBytes(hb.rawBytes)} unpacked`;
  const items = hb.items ? `, ${hb.items} items` : '';
  return `${hb.phase.padEnd(11)} ${bytes}${items}${hb.step ? `, ${hb.step.slice(0, 60)}` : ''}, ${elapsed}`;
}

function restoreSummary(r: RestoreResult): string {
  const rows = r.rowCounts
    ? r.rowCounts.mismatches.length === 0
      ? `${r.rowCounts.compared} tables equal to the manifest`
      : `${r.rowCounts.mismatches.length} tables differ from the manifest`
    : 'not compared (no counts in the manifest, or no data restored)';
  return [
    `Restored ${r.database} backup ${r.backupId} into ${r.target}${r.created ? ' (new database)' : ''}, mode ${r.mode}`,
    `  backup      started ${r.backupStartedAt.replace(/\.\d{3}Z$/, 'Z')}, ${formatBytes(r.bytes)} stored, ${formatBytes(r.rawBytes)} dumped, sha256 verified`,
    `  took        ${formatDuration(r.restoreDurationMs)} (download ${formatDuration(r.downloadMs)}, pg_restore ${formatDuration(r.pgRestoreMs)})`,
    `  row counts  ${rows}`,
    r.approvedBy ? `  approved by ${r.approvedBy}` : '',
    ...r.notes.map((n) => `  note        ${n}`),
  ]
    .filter(Boolean)
    .join('\n');
}

/** Follows a restore: progress, and the approval when `approver` is given. Resolves with the result. */
async function followRestore(handle: WorkflowHandle, opts: { target: string; approver?: string; json?: boolean }): Promise<RestoreResult> {
  const w = progressWriter(process.stderr);
  const started = Date.now();
  let approvalSent = false;
  let waitingShown = false;
  let stop = false;
  const result = handle.result() as Promise<RestoreResult>;
  result.finally(() => (stop = true)).catch(() => undefined);
  const tick = async () => {
    let state: RestoreState | undefined;
    try {
      state = await handle.query(restoreProgressQuery);
    } catch {
      return; // not started by a worker yet
    }
    if (state.phase === 'awaiting-approval') {
      if (opts.approver && !approvalSent) {
        approvalSent = true;
        try {
          await handle.executeUpdate(approveUpdate, { args: [{ approver: opts.approver, target: opts.target }] });
          w.note(`Approved by ${opts.approver}: ${state.inspection?.reasons.join('; ')}`);
        } catch (err) {
          const why = err instanceof WorkflowUpdateFailedError ? failureCause(err).message : (err as Error).message;
          throw new CliExit(1, `${why}\nThe restore still waits for an approval until ${state.approvalDeadline}: lifeboat approve-restore ${handle.workflowId} --approve ${opts.target} --approver <name>`);
        }
      } else if (!opts.approver && !waitingShown) {
        waitingShown = true;
        w.note(
          `Waiting for an approval until ${state.approvalDeadline}: ${state.inspection?.reasons.join('; ')}\n` +
            `Approve with: lifeboat approve-restore ${handle.workflowId} --approve ${opts.target} --approver <name>`,
        );
      }
      w.line(`awaiting approval, ${formatDuration(Date.now() - started)}`);
      return;
    }
    if (state.phase === 'restoring') {
      const p = await currentProgress(handle).catch(() => ({}) as Awaited<ReturnType<typeof currentProgress>>);
      w.line(heartbeatLine(p.hb as RestoreHeartbeat | undefined, started));
    } else w.line(`${state.phase}… ${formatDuration(Date.now() - started)}`);
  };
  try {
    while (!stop) {
      await tick();
      await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
    return await result;
  } finally {
    w.clear();
  }
}

async function restoreViaLocal(cfg: LifeboatConfig, input: ReturnType<typeof RestoreInputSchema.parse>, opts: RestoreOptions): Promise<void> {
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
      onProgress: (p) => w.line(heartbeatLine({ activity: 'restore', ...p, elapsedMs: Date.now() - started }, started)),
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

/** Registers `restore`, `approve-restore` and `verify`. */
export function registerRestoreCommands(program: Command, config: () => LifeboatConfig): void {
  program
    .command('restore')
    .description('restore a backup into a new database, a named target, or (approved) an existing database')
    .argument('<database>', 'source database name from the configuration')
    .requiredOption('-t, --target <target>', "a target from the configuration, or a new database name on the source's server")
    .option('-b, --backup <backup>', 'backup id, "latest" or "latest-verified" (default: latest)')
    .option('--before <time>', 'the newest backup started at or before this ISO time')
    .addOption(new Option('-m, --mode <mode>', 'what to restore (default: full; tables with --tables)').choices([...RESTORE_MODES]))
    .option('--tables <list>', 'comma-separated tables to restore, as schema.table')
    .addOption(new Option('--privileges <mode>', 'skip or restore owners and grants').choices([...PRIVILEGE_MODES]).default('skip'))
    .option('-j, --jobs <n>', 'parallel pg_restore jobs (new databases only)', (v) => Number(v))
    .option('--approve <target>', 'approve overwriting the target: type its name out')
    .option('--approver <name>', 'who approves (default: $LIFEBOAT_APPROVER or the OS user)')
    .option('--approval-timeout <duration>', 'how long the restore waits for an approval (default: 1 hour)')
    .option('-w, --wait', 'follow the restore until it ends, with live progress')
    .option('--json', 'print a machine-readable result')
    .option('--local', 'restore in this process, without Temporal (break-glass)')
    .option('--id <workflowId>', 'workflow id (default: restore:<target>)')
    .action(async (database: string, opts: RestoreOptions) => {
      const cfg = config();
      getDatabase(cfg, database);
      const tables = opts.tables?.split(',').map((t) => t.trim()).filter(Boolean);
      const raw = {
        database,
        backup: selector(opts),
        target: opts.target,
        mode: opts.mode ?? (tables ? 'tables' : 'full'),
        ...(tables ? { tables } : {}),
        privileges: opts.privileges,
        ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
        ...(opts.approvalTimeout ? { approvalTimeout: opts.approvalTimeout } : {}),
      };
      const parsed = RestoreInputSchema.safeParse(raw);
      if (!parsed.success) throw new CliExit(2, `Invalid restore request: ${describeIssues(parsed.error)}`);
      if (opts.approve !== undefined && opts.approve !== opts.target) {
        throw new CliExit(2, `--approve must repeat the target name exactly: expected "${opts.target}", got "${opts.approve}"`);
      }
      if (opts.local) return restoreViaLocal(cfg, parsed.data, opts);

      const client = await connect(cfg, '; to restore without Temporal, add --local');
      try {
        const workflowId = opts.id ?? restoreWorkflowId(opts.target);
        let handle: WorkflowHandleWithFirstExecutionRunId;
        try {
          handle = await client.workflow.start('restoreDatabase', {
            taskQueue: cfg.temporal.taskQueue,
            workflowId,
            args: [raw],
            memo: { database, target: opts.target },
          });
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliExit(1, `Restore not started: another restore into ${opts.target} is running (${workflowId})`);
          throw err;
        }
        if (!opts.wait && opts.approve === undefined) {
          print(opts.json, { workflowId, runId: handle.firstExecutionRunId }, () => `Started restore of ${database} into ${opts.target}: ${workflowId}`);
          return;
        }
        if (!opts.json) process.stderr.write(`Restoring ${database} into ${opts.target}: ${workflowId}\n`);
        try {
          const result = await followRestore(handle, { target: opts.target, approver: opts.approve !== undefined ? (opts.approver ?? defaultApprover()) : undefined, json: opts.json });
          print(opts.json, { ok: true, workflowId, ...result }, () => restoreSummary(result));
        } catch (err) {
          if (err instanceof CliExit) throw err;
          const cause = failureCause(err);
          if (opts.json) print(true, { ok: false, workflowId, error: cause }, () => '');
          throw new CliExit(1, `${cause.message}${cause.type ? ` [${cause.type}]` : ''}`);
        }
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('approve-restore')
    .description('approve a restore that waits for an approval (protected, non-empty or source target)')
    .argument('<workflowId>', 'the restore workflow id, e.g. restore:orders_staging')
    .requiredOption('--approve <target>', "the restore's target, typed out")
    .option('--approver <name>', 'who approves (default: $LIFEBOAT_APPROVER or the OS user)')
    .option('--json', 'print a machine-readable result')
    .action(async (workflowId: string, opts: { approve: string; approver?: string; json?: boolean }) => {
      const cfg = config();
      const client = await connect(cfg, '');
      try {
        const handle = client.workflow.getHandle(workflowId);
        const state = await handle.query(restoreProgressQuery);
        if (opts.approve !== state.target) throw new CliExit(2, `--approve must repeat the target name exactly: expected "${state.target}", got "${opts.approve}"`);
        const approver = opts.approver ?? defaultApprover();
        try {
          await handle.executeUpdate(approveUpdate, { args: [{ approver, target: opts.approve }] });
        } catch (err) {
          throw new CliExit(1, err instanceof WorkflowUpdateFailedError ? failureCause(err).message : (err as Error).message);
        }
        print(opts.json, { ok: true, workflowId, approvedBy: approver, target: state.target }, () => `Approved the restore of ${state.database} into ${state.target} as ${approver}`);
      } finally {
        await client.connection.close();
      }
    });

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
      const raw = { database, backup: selector(opts) };
      const parsed = VerifyInputSchema.safeParse(raw);
      if (!parsed.success) throw new CliExit(2, `Invalid verification request: ${describeIssues(parsed.error)}`);
      const client = await connect(cfg, '');
      try {
        const workflowId = opts.id ?? verifyWorkflowId(database, new Date());
        const handle = await client.workflow.start('verifyBackup', { taskQueue: cfg.temporal.taskQueue, workflowId, args: [raw], memo: { database } });
        if (!opts.wait) {
          print(opts.json, { workflowId, runId: handle.firstExecutionRunId }, () => `Started verification of ${database}: ${workflowId}`);
          return;
        }
        if (!opts.json) process.stderr.write(`Verifying ${database}: ${workflowId}\n`);
        const w = progressWriter(process.stderr);
        const started = Date.now();
        let done = false;
        const result = handle.result() as Promise<VerifyResult>;
        result.finally(() => (done = true)).catch(() => undefined);
        while (!done) {
          try {
            const state: VerifyState = await handle.query(verifyProgressQuery);
            if (state.phase === 'restoring') {
              const p = await currentProgress(handle);
              w.line(heartbeatLine(p.hb as RestoreHeartbeat | undefined, started));
            } else w.line(`${state.phase}${state.scratchDatabase ? ` (${state.scratchDatabase})` : ''}… ${formatDuration(Date.now() - started)}`);
          } catch {
            /* progress is best effort */
          }
          await Promise.race([result.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
        }
        w.clear();
        try {
          const r = await result;
          print(opts.json, { ok: true, workflowId, ...r }, () =>
            [
              `Backup ${r.backupId} of ${database} verified: ${r.outcome}`,
              `  restore took ${r.restoreDurationMs === null ? '-' : formatDuration(r.restoreDurationMs)} (the measured RTO of this backup)`,
              table(['CHECK', 'OK', 'VALUE'], r.checks.map((c) => [c.name, c.skipped ? 'skipped' : c.ok ? 'yes' : 'NO', String(c.value)])),
              `  record      ${r.recordKey}`,
            ].join('\n'),
          );
        } catch (err) {
          const cause = failureCause(err);
          if (opts.json) print(true, { ok: false, workflowId, error: cause }, () => '');
          throw new CliExit(1, `${cause.message}${cause.type ? ` [${cause.type}]` : ''}`);
        }
      } finally {
        await client.connection.close();
      }
    });
}
