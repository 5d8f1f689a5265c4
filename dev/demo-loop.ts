import path from 'node:path';
import type { Client } from '@temporalio/client';
import { execa } from 'execa';
import { runbookProgressQuery } from '../src/contracts/index.js';
import { formatBytes, formatDuration } from '../src/cli/format.js';
import { repoRoot } from './services.js';

/** One line of the demo's summary table. */
export interface LoopStep {
  step: string;
  ok: boolean;
  ms: number;
  detail: string;
  workflowId?: string;
}

export interface LoopContext {
  configFile: string;
  env: NodeJS.ProcessEnv;
  uiUrl: string;
  namespace: string;
  /** A client of the demo's Temporal server, for watching runs. */
  client: Client;
  /** Who approves the drill's approval step (listed under runbooks.roles.dba). */
  approver: string;
  say: (line: string) => void;
}

type Json = Record<string, unknown>;

/** The CLI as a user runs it: progress on stderr (inherited), the `--json` result on stdout. */
async function lifeboat(ctx: LoopContext, args: string[]): Promise<{ ok: boolean; json: Json; stderr: string }> {
  ctx.say(`$ lifeboat ${args.map((a) => (/^[\w:=./,@-]+$/.test(a) ? a : `'${a}'`)).join(' ')}`);
  const r = await execa(process.execPath, [path.join(repoRoot(), 'bin', 'lifeboat.js'), '-c', ctx.configFile, ...args], {
    env: ctx.env,
    reject: false,
    stdin: 'ignore',
    stderr: ['pipe', 'inherit'],
  });
  let json: Json = {};
  try {
    json = JSON.parse(r.stdout || '{}') as Json;
  } catch {
    json = { error: { message: r.stdout.trim().split('\n')[0] ?? 'no output' } };
  }
  return { ok: r.exitCode === 0 && json.ok !== false, json, stderr: String(r.stderr) };
}

export function uiLink(ctx: LoopContext, workflowId: string): string {
  return `${ctx.uiUrl}/namespaces/${ctx.namespace}/workflows/${encodeURIComponent(workflowId)}`;
}

function failureText(json: Json, stderr: string): string {
  const err = json.error as { message?: string } | undefined;
  return err?.message ?? (stderr.trim().split('\n').pop() || 'failed');
}

async function timed(ctx: LoopContext, step: string, args: string[], describe: (json: Json) => string): Promise<LoopStep & { json: Json }> {
  const started = Date.now();
  const r = await lifeboat(ctx, args);
  const ms = Date.now() - started;
  const workflowId = typeof r.json.workflowId === 'string' ? r.json.workflowId : undefined;
  const detail = r.ok ? describe(r.json) : failureText(r.json, r.stderr);
  ctx.say(`  ${r.ok ? 'ok' : 'FAILED'}: ${detail}`);
  if (workflowId) ctx.say(`  ${uiLink(ctx, workflowId)}`);
  return { step, ok: r.ok, ms, detail, workflowId, json: r.json };
}

const seconds = (v: unknown) => (typeof v === 'number' ? formatDuration(v) : '?');

async function drill(ctx: LoopContext, database: string, table: string): Promise<LoopStep> {
  const workflowId = `drill:accidental-deletion:demo-${Date.now()}`;
  const started = Date.now();
  const args = ['runbook', 'start', 'accidental-deletion', '--drill', '-p', `database=${database}`, '-p', `tables=${table}`, '--id', workflowId];
  const run = lifeboat(ctx, [...args, '--wait', '--json']);
  // The runbook stops at its approval step (role dba); the demo approves it like an operator would.
  let approved = false;
  for (let i = 0; i < 240 && !approved; i++) {
    await new Promise((r) => setTimeout(r, 500));
    // Watching needs no CLI process: the run's progress query, through the demo's own client.
    const progress = await ctx.client.workflow
      .getHandle(workflowId)
      .query(runbookProgressQuery)
      .catch(() => undefined);
    if (!progress) continue;
    if (progress.waitingFor) {
      ctx.say(`  step ${progress.waitingFor.step} waits for an approval by role ${progress.waitingFor.role}`);
      approved = (await lifeboat(ctx, ['runbook', 'approve', workflowId, '--comment', 'demo drill', '--json'])).ok;
      if (!approved) break;
    }
    if (!['running', 'waiting-approval'].includes(progress.status)) break;
  }
  const r = await run;
  const ms = Date.now() - started;
  const result = r.json.result as Json | undefined;
  const rto = (result?.rtoMs ?? r.json.rtoMs) as number | undefined;
  const notes = (result?.notes ?? r.json.notes ?? []) as string[];
  const detail = r.ok
    ? `accidental-deletion drill passed, approved from the CLI, RTO ${seconds(rto)}${notes.length ? `; ${notes.join('; ')}` : ', scratch databases dropped'}`
    : failureText(r.json, r.stderr);
  ctx.say(`  ${r.ok ? 'ok' : 'FAILED'}: ${detail}`);
  ctx.say(`  ${uiLink(ctx, workflowId)}`);
  return { step: 'runbook drill', ok: r.ok, ms, detail, workflowId };
}

/**
 * The whole loop as a user runs it through the CLI: a backup, a verification by test restore, a
 * restore into a new database, the schedules applied, and a drill of a shipped runbook.
 */
export async function runLoop(ctx: LoopContext, database: string, table: string): Promise<LoopStep[]> {
  const steps: LoopStep[] = [];
  const backup = await timed(ctx, 'backup', ['backup', database, '--wait', '--json'], (j) => {
    const codec = ((j.compression as Json | undefined)?.codec as string | undefined) ?? 'zstd';
    return `${String(j.backupId)}: ${formatBytes(Number(j.rawBytes))} dumped -> ${formatBytes(Number(j.bytes))} stored (${codec}), sha256 ${String(j.sha256).slice(0, 16)}…`;
  });
  steps.push(backup);
  if (!backup.ok) return steps;
  steps.push(
    await timed(ctx, 'verify', ['verify', database, '--wait', '--json'], (j) => {
      const checks = (j.checks as Array<{ ok: boolean }> | undefined) ?? [];
      return `${String(j.outcome)}: restored into a scratch database in ${seconds(j.restoreDurationMs)} (the measured RTO), ${checks.filter((c) => c.ok).length}/${checks.length} checks passed, scratch dropped`;
    }),
  );
  const target = `${database}_restored_${Date.now().toString(36)}`;
  steps.push(
    await timed(ctx, 'restore', ['restore', database, '--target', target, '--backup', 'latest-verified', '--wait', '--json'], (j) => {
      const rows = j.rowCounts as { compared: number; mismatches: unknown[] } | null | undefined;
      const counted = rows ? `, row counts of ${rows.compared} tables ${rows.mismatches.length ? 'DIFFER' : 'equal to the manifest'}` : '';
      return `new database ${String(j.targetDatabase)} in ${seconds(j.restoreDurationMs)}${counted}`;
    }),
  );
  steps.push(
    await timed(ctx, 'schedules', ['schedules', 'apply', '--json'], (j) => {
      const applied = (j.applied as Array<{ ok: boolean }> | undefined) ?? [];
      return `${applied.filter((a) => a.ok).length} schedule(s) applied`;
    }),
  );
  const list = await lifeboat(ctx, ['schedules', 'list', '--json']);
  const rows = Array.isArray(list.json) ? (list.json as Array<{ scheduleId: string; nextRun?: string }>) : [];
  for (const s of rows) ctx.say(`  ${s.scheduleId}: next run ${s.nextRun ?? 'none'}`);
  const next = rows
    .map((s) => s.nextRun)
    .filter((t): t is string => !!t)
    .sort()[0];
  if (next) steps[steps.length - 1]!.detail += `, the next one runs at ${next.replace(/:00\.000Z$/, 'Z')}`;
  steps.push(await drill(ctx, database, table));
  return steps;
}

/** The summary table the demo ends with. */
export function summaryTable(steps: LoopStep[]): string {
  const head = ['STEP', 'RESULT', 'TIME', 'DETAIL'];
  const rows = steps.map((s) => [s.step, s.ok ? 'ok' : 'FAILED', formatDuration(s.ms), s.detail]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 3 ? 0 : r[i]!.length))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === 3 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}
