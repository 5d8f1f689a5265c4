// Per-step activity options: the one place a runbook step's `timeout` and `retry` become a proxy.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { DURATION_MESSAGE, lifeboatFailure, parseDuration } from '../../src/contracts/index.js';
import type { StepCall } from './context.js';

const STEP_TIMEOUT_MS = 30 * 60_000;
const HEARTBEAT_TIMEOUT_MS = 30_000;

/** Milliseconds of a duration the runbook schema has checked (`what` names it if it is malformed). */
export function ms(text: string, what: string): number;
export function ms(text: string | undefined, what: string): number | undefined;
export function ms(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const value = parseDuration(text);
  if (value === undefined) throw lifeboatFailure('INVALID_INPUT', `Invalid ${what}: ${DURATION_MESSAGE}: "${text}"`);
  return value;
}

/**
 * Activities with the step's options: its `timeout` (default 30 minutes) as start-to-close, its
 * `retry` (default one attempt), and a heartbeat timeout for activities that heartbeat.
 */
export function stepActivities(call: StepCall, opts: { heartbeat: boolean }): Activities {
  const retry = call.retry;
  const options: ActivityOptions = {
    startToCloseTimeout: call.timeoutMs ?? STEP_TIMEOUT_MS,
    retry: {
      maximumAttempts: retry?.maximumAttempts ?? 1,
      initialInterval: ms(retry?.initialInterval, 'retry.initialInterval') ?? 5000,
      backoffCoefficient: retry?.backoffCoefficient ?? 2,
    },
  };
  if (opts.heartbeat) options.heartbeatTimeout = HEARTBEAT_TIMEOUT_MS;
  return proxyActivities<Activities>(options);
}
