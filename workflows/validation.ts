import { ApplicationFailure } from '@temporalio/workflow';
import type { z } from 'zod';
import { describeIssues } from './types.js';

/** Parses a workflow input; a bad input fails the workflow at once with a non-retryable error. */
export function parseInput<S extends z.ZodType>(schema: S, raw: unknown, workflow: string): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw ApplicationFailure.create({
      type: 'INVALID_INPUT',
      message: `Invalid input for ${workflow}: ${describeIssues(result.error)}`,
      nonRetryable: true,
    });
  }
  return result.data;
}
