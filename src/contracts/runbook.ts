// The runbook family: `runRunbook`, its input, progress, updates, signal and query. Pure.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';

export const STEP_TYPES = ['restore', 'verify', 'sql', 'command', 'http-check', 'approval', 'notify', 'wait'] as const;
export type StepType = (typeof STEP_TYPES)[number];

export interface RetrySpec {
  maximumAttempts?: number;
  initialInterval?: string;
  backoffCoefficient?: number;
}

/** One compensation: undoes a step when the runbook is rejected, aborted or fails after it. */
export interface CompensationSpec {
  type: Exclude<StepType, 'approval' | 'wait'>;
  with: Record<string, unknown>;
  timeout?: string;
}

export interface StepSpec {
  id: string;
  name?: string;
  type: StepType;
  with: Record<string, unknown>;
  timeout?: string;
  retry?: RetrySpec;
  /** Template expression; the step is skipped when it is false. */
  when?: string;
  /** A cutover step changes production (DNS, DATABASE_URL, restarts): skipped in drills. */
  cutover?: boolean;
  compensation?: CompensationSpec;
}

export interface ParamSpec {
  type: 'string' | 'number' | 'boolean';
  default?: string | number | boolean;
  required?: boolean;
  description?: string;
}

export interface RunbookDefinition {
  name: string;
  description?: string;
  params: Record<string, ParamSpec>;
  steps: StepSpec[];
  /** RTO/RPO targets in minutes (from the runbook, else the configuration). */
  targets: { rtoMinutes?: number; rpoMinutes?: number };
}

/** What `loadRunbook` returns: the definition, resolved parameters and roles (names only). */
export interface LoadedRunbook {
  definition: RunbookDefinition;
  params: Record<string, string | number | boolean>;
  roles: Record<string, string[]>;
}

export const RunbookInputSchema = z.strictObject({
  runbook: z.string({ error: 'expected the name of a runbook' }).regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'expected the name of a runbook (lowercase letters, digits, "-", "_")'),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]), { error: 'expected an object of parameter values' }).default({}),
  drill: z.boolean({ error: 'expected true or false' }).default(false),
  /** Shorthand the UI form makes easy: `{"runbook":"provider-outage","database":"orders"}`. */
  database: z.string().optional(),
});
export type RunbookInput = z.input<typeof RunbookInputSchema>;

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
}

export interface RunbookProgress {
  runbook: string;
  drill: boolean;
  status: 'running' | 'waiting-approval' | 'compensating' | 'succeeded' | 'failed' | 'rejected' | 'aborted';
  current?: string;
  waitingFor?: { step: string; role: string; since: string };
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
}

export interface ApprovalInput {
  step: string;
  by: string;
  comment?: string;
}

export interface RejectInput {
  step: string;
  by: string;
  reason?: string;
}

/** Each step's state, attempts, times and a one-line summary. */
export const runbookProgressQuery = defineQuery<RunbookProgress>('progress');
/** Approves the step waiting for approval; the approver must hold the step's role. */
export const runbookApproveUpdate = defineUpdate<{ step: string; approvedBy: string }, [ApprovalInput]>('approve');
/** Rejects the step waiting for approval: compensations run in reverse order, the run fails. */
export const runbookRejectUpdate = defineUpdate<{ step: string; rejectedBy: string }, [RejectInput]>('reject');
/** Stops the run: the current step is cancelled and compensations run in reverse order. */
export const runbookAbortSignal = defineSignal<[{ by?: string; reason?: string }]>('abort');
