import { InvalidArgumentError, type Command } from 'commander';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { listBackupLocations } from '../catalog/catalog.js';
import { databaseStorageNames, getDatabase } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import {
  ApplyRetentionInputSchema,
  PurgeInputSchema,
  WORKFLOWS,
  describeIssues,
  failureCause,
  purgeApproveUpdate,
  purgeProgressQuery,
  type ApplyRetentionResult,
  type PurgeResult,
  type PurgeState,
  type RetentionTargetResult,
  type WorkflowTypes,
} from '../contracts/index.js';
import { openStorage } from '../storage/index.js';
import { formatBytes, shortIso as short, table } from './format.js';
import { osUser } from '../identity.js';
import { approverIdentity } from './restore-follow.js';
import { CliExit, EXIT, failureMessage, print, startAndFollow, startWorkflow, withClient, type ConfigLoader } from './shared.js';

type PurgeHandle = WorkflowHandle<WorkflowTypes['purgeBackups']>;

interface PurgeOptions {
  before?: string;
  reason?: string;
  requestedBy?: string;
  approvalTimeout: string;
  dryRun?: boolean;
  approve?: string;
  approver?: string;
  id?: string;
  wait?: boolean;
  json?: boolean;
}

function isoTime(value: string): string {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(t)) throw new InvalidArgumentError('expected an ISO time such as 2026-01-01T00:00:00Z');
  return new Date(t).toISOString();
}

function formatTarget(t: RetentionTargetResult, dryRun: boolean): string[] {
  const lines = [`  ${t.storage}:`];
  for (const [kind, policy] of Object.entries(t.policies)) lines.push(`    policy ${kind.padEnd(6)} ${policy}`);
  const rows = [
    ...t.keep.map((e) => ['keep', e.backupId, e.kind, short(e.startedAt), e.status, e.reasons.join(', ')]),
    ...t.delete.map((e) => [dryRun ? 'delete' : 'deleted', e.backupId, e.kind, short(e.startedAt), e.status, e.reasons.join(', ')]),
  ].sort((a, b) => b[3]!.localeCompare(a[3]!) || b[1]!.localeCompare(a[1]!));
  if (rows.length)
    lines.push(
      ...table(['ACTION', 'BACKUP ID', 'KIND', 'STARTED', 'STATUS', 'WHY'], rows)
        .split('\n')
        .map((l) => `    ${l}`),
    );
  for (const h of t.halted) lines.push(`    HALTED (${h.kind}): ${h.message}`);
  for (const s of t.skipped) lines.push(`    skipped ${s.backupId}: ${s.reason}`);
  for (const w of t.warnings) lines.push(`    warning: ${w}`);
  for (const p of t.problems) lines.push(`    problem: ${p}`);
  const o = t.orphans;
  lines.push(
    `    ${t.keep.length} kept, ${t.delete.length} ${dryRun ? 'to delete' : 'deleted'} (${formatBytes(t.bytesFreed)})` +
      `, ${o.objects} orphan object(s) and ${o.uploads} unfinished upload(s) ${dryRun ? 'to remove' : 'removed'}${o.bytes ? ` (${formatBytes(o.bytes)})` : ''}`,
  );
  return lines;
}

/** Renders the result of `applyRetention` as a plan per storage target. */
export function formatRetention(r: ApplyRetentionResult): string {
  return [
    `Retention of ${r.database}${r.dryRun ? ' (dry run: nothing deleted)' : ''}, planned at ${short(r.plannedAt)}:`,
    ...r.targets.flatMap((t) => formatTarget(t, r.dryRun)),
  ].join('\n');
}

function formatPurgePlan(plan: PurgeResult['plan'] | undefined): string[] {
  return (plan ?? []).map(
    (t) =>
      `  ${t.storage}: ${t.backups.length} backup(s) (${formatBytes(t.backups.reduce((n, b) => n + b.bytes, 0))}), ${t.leftovers} leftover object(s), ${t.uploads} unfinished upload(s); ${t.remaining} backup(s) stay` +
      (t.problems.length ? `\n    problems: ${t.problems.join('; ')}` : ''),
  );
}

async function waitForApprovalPhase(handle: PurgeHandle, timeoutMs = 60_000): Promise<PurgeState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const state = await handle.query(purgeProgressQuery);
      if (state.phase !== 'planning') return state;
    } catch {
      /* the first workflow task has not run yet */
    }
    if (Date.now() > deadline) throw new CliExit(EXIT.failed, `Purge not ready: ${handle.workflowId} is still planning after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function approvePurge(handle: PurgeHandle, approver: string, database: string): Promise<void> {
  try {
    await handle.executeUpdate(purgeApproveUpdate, { args: [{ approver, database }] });
  } catch (err) {
    const cause = err instanceof WorkflowUpdateFailedError ? failureCause(err.cause) : failureCause(err);
    throw new CliExit(EXIT.failed, cause.message.startsWith('Approval rejected') ? cause.message : `Approval rejected: ${cause.message}`);
  }
}

async function pendingPurge(client: Client, database: string): Promise<PurgeHandle> {
  const found: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowType = '${WORKFLOWS.purgeBackups}' AND ExecutionStatus = 'Running'` })) {
    if (w.memo?.database === database) found.push(w.workflowId);
  }
  if (found.length === 0) throw new CliExit(EXIT.failed, `No pending purge of ${database}: start one with lifeboat purge ${database} --before <time>`);
  if (found.length > 1) throw new CliExit(EXIT.usage, `Several pending purges of ${database} (${found.join(', ')}): choose one with --id`);
  return client.workflow.getHandle<WorkflowTypes['purgeBackups']>(found[0]!);
}

function checkPurgeOptions(database: string, opts: PurgeOptions): void {
  if (opts.approve !== undefined && opts.approve !== database) {
    throw new CliExit(EXIT.usage, `Approval refused: --approve must repeat the database name "${database}" (got "${opts.approve}")`);
  }
  // Approvals are the OS user's: --approver only checks that it is who you think you are.
  if (opts.approve !== undefined) opts.approver = approverIdentity(opts.approver);
  if (opts.requestedBy !== undefined && opts.requestedBy !== osUser()) {
    throw new CliExit(EXIT.usage, `--requested-by ${opts.requestedBy} refused: purges are requested as the OS user running lifeboat (${osUser()})`);
  }
  if (!opts.before && opts.approve === undefined)
    throw new CliExit(EXIT.usage, 'Nothing to do: give --before <time> to start a purge, or --approve <database> to approve one');
}

/** Starts a purge (`--before`), or finds the one to approve (`--id`, else the only pending one). */
async function purgeHandle(client: Client, cfg: LifeboatConfig, database: string, opts: PurgeOptions): Promise<PurgeHandle> {
  if (!opts.before) return opts.id ? client.workflow.getHandle<WorkflowTypes['purgeBackups']>(opts.id) : pendingPurge(client, database);
  const parsed = PurgeInputSchema.safeParse({
    database,
    before: opts.before,
    reason: opts.reason,
    requestedBy: osUser(),
    approvalTimeout: opts.approvalTimeout,
    dryRun: Boolean(opts.dryRun),
  });
  if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid purge request: ${describeIssues(parsed.error)}`);
  const workflowId = opts.id ?? `purge:${database}:${short(new Date().toISOString())}`;
  return startWorkflow(client, cfg, WORKFLOWS.purgeBackups, parsed.data, {
    workflowId,
    memo: { database },
    alreadyRunning: `Purge not started: workflow ${workflowId} is already running`,
  });
}

function purgeSummary(database: string, result: PurgeResult): string {
  if (result.dryRun) return 'Dry run: nothing deleted.';
  if (result.targets.length === 0) return `Nothing to purge: no backup of ${database} started before ${result.before}.`;
  const rows = result.targets.map((t) => [
    t.storage,
    String(t.deleted.length),
    String(t.leftovers),
    String(t.uploads),
    formatBytes(t.bytes),
    t.problems.join('; '),
  ]);
  return [
    `Purged ${database} before ${result.before}, approved by ${result.approvedBy}:`,
    table(['STORAGE', 'BACKUPS', 'LEFTOVERS', 'UPLOADS', 'BYTES', 'PROBLEMS'], rows),
    `Audit record: ${result.audit?.join(', ')}`,
  ].join('\n');
}

async function finishPurge(handle: PurgeHandle, database: string, json: boolean | undefined): Promise<void> {
  let result: PurgeResult;
  try {
    result = await handle.result();
  } catch (err) {
    throw new CliExit(EXIT.failed, failureMessage(`Purge of ${database}`, failureCause(err)));
  }
  print(json, { ok: true, workflowId: handle.workflowId, ...result }, () => purgeSummary(database, result));
  if (result.targets.some((t) => t.problems.length > 0)) throw new CliExit(EXIT.failed, `Purge of ${database} completed with problems (see the audit record)`);
}

async function runPurge(client: Client, cfg: LifeboatConfig, database: string, opts: PurgeOptions): Promise<void> {
  const handle = await purgeHandle(client, cfg, database, opts);
  const state = await waitForApprovalPhase(handle);
  if (!opts.json)
    process.stderr.write([`Purge of ${database} before ${state.before} (${handle.workflowId}):`, ...formatPurgePlan(state.plan)].join('\n') + '\n');
  if (state.phase === 'awaiting-approval') {
    if (opts.approve === undefined) {
      print(
        opts.json,
        { workflowId: handle.workflowId, state },
        () =>
          `Waiting for approval until ${state.approvalDeadline} by one of: ${state.approvers?.join(', ')}\n` +
          `Approve (as another approver) with: lifeboat purge ${database} --approve ${database} --id ${handle.workflowId}`,
      );
      return;
    }
    await approvePurge(handle, opts.approver!, database);
    if (!opts.json) process.stderr.write(`Approved by ${opts.approver}.\n`);
    if (!opts.wait) {
      print(opts.json, { workflowId: handle.workflowId, approvedBy: opts.approver }, () => `Purge ${handle.workflowId} approved; it runs now.`);
      return;
    }
  }
  await finishPurge(handle, database, opts.json);
}

/** `lifeboat prune`, `lifeboat purge` and `lifeboat catalog`. */
export function registerRetentionCommands(program: Command, config: ConfigLoader): void {
  program
    .command('prune')
    .description('apply the retention policy of a database on each storage target (or only show the plan)')
    .argument('<database>', 'database name from the configuration')
    .option('-n, --dry-run', 'print the plan; delete nothing')
    .option('--storage <name>', 'only this storage target')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, opts: { dryRun?: boolean; storage?: string; json?: boolean }) => {
      const cfg = config();
      getDatabase(cfg, database);
      const parsed = ApplyRetentionInputSchema.safeParse({ database, dryRun: Boolean(opts.dryRun), storage: opts.storage });
      if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid prune request: ${describeIssues(parsed.error)}`);
      const workflowId = `retention:${database}:${opts.dryRun ? 'dry-run:' : ''}${short(new Date().toISOString())}`;
      await withClient(cfg, (client) =>
        startAndFollow(client, cfg, WORKFLOWS.applyRetention, parsed.data, {
          workflowId,
          memo: { database },
          alreadyRunning: `Retention not started: workflow ${workflowId} is already running`,
          wait: true,
          json: opts.json,
          started: `Started retention of ${database}`,
          following: `Applying retention to ${database}${opts.dryRun ? ' (dry run)' : ''}`,
          failure: `Retention of ${database}`,
          summary: (r: ApplyRetentionResult) => formatRetention(r),
        }),
      );
    });

  program
    .command('purge')
    .description('GDPR purge: delete every copy of every backup of a database taken before a time, after approval')
    .argument('<database>', 'database name from the configuration')
    .option('--before <time>', 'purge backups started before this ISO time (starts a purge)', isoTime)
    .option('--reason <text>', 'why (kept in the audit record)')
    .option('--requested-by <name>', 'optional check: must be your OS user name (the requester may not approve)')
    .option('--approval-timeout <duration>', 'how long the purge waits for approval', '24 hours')
    .option('-n, --dry-run', 'show what would be purged; delete nothing')
    .option('--approve <database>', 'approve the purge: type the database name out')
    .option('--approver <name>', 'optional check: must be your OS user name (approvals are made as the OS user)')
    .option('--id <workflowId>', 'which pending purge to approve (default: the only one of the database)')
    .option('-w, --wait', 'wait for the purge to finish')
    .option('--json', 'print a machine-readable result')
    .action(async (database: string, opts: PurgeOptions) => {
      const cfg = config();
      getDatabase(cfg, database);
      checkPurgeOptions(database, opts);
      await withClient(cfg, (client) => runPurge(client, cfg, database, opts));
    });

  program
    .command('catalog')
    .description('where each backup of a database exists (every storage target, 3-2-1)')
    .argument('<database>', 'database name from the configuration')
    .option('--json', 'print a machine-readable list')
    .action(async (database: string, opts: { json?: boolean }) => {
      const cfg = config();
      const names = databaseStorageNames(cfg, database);
      const { backups, problems } = await listBackupLocations(
        names.map((n) => openStorage(cfg, n)),
        database,
      );
      for (const p of problems) process.stderr.write(`warning: ${p}\n`);
      print(opts.json, { storages: names, backups }, () => {
        if (backups.length === 0) return `No committed backups of ${database} on ${names.join(', ')}.`;
        const rows = backups.map((b) => [
          b.backupId,
          b.kind,
          short(b.startedAt),
          formatBytes(b.bytes),
          ...names.map((n) => (b.mismatched.includes(n) ? 'MISMATCH' : b.storages.includes(n) ? 'yes' : '-')),
          `${b.storages.length}/${names.length}`,
        ]);
        return table(['BACKUP ID', 'KIND', 'STARTED', 'STORED', ...names.map((n) => n.toUpperCase()), 'COPIES'], rows);
      });
    });
}
