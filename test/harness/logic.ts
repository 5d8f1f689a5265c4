// Tests of workflow logic with the activities replaced: the real Temporal server, the real worker
// and its failure interceptor, the real workflow bundle; activities give scripted answers, so
// approval, retention and cleanup branches run without PostgreSQL or S3. These come in addition
// to the real-service tests in test/workflow/, never instead of them.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import type { Activities } from '../../activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { WORKFLOWS, failureCause, type WorkflowName, type WorkflowTypes } from '../../src/contracts/index.js';
import { services, startWorker, uniqueName, type RunningWorker } from './services.js';

/** One call of an overridden activity, in the order the worker ran them. */
export interface ActivityCall {
  name: keyof Activities;
  input: unknown;
}

const dirs: string[] = [];

/**
 * A configuration that reaches nothing: `orders` at a closed port, storage targets in an empty
 * temporary directory. Activities that are not overridden would fail on it, loudly.
 */
export function logicConfig(opts: { storage?: string[]; approvers?: string[] } = {}): LifeboatConfig {
  const names = opts.storage ?? ['primary'];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-logic-'));
  dirs.push(dir);
  return parseConfig({
    temporal: { address: services().temporal.address, namespace: 'default', taskQueue: uniqueName('lb-logic') },
    storage: Object.fromEntries(names.map((n) => [n, { type: 'filesystem', path: path.join(dir, n) }])),
    databases: { orders: { engine: 'postgres', url: 'postgres://nobody@127.0.0.1:1/orders', storage: names } },
    approvers: opts.approvers,
  });
}

export interface LogicWorker {
  cfg: LifeboatConfig;
  w: RunningWorker;
  /** Every call of an overridden activity so far. */
  calls: ActivityCall[];
  /** Names of the activities called so far, in order. */
  called(): Array<keyof Activities>;
  /** Inputs of every call of one activity. */
  inputs<K extends keyof Activities>(name: K): Array<Parameters<Activities[K]>[0]>;
  start<K extends WorkflowName>(workflow: K, input: Parameters<WorkflowTypes[K]>[0]): Promise<WorkflowHandle<WorkflowTypes[K]>>;
}

const running: RunningWorker[] = [];

/** Starts a worker (on a task queue of its own) whose named activities are replaced by `overrides`, each call recorded. */
export async function logicWorker(overrides: Partial<Activities>, cfg: LifeboatConfig = logicConfig()): Promise<LogicWorker> {
  const calls: ActivityCall[] = [];
  const activities: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(overrides)) {
    activities[name] = (input: unknown) => {
      calls.push({ name: name as keyof Activities, input });
      return (fn as (input: unknown) => Promise<unknown>)(input);
    };
  }
  const w = await startWorker(cfg, { activities: activities as Partial<Activities>, heartbeatIntervalMs: 100 });
  running.push(w);
  return {
    cfg,
    w,
    calls,
    called: () => calls.map((c) => c.name),
    inputs: <K extends keyof Activities>(name: K) => calls.filter((c) => c.name === name).map((c) => c.input as Parameters<Activities[K]>[0]),
    start: <K extends WorkflowName>(workflow: K, input: Parameters<WorkflowTypes[K]>[0]) =>
      w.client.workflow.start<WorkflowTypes[K]>(WORKFLOWS[workflow], {
        taskQueue: cfg.temporal.taskQueue,
        workflowId: uniqueName(workflow),
        args: [input] as Parameters<WorkflowTypes[K]>,
      }),
  };
}

/** Stops every worker {@link logicWorker} started and removes the configurations' directories (call in afterEach). */
export async function stopLogicWorkers(): Promise<void> {
  await Promise.all(running.splice(0).map((w) => w.stop()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
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
