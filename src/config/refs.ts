import { z } from 'zod';

/** A reference to a secret that is resolved on the worker, never stored in Temporal. */
export const SecretRefSchema = z.union(
  [
    z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name') }),
    z.strictObject({ file: z.string().min(1, 'expected a file path') }),
  ],
  { error: 'expected { env: NAME } or { file: PATH }' },
);
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** A value that may be written inline (not secret) or referenced like a secret. */
export const ValueOrRefSchema = z.union([z.string().min(1), SecretRefSchema], {
  error: 'expected a string, { env: NAME } or { file: PATH }',
});
export type ValueOrRef = z.infer<typeof ValueOrRefSchema>;
