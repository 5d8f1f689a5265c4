import type { Readable, Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { TailBuffer, type ExitInfo } from './process.js';

export interface ChildSpec {
  tool: string;
  args: string[];
  env?: Record<string, string>;
}

/** Runs a child with an environment of PATH plus `env` only (nothing else is inherited); `exit` never rejects. */
export function startChild(spec: ChildSpec, signal: AbortSignal): { input: Writable; output: Readable; exit: Promise<ExitInfo> } {
  const stderr = new TailBuffer();
  const child = execa(spec.tool, spec.args, {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...spec.env },
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  // EPIPE on stdin when the child exits early is reported as the child's own failure.
  child.stdin.on('error', () => undefined);
  return { input: child.stdin, output: child.stdout, exit: waitForExit(child, spec.tool, stderr) };
}

/** Starts `zstd -q -c` with `args` (e.g. `-1`, `-d`) as a stream filter; `exit` never rejects. */
export function startZstd(args: string[], signal: AbortSignal): { input: Writable; output: Readable; exit: Promise<ExitInfo> } {
  return startChild({ tool: 'zstd', args: [...args, '-q', '-c', '--no-progress'] }, signal);
}

/** Resolves with how a child ended; never rejects. Waits for `close` (all output delivered). */
export function waitForExit(child: ResultPromise, tool: string, stderr: TailBuffer): Promise<ExitInfo> {
  return child.then(
    (r) => ({ tool, ok: true, exitCode: r.exitCode ?? 0, signal: undefined, stderr: stderr.text(), spawnError: undefined }),
    (e: { exitCode?: number; signal?: string; isCanceled?: boolean; code?: string; shortMessage?: string }) => ({
      tool,
      ok: false,
      exitCode: e.exitCode,
      signal: e.signal,
      canceled: e.isCanceled,
      stderr: stderr.text(),
      spawnError: e.code === 'ENOENT' ? `${tool} not found` : e.exitCode === undefined && !e.signal ? e.shortMessage : undefined,
    }),
  );
}
