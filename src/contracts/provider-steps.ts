// Provider-native snapshot steps of runbooks (optional: only a runbook that names them uses them):
// a Neon branch at a point in time, an RDS manual snapshot, a PlanetScale branch. Tokens are
// secret references resolved on the worker, never values in a runbook or in workflow history.
import { z } from 'zod';

/** A token by reference: `{ env: NAME }` or `{ file: PATH }`, read on the worker. */
export const StepSecretRefSchema = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
    z.strictObject({ file: z.string().min(1, 'expected a file path') }),
  ],
  { error: 'expected a secret reference { env: NAME } or { file: PATH }, never the token itself' },
);

/** The API's base URL when not the provider's own (a proxy; tests point it at a local server). */
const apiBase = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional();
const providerName = (what: string) =>
  z.string({ error: `expected a ${what}` }).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, `expected a ${what} of letters, digits, ".", "_" or "-"`);

/** `neon-branch`: a branch of a Neon project, from its parent as it was at `at` (or now). */
export const NeonBranchStepWithSchema = z.strictObject({
  project: providerName('Neon project id'),
  name: providerName('branch name'),
  /** The parent branch id; the project's default branch when omitted. */
  parent: providerName('parent branch id').optional(),
  /** The parent's state at this time (ISO 8601), within the project's history retention. */
  at: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time such as 2026-12-03T10:15:00Z' }).optional(),
  token: StepSecretRefSchema,
  apiBase,
});

/** `rds-snapshot`: a manual snapshot of an RDS instance or Aurora cluster (`CreateDBSnapshot` / `CreateDBClusterSnapshot`). */
export const RdsSnapshotStepWithSchema = z
  .strictObject({
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-central-1'),
    instance: providerName('DB instance identifier').optional(),
    cluster: providerName('DB cluster identifier').optional(),
    snapshot: z
      .string()
      .regex(/^[A-Za-z](?!.*--)[A-Za-z0-9-]{0,254}(?<!-)$/, 'expected a snapshot identifier: a letter, then letters, digits and single hyphens'),
    accessKeyId: StepSecretRefSchema,
    secretAccessKey: StepSecretRefSchema,
    sessionToken: StepSecretRefSchema.optional(),
    apiBase,
  })
  .refine((v) => (v.instance === undefined) !== (v.cluster === undefined), { message: 'expected exactly one of instance or cluster' });

/** `planetscale-branch`: a branch of a PlanetScale database from its parent (or from one of its backups). */
export const PlanetScaleBranchStepWithSchema = z.strictObject({
  organization: providerName('organization'),
  database: providerName('database name'),
  name: providerName('branch name'),
  parent: providerName('parent branch').default('main'),
  /** Restore the new branch from this backup of the parent instead of its current state. */
  backupId: providerName('backup id').optional(),
  /** The service token's id and the token (sent as `Authorization: <id>:<token>`). */
  tokenId: StepSecretRefSchema,
  token: StepSecretRefSchema,
  apiBase,
});

export type NeonBranchStepWith = z.output<typeof NeonBranchStepWithSchema>;
export type RdsSnapshotStepWith = z.output<typeof RdsSnapshotStepWithSchema>;
export type PlanetScaleBranchStepWith = z.output<typeof PlanetScaleBranchStepWithSchema>;

/** What a provider step made: its id and name at the provider and the state the API reported. */
export interface ProviderSnapshotResult {
  provider: 'neon' | 'rds' | 'planetscale';
  id: string;
  name: string;
  status?: string;
  summary: string;
}
