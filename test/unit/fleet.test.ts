import { DumpSlots } from '../../src/backup/dump-slots.js';
import { describeHeartbeat } from '../../src/cli/progress.js';
import { type ConfigError, parseConfig } from '../../src/config/load.js';
import { desiredSchedules } from '../../src/schedules/desired.js';
import { diffSchedules } from '../../src/schedules/reconcile.js';
import { describePriority, runPriority } from '../../src/temporal/priority.js';

const tick = () => new Promise((r) => setImmediate(r));

function config(extra: Record<string, unknown> = {}) {
  return parseConfig({
    storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } },
    databases: { orders: { engine: 'postgres', url: { env: 'X' } } },
    ...extra,
  });
}

test('dump slots: per host and in all; a waiter of a free host is not held back by one of a full host; release wakes in order', async () => {
  const slots = new DumpSlots({ total: 3, perHost: 2 });
  const a1 = await slots.acquire('a:5432');
  const a2 = await slots.acquire('a:5432');
  const reasons: string[] = [];
  let a3: (() => void) | undefined;
  void slots.acquire('a:5432', undefined, (r) => reasons.push(r)).then((rel) => (a3 = rel));
  await tick();
  expect(reasons).toEqual(['waiting for a slot on host a:5432 (2 of 2 dumps running there)']);
  const b1 = await slots.acquire('b:5432');
  expect(slots.stats()).toMatchObject({ running: 3, waiting: 1 });
  // The worker is full now: a second host waits for a slot in all.
  let b2: (() => void) | undefined;
  const bReasons: string[] = [];
  void slots.acquire('b:5432', undefined, (r) => bReasons.push(r)).then((rel) => (b2 = rel));
  await tick();
  expect(bReasons).toEqual(['waiting for a dump slot on this worker (3 of 3 running)']);
  b1();
  await tick();
  // b's slot went to b (a is still full on its host), not to the older waiter of a.
  expect(b2).toBeDefined();
  expect(a3).toBeUndefined();
  a1();
  await tick();
  expect(a3).toBeDefined();
  a2();
  a3!();
  b2!();
  a3!(); // a second release is a no-op
  expect(slots.stats()).toEqual({ running: 0, waiting: 0, peak: 3, peakByHost: { 'a:5432': 2, 'b:5432': 1 } });
});

test('dump slots: an abort gives up the place in the queue and rejects with the signal reason', async () => {
  const seen: string[] = [];
  const slots = new DumpSlots({ perHost: 1 }, (st) => seen.push(`${st.running} running, ${st.waiting} waiting`));
  const held = await slots.acquire('db:5432');
  const ac = new AbortController();
  const waiting = slots.acquire('db:5432', ac.signal);
  ac.abort(new Error('cancelled by the workflow'));
  await expect(waiting).rejects.toThrow('cancelled by the workflow');
  expect(slots.stats().waiting).toBe(0);
  held();
  await expect(slots.acquire('db:5432', ac.signal)).rejects.toThrow('cancelled by the workflow');
  expect(slots.stats().running).toBe(0);
  // What the worker's lifeboat_worker_dumps gauge is fed.
  expect(seen).toEqual(['1 running, 0 waiting', '1 running, 1 waiting', '1 running, 0 waiting', '0 running, 0 waiting']);
});

test('priority: recovery started by hand first, other ad-hoc runs next, scheduled runs last; the database is the fairness key', () => {
  expect(runPriority('restoreDatabase', { database: 'orders', target: 'x' }, 'ad-hoc')).toEqual({ priorityKey: 1, fairnessKey: 'orders' });
  expect(runPriority('verifyBackup', { database: 'orders' }, 'ad-hoc')).toEqual({ priorityKey: 1, fairnessKey: 'orders' });
  expect(runPriority('runRunbook', { runbook: 'dr' }, 'ad-hoc')).toEqual({ priorityKey: 1, fairnessKey: 'runbook:dr' });
  expect(runPriority('backupDatabase', { database: 'orders' }, 'ad-hoc')).toEqual({ priorityKey: 2, fairnessKey: 'orders' });
  expect(runPriority('backupDatabase', { database: 'orders' }, 'schedule')).toEqual({ priorityKey: 3, fairnessKey: 'orders' });
  expect(runPriority('verifyBackup', { database: 'orders' }, 'schedule')).toEqual({ priorityKey: 3, fairnessKey: 'orders' });
  expect(describePriority({ priorityKey: 3, fairnessKey: 'orders' })).toBe('3 (fairness orders)');
  expect(describePriority({ priorityKey: 0, fairnessKey: '' })).toBe('default');
});

test('schedules carry the scheduled priority; a schedule written without one is updated, naming the change', () => {
  const d = desiredSchedules(config());
  expect(d.map((x) => x.priority)).toEqual(d.map(() => ({ priorityKey: 3, fairnessKey: 'orders' })));
  const observed = d.map((x) => {
    const { hash: _hash, priority: _priority, ...old } = x;
    return {
      scheduleId: x.scheduleId,
      marker: { managedBy: 'lifeboat' as const, scope: 'lifeboat', database: 'orders', kind: x.kind },
      stored: { hash: 'written-before-priorities', fingerprint: 'fp', desired: old as never },
      fingerprint: 'fp',
      paused: false,
    };
  });
  const plan = diffSchedules(d, observed, 'lifeboat');
  expect(plan.counts.update).toBe(d.length);
  for (const c of plan.changes) expect(c.action === 'update' && c.reasons).toEqual(['priority: default -> 3 (fairness orders)']);
});

test('worker settings: validated; a wait for a dump slot reads as such in --wait progress', () => {
  expect(config({ worker: { maxConcurrentActivities: 8, maxConcurrentDumps: 4, perHostDumps: 2 } }).worker).toEqual({
    maxConcurrentActivities: 8,
    maxConcurrentDumps: 4,
    perHostDumps: 2,
  });
  let problems: string[] = [];
  try {
    config({ worker: { perHostDumps: 0, maxDumps: 3 } });
  } catch (err) {
    problems = (err as ConfigError).problems;
  }
  expect(problems.join('\n')).toMatch(/worker\.perHostDumps/);
  expect(problems.join('\n')).toMatch(/maxDumps/);
  const line = describeHeartbeat({
    activity: 'backup',
    phase: 'waiting',
    rawBytes: 0,
    storedBytes: 0,
    elapsedMs: 1200,
    waitingFor: 'waiting for a slot on host db1:5432 (2 of 2 dumps running there)',
  });
  expect(line).toBe('waiting     for a slot on host db1:5432 (2 of 2 dumps running there)');
});
