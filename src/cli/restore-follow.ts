// Following a restore or a verification: its phases (from the workflow's `progress` query), the
// approval a restore may wait for, and the summaries printed at the end.
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  approveRestoreUpdate,
  failureCause,
  restoreProgressQuery,
  verifyProgressQuery,
  type RestoreResult,
  type RestoreState,
  type VerifyResult,
  type WorkflowTypes,
} from '../contracts/index.js';
import { osUser } from '../identity.js';
import type { FollowTick } from './follow.js';
import { durationOrDash, formatBytes, formatDuration, shortIso, table } from './format.js';
import { CliExit, EXIT } from './shared.js';

/**
 * Who approves: the OS user running the CLI. `--approver` is only a check that it is who you think
 * you are; a name that is not yours is refused (no approving as someone else).
 */
export function approverIdentity(given?: string): string {
  const me = osUser();
  if (given !== undefined && given !== me) {
    throw new CliExit(
      EXIT.usage,
      `--approver ${given} refused: approvals are made as the OS user running lifeboat (${me}); another person must approve as themselves`,
    );
  }
  return me;
}

/** `lifeboat approve-restore <id> --approve <target>`, run by another approver. */
export function approveCommand(workflowId: string, target: string): string {
  return `lifeboat approve-restore ${workflowId} --approve ${target} (as an approver other than the requester)`;
}

/** Sends the `approve` update; a refusal exits 1 with the workflow's reason. */
export async function approveRestore(handle: WorkflowHandle, approver: string, target: string, otherwise = ''): Promise<void> {
  try {
    await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver, target }] });
  } catch (err) {
    const why = err instanceof WorkflowUpdateFailedError ? failureCause(err).message : (err as Error).message;
    throw new CliExit(EXIT.failed, `${why}${otherwise}`);
  }
}

async function queryOrUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch {
    return undefined; // not started by a worker yet
  }
}

/**
 * The follow step of a restore: shows its phase, and when it waits for an approval either gives
 * the one typed out (`--approve`, sent once) or says how to give it.
 */
export function restoreTick(handle: WorkflowHandle<WorkflowTypes['restoreDatabase']>, opts: { target: string; approver?: string }): FollowTick {
  let asked = false;
  return async (writer, elapsedMs) => {
    const state: RestoreState | undefined = await queryOrUndefined(() => handle.query(restoreProgressQuery));
    if (!state) return `starting… ${formatDuration(elapsedMs)}`;
    if (state.phase === 'restoring') return undefined;
    if (state.phase !== 'awaiting-approval') return `${state.phase}… ${formatDuration(elapsedMs)}`;
    if (!asked) {
      asked = true;
      const reasons = state.inspection?.reasons.join('; ');
      if (opts.approver) {
        const still = `\nThe restore still waits for an approval until ${state.approvalDeadline}: ${approveCommand(handle.workflowId, opts.target)}`;
        await approveRestore(handle, opts.approver, opts.target, still);
        writer.note(`Approved by ${opts.approver}: ${reasons}`);
      } else {
        writer.note(`Waiting for an approval until ${state.approvalDeadline}: ${reasons}\nApprove with: ${approveCommand(handle.workflowId, opts.target)}`);
      }
    }
    return `awaiting approval, ${formatDuration(elapsedMs)}`;
  };
}

/** The follow step of a verification: its phase, or the restore's heartbeats while it restores. */
export function verifyTick(handle: WorkflowHandle<WorkflowTypes['verifyBackup']>): FollowTick {
  return async (_writer, elapsedMs) => {
    const state = await queryOrUndefined(() => handle.query(verifyProgressQuery));
    if (!state) return `starting… ${formatDuration(elapsedMs)}`;
    if (state.phase === 'restoring') return undefined;
    return `${state.phase}${state.scratchDatabase ? ` (${state.scratchDatabase})` : ''}… ${formatDuration(elapsedMs)}`;
  };
}

export function restoreSummary(r: RestoreResult): string {
  const rows = r.rowCounts
    ? r.rowCounts.mismatches.length === 0
      ? `${r.rowCounts.compared} tables equal to the manifest`
      : `${r.rowCounts.mismatches.length} tables differ from the manifest`
    : 'not compared (no counts in the manifest, or no data restored)';
  return [
    `Restored ${r.database} backup ${r.backupId} into ${r.target}${r.created ? ' (new database)' : ''}, mode ${r.mode}`,
    `  backup      started ${shortIso(r.backupStartedAt)}, ${formatBytes(r.bytes)} stored, ${formatBytes(r.rawBytes)} dumped, sha256 verified`,
    `  took        ${formatDuration(r.restoreDurationMs)} (download ${formatDuration(r.downloadMs)}, ${r.restoreTool ?? 'pg_restore'} ${formatDuration(r.pgRestoreMs)})`,
    `  row counts  ${rows}`,
    r.approvedBy ? `  approved by ${r.approvedBy}` : '',
    ...r.notes.map((n) => `  note        ${n}`),
  ]
    .filter(Boolean)
    .join('\n');
}

export function verifySummary(database: string, r: VerifyResult): string {
  return [
    `Backup ${r.backupId} of ${database} verified: ${r.outcome}`,
    `  restore took ${durationOrDash(r.restoreDurationMs)} (the measured RTO of this backup)`,
    table(
      ['CHECK', 'OK', 'VALUE'],
      r.checks.map((c) => [c.name, c.skipped ? 'skipped' : c.ok ? 'yes' : 'NO', String(c.value)]),
    ),
    `  record      ${r.recordKey}`,
  ].join('\n');
}
