// Executors of the steps that act through an activity (or a timer): sql, command, http-check,
// notify, wait and the provider-native snapshots.
import { sleep } from '@temporalio/workflow';
import type { Executor } from './context.js';
import { ms, stepActivities } from './options.js';

export const sqlStep: Executor<'sql'> = async (w, call) => {
  const r = await stepActivities(call, { heartbeat: false }).runbookSql(w);
  return { output: r, summary: r.summary };
};

export const commandStep: Executor<'command'> = async (w, call, run) => {
  const r = await stepActivities(call, { heartbeat: true }).runbookCommand({ command: w.command, args: w.args, runbook: run.def.name, step: call.id });
  return { output: r, summary: r.summary };
};

export const httpCheckStep: Executor<'http-check'> = async (w, call) => {
  const r = await stepActivities(call, { heartbeat: true }).httpCheck({
    url: w.url,
    expectStatus: w.expectStatus,
    bodyContains: w.bodyContains,
    intervalMs: ms(w.interval, 'with.interval'),
  });
  return { output: r, summary: r.summary };
};

export const notifyStep: Executor<'notify'> = async (w, call, run) => {
  await stepActivities(call, { heartbeat: false }).notify({ channel: w.channel, runbook: run.def.name, step: call.id, message: w.message });
  return { output: null, summary: `notified ${w.channel}` };
};

export const neonBranchStep: Executor<'neon-branch'> = async (w, call) => {
  const r = await stepActivities(call, { heartbeat: false }).providerSnapshot({ type: 'neon-branch', with: w, step: call.id });
  return { output: r, summary: r.summary };
};

export const rdsSnapshotStep: Executor<'rds-snapshot'> = async (w, call) => {
  const r = await stepActivities(call, { heartbeat: false }).providerSnapshot({ type: 'rds-snapshot', with: w, step: call.id });
  return { output: r, summary: r.summary };
};

export const planetScaleBranchStep: Executor<'planetscale-branch'> = async (w, call) => {
  const r = await stepActivities(call, { heartbeat: false }).providerSnapshot({ type: 'planetscale-branch', with: w, step: call.id });
  return { output: r, summary: r.summary };
};

export const waitStep: Executor<'wait'> = async (w) => {
  await sleep(ms(w.duration, 'with.duration'));
  return { output: null, summary: `waited ${w.duration}` };
};
