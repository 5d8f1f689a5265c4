import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { LifeboatConfig } from '../config/schema.js';
import { OVERLAP_POLICIES } from '../config/schema.js';
import { failureCause } from '../contracts/index.js';
import { describeTiming } from '../schedules/desired.js';
import { applyWatches } from '../schedules/watches.js';
import { applySchedulePlan, managedSchedule, planSchedules, triggerSchedule, type ScheduleChange, type SchedulePlan } from '../schedules/reconcile.js';
import { follow } from './follow.js';
import { shortIso, table } from './format.js';
import { CliExit, EXIT, failureMessage, print, withClient, type ConfigLoader } from './shared.js';

/** Loads the configuration and runs `run` with a client. */
async function connected(config: ConfigLoader, run: (client: Client, cfg: LifeboatConfig) => Promise<void>): Promise<void> {
  const cfg = config();
  await withClient(cfg, (client) => run(client, cfg));
}

/** An ISO time (or anything `Date` parses unambiguously with a zone) for --from/--to. */
export function parseTime(value: string): Date {
  const t = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(t)) throw new InvalidArgumentError('expected an ISO time such as 2026-11-01T00:00:00Z');
  return new Date(t);
}

const SIGN: Record<ScheduleChange['action'], string> = { create: '+', update: '~', delete: '-', unchanged: ' ', conflict: '!' };

function changeDetail(c: ScheduleChange): string {
  switch (c.action) {
    case 'create':
      return `${c.desired.workflowType} ${JSON.stringify(c.desired.args[0])}, ${describeTiming(c.desired)}`;
    case 'update':
      return `${c.reasons.join('; ')}${c.observed.paused ? ' (paused: stays paused)' : ''}`;
    case 'delete':
      return c.reason;
    case 'conflict':
      return `${c.reason}; not touched`;
    case 'unchanged':
      return c.observed.paused ? 'paused' : '';
  }
}

/** Renders a plan like `terraform plan`: one line per schedule, then the counts. */
export function formatSchedulePlan(plan: SchedulePlan): string {
  const lines = [`Schedules in namespace ${plan.namespace} (task queue ${plan.scope}):`];
  if (plan.changes.length === 0) lines.push('  (none configured, none found)');
  for (const c of plan.changes) lines.push(`  ${SIGN[c.action]} ${c.scheduleId.padEnd(40)} ${c.action.padEnd(9)} ${changeDetail(c)}`.trimEnd());
  const n = plan.counts;
  const changes = n.create + n.update + n.delete;
  lines.push(
    changes === 0 && n.conflict === 0
      ? `No changes: ${n.unchanged} schedule(s) up to date.`
      : `Plan: ${n.create} to create, ${n.update} to update, ${n.delete} to delete, ${n.unchanged} unchanged${n.conflict ? `, ${n.conflict} conflict(s)` : ''}.`,
  );
  return lines.join('\n');
}

function planJson(plan: SchedulePlan) {
  return {
    namespace: plan.namespace,
    taskQueue: plan.scope,
    counts: plan.counts,
    changes: plan.changes.map((c) => ({
      scheduleId: c.scheduleId,
      action: c.action,
      detail: changeDetail(c),
      ...('desired' in c ? { workflowType: c.desired.workflowType, args: c.desired.args, timing: describeTiming(c.desired) } : {}),
      ...('observed' in c ? { paused: c.observed.paused } : {}),
    })),
  };
}

async function listManaged(client: Client, cfg: LifeboatConfig) {
  const plan = await planSchedules(client, cfg);
  return Promise.all(
    plan.changes
      .filter((c) => c.action !== 'create')
      .map(async (c) => {
        const d = await client.schedule.getHandle(c.scheduleId).describe();
        return {
          scheduleId: c.scheduleId,
          workflowType: d.action.workflowType,
          paused: d.state.paused,
          note: d.state.note ?? '',
          nextRun: d.info.nextActionTimes[0]?.toISOString() ?? '',
          lastRun: d.info.recentActions.at(-1)?.takenAt.toISOString() ?? '',
          inSync: c.action === 'unchanged',
        };
      }),
  );
}

function registerPlanAndApply(schedules: Command, config: ConfigLoader): void {
  schedules
    .command('plan')
    .description('show what `apply` would create, update or delete (changes nothing)')
    .option('--json', 'print a machine-readable plan')
    .action((opts: { json?: boolean }) =>
      connected(config, async (client, cfg) => {
        const plan = await planSchedules(client, cfg);
        print(opts.json, planJson(plan), () => formatSchedulePlan(plan));
      }),
    );

  schedules
    .command('apply')
    .description("create, update and delete Lifeboat's schedules to match the configuration (pauses are kept)")
    .option('--json', 'print a machine-readable result')
    .action((opts: { json?: boolean }) =>
      connected(config, async (client, cfg) => {
        const plan = await planSchedules(client, cfg);
        const applied = await applySchedulePlan(client, cfg, plan);
        const watches = await applyWatches(client, cfg);
        const failed = [
          ...applied.filter((a) => !a.ok).map((a) => `${a.action} ${a.scheduleId}: ${a.error}`),
          ...watches.filter((w) => !w.ok).map((w) => `${w.action === 'stopped' ? 'stop' : 'start'} ${w.workflowId}: ${w.error}`),
        ];
        print(opts.json, { ...planJson(plan), applied, watches }, () => {
          const lines = [formatSchedulePlan(plan)];
          const done = applied.filter((a) => a.ok);
          if (done.length) lines.push(`Applied: ${done.map((a) => `${a.action} ${a.scheduleId}`).join(', ')}.`);
          const w = watches.filter((x) => x.ok);
          if (w.length) lines.push(`Watches: ${w.map((x) => `${x.database} ${x.action}`).join(', ')}.`);
          for (const f of failed) lines.push(`Failed: ${f}`);
          return lines.join('\n');
        });
        if (failed.length) throw new CliExit(EXIT.failed, `Schedules not fully applied: ${failed.length} change(s) failed`);
      }),
    );

  schedules
    .command('list')
    .description('list the schedules Lifeboat manages for this configuration, with their state')
    .option('--json', 'print a machine-readable list')
    .action((opts: { json?: boolean }) =>
      connected(config, async (client, cfg) => {
        const rows = await listManaged(client, cfg);
        print(opts.json, rows, () =>
          rows.length === 0
            ? 'No Lifeboat schedules found (run `lifeboat schedules apply`).'
            : table(
                ['SCHEDULE', 'WORKFLOW', 'STATE', 'NEXT RUN', 'LAST RUN', 'IN SYNC'],
                rows.map((r) => [
                  r.scheduleId,
                  r.workflowType,
                  r.paused ? 'paused' : 'active',
                  shortIso(r.nextRun),
                  shortIso(r.lastRun),
                  r.inSync ? 'yes' : 'no (apply)',
                ]),
              ),
        );
      }),
    );
}

function registerOperations(schedules: Command, config: ConfigLoader): void {
  for (const verb of ['pause', 'unpause'] as const) {
    schedules
      .command(verb)
      .description(verb === 'pause' ? 'pause a schedule (apply keeps it paused)' : 'resume a paused schedule')
      .argument('<id>', 'schedule id, e.g. lifeboat:orders:full or orders:full')
      .option('--note <text>', 'why (shown in the Temporal UI)')
      .option('--json', 'print a machine-readable result')
      .action((id: string, opts: { note?: string; json?: boolean }) =>
        connected(config, async (client) => {
          const { handle } = await managedSchedule(client, id);
          const note = opts.note ?? `${verb}d with lifeboat schedules ${verb} by ${process.env.USER ?? 'an operator'}`;
          await (verb === 'pause' ? handle.pause(note) : handle.unpause(note));
          print(
            opts.json,
            { ok: true, scheduleId: handle.scheduleId, paused: verb === 'pause', note },
            () => `${verb === 'pause' ? 'Paused' : 'Unpaused'} ${handle.scheduleId}`,
          );
        }),
      );
  }

  schedules
    .command('trigger')
    .description('start one run of a schedule now')
    .argument('<id>', 'schedule id, e.g. lifeboat:orders:full or orders:full')
    .option('-w, --wait', 'follow the started workflow until it ends')
    .option('--json', 'print a machine-readable result')
    .action((id: string, opts: { wait?: boolean; json?: boolean }) =>
      connected(config, async (client) => {
        const started = await triggerSchedule(client, id);
        if (!opts.wait) return print(opts.json, started, () => `Triggered ${started.scheduleId}: workflow ${started.workflowId}`);
        if (!opts.json) process.stderr.write(`Triggered ${started.scheduleId}: workflow ${started.workflowId}\n`);
        let result: unknown;
        try {
          result = await follow(client.workflow.getHandle(started.workflowId, started.runId), { out: process.stderr });
        } catch (err) {
          const cause = failureCause(err);
          if (opts.json) print(true, { ok: false, ...started, error: cause }, () => '');
          throw new CliExit(EXIT.failed, failureMessage(`Run of ${started.scheduleId}`, cause));
        }
        print(opts.json, { ok: true, ...started, result }, () => `Workflow ${started.workflowId} completed:\n${JSON.stringify(result, null, 2)}`);
      }),
    );

  schedules
    .command('backfill')
    .description('run a schedule for the times it would have fired in a past window (e.g. after an outage)')
    .argument('<id>', 'schedule id, e.g. lifeboat:orders:full or orders:full')
    .requiredOption('--from <time>', 'window start (ISO time)', parseTime)
    .requiredOption('--to <time>', 'window end (ISO time)', parseTime)
    .addOption(new Option('--overlap <policy>', 'overlap policy for the backfilled runs').choices([...OVERLAP_POLICIES]).default('BUFFER_ALL'))
    .option('--json', 'print a machine-readable result')
    .action((id: string, opts: { from: Date; to: Date; overlap: (typeof OVERLAP_POLICIES)[number]; json?: boolean }) => {
      if (opts.to <= opts.from) throw new CliExit(EXIT.usage, 'Invalid backfill window: --to must be after --from');
      return connected(config, async (client) => {
        const { handle } = await managedSchedule(client, id);
        await handle.backfill({ start: opts.from, end: opts.to, overlap: opts.overlap });
        print(
          opts.json,
          { ok: true, scheduleId: handle.scheduleId, from: opts.from.toISOString(), to: opts.to.toISOString(), overlap: opts.overlap },
          () => `Backfill of ${handle.scheduleId} requested for ${opts.from.toISOString()} .. ${opts.to.toISOString()} (overlap ${opts.overlap})`,
        );
      });
    });
}

/** `lifeboat schedules plan|apply|list|pause|unpause|trigger|backfill`. */
export function registerScheduleCommands(program: Command, config: ConfigLoader): void {
  const schedules = program.command('schedules').description('Temporal Schedules from the configuration: plan, apply, pause, trigger, backfill');
  registerPlanAndApply(schedules, config);
  registerOperations(schedules, config);
}
