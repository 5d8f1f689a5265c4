// The audit event: who did what to which database, from which identity, with which outcome.
import { z } from 'zod';
import { databaseName } from '../contracts/common.js';

export const AUDIT_ACTIONS = ['backup', 'verify', 'restore', 'approval', 'purge', 'retention-delete', 'runbook-step'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];
export const AUDIT_OUTCOMES = ['started', 'succeeded', 'failed', 'partial', 'cancelled', 'approved', 'rejected'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * Where the actor's name comes from: the Temporal client identity that sent a signal or update,
 * the name typed into an approval, a Temporal Schedule, the CLI's operating-system user, the
 * worker itself, or Lifeboat's own logic (retention).
 */
export const ACTOR_SOURCES = ['temporal-identity', 'approval', 'schedule', 'cli', 'worker', 'system'] as const;

/** Detail keys that could carry a secret are refused, whatever their value. */
const SECRET_KEY_RE = /pass(word)?|secret|token|api.?key|credential|private.?key|dsn|connection.?string/i;
const DETAIL_KEY_MESSAGE = 'expected a detail name of letters, digits, "_", "-" or "."';

const detailValue = z.union([z.string().max(2000), z.number(), z.boolean(), z.null(), z.array(z.string().max(300)).max(200)]);

const details = z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, DETAIL_KEY_MESSAGE), detailValue).superRefine((d, ctx) => {
  for (const key of Object.keys(d)) {
    if (SECRET_KEY_RE.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'looks like a secret; audit details must never carry secrets' });
  }
});

/** An audit event as callers give it; `at` defaults to the time of writing. */
export const AuditEventSchema = z
  .strictObject({
    action: z.enum(AUDIT_ACTIONS, { error: `expected one of ${AUDIT_ACTIONS.join(', ')}` }),
    outcome: z.enum(AUDIT_OUTCOMES, { error: `expected one of ${AUDIT_OUTCOMES.join(', ')}` }),
    database: databaseName,
    at: z.iso.datetime({ offset: true, error: 'expected an ISO time such as 2026-11-23T02:00:00Z' }).optional(),
    actor: z.strictObject({
      name: z.string().min(1, "expected the actor's name").max(200),
      source: z.enum(ACTOR_SOURCES, { error: `expected one of ${ACTOR_SOURCES.join(', ')}` }),
      /** E.g. the Temporal client identity (`alice@laptop`) behind a typed approver name. */
      identity: z.string().max(300).optional(),
    }),
    /** What the action was applied to: a restore target, a backup, a storage target, a runbook step. */
    target: z
      .strictObject({
        database: z.string().max(200).optional(),
        backupId: z.string().max(200).optional(),
        kind: z.string().max(40).optional(),
        storage: z.string().max(200).optional(),
        runbook: z.string().max(200).optional(),
        step: z.string().max(200).optional(),
      })
      .optional(),
    workflow: z.strictObject({ workflowId: z.string().min(1), runId: z.string().optional(), workflowType: z.string().optional() }).optional(),
    message: z.string().max(2000).optional(),
    details: details.optional(),
    /** Makes the append idempotent: the same key (with the same `at`) is written once, however often it is retried. */
    idempotencyKey: z.string().min(1).max(300).optional(),
  })
  .refine((e) => e.idempotencyKey === undefined || e.at !== undefined, {
    path: ['at'],
    message: 'required with idempotencyKey (a retried append must name the same record)',
  });
export type AuditEvent = z.input<typeof AuditEventSchema>;

/** A stored audit record: one object per event, never rewritten. */
export type AuditRecord = Omit<z.output<typeof AuditEventSchema>, 'idempotencyKey'> & { formatVersion: 1; at: string };

/** An audit record as listed: where it was read, and whether it is a purge's own record. */
export type AuditEntry = AuditRecord & { key: string; origin: 'audit' | 'purge-record' };
