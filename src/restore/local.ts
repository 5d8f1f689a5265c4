import { randomBytes } from 'node:crypto';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import { osUser } from '../identity.js';
import type { Logger } from '../logger.js';
import {
  approvalRefusal,
  describeRowCountMismatches,
  type BackupSummary,
  type RestoreHeartbeat,
  type RestoreRequestInput,
  type RestoreResult,
  type TargetInspection,
} from '../contracts/index.js';
import { restoreBackup } from './restore.js';
import { selectBackup, summarize } from './select.js';
import { auditLocalApproval, auditLocalRestore, type LocalAuditSubject } from './local-audit.js';
import { inspectTarget } from './target.js';

export interface LocalRestoreOptions {
  /** The target name typed out (`--approve <target>`): the approval when one is needed. */
  approveTarget?: string;
  log: Logger;
  signal?: AbortSignal;
  onBackup?: (b: BackupSummary) => void;
  onInspection?: (i: TargetInspection) => void;
  onProgress?: (p: Omit<RestoreHeartbeat, 'elapsedMs' | 'activity'>) => void;
}

/**
 * Break-glass restore without Temporal (`lifeboat restore --local`): the same steps and safety
 * rules as the `restoreDatabase` workflow, run in this process. An approval is the target's name
 * typed out with `--approve`, given by the OS user, who must be in `approvers` (and, with four
 * eyes, cannot approve a restore they request: --local has no second person). The approval (or
 * its refusal) and the outcome are written to the audit log like the workflow's.
 */
export async function restoreLocally(cfg: LifeboatConfig, input: RestoreRequestInput, opts: LocalRestoreOptions): Promise<RestoreResult> {
  const { manifest, storage } = await selectBackup(cfg, input.database, input.backup, input.mode);
  opts.onBackup?.(summarize(manifest, storage));
  const inspection = await inspectTarget(cfg, input.database, input.target, input.mode);
  opts.onInspection?.(inspection);
  const subject = { database: input.database, target: input.target, backupId: manifest.backupId, kind: manifest.kind, requestedBy: input.requestedBy };
  const approvedBy = inspection.reasons.length > 0 ? await approveLocally(cfg, input, inspection, opts, subject) : undefined;
  let result: RestoreResult;
  try {
    result = await restoreBackup(
      cfg,
      {
        database: input.database,
        backupId: manifest.backupId,
        target: input.target,
        mode: input.mode,
        tables: input.tables,
        privileges: input.privileges,
        ...(input.withRoles ? { withRoles: true } : {}),
        jobs: input.jobs,
        expect: inspection.exists ? 'existing' : 'new',
        overwrite: input.overwrite,
        owner: `local:${process.pid}:${randomBytes(4).toString('hex')}`,
        approvedBy,
      },
      opts.log,
      { signal: opts.signal, onProgress: opts.onProgress },
    );
    if (result.rowCounts && result.rowCounts.mismatches.length > 0) {
      throw new LifeboatError(
        'ROW_COUNT_MISMATCH',
        `Restore of ${input.database} into ${input.target} failed: row counts differ from the manifest: ${describeRowCountMismatches(result.rowCounts.mismatches)}`,
        { subject: input.target },
      );
    }
  } catch (err) {
    await auditLocalRestore(cfg, opts.log, subject, { mode: input.mode, approvedBy, error: (err as Error).message });
    throw err;
  }
  await auditLocalRestore(cfg, opts.log, subject, { mode: input.mode, approvedBy, restoreDurationMs: result.restoreDurationMs, created: result.created });
  return result;
}

/**
 * The approval of a restore that needs one: the target typed out, by the OS user, who must be an
 * approver and (with four eyes) not the requester. Approvals and refusals are audited.
 */
async function approveLocally(
  cfg: LifeboatConfig,
  input: RestoreRequestInput,
  inspection: TargetInspection,
  opts: LocalRestoreOptions,
  subject: LocalAuditSubject,
): Promise<string> {
  if (opts.approveTarget !== input.target) {
    throw new LifeboatError(
      'APPROVAL_REQUIRED',
      `Restore of ${input.database} into ${input.target} refused: approval required (${inspection.reasons.join('; ')}); nothing was changed. Type the target out to approve: --approve ${input.target}`,
      { subject: input.target },
    );
  }
  const approvedBy = osUser();
  const why = approvalRefusal(input.database, inspection, approvedBy, input.requestedBy ?? approvedBy);
  if (why) {
    const hint =
      inspection.fourEyes && inspection.approvers.includes(approvedBy) ? '; --local has no second person: restore through Temporal with another approver' : '';
    const message = `Restore of ${input.database} into ${input.target} refused: ${why}${hint}; nothing was changed`;
    await auditLocalApproval(cfg, opts.log, subject, inspection, message);
    throw new LifeboatError('APPROVAL_REJECTED', message, { subject: input.target });
  }
  await auditLocalApproval(cfg, opts.log, subject, inspection);
  opts.log.warn({ database: input.database, target: input.target, reasons: inspection.reasons, approvedBy }, 'restore approved on the command line');
  return approvedBy;
}
