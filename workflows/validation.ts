import type { z } from 'zod';
import { describeIssues, lifeboatFailure } from '../src/contracts/index.js';

/** Parses a workflow input; a bad input fails the workflow at once with a non-retryable error. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, workflow: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw lifeboatFailure('INVALID_INPUT', `Invalid input for ${workflow}: ${describeIssues(result.error)}`);
  return result.data;
}
