// Checks several workflow tests share.
import { WorkflowFailedError } from '@temporalio/client';
import { failureCause } from '../../src/contracts/failures.js';
import { withPg } from './services.js';

/** The failure a workflow ended with (it must have failed): its type and innermost message. */
export async function failureOf(p: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return failureCause(err);
}

/** Whether a database of this name exists on the test server. */
export async function databaseExists(name: string): Promise<boolean> {
  return withPg('postgres', async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rows.length === 1);
}
