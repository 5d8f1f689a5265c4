import type { Command } from 'commander';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { LifeboatConfig } from '../config/schema.js';
import { connectClient } from '../temporal.js';
import { openStorage } from '../storage/index.js';
import { listRunbooks } from '../runbooks/load.js';
import { listRunbookRuns } from '../runbooks/history.js';
import type { RunbookProgress, RunbookResult } from '../contracts/runbook.js';
import { failureCause } from './follow.js';
import { formatDuration, table } from './format.js';

class RunbookCliError extends Error {
  constructor(
    public readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function parseParam(kv: string, acc: Record<string, string>): Record<string, string> {
  const i = kv.indexOf('=');
  if (i <= 0) throw new RunbookCliError(2, `Invalid --param ${kv}: expected key=value`);
  acc[kv.slice(0, i)] = kv.slice(i + 1);
  return acc;
}

function out(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

export function formatProgress(p: RunbookProgress): string {
  const rows = p.steps.map((s) => [s.id, s.type, s.state, String(s.attempts), s.summary ?? s.skippedBecause ?? '']);
  const head = `${p.runbook}${p.drill ? ' (drill)' : ''}: ${p.status}${p.waitingFor ? `, waiting for approval of ${p.waitingFor.step} by role ${p.waitingFor.role}` : ''}`;
  return `${head}\n${table(['STEP', 'TYPE', 'STATE', 'TRIES', 'SUMMARY'], rows)}`;
}

async function withClient<T>(config: () => LifeboatConfig, fn: (client: Client, cfg: LifeboatConfig) => Promise<T>): Promise<T> {
  const cfg = config();
  const client = await connectClient(cfg);
  try {
    return await fn(client, cfg);
  } finally {
    await client.connection.close();
  }
}

async function followRunbook(handle: WorkflowHandle, json: boolean | undefined): Promise<RunbookResult> {
  let last = '';
  const timer = setInterval(async () => {
    try {
      const p = await handle.query<RunbookProgress>('progress');
      const line = p.steps.map((s) => `${s.id}=${s.state}`).join(' ');
      if (line !== last) {
        last = line;
        if (!json) {
          const cur = p.steps.find((s) => s.id === p.current);
          process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${p.status}${cur ? ` · ${cur.id}: ${cur.state}` : ''}${p.waitingFor ? ` · approve with: lifeboat runbook approve ${handle.workflowId} --step ${p.waitingFor.step} --as <name>` : ''}\n`);
        }
      }
    } catch {
      /* not started yet */
    }
  }, 1000);
  try {
    return (await handle.result()) as RunbookResult;
  } finally {
    clearInterval(timer);
  }
}

/** `lifeboat runbook …` and `lifeboat drills`. */
export function registerRunbookCommands(program: Command, config: () => LifeboatConfig): void {
  const rb = program.command('runbook').description('disaster-recovery runbooks: start, follow, approve, reject, abort');

  rb.command('list')
    .description('list the runbooks this configuration knows')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const all = [...listRunbooks(config()).values()];
      out(opts.json, all.map((r) => ({ name: r.definition.name, file: r.file, description: r.definition.description, params: r.definition.params })), () =>
        table(['RUNBOOK', 'STEPS', 'DESCRIPTION'], all.map((r) => [r.definition.name, String(r.definition.steps.length), r.definition.description ?? ''])),
      );
    });

  rb.command('start')
    .description('start a runbook (a drill with --drill)')
    .argument('<name>', 'runbook name')
    .option('-p, --param <key=value>', 'a parameter (repeatable)', parseParam, {})
    .option('--drill', 'run against scratch targets; cutover steps are skipped')
    .option('-w, --wait', 'follow the run until it ends')
    .option('--json', 'machine-readable output')
    .option('--id <workflowId>', 'workflow id (default: runbook:<name>:<time> or drill:<name>:<time>)')
    .action(async (name: string, opts: { param: Record<string, string>; drill?: boolean; wait?: boolean; json?: boolean; id?: string }) => {
      await withClient(config, async (client, cfg) => {
        const workflowId = opts.id ?? `${opts.drill ? 'drill' : 'runbook'}:${name}:${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
        const handle = await client.workflow.start('runRunbook', {
          taskQueue: cfg.temporal.taskQueue,
          workflowId,
          args: [{ runbook: name, params: opts.param, drill: Boolean(opts.drill) }],
          memo: { runbook: name, drill: Boolean(opts.drill) },
        });
        if (!opts.wait) {
          out(opts.json, { workflowId, runId: handle.firstExecutionRunId }, () => `Started runbook ${name}${opts.drill ? ' (drill)' : ''}: ${workflowId}`);
          return;
        }
        try {
          const result = await followRunbook(handle, opts.json);
          out(opts.json, { ok: true, workflowId, ...result }, () =>
            [
              `Runbook ${name}${result.drill ? ' (drill)' : ''} succeeded`,
              `  RTO ${result.rtoMs === null ? '-' : formatDuration(result.rtoMs)}${result.targets.rtoMinutes ? ` (target ${result.targets.rtoMinutes} min: ${result.met.rto ? 'met' : 'MISSED'})` : ''}`,
              `  RPO ${result.rpoMs === null ? '-' : formatDuration(result.rpoMs)}${result.targets.rpoMinutes ? ` (target ${result.targets.rpoMinutes} min: ${result.met.rpo ? 'met' : 'MISSED'})` : ''}`,
            ].join('\n'),
          );
        } catch (err) {
          const cause = failureCause(err);
          if (opts.json) out(true, { ok: false, workflowId, error: cause }, () => '');
          throw new RunbookCliError(1, cause.message);
        }
      });
    });

  rb.command('status')
    .description('show each step of a runbook run')
    .argument('<workflowId>')
    .option('--json', 'machine-readable output')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      await withClient(config, async (client) => {
        const p = await client.workflow.getHandle(workflowId).query<RunbookProgress>('progress');
        out(opts.json, p, () => formatProgress(p));
      });
    });

  for (const action of ['approve', 'reject'] as const) {
    rb.command(action)
      .description(action === 'approve' ? 'approve the step waiting for approval' : 'reject it: compensations run in reverse order')
      .argument('<workflowId>')
      .requiredOption('--step <step>', 'the step waiting for approval')
      .requiredOption('--as <who>', 'your name, as listed under runbooks.roles')
      .option(action === 'approve' ? '--comment <text>' : '--reason <text>', action === 'approve' ? 'a comment' : 'why')
      .action(async (workflowId: string, opts: { step: string; as: string; comment?: string; reason?: string }) => {
        await withClient(config, async (client) => {
          const handle = client.workflow.getHandle(workflowId);
          try {
            await handle.executeUpdate(action, { args: [action === 'approve' ? { step: opts.step, by: opts.as, comment: opts.comment } : { step: opts.step, by: opts.as, reason: opts.reason }] });
          } catch (err) {
            if (err instanceof WorkflowUpdateFailedError) throw new RunbookCliError(1, `${action === 'approve' ? 'Approval' : 'Rejection'} refused: ${(err.cause as Error)?.message ?? err.message}`);
            throw err;
          }
          process.stdout.write(`${action === 'approve' ? 'Approved' : 'Rejected'} step ${opts.step} of ${workflowId} as ${opts.as}\n`);
        });
      });
  }

  rb.command('abort')
    .description('stop a run: the current step is cancelled and compensations run')
    .argument('<workflowId>')
    .option('--as <who>', 'your name')
    .option('--reason <text>', 'why')
    .action(async (workflowId: string, opts: { as?: string; reason?: string }) => {
      await withClient(config, async (client) => {
        await client.workflow.getHandle(workflowId).signal('abort', { by: opts.as, reason: opts.reason });
        process.stdout.write(`Abort sent to ${workflowId}\n`);
      });
    });

  program
    .command('drills')
    .description('RTO/RPO of every drill (and live run) of a runbook, with the trend')
    .argument('<runbook>')
    .option('--json', 'machine-readable output')
    .action(async (runbook: string, opts: { json?: boolean }) => {
      const cfg = config();
      const storage = openStorage(cfg, cfg.runbooks?.historyStorage ?? Object.keys(cfg.storage)[0]!);
      const runs = await listRunbookRuns(storage, runbook);
      out(opts.json, runs, () => {
        if (runs.length === 0) return `No recorded runs of ${runbook}.`;
        let prev: number | null = null;
        const rows = runs.map((r) => {
          const trend = r.rtoMs !== null && prev !== null ? (r.rtoMs < prev ? '▼ faster' : r.rtoMs > prev ? '▲ slower' : '= same') : '';
          if (r.rtoMs !== null) prev = r.rtoMs;
          const tgt = r.targets.rtoMinutes;
          return [
            r.startedAt.replace(/\.\d{3}Z$/, 'Z'),
            r.drill ? 'drill' : 'live',
            r.status,
            r.rtoMs === null ? '-' : formatDuration(r.rtoMs),
            r.rpoMs === null ? '-' : formatDuration(r.rpoMs),
            tgt && r.rtoMs !== null ? (r.rtoMs <= tgt * 60_000 ? 'met' : 'MISSED') : '-',
            trend,
          ];
        });
        return table(['STARTED', 'KIND', 'STATUS', 'RTO', 'RPO', 'RTO TARGET', 'TREND'], rows);
      });
    });
}

export { RunbookCliError };
