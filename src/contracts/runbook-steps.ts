// Runbook files and their steps: one `with` schema per step type, used twice. The loader checks
// every value a runbook file spells out; the workflow re-checks each step's `with` once its
// templates are rendered, so both report a bad value by its field. Pure: zod only.
import { z } from 'zod';
import { databaseName, durationField, personName } from './common.js';
import { RestoreInputSchema, VerifyInputSchema } from './restore.js';
import { containsTemplate } from './template.js';
import { NeonBranchStepWithSchema, PlanetScaleBranchStepWithSchema, RdsSnapshotStepWithSchema } from './provider-steps.js';

export const STEP_TYPES = [
  'restore',
  'verify',
  'sql',
  'command',
  'http-check',
  'approval',
  'notify',
  'wait',
  'neon-branch',
  'rds-snapshot',
  'planetscale-branch',
] as const;
export type StepType = (typeof STEP_TYPES)[number];

/** Step types a compensation may use (it undoes something; it never waits for people or time). */
export const COMPENSATION_TYPES = ['restore', 'verify', 'sql', 'command', 'http-check', 'notify'] as const;
export type CompensationType = (typeof COMPENSATION_TYPES)[number];

/** Runbook names, step ids and command names: lowercase letters, digits, "-" and "_". */
export const RUNBOOK_ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A duration in a runbook, in the one grammar of `parseDuration` ("30s", "15m", "2h", "1h 30m"). */
export const runbookDuration = durationField({ describe: 'expected a duration such as "30s", "15m" or "2h" (units w, d, h, m, s, ms)' });

const restoreInput = RestoreInputSchema.shape;
const splitList = (v: unknown) =>
  typeof v === 'string'
    ? v
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : v;

/** `restore`: runs `restoreDatabase` as a child workflow. `tables` may be a comma-separated list. */
export const RestoreStepWithSchema = z.strictObject({
  database: restoreInput.database,
  target: restoreInput.target,
  backup: restoreInput.backup,
  mode: restoreInput.mode,
  tables: z.preprocess(splitList, restoreInput.tables.unwrap()).optional(),
  privileges: restoreInput.privileges,
  withRoles: restoreInput.withRoles,
  jobs: restoreInput.jobs,
  approvalTimeout: restoreInput.approvalTimeout,
  /** An approval obtained in the runbook, passed on to the restore (which checks its own approvers). */
  approvedBy: personName('approver').optional(),
  /** Where a drill restores instead of `target` (default `<target>_drill_<run>`). */
  drillTarget: restoreInput.target.optional(),
});

/** `verify`: runs `verifyBackup` as a child workflow. */
export const VerifyStepWithSchema = VerifyInputSchema;

/** `sql`: one statement on a configured database, or on another database (`dbname`) of its server. */
export const SqlStepWithSchema = z.strictObject({
  database: databaseName,
  dbname: z
    .string({ error: 'expected a database name on the server of `database`' })
    .regex(/^[^\u0000-\u001f]{1,63}$/, 'expected a database name of at most 63 characters')
    .optional(),
  sql: z.string({ error: 'expected an SQL statement' }).min(1, 'expected an SQL statement'),
  /** With `assert`, the first column of the first row must be `true`. */
  assert: z.boolean({ error: 'expected true or false' }).default(false),
});

/** `command`: an allow-listed program (`runbooks.commands`), no shell. */
export const CommandStepWithSchema = z.strictObject({
  command: z.string({ error: 'expected a command name from runbooks.commands' }).regex(RUNBOOK_ID_RE, 'expected a command name from runbooks.commands'),
  args: z
    .array(z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string' }).transform(String), { error: 'expected a list of arguments' })
    .max(100)
    .default([]),
});

/** `http-check`: polls a URL until it answers as expected or the step times out. */
export const HttpCheckStepWithSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://10.0.0.5:8080/health' }),
  expectStatus: z.coerce
    .number({ error: 'expected an HTTP status from 100 to 599' })
    .int()
    .min(100, 'expected an HTTP status from 100 to 599')
    .max(599, 'expected an HTTP status from 100 to 599')
    .default(200),
  bodyContains: z.string().optional(),
  interval: runbookDuration.default('2s'),
});

/** `approval`: waits for `approve`/`reject` from a holder of `role`; escalates once after `escalateAfter`. */
export const ApprovalStepWithSchema = z.strictObject({
  role: z.string({ error: 'expected a role from runbooks.roles' }).min(1, 'expected a role from runbooks.roles'),
  escalateAfter: runbookDuration.optional(),
  /** Notification channel of the escalation: `log` or a name under `runbooks.notify`. */
  escalateTo: z.string().min(1).default('log'),
  /** Four eyes for this step (the starter of a live run may not approve it); default: the database's `fourEyes`. */
  fourEyes: z.boolean({ error: 'expected true or false' }).optional(),
});

/** `notify`: a message to `log` (the worker's log) or a channel under `runbooks.notify`. */
export const NotifyStepWithSchema = z.strictObject({
  message: z.string({ error: 'expected a message' }).min(1, 'expected a message'),
  channel: z.string().min(1).default('log'),
});

/** `wait`: a durable timer. */
export const WaitStepWithSchema = z.strictObject({ duration: runbookDuration });

/** The `with` schema of every step type (values after template rendering). */
export const STEP_WITH = {
  restore: RestoreStepWithSchema,
  verify: VerifyStepWithSchema,
  sql: SqlStepWithSchema,
  command: CommandStepWithSchema,
  'http-check': HttpCheckStepWithSchema,
  approval: ApprovalStepWithSchema,
  notify: NotifyStepWithSchema,
  wait: WaitStepWithSchema,
  'neon-branch': NeonBranchStepWithSchema,
  'rds-snapshot': RdsSnapshotStepWithSchema,
  'planetscale-branch': PlanetScaleBranchStepWithSchema,
} as const satisfies Record<StepType, z.ZodType>;

/** The typed, rendered `with` of a step type. */
export type StepWith<T extends StepType> = z.output<(typeof STEP_WITH)[T]>;

export interface WithIssue {
  /** Path inside `with`, e.g. `["duration"]`; empty for the object itself. */
  path: PropertyKey[];
  message: string;
}

function issuesOf(type: StepType, value: Record<string, unknown>, error: z.ZodError, skipTemplated: boolean): WithIssue[] {
  const issues: WithIssue[] = [];
  for (const issue of error.issues) {
    const field = issue.path[0] as string | undefined;
    if (skipTemplated && field !== undefined && containsTemplate(value[field])) continue;
    const missing = issue.path.length === 1 && value[field!] === undefined;
    issues.push({ path: issue.path, message: missing ? `required by ${type} steps` : issue.message });
  }
  return issues;
}

/** Checks a rendered `with` against its step type's schema: the typed value with defaults, or every problem. */
export function checkStepWith<T extends StepType>(
  type: T,
  value: Record<string, unknown>,
): { ok: true; with: StepWith<T> } | { ok: false; issues: WithIssue[] } {
  const parsed = STEP_WITH[type].safeParse(value);
  return parsed.success ? { ok: true, with: parsed.data as StepWith<T> } : { ok: false, issues: issuesOf(type, value, parsed.error, false) };
}

/** One line: `with.duration: expected a duration ...; with.role: required by approval steps`. */
export function describeWithIssues(issues: WithIssue[]): string {
  return issues.map((i) => `${['with', ...i.path.map(String)].join('.')}: ${i.message}`).join('; ');
}

/** A step's `with` as written in a runbook file: values are checked unless they hold templates. A missing field reads "required by <type> steps". */
function fileWith(type: StepType) {
  return z
    .record(z.string(), z.unknown(), { error: 'expected an object of step settings' })
    .prefault({})
    .superRefine((value, ctx) => {
      const parsed = STEP_WITH[type].safeParse(value);
      if (parsed.success) return;
      // A field holding a template is checked once rendered.
      for (const i of issuesOf(type, value, parsed.error, true)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
    });
}

const RetrySchema = z.strictObject({
  maximumAttempts: z.int().min(1).max(100).optional(),
  initialInterval: runbookDuration.optional(),
  backoffCoefficient: z.number().min(1).max(10).optional(),
});
export type RetrySpec = z.output<typeof RetrySchema>;

const compensationOf = <T extends CompensationType>(type: T) =>
  z.strictObject({ type: z.literal(type), with: fileWith(type), timeout: runbookDuration.optional() });

/** One compensation: undoes a step when the runbook is rejected, aborted or fails after it. */
const CompensationSchema = z.discriminatedUnion(
  'type',
  COMPENSATION_TYPES.map(compensationOf) as unknown as [ReturnType<typeof compensationOf<CompensationType>>],
  {
    error: (iss) => (iss.code === 'invalid_union' ? `expected one of ${COMPENSATION_TYPES.join(', ')}` : undefined),
  },
);
export type CompensationSpec = z.output<typeof CompensationSchema>;

const stepOf = <T extends StepType>(type: T) =>
  z.strictObject({
    id: z.string({ error: 'expected a step id' }).regex(RUNBOOK_ID_RE, 'expected an id of lowercase letters, digits, "-" or "_"'),
    name: z.string().optional(),
    type: z.literal(type),
    with: fileWith(type),
    timeout: runbookDuration.optional(),
    retry: RetrySchema.optional(),
    /** Template expression; the step is skipped when it is false. */
    when: z.string().optional(),
    /** A cutover step changes production (DNS, DATABASE_URL, restarts): skipped in drills. */
    cutover: z.boolean().optional(),
    compensation: CompensationSchema.optional(),
  });

/** A runbook step as written: discriminated by `type`; `with` still holds its templates. */
export const RunbookStepSchema = z.discriminatedUnion('type', STEP_TYPES.map(stepOf) as unknown as [ReturnType<typeof stepOf<StepType>>], {
  error: (iss) => (iss.code === 'invalid_union' ? `expected one of ${STEP_TYPES.join(', ')}` : undefined),
});
export type StepSpec = z.output<typeof RunbookStepSchema>;

const ParamSchema = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional(),
  description: z.string().optional(),
});
export type ParamSpec = z.output<typeof ParamSchema>;

/** RTO/RPO targets in minutes. */
export const RecoveryTargetsSchema = z.strictObject({ rtoMinutes: z.number().positive().optional(), rpoMinutes: z.number().positive().optional() });

/** A runbook file (YAML): its name, parameters, RTO/RPO targets and ordered steps. */
export const RunbookFileSchema = z
  .strictObject({
    name: z.string({ error: 'expected a runbook name' }).regex(RUNBOOK_ID_RE, 'expected a name of lowercase letters, digits, "-" or "_"'),
    description: z.string().optional(),
    params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name'), ParamSchema).default({}),
    targets: RecoveryTargetsSchema.default({}),
    steps: z.array(RunbookStepSchema).min(1, 'expected at least one step'),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.steps.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
    });
  });

/** A validated runbook; `targets` are the runbook's, else the configuration's. */
export type RunbookDefinition = z.output<typeof RunbookFileSchema>;
