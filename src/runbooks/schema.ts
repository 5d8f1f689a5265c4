import { z } from 'zod';
import { STEP_TYPES } from '../contracts/runbook.js';

export const DURATION_RE = /^\d+(\.\d+)?\s*(ms|s|m|h|d|seconds?|minutes?|hours?|days?)$/;
const Duration = z.string().regex(DURATION_RE, 'expected a duration such as "30s", "15m" or "2h"');
const ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const Retry = z.strictObject({
  maximumAttempts: z.int().min(1).max(100).optional(),
  initialInterval: Duration.optional(),
  backoffCoefficient: z.number().min(1).max(10).optional(),
});

const With = z.record(z.string(), z.unknown()).default({});

/** What each step type requires in `with` (checked when the runbook is loaded). */
const WITH_REQUIRED: Record<string, string[]> = {
  restore: ['database', 'target'],
  verify: ['database'],
  sql: ['database', 'sql'],
  command: ['command'],
  'http-check': ['url'],
  approval: ['role'],
  notify: ['message'],
  wait: ['duration'],
};

const Compensation = z.strictObject({
  type: z.enum(['restore', 'verify', 'sql', 'command', 'http-check', 'notify']),
  with: With,
  timeout: Duration.optional(),
});

const Step = z
  .strictObject({
    id: z.string().regex(ID_RE, 'expected an id of lowercase letters, digits, "-" or "_"'),
    name: z.string().optional(),
    type: z.enum(STEP_TYPES, { error: `expected one of ${STEP_TYPES.join(', ')}` }),
    with: With,
    timeout: Duration.optional(),
    retry: Retry.optional(),
    when: z.string().optional(),
    cutover: z.boolean().optional(),
    compensation: Compensation.optional(),
  })
  .superRefine((s, ctx) => {
    for (const key of WITH_REQUIRED[s.type] ?? []) {
      if (s.with[key] === undefined) ctx.addIssue({ code: 'custom', path: ['with', key], message: `required by ${s.type} steps` });
    }
  });

const Param = z.strictObject({
  type: z.enum(['string', 'number', 'boolean']).default('string'),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  required: z.boolean().optional(),
  description: z.string().optional(),
});

export const RunbookFileSchema = z
  .strictObject({
    name: z.string().regex(ID_RE, 'expected a name of lowercase letters, digits, "-" or "_"'),
    description: z.string().optional(),
    params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a parameter name'), Param).default({}),
    targets: z.strictObject({ rtoMinutes: z.number().positive().optional(), rpoMinutes: z.number().positive().optional() }).default({}),
    steps: z.array(Step).min(1, 'expected at least one step'),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.steps.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id "${s.id}"` });
      seen.add(s.id);
    });
  });
export type RunbookFile = z.infer<typeof RunbookFileSchema>;

const ValueOrRef = z.union([z.string(), z.strictObject({ env: z.string() }), z.strictObject({ file: z.string() })]);

/** The `runbooks:` section of lifeboat.yaml. */
export const RunbooksConfigSchema = z.strictObject({
  /** Runbook files or directories of `*.yaml`, relative to the config file. */
  paths: z.array(z.string().min(1)).default([]),
  /** Role -> the people who hold it (names as they type them in `--as`). */
  roles: z.record(z.string(), z.array(z.string().min(1))).default({}),
  /** The only programs a `command` step may run: no shell, fixed program, optional extra args. */
  commands: z
    .record(
      z.string().regex(ID_RE, 'expected a command name'),
      z.strictObject({
        program: z.string().min(1),
        args: z.array(z.string()).default([]),
        /** Whether a step may append its own arguments. */
        allowExtraArgs: z.boolean().default(false),
        cwd: z.string().optional(),
        env: z.record(z.string(), ValueOrRef).default({}),
        timeout: Duration.optional(),
      }),
    )
    .default({}),
  /** Notification channels: `log` always exists; webhooks POST JSON `{ text, runbook, step }`. */
  notify: z.record(z.string(), z.strictObject({ webhook: ValueOrRef })).default({}),
  /** Default RTO/RPO targets (minutes) for runbooks that set none. */
  targets: z.strictObject({ rtoMinutes: z.number().positive().optional(), rpoMinutes: z.number().positive().optional() }).default({}),
  /** Scheduled drills (`lifeboat schedules apply` creates them), e.g. monthly on the 1st at 03:00 UTC. */
  drills: z
    .array(
      z.strictObject({
        runbook: z.string().regex(ID_RE, 'expected a runbook name'),
        params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
        cron: z.string().min(1).default('0 3 1 * *'),
        timezone: z.string().default('UTC'),
      }),
    )
    .default([]),
  /** Storage target where drill history is kept (default: the first storage target). */
  historyStorage: z.string().optional(),
});
export type RunbooksConfig = z.infer<typeof RunbooksConfigSchema>;
