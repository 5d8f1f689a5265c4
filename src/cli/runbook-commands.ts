import type { Command } from 'commander';
import { osUser } from '../identity.js';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  RunbookInputSchema,
  WORKFLOWS,
  describeIssues,
  runbookAbortSignal,
  runbookApproveUpdate,
  runbookProgressQuery,
  runbookRejectUpdate,
  type RunbookProgress,
  type RunbookResult,
  type WorkflowTypes,
} from '../contracts/index.js';
import { listRunbookRuns } from '../runbooks/history.js';
import { listRunbooks } from '../runbooks/load.js';
import { openStorage } from '../storage/index.js';
import type { FollowTick } from './follow.js';
import { durationOrDash, formatDuration, shortIso, table } from './format.js';
import { CliExit, EXIT, print, startAndFollow, withClient, type ConfigLoader } from './shared.js';

type RunbookHandle = WorkflowHandle<WorkflowTypes['runRunbook']>;

function parseParam(kv: string, acc: Record<string, string>): Record<string, string> {
  const i = kv.indexOf('=');
  if (i <= 0) throw new CliExit(EXIT.usage, `Invalid --param ${kv}: expected key=value`);
  acc[kv.slice(0, i)] = kv.slice(i + 1);
  return acc;
}

export function formatProgress(p: RunbookProgress): string {
  const rows = p.steps.map((s) => [s.id, s.type, s.state, String(s.attempts), s.summary ?? s.skippedBecause ?? '']);
  const head = `${p.runbook}${p.drill ? ' (drill)' : ''}: ${p.status}${p.waitingFor ? `, waiting for approval of ${p.waitingFor.step} by role ${p.waitingFor.role}` : ''}`;
  return `${head}\n${table(['STEP', 'TYPE', 'STATE', 'TRIES', 'SUMMARY'], rows)}`;
}

/** Notes each change of the run's steps (who may approve what, and how), once per change. */
function runbookTick(handle: RunbookHandle, json: boolean | undefined): FollowTick {
  let last = '';
  return async (writer, elapsedMs) => {
    const p = await handle.query(runbookProgressQuery).catch(() => undefined);
    if (!p) return `starting… ${formatDuration(elapsedMs)}`;
    const steps = p.steps.map((s) => `${s.id}=${s.state}`).join(' ');
    const cur = p.steps.find((s) => s.id === p.current);
    if (steps !== last && !json) {
      const approve = p.waitingFor ? ` · approve with: lifeboat runbook approve ${handle.workflowId} --step ${p.waitingFor.step}` : '';
      writer.note(`${new Date().toISOString().slice(11, 19)} ${p.status}${cur ? ` · ${cur.id}: ${cur.state}` : ''}${approve}`);
    }
    last = steps;
    return `${p.status}${cur ? ` · ${cur.id}: ${cur.state}` : ''}, ${formatDuration(elapsedMs)}`;
  };
}

function runbookSummary(name: string, r: RunbookResult): string {
  const met = (target: number | undefined, ok: boolean | null) => (target ? ` (target ${target} min: ${ok ? 'met' : 'MISSED'})` : '');
  return [
    `Runbook ${name}${r.drill ? ' (drill)' : ''} succeeded`,
    `  RTO ${durationOrDash(r.rtoMs)}${met(r.targets.rtoMinutes, r.met.rto)}`,
    `  RPO ${durationOrDash(r.rpoMs)}${met(r.targets.rpoMinutes, r.met.rpo)}`,
  ].join('\n');
}

/**
 * Who acts: the OS user running lifeboat. `--as` is only a check that it is who you think: any
 * other name is refused (a typed name would let anyone approve as a role holder, and a requester
 * approve their own run).
 */
export function actingUser(as: string | undefined): string {
  const me = osUser();
  if (as !== undefined && as !== me)
    throw new CliExit(EXIT.usage, `--as ${as} refused: runbook decisions are made as the OS user running lifeboat (${me}); run lifeboat as ${as} instead`);
  return me;
}

/** The step to approve or reject: `--step`, else the only one waiting for approval. */
export async function waitingStep(handle: RunbookHandle, step: string | undefined): Promise<string> {
  if (step) return step;
  const p = await handle.query(runbookProgressQuery);
  const waiting = [...new Set([...(p.waitingFor ? [p.waitingFor.step] : []), ...p.steps.filter((s) => s.state === 'waiting-approval').map((s) => s.id)])];
  if (waiting.length === 1) return waiting[0]!;
  if (waiting.length === 0) throw new CliExit(EXIT.failed, `Nothing to approve: no step of ${handle.workflowId} waits for approval (the run is ${p.status})`);
  throw new CliExit(EXIT.usage, `Several steps of ${handle.workflowId} wait for approval (${waiting.join(', ')}): choose one with --step`);
}

function registerStart(rb: Command, config: ConfigLoader): void {
  rb.command('start')
    .description('start a runbook (a drill with --drill)')
    .argument('<name>', 'runbook name')
    .option('-p, --param <key=value>', 'a parameter (repeatable)', parseParam, {})
    .option('--drill', 'run against scratch targets; cutover steps are skipped')
    .option('-w, --wait', 'follow the run until it ends')
    .option('--json', 'machine-readable output')
    .option('--id <workflowId>', 'workflow id (default: runbook:<name>:<time> or drill:<name>:<time>)')
    .action(async (name: string, opts: { param: Record<string, string>; drill?: boolean; wait?: boolean; json?: boolean; id?: string }) => {
      const cfg = config();
      const parsed = RunbookInputSchema.safeParse({ runbook: name, params: opts.param, drill: Boolean(opts.drill), requestedBy: osUser() });
      if (!parsed.success) throw new CliExit(EXIT.usage, `Invalid runbook request: ${describeIssues(parsed.error)}`);
      const kind = opts.drill ? 'drill' : 'runbook';
      const workflowId = opts.id ?? `${kind}:${name}:${shortIso(new Date().toISOString())}`;
      await withClient(cfg, (client: Client) =>
        startAndFollow(client, cfg, WORKFLOWS.runRunbook, parsed.data, {
          workflowId,
          memo: { runbook: name, drill: Boolean(opts.drill) },
          alreadyRunning: `Runbook not started: workflow ${workflowId} is already running`,
          wait: opts.wait,
          json: opts.json,
          started: `Started runbook ${name}${opts.drill ? ' (drill)' : ''}`,
          following: `Running ${kind} ${name}`,
          summary: (r) => runbookSummary(name, r),
          tick: runbookTick(client.workflow.getHandle<WorkflowTypes['runRunbook']>(workflowId), opts.json),
        }),
      );
    });
}

function registerDecisions(rb: Command, config: ConfigLoader): void {
  for (const action of ['approve', 'reject'] as const) {
    const approve = action === 'approve';
    rb.command(action)
      .description(approve ? 'approve the step waiting for approval' : 'reject it: compensations run in reverse order')
      .argument('<workflowId>')
      .option('--step <step>', 'the step waiting for approval (default: the only one waiting)')
      .option('--as <who>', 'must be the OS user running lifeboat, who is the approver (as listed under runbooks.roles)')
      .option(approve ? '--comment <text>' : '--reason <text>', approve ? 'a comment' : 'why')
      .option('--json', 'machine-readable output')
      .action(async (workflowId: string, opts: { step?: string; as?: string; comment?: string; reason?: string; json?: boolean }) => {
        const by = actingUser(opts.as);
        await withClient(config(), async (client) => {
          const handle = client.workflow.getHandle<WorkflowTypes['runRunbook']>(workflowId);
          const step = await waitingStep(handle, opts.step);
          try {
            if (approve) await handle.executeUpdate(runbookApproveUpdate, { args: [{ step, by, comment: opts.comment }] });
            else await handle.executeUpdate(runbookRejectUpdate, { args: [{ step, by, reason: opts.reason }] });
          } catch (err) {
            if (err instanceof WorkflowUpdateFailedError)
              throw new CliExit(EXIT.failed, `${approve ? 'Approval' : 'Rejection'} refused: ${(err.cause as Error)?.message ?? err.message}`);
            throw err;
          }
          print(
            opts.json,
            { ok: true, workflowId, step, [approve ? 'approvedBy' : 'rejectedBy']: by },
            () => `${approve ? 'Approved' : 'Rejected'} step ${step} of ${workflowId} as ${by}`,
          );
        });
      });
  }

  rb.command('abort')
    .description('stop a run: the current step is cancelled and compensations run')
    .argument('<workflowId>')
    .option('--as <who>', 'must be the OS user running lifeboat')
    .option('--reason <text>', 'why')
    .option('--json', 'machine-readable output')
    .action(async (workflowId: string, opts: { as?: string; reason?: string; json?: boolean }) => {
      const by = actingUser(opts.as);
      await withClient(config(), async (client) => {
        await client.workflow.getHandle<WorkflowTypes['runRunbook']>(workflowId).signal(runbookAbortSignal, { by, reason: opts.reason });
        print(opts.json, { ok: true, workflowId, abortedBy: by }, () => `Abort sent to ${workflowId}`);
      });
    });
}

function drillRows(runs: Awaited<ReturnType<typeof listRunbookRuns>>): string[][] {
  let prev: number | null = null;
  return runs.map((r) => {
    const trend = r.rtoMs !== null && prev !== null ? (r.rtoMs < prev ? '▼ faster' : r.rtoMs > prev ? '▲ slower' : '= same') : '';
    if (r.rtoMs !== null) prev = r.rtoMs;
    const tgt = r.targets.rtoMinutes;
    const met = tgt && r.rtoMs !== null ? (r.rtoMs <= tgt * 60_000 ? 'met' : 'MISSED') : '-';
    return [shortIso(r.startedAt), r.drill ? 'drill' : 'live', r.status, durationOrDash(r.rtoMs), durationOrDash(r.rpoMs), met, trend];
  });
}

/** `lifeboat runbook …` and `lifeboat drills`. */
export function registerRunbookCommands(program: Command, config: ConfigLoader): void {
  const rb = program.command('runbook').description('disaster-recovery runbooks: start, follow, approve, reject, abort');

  rb.command('list')
    .description('list the runbooks this configuration knows')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const all = [...listRunbooks(config()).values()];
      print(
        opts.json,
        all.map((r) => ({ name: r.definition.name, file: r.file, description: r.definition.description, params: r.definition.params })),
        () =>
          table(
            ['RUNBOOK', 'STEPS', 'DESCRIPTION'],
            all.map((r) => [r.definition.name, String(r.definition.steps.length), r.definition.description ?? '']),
          ),
      );
    });

  registerStart(rb, config);

  rb.command('status')
    .description('show each step of a runbook run')
    .argument('<workflowId>')
    .option('--json', 'machine-readable output')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      await withClient(config(), async (client) => {
        const p = await client.workflow.getHandle<WorkflowTypes['runRunbook']>(workflowId).query(runbookProgressQuery);
        print(opts.json, p, () => formatProgress(p));
      });
    });

  registerDecisions(rb, config);

  program
    .command('drills')
    .description('RTO/RPO of every drill (and live run) of a runbook, with the trend')
    .argument('<runbook>')
    .option('--json', 'machine-readable output')
    .action(async (runbook: string, opts: { json?: boolean }) => {
      const cfg = config();
      const storage = openStorage(cfg, cfg.runbooks?.historyStorage ?? Object.keys(cfg.storage)[0]!);
      const runs = await listRunbookRuns(storage, runbook);
      print(opts.json, runs, () =>
        runs.length === 0 ? `No recorded runs of ${runbook}.` : table(['STARTED', 'KIND', 'STATUS', 'RTO', 'RPO', 'RTO TARGET', 'TREND'], drillRows(runs)),
      );
    });
}
