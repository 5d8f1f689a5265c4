// What every command shares: exit codes, printing, the Temporal connection, starting and following
// a workflow by its typed reference, and links to the Web UI.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ConfigError } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import { redactSecrets } from '../config/secrets.js';
import { failureCause, withSubject, type FailureCause, type WorkflowName, type WorkflowTypes } from '../contracts/index.js';
import { LifeboatError } from '../errors.js';
import { connectClient, describeAddress } from '../temporal.js';
import { follow, type FollowTick } from './follow.js';
import { runStartOptions } from '../temporal/run-metadata.js';
import { runPriority } from '../temporal/priority.js';

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or configuration. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Ends a command with an exit code and a message for stderr. */
export class CliExit extends Error {
  constructor(
    public readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliExit';
  }
}

/** Loads the configuration the command runs with (`--config`, `$LIFEBOAT_CONFIG`, `./lifeboat.yaml`). */
export type ConfigLoader = () => LifeboatConfig;

const USAGE_CODES = new Set(['UNKNOWN_DATABASE', 'UNKNOWN_STORAGE']);

/** The exit code of an error that ended a command, and what to print (nothing for commander's own). */
export function exitFor(err: unknown): { code: number; message?: string } {
  const e = err as { code?: string };
  if (typeof e?.code === 'string' && e.code.startsWith('commander.')) {
    return { code: e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage };
  }
  if (err instanceof CliExit) return { code: err.exitCode, message: redactSecrets(err.message) };
  if (err instanceof ConfigError) return { code: EXIT.usage, message: err.message };
  if (err instanceof LifeboatError) return { code: USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failed, message: redactSecrets(err.message) };
  return { code: EXIT.failed, message: redactSecrets((err as Error)?.stack ?? String(err)) };
}

/** Prints a result: JSON with `--json`, else the human form. */
export function print(json: boolean | undefined, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/**
 * The one-line failure: `Backup of orders failed: pg_dump exited with code 1: … [DUMP_FAILED]`.
 * `subject` is not repeated when the cause already starts with it.
 */
export function failureMessage(subject: string | undefined, cause: FailureCause): string {
  const head = withSubject(subject, cause.message);
  return cause.type && !head.endsWith(`[${cause.type}]`) ? `${head} [${cause.type}]` : head;
}

/** The workflow's page in the Web UI (`temporal.uiUrl`, or the dev server's on loopback). */
export function uiLink(cfg: LifeboatConfig, workflowId: string): string | undefined {
  let base = cfg.temporal.uiUrl;
  if (!base) {
    const m = /^(127\.0\.0\.1|localhost|\[::1\]):(\d+)$/.exec(cfg.temporal.address);
    if (!m) return undefined;
    base = `http://${m[1]}:${Number(m[2]) + 1000}`;
  }
  return `${base.replace(/\/$/, '')}/namespaces/${encodeURIComponent(cfg.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** A client, or exit 1 naming where Temporal was looked for (and `hint`, e.g. "add --local"). */
export async function connectOrExit(cfg: LifeboatConfig, hint = ''): Promise<Client> {
  try {
    return await connectClient(cfg);
  } catch (err) {
    if (err instanceof LifeboatError) throw err; // a secret that cannot be read: says so itself
    throw new CliExit(EXIT.failed, `Cannot reach Temporal at ${describeAddress(cfg)}: ${(err as Error).message}${hint}`);
  }
}

/** Runs `fn` with a client, closing the connection afterwards. */
export async function withClient<T>(cfg: LifeboatConfig, fn: (client: Client) => Promise<T>, hint = ''): Promise<T> {
  const client = await connectOrExit(cfg, hint);
  try {
    return await fn(client);
  } finally {
    await client.connection.close();
  }
}

type Input<K extends WorkflowName> = Parameters<WorkflowTypes[K]>[0];
export type Result<K extends WorkflowName> = Awaited<ReturnType<WorkflowTypes[K]>>;

export interface StartOptions {
  workflowId: string;
  memo?: Record<string, unknown>;
  /** The message when a workflow with this id is already running. */
  alreadyRunning: string;
}

/** Starts a workflow by its typed reference (`WORKFLOWS.backupDatabase`) on the configured task queue. */
export async function startWorkflow<K extends WorkflowName>(
  client: Client,
  cfg: LifeboatConfig,
  type: K,
  input: Input<K>,
  opts: StartOptions,
): Promise<WorkflowHandleWithFirstExecutionRunId<WorkflowTypes[K]>> {
  try {
    return await client.workflow.start<WorkflowTypes[K]>(type, {
      taskQueue: cfg.temporal.taskQueue,
      workflowId: opts.workflowId,
      args: [input] as Parameters<WorkflowTypes[K]>,
      memo: opts.memo,
      priority: runPriority(type, input, 'ad-hoc'),
      ...(await runStartOptions(client, cfg.temporal.namespace, type, input)),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) throw new CliExit(EXIT.failed, opts.alreadyRunning);
    throw err;
  }
}

export interface StartAndFollowOptions<K extends WorkflowName> extends StartOptions {
  /** Follow the workflow to its end (`--wait`); otherwise print its id and link and return. */
  wait?: boolean;
  json?: boolean;
  /** `Started backup of orders (full)`: printed with the id when not following. */
  started: string;
  /** `Backing up orders (full)`: printed to stderr with the id when following. */
  following: string;
  /** `Backup of orders`: the subject of the failure line; omit when causes name it themselves. */
  failure?: string;
  summary: (result: Result<K>, link?: string) => string;
  tick?: FollowTick;
}

/**
 * Starts a workflow and prints its id and Web UI link; with `wait`, follows it with live progress
 * and prints its result (or `--json`), or exits 1 with its failure in one line.
 */
export async function startAndFollow<K extends WorkflowName>(
  client: Client,
  cfg: LifeboatConfig,
  type: K,
  input: Input<K>,
  opts: StartAndFollowOptions<K>,
): Promise<Result<K> | undefined> {
  const handle = await startWorkflow(client, cfg, type, input, opts);
  const { workflowId } = opts;
  const link = uiLink(cfg, workflowId);
  if (!opts.wait) {
    print(opts.json, { workflowId, runId: handle.firstExecutionRunId, ui: link }, () =>
      [`${opts.started}: ${workflowId}`, link ? `Follow it at ${link}` : ''].filter(Boolean).join('\n'),
    );
    return undefined;
  }
  if (!opts.json) process.stderr.write(`${opts.following}: ${workflowId}${link ? `\n  ${link}` : ''}\n`);
  let result: Result<K>;
  try {
    result = (await follow(handle, { out: process.stderr, tick: opts.tick })) as Result<K>;
  } catch (err) {
    if (err instanceof CliExit) throw err;
    const cause = failureCause(err);
    if (opts.json) print(true, { ok: false, workflowId, error: cause }, () => '');
    throw new CliExit(EXIT.failed, failureMessage(opts.failure, cause));
  }
  print(opts.json, { ok: true, workflowId, ...result }, () => opts.summary(result, link));
  return result;
}
