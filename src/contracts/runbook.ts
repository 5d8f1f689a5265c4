// The runbook family: `runRunbook`, its input, progress, updates, signal and query. Pure.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { databaseName, personName } from './common.js';
import type { RunbookDefinition, StepType } from './runbook-steps.js';

export * from './runbook-steps.js';

/** What `loadRunbook` returns: the definition, resolved parameters and roles (names only). */
export interface LoadedRunbook {
  definition: RunbookDefinition;
  params: Record<string, string | number | boolean>;
  roles: Record<string, string[]>;
  /** Four eyes on the run's approval steps: `databases.<db>.fourEyes` of its database (on by default for production); a step's `fourEyes` overrides it. */
  fourEyes?: boolean;
}

export const RunbookInputSchema = z.strictObject({
  runbook: z
    .string({ error: 'expected the name of a runbook' })
    .regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'expected the name of a runbook (lowercase letters, digits, "-", "_")'),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), { error: 'expected an object of parameter values' }).default({}),
  drill: z.boolean({ error: 'expected true or false' }).default(false),
  /** Shorthand the UI form makes easy: `{"runbook":"provider-outage","database":"orders"}`. */
  database: databaseName.optional(),
  /** Who starts the run (the CLI sends the OS user): with four eyes, they may not approve the steps of a live run. */
  requestedBy: personName('requester').optional(),
});
export type RunbookInput = z.input<typeof RunbookInputSchema>;
export type RunbookRequest = z.output<typeof RunbookInputSchema>;

export type StepState = 'pending' | 'running' | 'waiting-approval' | 'succeeded' | 'failed' | 'skipped' | 'compensated' | 'compensation-failed';

export interface StepProgress {
  id: string;
  type: StepType;
  state: StepState;
  attempts: number;
  startedAt?: string;
  finishedAt?: string;
  /** One line: what the step did or why it failed. */
  summary?: string;
  approvedBy?: string;
  skippedBecause?: string;
  /** Error code of the step's failure, e.g. `INVALID_INPUT` or `COMMAND_FAILED`. */
  failureType?: string;
}

export interface RunbookProgress {
  runbook: string;
  drill: boolean;
  status: 'running' | 'waiting-approval' | 'compensating' | 'succeeded' | 'failed' | 'rejected' | 'aborted';
  current?: string;
  waitingFor?: { step: string; role: string; since: string; fourEyes?: boolean };
  /** Who started the run (`requestedBy`), when known. */
  requestedBy?: string;
  steps: StepProgress[];
}

export interface RunbookResult {
  runbook: string;
  drill: boolean;
  status: 'succeeded';
  startedAt: string;
  finishedAt: string;
  /** Start of the run to the end of its last restore or cutover step. */
  rtoMs: number | null;
  /** Age of the oldest backup restored, at the time it was restored. */
  rpoMs: number | null;
  targets: { rtoMinutes?: number; rpoMinutes?: number };
  met: { rto: boolean | null; rpo: boolean | null };
  steps: StepProgress[];
  /** Where the run record was written (`lifeboat drills` reads it); absent when that failed. */
  record?: string;
  /** What went wrong around the run without changing its outcome (a record or a scratch database). */
  notes?: string[];
}

/** What runbook step activities (command, http-check, approval forwarding) heartbeat. */
export interface RunbookStepHeartbeat {
  activity: 'runbook-step';
  phase: string;
  attempts?: number;
  /** The last answer or output line, secrets redacted. */
  last?: string;
}

const stepIdField = z.string({ error: 'expected the id of the step waiting for approval' }).min(1, 'expected the id of the step waiting for approval').max(100);

/** Argument of the `approve` update: `{ "step": "approve-cutover", "by": "carol" }`. */
export const ApprovalInputSchema = z.strictObject({ step: stepIdField, by: personName('approver'), comment: z.string().max(500).optional() });
export type ApprovalInput = z.input<typeof ApprovalInputSchema>;

/** Argument of the `reject` update: `{ "step": "approve-cutover", "by": "carol", "reason": "..." }`. */
export const RejectInputSchema = z.strictObject({ step: stepIdField, by: personName('approver'), reason: z.string().max(500).optional() });
export type RejectInput = z.input<typeof RejectInputSchema>;

/** Argument of the `abort` signal; both fields are optional. */
export interface AbortInput {
  by?: string;
  reason?: string;
}

/** Each step's state, attempts, times and a one-line summary. */
export const runbookProgressQuery = defineQuery<RunbookProgress>('progress');
/** Approves the step waiting for approval; the approver must hold the step's role. */
export const runbookApproveUpdate = defineUpdate<{ step: string; approvedBy: string }, [ApprovalInput]>('approve');
/** Rejects the step waiting for approval: compensations run in reverse order, the run fails. */
export const runbookRejectUpdate = defineUpdate<{ step: string; rejectedBy: string }, [RejectInput]>('reject');
/** Stops the run: the current step is cancelled and compensations run in reverse order. */
export const runbookAbortSignal = defineSignal<[AbortInput]>('abort');
