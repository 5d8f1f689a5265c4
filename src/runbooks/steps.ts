// The I/O of runbook steps: SQL, allow-listed commands, HTTP checks, notifications, approvals
// passed on to restores and drill databases dropped. Secrets
// (database URLs, webhook addresses, command environments) are resolved here, on the worker.
import { execa } from 'execa';
import type { LifeboatConfig } from '../config/schema.js';
import { getDatabase } from '../config/load.js';
import { redactSecrets, resolveSecret } from '../config/secrets.js';
import { approveRestoreUpdate, durationMs, failureCause, restoreProgressQuery, type RunbookStepHeartbeat } from '../contracts/index.js';
import { connectPg, parsePostgresUrl, withDatabase } from '../engines/postgres/index.js';
import { LifeboatError, shortMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { TailBuffer, keyStderrLine } from '../pipeline/process.js';
import { connectClient } from '../temporal.js';

/** What a step's activity gives the step's I/O: cancellation, heartbeats, a timer, its deadline. */
export interface StepRuntime {
  signal: AbortSignal;
  heartbeat(details: RunbookStepHeartbeat): void;
  sleep(ms: number): Promise<void>;
  /** Epoch milliseconds by which the step must be done (its start-to-close timeout). */
  deadline: number;
}

export interface SqlStepInput {
  database: string;
  dbname?: string;
  sql: string;
  assert: boolean;
}

/** Runs a statement on a configured database (or another database on its server); `assert` requires `true`. */
export async function runSql(cfg: LifeboatConfig, input: SqlStepInput): Promise<{ value: unknown; rows: number; summary: string }> {
  const db = getDatabase(cfg, input.database);
  let conn = parsePostgresUrl(resolveSecret(db.url, `databases.${input.database}.url`), db.provider);
  if (input.dbname) conn = withDatabase(conn, input.dbname);
  const label = input.dbname ?? input.database;
  const client = await connectPg(conn, label);
  try {
    const r = await client.query({ text: input.sql, rowMode: 'array' });
    const value = (r.rows[0] as unknown[] | undefined)?.[0] ?? null;
    if (input.assert && value !== true) {
      throw new LifeboatError('ASSERTION_FAILED', `Assertion failed on ${label}: ${shortMessage(input.sql, 200)} returned ${JSON.stringify(value)}`, {
        subject: label,
      });
    }
    const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
    return {
      value: typeof value === 'bigint' ? String(value) : value,
      rows: r.rowCount ?? r.rows.length,
      summary: input.assert ? 'assertion held' : `returned ${shortMessage(shown, 80)}`,
    };
  } catch (err) {
    if (err instanceof LifeboatError) throw err;
    throw new LifeboatError('ASSERTION_FAILED', `SQL on ${label} failed: ${(err as Error).message}`, { subject: label });
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface CommandStepInput {
  /** A name under `runbooks.commands`. */
  command: string;
  args: string[];
  runbook: string;
  step: string;
}

interface ExecaOutcome {
  failed?: boolean;
  exitCode?: number;
  signal?: string;
  timedOut?: boolean;
  isCanceled?: boolean;
  code?: string;
}

function whyFailed(program: string, r: ExecaOutcome): string {
  if (r.code === 'ENOENT') return `${program} not found`;
  if (r.timedOut) return 'timed out';
  if (r.isCanceled) return 'was cancelled';
  return r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
}

/** Runs an allow-listed program (no shell), heartbeating its output; fails with its exit status and last error line. */
export async function runCommand(
  cfg: LifeboatConfig,
  log: Logger,
  input: CommandStepInput,
  rt: StepRuntime,
): Promise<{ exitCode: number; output: string; summary: string }> {
  const allowed = cfg.runbooks?.commands ?? {};
  const spec = allowed[input.command];
  if (!spec) {
    throw new LifeboatError(
      'COMMAND_NOT_ALLOWED',
      `Command ${input.command} is not allowed: not in runbooks.commands (allowed: ${Object.keys(allowed).join(', ') || 'none'})`,
      { subject: input.command },
    );
  }
  if (input.args.length && !spec.allowExtraArgs) {
    throw new LifeboatError(
      'COMMAND_NOT_ALLOWED',
      `Command ${input.command} is not allowed extra arguments (set allowExtraArgs in runbooks.commands.${input.command})`,
      { subject: input.command },
    );
  }
  const env: Record<string, string> = { LIFEBOAT_RUNBOOK: input.runbook, LIFEBOAT_STEP: input.step };
  for (const [k, v] of Object.entries(spec.env)) env[k] = resolveSecret(v, `runbooks.commands.${input.command}.env.${k}`);
  const tail = new TailBuffer(8 * 1024);
  const beat = setInterval(
    () => rt.heartbeat({ activity: 'runbook-step', phase: `running ${input.command}`, last: redactSecrets(tail.text().slice(-200)) }),
    2000,
  );
  try {
    const child = execa(spec.program, [...spec.args, ...input.args], {
      cwd: spec.cwd,
      env,
      extendEnv: true,
      all: true,
      buffer: false,
      stdin: 'ignore',
      cancelSignal: rt.signal,
      forceKillAfterDelay: 5000,
      timeout: spec.timeout ? durationMs(spec.timeout, `runbooks.commands.${input.command}.timeout`) : undefined,
    });
    child.all?.on('data', (d: Buffer) => tail.push(d));
    const r: ExecaOutcome = await child.catch((e: ExecaOutcome) => e);
    const output = redactSecrets(tail.text());
    const line = keyStderrLine(output);
    if (r.failed)
      throw new LifeboatError('COMMAND_FAILED', `Command ${input.command} failed: ${spec.program} ${whyFailed(spec.program, r)}${line ? `: ${line}` : ''}`, {
        subject: input.command,
      });
    log.info({ runbook: input.runbook, step: input.step, command: input.command }, 'runbook command succeeded');
    return { exitCode: 0, output: output.slice(-2000), summary: `${input.command} succeeded${line ? `: ${shortMessage(line, 120)}` : ''}` };
  } finally {
    clearInterval(beat);
  }
}

export interface HttpCheckInput {
  url: string;
  expectStatus: number;
  bodyContains?: string;
  intervalMs: number;
}

/** Polls a URL until it answers with the expected status (and body text) or the step's deadline. */
export async function httpCheck(input: HttpCheckInput, rt: StepRuntime): Promise<{ status: number; attempts: number; summary: string }> {
  let attempts = 0;
  let last = 'no answer';
  while (Date.now() < rt.deadline) {
    attempts++;
    try {
      const res = await fetch(input.url, { signal: AbortSignal.any([rt.signal, AbortSignal.timeout(Math.min(10_000, input.intervalMs * 5))]) });
      const body = await res.text();
      const bodyOk = input.bodyContains === undefined || body.includes(input.bodyContains);
      if (res.status === input.expectStatus && bodyOk) return { status: res.status, attempts, summary: `HTTP ${res.status} after ${attempts} attempt(s)` };
      last = `HTTP ${res.status}${bodyOk ? '' : ` without "${input.bodyContains}"`}`;
    } catch (err) {
      if (rt.signal.aborted) throw err;
      last = (err as Error).message;
    }
    rt.heartbeat({ activity: 'runbook-step', phase: 'polling', attempts, last: redactSecrets(last) });
    await rt.sleep(input.intervalMs);
  }
  throw new LifeboatError('HTTP_CHECK_FAILED', `Health check failed: ${redactSecrets(input.url)} answered ${redactSecrets(last)} (${attempts} attempts)`, {
    subject: input.url,
  });
}

export interface NotifyInput {
  /** `log` or a name under `runbooks.notify`. */
  channel: string;
  runbook: string;
  step: string;
  message: string;
}

/** Sends a message to a channel: `log` (the worker's log) or a configured webhook. */
export async function notify(cfg: LifeboatConfig, log: Logger, input: NotifyInput): Promise<void> {
  log.warn({ runbook: input.runbook, step: input.step, channel: input.channel }, input.message);
  if (input.channel === 'log') return;
  const channels = cfg.runbooks?.notify ?? {};
  const ch = channels[input.channel];
  if (!ch)
    throw new LifeboatError('INVALID_INPUT', `Unknown notification channel ${input.channel} (configured: ${['log', ...Object.keys(channels)].join(', ')})`, {
      subject: input.channel,
    });
  const url = resolveSecret(ch.webhook, `runbooks.notify.${input.channel}.webhook`);
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ text: input.message, runbook: input.runbook, step: input.step }),
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) throw new LifeboatError('COMMAND_FAILED', `Notification to ${input.channel} failed: HTTP ${res.status}`, { subject: input.channel });
}

/**
 * Gives a child restore the approval a runbook step already obtained, once the restore asks for
 * one; returns at once when the restore needs none.
 */
export async function forwardRestoreApproval(
  cfg: LifeboatConfig,
  input: { workflowId: string; approver: string; target: string },
  rt: StepRuntime,
): Promise<string> {
  const client = await connectClient(cfg);
  try {
    const handle = client.workflow.getHandle(input.workflowId);
    for (;;) {
      const state = await handle.query(restoreProgressQuery).catch(() => undefined);
      if (state?.phase === 'awaiting-approval') {
        try {
          await handle.executeUpdate(approveRestoreUpdate, { args: [{ approver: input.approver, target: input.target }] });
        } catch (err) {
          throw new LifeboatError('NOT_APPROVED', `Approval of the restore into ${input.target} was refused: ${failureCause(err).message}`, {
            subject: input.target,
          });
        }
        return `approved by ${input.approver}`;
      }
      if (state && state.phase !== 'resolving' && state.phase !== 'inspecting') return 'no approval needed';
      rt.heartbeat({ activity: 'runbook-step', phase: state?.phase ?? 'starting' });
      await rt.sleep(500);
    }
  } finally {
    await client.connection.close();
  }
}

/** Drops the scratch databases a drill restored into (only names containing `_drill`, never the configured one). */
export async function dropDrillDatabases(cfg: LifeboatConfig, databases: Array<{ database: string; dbname: string }>): Promise<string[]> {
  const dropped: string[] = [];
  for (const { database, dbname } of databases) {
    const db = getDatabase(cfg, database);
    const conn = parsePostgresUrl(resolveSecret(db.url, `databases.${database}.url`), db.provider);
    if (!dbname.includes('_drill') || dbname === conn.database) {
      throw new LifeboatError('INVALID_INPUT', `Refusing to drop ${dbname}: not a drill database`, { subject: dbname });
    }
    const client = await connectPg(conn, database);
    try {
      await client.query(`drop database if exists ${client.escapeIdentifier(dbname)} with (force)`);
      dropped.push(dbname);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return dropped;
}
