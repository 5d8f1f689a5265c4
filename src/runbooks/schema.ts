import { z } from 'zod';
import { RUNBOOK_ID_RE as ID_RE, RecoveryTargetsSchema, runbookDuration } from '../contracts/runbook.js';

/** Runbook files are validated by the contract's schema (one `with` schema per step type). */
export { RunbookFileSchema, type RunbookDefinition as RunbookFile } from '../contracts/runbook.js';

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
        /** Longest a run of the command may take (the step's own timeout still applies). */
        timeout: runbookDuration.optional(),
      }),
    )
    .default({}),
  /** Notification channels: `log` always exists; webhooks POST JSON `{ text, runbook, step }`. */
  notify: z.record(z.string(), z.strictObject({ webhook: ValueOrRef })).default({}),
  /** Default RTO/RPO targets (minutes) for runbooks that set none. */
  targets: RecoveryTargetsSchema.default({}),
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
