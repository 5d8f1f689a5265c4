import { z } from 'zod';

export const DUMP_FORMATS = ['custom', 'directory'] as const;

/**
 * How a PostgreSQL database is dumped. `custom` (the default): one `pg_dump -Fc` stream.
 * `directory`: `pg_dump -Fd --jobs` (tables dumped in parallel, one stored object per file of the
 * dump directory), restored with `pg_restore --jobs`. Schema-only backups always use `custom`.
 */
export const DumpSchema = z.strictObject({
  format: z.enum(DUMP_FORMATS, { error: `expected one of ${DUMP_FORMATS.join(', ')}` }).default('custom'),
  /** `pg_dump --jobs` with format `directory` (each job holds one more connection to the server). */
  jobs: z.int().min(1).max(32).default(2),
});
export type DumpConfig = z.infer<typeof DumpSchema>;
