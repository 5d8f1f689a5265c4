// The watches (dead-man's switches) `schedules apply` keeps beside the schedules: one running
// `watchDatabase` per configured database with `watch.enabled`, under a fixed workflow id, and
// none for a database that is gone or whose watch is turned off.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LifeboatConfig } from '../config/schema.js';
import { WORKFLOWS, watchWorkflowId, type WorkflowTypes } from '../contracts/index.js';
import { WATCH_DEFAULTS } from '../observability/config.js';
import { runStartOptions } from '../temporal/run-metadata.js';
import { runPriority } from '../temporal/priority.js';

export interface WatchChange {
  database: string;
  workflowId: string;
  action: 'started' | 'running' | 'stopped';
  ok: boolean;
  error?: string;
}

const WATCH_ID_PREFIX = watchWorkflowId('');

async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/** Running watches of this deployment (its task queue), by database. */
async function runningWatches(client: Client, cfg: LifeboatConfig): Promise<Map<string, string>> {
  const query = `WorkflowType = '${WORKFLOWS.watchDatabase}' AND ExecutionStatus = 'Running' AND TaskQueue = '${cfg.temporal.taskQueue}'`;
  const out = new Map<string, string>();
  for await (const w of client.workflow.list({ query })) {
    if (w.workflowId.startsWith(WATCH_ID_PREFIX)) out.set(w.workflowId.slice(WATCH_ID_PREFIX.length), w.workflowId);
  }
  return out;
}

/** The databases that should have a watch. */
export function watchedDatabases(cfg: LifeboatConfig): string[] {
  return Object.entries(cfg.databases)
    .filter(([, d]) => (d.watch ?? WATCH_DEFAULTS).enabled)
    .map(([name]) => name)
    .sort();
}

/** Starts the watch of `database` unless it runs (idempotent: a fixed id, the running one is kept). */
export async function ensureWatch(client: Client, cfg: LifeboatConfig, database: string): Promise<'started' | 'running'> {
  const workflowId = watchWorkflowId(database);
  if (await isRunning(client, workflowId)) return 'running';
  await client.workflow.start<WorkflowTypes['watchDatabase']>(WORKFLOWS.watchDatabase, {
    taskQueue: cfg.temporal.taskQueue,
    workflowId,
    args: [{ database }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    priority: runPriority(WORKFLOWS.watchDatabase, { database }, 'schedule'),
    ...(await runStartOptions(client, cfg.temporal.namespace, WORKFLOWS.watchDatabase, { database })),
  });
  return 'started';
}

/**
 * Starts a watch for every database that should have one and stops (terminates) the watches of
 * databases that are gone or turned off. Every change is attempted; the result says which failed.
 */
export async function applyWatches(client: Client, cfg: LifeboatConfig): Promise<WatchChange[]> {
  const wanted = watchedDatabases(cfg);
  const out: WatchChange[] = [];
  for (const database of wanted) {
    const workflowId = watchWorkflowId(database);
    try {
      out.push({ database, workflowId, action: await ensureWatch(client, cfg, database), ok: true });
    } catch (err) {
      out.push({ database, workflowId, action: 'started', ok: false, error: (err as Error).message });
    }
  }
  const running = await runningWatches(client, cfg);
  for (const [database, workflowId] of running) {
    if (wanted.includes(database)) continue;
    const reason = cfg.databases[database] ? `the watch of ${database} is turned off` : `database ${database} is no longer configured`;
    try {
      await client.workflow.getHandle(workflowId).terminate(`stopped by lifeboat schedules apply: ${reason}`);
      out.push({ database, workflowId, action: 'stopped', ok: true });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) continue;
      out.push({ database, workflowId, action: 'stopped', ok: false, error: (err as Error).message });
    }
  }
  return out;
}
