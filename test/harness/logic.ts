// Tests of workflow logic with the activities replaced: the real Temporal server, the real worker
// and its failure interceptor, the real workflow bundle; activities give scripted answers, so
// approval, retention and cleanup branches run without PostgreSQL or S3. These come in addition
// to the real-service tests in test/workflow/, never instead of them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { createActivities, type Activities } from '../../activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { WORKFLOWS, failureCause, type WorkflowName, type WorkflowTypes } from '../../src/contracts/index.js';
import { LifeboatError } from '../../src/errors.js';
import { captureLogger, services, startWorker, uniqueName, type RunningWorker } from './services.js';

/** One call of a scripted activity, in the order the worker ran them. */
export interface ActivityCall {
  name: keyof Activities;
  input: unknown;
}

/** A configuration that reaches nothing: `orders` at a closed port, storage in an empty temporary directory. */
function logicConfig(dir: string): LifeboatConfig {
  return parseConfig({
    temporal: { address: services().temporal.address, namespace: 'default', taskQueue: uniqueName('lb-logic') },
    storage: { primary: { type: 'filesystem', path: dir } },
    databases: { orders: { engine: 'postgres', url: 'postgres://nobody@127.0.0.1:1/orders' } },
  });
}

/**
 * Audit records and notifications every workflow sends: answered by default (and kept in
 * {@link ScriptedWorker.observed}, not in `calls`) unless a test scripts them.
 */
const OBSERVERS = {
  recordWorkflowAudit: async () => [],
  deliverNotification: async (e: { type: string }) => ({ key: 'scripted', type: e.type, channels: [] }),
} as unknown as Partial<Activities>;

export interface ScriptedWorker {
  /** Audit records and notifications the workflows sent (when not scripted), in order. */
  observed: ActivityCall[];
  /** Sets what each activity does for the current test (any other activity fails, non-retryable) and clears the calls. */
  script(activities: Partial<Activities>): void;
  /** Every call of a scripted activity since {@link script}. */
  calls: ActivityCall[];
  /** Names of the activities called since {@link script}, in order. */
  called(): Array<keyof Activities>;
  /** Inputs of every call of one activity since {@link script}. */
  inputs<K extends keyof Activities>(name: K): Array<Parameters<Activities[K]>[0]>;
  start<K extends WorkflowName>(workflow: K, input: Parameters<WorkflowTypes[K]>[0]): Promise<WorkflowHandle<WorkflowTypes[K]>>;
}

/**
 * One worker for a test file (started in beforeAll, stopped in afterAll) on a task queue of its
 * own, every activity replaced by a dispatcher to the current test's {@link ScriptedWorker.script}.
 * The real failure interceptor still applies; nothing reaches a database or storage.
 */
export function scriptedWorker(): ScriptedWorker {
  let w: RunningWorker | undefined;
  let dir: string | undefined;
  let cfg: LifeboatConfig | undefined;
  let current: Partial<Activities> = {};
  const calls: ActivityCall[] = [];
  const observed: ActivityCall[] = [];
  const dispatch = (name: keyof Activities) => async (input: unknown) => {
    if (!current[name] && OBSERVERS[name]) {
      observed.push({ name, input });
      return (OBSERVERS[name] as (input: unknown) => Promise<unknown>)(input);
    }
    calls.push({ name, input });
    const fn = current[name] as ((input: unknown) => Promise<unknown>) | undefined;
    if (!fn) throw new LifeboatError('UNSUPPORTED', `Activity ${name} is not scripted in this test`, { subject: name });
    return fn(input);
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lb-logic-'));
    cfg = logicConfig(dir);
    const names = Object.keys(createActivities({ config: cfg, logger: captureLogger().logger })) as Array<keyof Activities>;
    const activities = Object.fromEntries(names.map((n) => [n, dispatch(n)])) as unknown as Partial<Activities>;
    w = await startWorker(cfg, { activities, heartbeatIntervalMs: 100 });
  });
  afterAll(async () => {
    await w?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  return {
    script(activities) {
      current = activities;
      calls.length = 0;
      observed.length = 0;
    },
    calls,
    observed,
    called: () => calls.map((c) => c.name),
    inputs: <K extends keyof Activities>(name: K) => calls.filter((c) => c.name === name).map((c) => c.input as Parameters<Activities[K]>[0]),
    start: <K extends WorkflowName>(workflow: K, input: Parameters<WorkflowTypes[K]>[0]) =>
      w!.client.workflow.start<WorkflowTypes[K]>(WORKFLOWS[workflow], {
        taskQueue: cfg!.temporal.taskQueue,
        workflowId: uniqueName(workflow),
        args: [input] as Parameters<WorkflowTypes[K]>,
      }),
  };
}

/** Polls `read` until `pred` holds; fails naming `what` and the last value seen. */
export async function waitFor<T>(what: string, read: () => Promise<T>, pred: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read().catch(() => undefined);
    if (last !== undefined && pred(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms: last seen ${JSON.stringify(last)}`);
}

/** The failure a workflow ended with (innermost type and message, and the details of its failure). */
export async function workflowFailure(result: Promise<unknown>): Promise<{ type?: string; message: string; details: unknown[] }> {
  const err = await result.then(
    (value) => {
      throw new Error(`expected the workflow to fail, it returned ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError)) throw err;
  return { ...failureCause(err), details: ((err.cause as { details?: unknown[] } | undefined)?.details ?? []) as unknown[] };
}

/** Why an update was refused (its validator's failure: type and message). */
export async function updateRefusal(update: Promise<unknown>): Promise<{ type?: string; message: string }> {
  const err = await update.then(
    (value) => {
      throw new Error(`expected the update to be refused, it returned ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowUpdateFailedError)) throw err;
  return failureCause(err.cause);
}
