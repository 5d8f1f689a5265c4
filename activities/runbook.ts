import { Context } from '@temporalio/activity';
import { execa } from 'execa';
import { getDatabase, databaseStorageNames } from '../src/config/load.js';
import { redactSecrets, resolveSecret } from '../src/config/secrets.js';
import { LifeboatError, shortMessage } from '../src/errors.js';
import { connectPg, parsePostgresUrl, withDatabase } from '../src/engines/postgres/index.js';
import { TailBuffer, keyStderrLine } from '../src/pipeline/process.js';
import { readManifest } from '../src/catalog/catalog.js';
import { openStorage } from '../src/storage/index.js';
import { loadRunbook } from '../src/runbooks/load.js';
import { runRecordKey, type RunbookRunRecord } from '../src/runbooks/history.js';
import type { LoadedRunbook } from '../src/contracts/runbook.js';
import { toFailure } from './failures.js';
import { connectClient } from '../src/temporal.js';
import type { ActivityDeps } from './deps.js';
import { durationMs } from '../src/contracts/duration.js';

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toFailure(err);
  }
}

/** Activities of runbook steps. Secrets (URLs, webhook addresses, command env) are resolved here. */
export function createRunbookActivities(deps: ActivityDeps) {
  const cfg = deps.config;
  const log = deps.logger;

  return {
    async loadRunbook(input: { runbook: string; params: Record<string, string | number | boolean>; drill: boolean }): Promise<LoadedRunbook> {
      return guarded(async () => loadRunbook(cfg, input.runbook, input.params));
    },

    /** Runs a statement on a configured database (or another database on its server); `assert` requires `true`. */
    async runbookSql(input: { database: string; dbname?: string; sql: string; assert: boolean }): Promise<{ value: unknown; rows: number; summary: string }> {
      return guarded(async () => {
        const db = getDatabase(cfg, input.database);
        let conn = parsePostgresUrl(resolveSecret(db.url, `databases.${input.database}.url`), db.provider);
        if (input.dbname) conn = withDatabase(conn, input.dbname);
        const label = input.dbname ?? input.database;
        const client = await connectPg(conn, label);
        try {
          const r = await client.query({ text: input.sql, rowMode: 'array' });
          const value = (r.rows[0] as unknown[] | undefined)?.[0] ?? null;
          if (input.assert && value !== true) {
            throw new LifeboatError('ASSERTION_FAILED', `Assertion failed on ${label}: ${shortMessage(input.sql, 200)} returned ${JSON.stringify(value)}`, { subject: label });
          }
          const shown = typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
          return { value: typeof value === 'bigint' ? String(value) : value, rows: r.rowCount ?? r.rows.length, summary: input.assert ? 'assertion held' : `returned ${shortMessage(shown, 80)}` };
        } catch (err) {
          if (err instanceof LifeboatError) throw err;
          throw new LifeboatError('ASSERTION_FAILED', `SQL on ${label} failed: ${(err as Error).message}`, { subject: label });
        } finally {
          await client.end().catch(() => undefined);
        }
      });
    },

    /** Runs an allow-listed program (no shell), heartbeating; fails with its exit status and last error line. */
    async runbookCommand(input: { command: string; args: string[]; runbook: string; step: string }): Promise<{ exitCode: number; output: string; summary: string }> {
      return guarded(async () => {
        const allowed = cfg.runbooks?.commands ?? {};
        const spec = allowed[input.command];
        if (!spec) {
          throw new LifeboatError('COMMAND_NOT_ALLOWED', `Command ${input.command} is not allowed: not in runbooks.commands (allowed: ${Object.keys(allowed).join(', ') || 'none'})`, { subject: input.command });
        }
        if (input.args.length && !spec.allowExtraArgs) {
          throw new LifeboatError('COMMAND_NOT_ALLOWED', `Command ${input.command} is not allowed extra arguments (set allowExtraArgs in runbooks.commands.${input.command})`, { subject: input.command });
        }
        const env: Record<string, string> = { LIFEBOAT_RUNBOOK: input.runbook, LIFEBOAT_STEP: input.step };
        for (const [k, v] of Object.entries(spec.env)) env[k] = resolveSecret(v, `runbooks.commands.${input.command}.env.${k}`);
        const ctx = Context.current();
        const tail = new TailBuffer(8 * 1024);
        const beat = setInterval(() => ctx.heartbeat({ output: redactSecrets(tail.text().slice(-200)) }), 2000);
        try {
          const child = execa(spec.program, [...spec.args, ...input.args], {
            cwd: spec.cwd,
            env,
            extendEnv: true,
            all: true,
            buffer: false,
            stdin: 'ignore',
            cancelSignal: ctx.cancellationSignal,
            forceKillAfterDelay: 5000,
            timeout: spec.timeout ? durationMs(spec.timeout) : undefined,
          });
          child.all?.on('data', (d: Buffer) => tail.push(d));
          const r = await child.catch((e: { exitCode?: number; signal?: string; timedOut?: boolean; isCanceled?: boolean; code?: string }) => e);
          const output = redactSecrets(tail.text());
          if ('failed' in r && r.failed) {
            const why = r.code === 'ENOENT' ? `${spec.program} not found` : r.timedOut ? 'timed out' : r.isCanceled ? 'was cancelled' : r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`;
            const line = keyStderrLine(output);
            throw new LifeboatError('COMMAND_FAILED', `Command ${input.command} failed: ${spec.program} ${why}${line ? `: ${line}` : ''}`, { subject: input.command });
          }
          log.info({ runbook: input.runbook, step: input.step, command: input.command }, 'runbook command succeeded');
          const last = keyStderrLine(output);
          return { exitCode: 0, output: output.slice(-2000), summary: `${input.command} succeeded${last ? `: ${shortMessage(last, 120)}` : ''}` };
        } finally {
          clearInterval(beat);
        }
      });
    },

    /** Polls a URL until it answers with the expected status (and body text) or the step times out. */
    async httpCheck(input: { url: string; expectStatus: number; bodyContains?: string; interval: string }): Promise<{ status: number; attempts: number; summary: string }> {
      return guarded(async () => {
        const ctx = Context.current();
        const deadline = Date.now() + (ctx.info.startToCloseTimeoutMs || 300_000) - 1000;
        const interval = durationMs(input.interval);
        let attempts = 0;
        let last = 'no answer';
        while (Date.now() < deadline) {
          attempts++;
          try {
            const res = await fetch(input.url, { signal: AbortSignal.any([ctx.cancellationSignal, AbortSignal.timeout(Math.min(10_000, interval * 5))]) });
            const body = await res.text();
            if (res.status === input.expectStatus && (input.bodyContains === undefined || body.includes(input.bodyContains))) {
              return { status: res.status, attempts, summary: `HTTP ${res.status} after ${attempts} attempt(s)` };
            }
            last = `HTTP ${res.status}${input.bodyContains !== undefined && !body.includes(input.bodyContains) ? ` without "${input.bodyContains}"` : ''}`;
          } catch (err) {
            if (ctx.cancellationSignal.aborted) throw err;
            last = (err as Error).message;
          }
          ctx.heartbeat({ attempts, last });
          await ctx.sleep(interval);
        }
        throw new LifeboatError('HTTP_CHECK_FAILED', `Health check failed: ${redactSecrets(input.url)} answered ${last} (${attempts} attempts)`, { subject: input.url });
      });
    },

    /** Sends a message to a channel: `log` (the worker's log) or a configured webhook. */
    async notify(input: { channel: string; runbook: string; step: string; message: string }): Promise<void> {
      return guarded(async () => {
        log.warn({ runbook: input.runbook, step: input.step, channel: input.channel }, input.message);
        if (input.channel === 'log') return;
        const ch = cfg.runbooks?.notify[input.channel];
        if (!ch) throw new LifeboatError('INVALID_INPUT', `Unknown notification channel ${input.channel} (configured: log, ${Object.keys(cfg.runbooks?.notify ?? {}).join(', ')})`);
        const url = resolveSecret(ch.webhook, `runbooks.notify.${input.channel}.webhook`);
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ text: input.message, runbook: input.runbook, step: input.step }),
          signal: AbortSignal.timeout(15_000),
        });
        if (!res.ok) throw new LifeboatError('COMMAND_FAILED', `Notification to ${input.channel} failed: HTTP ${res.status}`);
      });
    },

    /** Gives a child restore the approval a runbook step already obtained, once it asks for one. */
    async forwardRestoreApproval(input: { workflowId: string; approver: string; target: string }): Promise<string> {
      return guarded(async () => {
        const ctx = Context.current();
        const client = await connectClient(cfg);
        try {
          const handle = client.workflow.getHandle(input.workflowId);
          for (;;) {
            const state = await handle.query<{ phase: string }>('progress').catch(() => undefined);
            if (state?.phase === 'awaiting-approval') {
              try {
                await handle.executeUpdate('approve', { args: [{ approver: input.approver, target: input.target }] });
              } catch (err) {
                const why = ((err as { cause?: Error }).cause ?? (err as Error)).message;
                throw new LifeboatError('NOT_APPROVED', `Approval of the restore into ${input.target} was refused: ${why}`, { subject: input.target });
              }
              return `approved by ${input.approver}`;
            }
            if (state && ['restoring', 'done', 'failed', 'verifying'].includes(state.phase)) return 'no approval needed';
            ctx.heartbeat(state?.phase ?? 'starting');
            await ctx.sleep(500);
          }
        } finally {
          await client.connection.close();
        }
      });
    },

    /** Start time of a committed backup (for the RPO achieved by a restore). */
    async backupStartedAt(input: { database: string; backupId: string }): Promise<string | null> {
      return guarded(async () => {
        const storage = openStorage(cfg, databaseStorageNames(cfg, input.database)[0]!);
        return (await readManifest(storage, input.database, input.backupId))?.startedAt ?? null;
      });
    },

    /** Drops the scratch databases a drill restored into (only names containing `_drill`). */
    async dropDrillDatabases(input: { databases: Array<{ database: string; dbname: string }> }): Promise<string[]> {
      return guarded(async () => {
        const dropped: string[] = [];
        for (const { database, dbname } of input.databases) {
          const db = getDatabase(cfg, database);
          const conn = parsePostgresUrl(resolveSecret(db.url, `databases.${database}.url`), db.provider);
          if (!/_drill/.test(dbname) || dbname === conn.database) {
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
      });
    },

    /** Keeps a record of a runbook run (drills: RTO/RPO history). */
    async recordRunbookRun(record: RunbookRunRecord): Promise<string> {
      return guarded(async () => {
        const name = cfg.runbooks?.historyStorage ?? Object.keys(cfg.storage)[0]!;
        const storage = openStorage(cfg, name);
        const key = runRecordKey(record);
        await storage.put(key, `${JSON.stringify(record, null, 2)}\n`);
        return storage.describe(key);
      });
    },
  };
}
