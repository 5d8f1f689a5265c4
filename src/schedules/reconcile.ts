// Reconciles the Temporal Schedules Lifeboat manages with the configuration, like infrastructure
// as code: observe, diff into a plan (create / update / delete / unchanged), apply idempotently.
import {
  ScheduleNotFoundError,
  type Client,
  type ScheduleDescription,
  type ScheduleHandle,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleUpdateOptions,
  type Workflow,
} from '@temporalio/client';
import type { Priority } from '@temporalio/common';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import { runStartOptions } from '../temporal/run-metadata.js';
import { describePriority, normalPriority } from '../temporal/priority.js';
import { MANAGED_MEMO_KEY, SCHEDULE_ID_PREFIX, canonicalJson, describeTiming, desiredSchedules, sha256Hex, type DesiredSchedule } from './desired.js';

/** What Lifeboat stores in a schedule's action memo (the only memo Temporal lets us update). */
interface StoredState {
  hash: string;
  /** Fingerprint of the schedule as the server described it right after Lifeboat wrote it. */
  fingerprint?: string;
  desired: Omit<DesiredSchedule, 'hash'>;
}

/** The marker in the schedule-level memo, written at creation. */
export interface ManagedMarker {
  managedBy: 'lifeboat';
  /** Lifeboat deployments are told apart by task queue. */
  scope: string;
  database: string;
  kind: string;
}

/** A schedule as found on the server. */
export interface ObservedSchedule {
  scheduleId: string;
  marker?: ManagedMarker;
  stored?: StoredState;
  /** Fingerprint of the current server-side description. */
  fingerprint: string;
  paused: boolean;
  note?: string;
}

export type ScheduleChange =
  | { action: 'create'; scheduleId: string; desired: DesiredSchedule }
  | { action: 'update'; scheduleId: string; desired: DesiredSchedule; observed: ObservedSchedule; reasons: string[] }
  | { action: 'delete'; scheduleId: string; observed: ObservedSchedule; reason: string }
  | { action: 'unchanged'; scheduleId: string; desired: DesiredSchedule; observed: ObservedSchedule }
  | { action: 'conflict'; scheduleId: string; desired: DesiredSchedule; reason: string };

export interface SchedulePlan {
  namespace: string;
  scope: string;
  changes: ScheduleChange[];
  counts: Record<ScheduleChange['action'], number>;
}

function isMarker(v: unknown): v is ManagedMarker {
  const m = v as ManagedMarker | undefined;
  return !!m && m.managedBy === 'lifeboat' && typeof m.scope === 'string';
}

function storedState(actionMemo: Record<string, unknown> | undefined): StoredState | undefined {
  const s = actionMemo?.lifeboatSchedule as StoredState | undefined;
  return s && typeof s.hash === 'string' && s.desired ? s : undefined;
}

/** A stable digest of how the server describes a schedule (spec, action with priority only when set, policies; not state). */
export function fingerprintDescription(d: ScheduleDescription): string {
  const a = d.action;
  return sha256Hex(
    canonicalJson({
      spec: {
        calendars: d.spec.calendars,
        intervals: d.spec.intervals,
        skip: d.spec.skip,
        startAt: d.spec.startAt?.toISOString(),
        endAt: d.spec.endAt?.toISOString(),
        jitter: d.spec.jitter,
        timezone: d.spec.timezone,
      },
      action: {
        type: a.type,
        workflowType: a.workflowType,
        workflowId: a.workflowId,
        taskQueue: a.taskQueue,
        args: a.args,
        retry: a.retry,
        workflowExecutionTimeout: a.workflowExecutionTimeout,
        workflowRunTimeout: a.workflowRunTimeout,
        workflowTaskTimeout: a.workflowTaskTimeout,
        priority: normalPriority(a.priority),
      },
      policies: d.policies,
    }),
  ).slice(0, 32);
}

function observe(scheduleId: string, d: ScheduleDescription): ObservedSchedule {
  const marker = d.memo?.[MANAGED_MEMO_KEY];
  return {
    scheduleId,
    marker: isMarker(marker) ? marker : undefined,
    stored: storedState(d.action.memo as Record<string, unknown> | undefined),
    fingerprint: fingerprintDescription(d),
    paused: d.state.paused,
    note: d.state.note,
  };
}

/** Why an observed schedule differs from the desired one; empty when it does not. */
function differences(desired: DesiredSchedule, observed: ObservedSchedule): string[] {
  const stored = observed.stored;
  if (!stored) return ['no Lifeboat state recorded on the schedule'];
  const reasons: string[] = [];
  if (stored.hash !== desired.hash) {
    const was = stored.desired;
    const before = describeTiming(was);
    const after = describeTiming(desired);
    if (before !== after) reasons.push(`timing: ${before} -> ${after}`);
    if (was.taskQueue !== desired.taskQueue) reasons.push(`task queue: ${was.taskQueue} -> ${desired.taskQueue}`);
    if (was.workflowType !== desired.workflowType || canonicalJson(was.args) !== canonicalJson(desired.args)) {
      reasons.push(`action: ${was.workflowType} ${JSON.stringify(was.args[0])} -> ${desired.workflowType} ${JSON.stringify(desired.args[0])}`);
    }
    if (was.workflowId !== desired.workflowId) reasons.push(`workflow id: ${was.workflowId} -> ${desired.workflowId}`);
    const [pBefore, pAfter] = [describePriority(was.priority), describePriority(desired.priority)];
    if (pBefore !== pAfter) reasons.push(`priority: ${pBefore} -> ${pAfter}`);
    if (reasons.length === 0) reasons.push('configuration changed');
  }
  if (stored.fingerprint !== undefined && stored.fingerprint !== observed.fingerprint) {
    reasons.push('changed outside Lifeboat (e.g. edited in the Web UI)');
  }
  return reasons;
}

/**
 * Diffs desired schedules against the observed ones. Only schedules carrying Lifeboat's memo marker
 * for this scope are updated or deleted; a foreign schedule holding a desired id is a conflict. Pure.
 */
export function diffSchedules(desired: DesiredSchedule[], observed: ObservedSchedule[], scope: string, namespace = 'default'): SchedulePlan {
  const byId = new Map(observed.map((o) => [o.scheduleId, o]));
  const changes: ScheduleChange[] = [];
  const wanted = new Set<string>();
  for (const d of desired) {
    wanted.add(d.scheduleId);
    const o = byId.get(d.scheduleId);
    if (!o) {
      changes.push({ action: 'create', scheduleId: d.scheduleId, desired: d });
    } else if (!o.marker) {
      changes.push({ action: 'conflict', scheduleId: d.scheduleId, desired: d, reason: 'a schedule with this id exists but is not managed by Lifeboat' });
    } else if (o.marker.scope !== scope) {
      changes.push({
        action: 'conflict',
        scheduleId: d.scheduleId,
        desired: d,
        reason: `managed by the Lifeboat deployment of task queue "${o.marker.scope}"`,
      });
    } else {
      const reasons = differences(d, o);
      changes.push(
        reasons.length
          ? { action: 'update', scheduleId: d.scheduleId, desired: d, observed: o, reasons }
          : { action: 'unchanged', scheduleId: d.scheduleId, desired: d, observed: o },
      );
    }
  }
  for (const o of observed) {
    if (wanted.has(o.scheduleId) || !o.marker || o.marker.scope !== scope || !o.scheduleId.startsWith(SCHEDULE_ID_PREFIX)) continue;
    const dbGone = !desired.some((d) => d.database === o.marker!.database);
    changes.push({
      action: 'delete',
      scheduleId: o.scheduleId,
      observed: o,
      reason: dbGone ? `database "${o.marker.database}" is no longer configured` : `no "${o.marker.kind}" schedule is configured for "${o.marker.database}"`,
    });
  }
  const order = { conflict: 0, create: 1, update: 2, delete: 3, unchanged: 4 } as const;
  changes.sort((a, b) => order[a.action] - order[b.action] || a.scheduleId.localeCompare(b.scheduleId));
  const counts = { create: 0, update: 0, delete: 0, unchanged: 0, conflict: 0 };
  for (const c of changes) counts[c.action]++;
  return { namespace, scope, changes, counts };
}

async function describeOrUndefined(handle: ScheduleHandle): Promise<ScheduleDescription | undefined> {
  try {
    return await handle.describe();
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Reads the schedules relevant to a plan: each desired id by describe (strongly consistent), plus
 * every Lifeboat-marked schedule of this scope found by listing (eventually consistent).
 */
export async function observeSchedules(client: Client, desired: DesiredSchedule[], scope: string): Promise<ObservedSchedule[]> {
  const ids = new Set(desired.map((d) => d.scheduleId));
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(SCHEDULE_ID_PREFIX) && isMarker(s.memo?.[MANAGED_MEMO_KEY]) && (s.memo![MANAGED_MEMO_KEY] as ManagedMarker).scope === scope) {
      ids.add(s.scheduleId);
    }
  }
  const out: ObservedSchedule[] = [];
  const list = [...ids].sort();
  for (let i = 0; i < list.length; i += 8) {
    const batch = await Promise.all(list.slice(i, i + 8).map(async (id) => ({ id, d: await describeOrUndefined(client.schedule.getHandle(id)) })));
    for (const { id, d } of batch) if (d) out.push(observe(id, d));
  }
  return out;
}

/** Computes the plan for the configuration's schedules. Changes nothing. */
export async function planSchedules(client: Client, cfg: LifeboatConfig): Promise<SchedulePlan> {
  const desired = desiredSchedules(cfg);
  const scope = cfg.temporal.taskQueue;
  return diffSchedules(desired, await observeSchedules(client, desired, scope), scope, cfg.temporal.namespace);
}

/** The start action; the client sends `priority` though its options type (1.24) leaves it out. */
type StartAction = ScheduleOptionsStartWorkflowAction<Workflow> & { priority?: Priority };

/** What the runs a schedule starts show in the Web UI (summary, details, search attributes when registered). */
type RunMetadata = Awaited<ReturnType<typeof runStartOptions>>;

function updateOptions(d: DesiredSchedule, stored: StoredState, state: ScheduleUpdateOptions['state'], meta: RunMetadata): ScheduleUpdateOptions<StartAction> {
  return {
    spec: {
      cronExpressions: d.spec.cronExpressions,
      intervals: d.spec.intervals,
      timezone: d.spec.timezone,
      jitter: d.spec.jitterMs,
    },
    action: {
      type: 'startWorkflow',
      workflowType: d.workflowType,
      workflowId: d.workflowId,
      taskQueue: d.taskQueue,
      args: d.args,
      priority: d.priority,
      memo: { database: d.database, kind: d.kind, lifeboatSchedule: stored },
      ...meta,
    },
    policies: { overlap: d.policies.overlap, catchupWindow: d.policies.catchupWindowMs, pauseOnFailure: d.policies.pauseOnFailure },
    state,
  };
}

/**
 * Writes the desired definition, keeping the schedule's pause state and note (an operator may have
 * paused it in the UI), then records the server's fingerprint of it so later drift is noticed.
 */
async function writeDefinition(handle: ScheduleHandle, d: DesiredSchedule, meta: RunMetadata, created = false): Promise<void> {
  const { hash: _hash, ...body } = d;
  const keepState = (prev: ScheduleDescription) => ({ paused: prev.state.paused, note: prev.state.note, remainingActions: prev.state.remainingActions });
  if (!created) await handle.update((prev) => updateOptions(d, { hash: d.hash, desired: body }, keepState(prev), meta));
  // Only the action memo changes now, so the server's description (and its fingerprint) stays.
  const fingerprint = fingerprintDescription(await handle.describe());
  await handle.update((prev) => updateOptions(d, { hash: d.hash, fingerprint, desired: body }, keepState(prev), meta));
}

export interface AppliedChange {
  scheduleId: string;
  action: ScheduleChange['action'];
  ok: boolean;
  error?: string;
}

/**
 * Applies a plan: creates, updates (pause kept) and deletes Lifeboat's schedules. Conflicts are not
 * touched and reported as errors. Every change is attempted; the result says which failed.
 */
export async function applySchedulePlan(client: Client, cfg: LifeboatConfig, plan: SchedulePlan): Promise<AppliedChange[]> {
  const results: AppliedChange[] = [];
  for (const c of plan.changes) {
    if (c.action === 'unchanged') continue;
    try {
      if (c.action === 'conflict')
        throw new LifeboatError('SCHEDULE_CONFLICT', `Schedule not applied: ${c.reason}: ${c.scheduleId}`, { subject: c.scheduleId });
      if (c.action === 'delete') {
        await client.schedule.getHandle(c.scheduleId).delete();
      } else if (c.action === 'create') {
        const d = c.desired;
        const meta = await runStartOptions(client, cfg.temporal.namespace, d.workflowType, d.args[0]);
        const { hash: _hash, ...body } = d;
        const marker: ManagedMarker = { managedBy: 'lifeboat', scope: cfg.temporal.taskQueue, database: d.database, kind: d.kind };
        const opts = updateOptions(d, { hash: d.hash, desired: body }, { note: 'managed by lifeboat schedules apply' }, meta);
        const handle = await client.schedule.create({
          scheduleId: d.scheduleId,
          spec: opts.spec,
          action: opts.action,
          policies: opts.policies,
          state: opts.state,
          memo: { [MANAGED_MEMO_KEY]: marker },
        });
        await writeDefinition(handle, d, meta, true);
      } else {
        const meta = await runStartOptions(client, cfg.temporal.namespace, c.desired.workflowType, c.desired.args[0]);
        await writeDefinition(client.schedule.getHandle(c.scheduleId), c.desired, meta);
      }
      results.push({ scheduleId: c.scheduleId, action: c.action, ok: true });
    } catch (err) {
      results.push({ scheduleId: c.scheduleId, action: c.action, ok: false, error: (err as Error).message });
    }
  }
  return results;
}

/** `orders:full` or `lifeboat:orders:full` -> `lifeboat:orders:full`. */
export function normalizeScheduleId(id: string): string {
  return id.startsWith(SCHEDULE_ID_PREFIX) ? id : `${SCHEDULE_ID_PREFIX}${id}`;
}

/** A handle to a schedule Lifeboat manages; refuses schedules without the marker. */
export async function managedSchedule(client: Client, id: string): Promise<{ handle: ScheduleHandle; description: ScheduleDescription }> {
  const scheduleId = normalizeScheduleId(id);
  const handle = client.schedule.getHandle(scheduleId);
  const description = await describeOrUndefined(handle);
  if (!description)
    throw new LifeboatError('UNKNOWN_SCHEDULE', `Unknown schedule: no schedule with id ${scheduleId} (see lifeboat schedules list)`, { subject: scheduleId });
  if (!isMarker(description.memo?.[MANAGED_MEMO_KEY])) {
    throw new LifeboatError('UNKNOWN_SCHEDULE', `Not a Lifeboat schedule: ${scheduleId} has no Lifeboat memo marker`, { subject: scheduleId });
  }
  return { handle, description };
}

/**
 * Starts one run of a schedule now and returns the workflow it started (found in the schedule's
 * recent actions; waits up to `timeoutMs` for it to appear).
 */
export async function triggerSchedule(client: Client, id: string, timeoutMs = 15_000): Promise<{ scheduleId: string; workflowId: string; runId: string }> {
  const { handle, description } = await managedSchedule(client, id);
  const before = new Set(description.info.recentActions.map((a) => a.action.workflow.workflowId));
  await handle.trigger();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const fresh = (await handle.describe()).info.recentActions.find((a) => !before.has(a.action.workflow.workflowId));
    if (fresh) return { scheduleId: handle.scheduleId, workflowId: fresh.action.workflow.workflowId, runId: fresh.action.workflow.firstExecutionRunId };
    if (Date.now() > deadline) throw new Error(`Trigger not confirmed: no new run of ${handle.scheduleId} appeared within ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
