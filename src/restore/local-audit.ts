// The audit records of `restore --local`: the same approval and restore records the
// `restoreDatabase` workflow writes, with the OS user and this process as the actor.
import type { LifeboatConfig } from '../config/schema.js';
import type { TargetInspection } from '../contracts/index.js';
import { recordAudit } from '../audit/log.js';
import type { AuditEvent } from '../audit/schema.js';
import { clientIdentity, osUser } from '../identity.js';
import type { Logger } from '../logger.js';

export interface LocalAuditSubject {
  database: string;
  target: string;
  backupId: string;
  kind?: string;
  requestedBy?: string;
}

/** Writes one record on every storage target of the database; a failure is logged, never thrown (as in the workflow). */
async function write(cfg: LifeboatConfig, log: Logger, event: AuditEvent): Promise<void> {
  try {
    await recordAudit(cfg, event);
  } catch (err) {
    log.warn({ action: event.action, outcome: event.outcome, database: event.database, reason: (err as Error).message }, 'audit record not written');
  }
}

const actor = (): AuditEvent['actor'] => ({ name: osUser(), source: 'cli', identity: clientIdentity() });

/** The approval of a `--local` restore, or its refusal with the reason. */
export function auditLocalApproval(
  cfg: LifeboatConfig,
  log: Logger,
  s: LocalAuditSubject,
  inspection: Pick<TargetInspection, 'reasons'>,
  refusal?: string,
): Promise<void> {
  return write(cfg, log, {
    action: 'approval',
    outcome: refusal ? 'rejected' : 'approved',
    database: s.database,
    actor: actor(),
    target: { database: s.target, backupId: s.backupId },
    ...(refusal ? { message: refusal.slice(0, 2000) } : {}),
    details: { workflow: 'restore --local', reasons: inspection.reasons, requestedBy: s.requestedBy ?? null },
  });
}

/** The outcome of a `--local` restore, with its approver when there was one. */
export function auditLocalRestore(
  cfg: LifeboatConfig,
  log: Logger,
  s: LocalAuditSubject,
  r: { mode?: string; approvedBy?: string; restoreDurationMs?: number; created?: boolean; error?: string },
): Promise<void> {
  return write(cfg, log, {
    action: 'restore',
    outcome: r.error === undefined ? 'succeeded' : 'failed',
    database: s.database,
    actor: actor(),
    target: { database: s.target, backupId: s.backupId, ...(s.kind ? { kind: s.kind } : {}) },
    ...(r.error ? { message: r.error.slice(0, 2000) } : {}),
    details: {
      workflow: 'restore --local',
      mode: r.mode ?? 'full',
      approvedBy: r.approvedBy ?? null,
      ...(r.restoreDurationMs !== undefined ? { restoreDurationMs: r.restoreDurationMs } : {}),
      ...(r.created !== undefined ? { created: r.created } : {}),
    },
  });
}
