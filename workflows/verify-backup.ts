import { CancellationScope, isCancellation, setHandler, uuid4, workflowInfo } from '@temporalio/workflow';
import {
  VerifyInputSchema,
  describeRowCountMismatches,
  failureCause,
  innermostMessage,
  isErrorCode,
  lifeboatFailure,
  scratchDatabaseName,
  verifyProgressQuery,
  type RestoreResult,
  type VerificationCheck,
  type VerificationRecord,
  type VerifyState,
  type WorkflowTypes,
  withSubject,
} from '../src/contracts/index.js';
import { lookup, restorerOn } from './activities.js';
import { audit, notify } from './observe.js';
import { parseInput } from './validation.js';
import { withOutcome } from './outcome.js';

function rowCountCheck(r: RestoreResult): VerificationCheck {
  if (!r.rowCounts) return { name: 'row counts', ok: true, skipped: true, value: 'not recorded in the manifest' };
  if (r.rowCounts.mismatches.length > 0) return { name: 'row counts', ok: false, value: describeRowCountMismatches(r.rowCounts.mismatches) };
  return { name: 'row counts', ok: true, value: `${r.rowCounts.compared} tables equal to the manifest` };
}

function describeFailedChecks(checks: VerificationCheck[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => (c.sql ? `check "${c.name}" returned ${String(c.value)}` : `${c.name}: ${String(c.value)}`))
    .join('; ');
}

/** Appends the verification to the audit log; a failed one is notified (`verify-failed`). */
async function reportVerification(record: VerificationRecord, kind: string, problem: string | undefined): Promise<void> {
  const { database, backupId, outcome } = record;
  await audit({
    action: 'verify',
    outcome: outcome === 'passed' && !problem ? 'succeeded' : 'failed',
    database,
    target: { backupId, kind, database: record.scratchDatabase },
    details: { restoreDurationMs: record.restoreDurationMs, checks: record.checks.map((c) => `${c.name}: ${c.ok ? 'ok' : 'FAILED'}`) },
    ...(problem ? { message: problem.slice(0, 2000) } : {}),
  });
  if (problem)
    await notify({
      type: 'verify-failed',
      database,
      openedAt: record.verifiedAt,
      summary: problem.slice(0, 300),
      details: problem,
      facts: { backup: backupId, kind },
    });
}

/**
 * Proves a backup by restoring it: `{ "database": "orders", "backup": "latest" }`.
 *
 * Restores into a fresh scratch database, then checks the stored checksum, pg_restore's exit
 * status, every table's row count against the manifest and the database's `verify.checks`. The
 * scratch database is dropped in every outcome, including failure and cancellation. The outcome
 * is written next to the manifest as a verification record (with the measured restore time).
 */
export const verifyBackup: WorkflowTypes['verifyBackup'] = withOutcome(async (input) => {
  const { database, backup: selector } = parseInput(VerifyInputSchema, input, 'verifyBackup');
  const info = workflowInfo();
  const state: VerifyState = { phase: 'resolving', database, checks: [] };
  setHandler(verifyProgressQuery, () => state);

  const backup = await lookup.resolveRestoreBackup({ database, backup: selector, mode: 'full', action: 'Verification' });
  state.backup = backup;
  const scratch = scratchDatabaseName(database, info.startTime, uuid4());
  state.scratchDatabase = scratch;
  const checks = state.checks;
  let restoreDurationMs: number | null = null;
  let restored = false;
  let error: unknown;
  let dropError: string | undefined;
  try {
    state.phase = 'restoring';
    const result = await restorerOn(backup.restoreTaskQueue).restoreBackup({
      database,
      backupId: backup.backupId,
      target: scratch,
      scratch: true,
      mode: 'full',
      privileges: 'skip',
      expect: 'new',
    });
    restored = true;
    restoreDurationMs = result.restoreDurationMs;
    checks.push({ name: 'checksum', ok: true, value: `sha256 ${backup.sha256} as in the manifest` });
    checks.push({ name: 'restore', ok: true, value: `${result.restoreTool ?? 'pg_restore'} exited with 0 after ${result.restoreDurationMs} ms` });
    checks.push(rowCountCheck(result));
    state.phase = 'checking';
    checks.push(...(await lookup.runVerificationChecks({ database, scratch })));
  } catch (err) {
    error = err;
    if (!isCancellation(err)) {
      const name = failureCause(err).type === 'CHECKSUM_MISMATCH' ? 'checksum' : restored ? 'checks' : 'restore';
      checks.push({ name, ok: false, value: innermostMessage(err) });
    }
  } finally {
    state.phase = 'cleaning-up';
    await CancellationScope.nonCancellable(() => lookup.dropScratchDatabase({ database, scratch })).catch((e: unknown) => {
      dropError = innermostMessage(e);
    });
  }
  if (error && isCancellation(error)) throw error;

  const outcome = !error && checks.every((c) => c.ok) ? 'passed' : 'failed';
  const record: VerificationRecord = {
    formatVersion: 1,
    ...{ database, backupId: backup.backupId, sha256: backup.sha256, storage: backup.storage },
    verifiedAt: new Date().toISOString(),
    outcome,
    checks,
    restoreDurationMs,
    scratchDatabase: scratch,
    workflow: { workflowId: info.workflowId, runId: info.runId },
    ...(error ? { error: innermostMessage(error) } : {}),
  };
  state.phase = 'recording';
  const recordKey = await lookup.recordVerification({ record, storage: backup.storage });

  const subject = `Verification of ${database} backup ${backup.backupId}`;
  const dropProblem = dropError && `${subject} ${outcome}, but its scratch database ${scratch} could not be dropped: ${dropError}`;
  const problem = outcome === 'failed' ? withSubject(subject, error ? innermostMessage(error) : describeFailedChecks(checks)) : dropProblem;
  await reportVerification(record, backup.kind, problem);
  if (dropProblem) {
    state.phase = 'failed';
    throw lifeboatFailure('VERIFICATION_FAILED', dropProblem);
  }
  if (outcome === 'failed') {
    state.phase = 'failed';
    const type = error ? failureCause(error).type : undefined;
    throw lifeboatFailure(isErrorCode(type) ? type : 'VERIFICATION_FAILED', problem!);
  }
  state.phase = 'done';
  return { ...record, recordKey };
});
