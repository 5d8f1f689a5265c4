import type { Readable, Writable } from 'node:stream';
import { execa, type ResultPromise } from 'execa';
import { TailBuffer, type ExitInfo } from './process.js';

/** Starts `zstd -q -c` with `args` (e.g. `-1`, `-d`) as a stream filter; `exit` never rejects. */
export function startZstd(args: string[], signal: AbortSignal): { input: Writable; output: Readable; exit: Promise<ExitInfo> } {
  const stderr = new TailBuffer();
  const child = execa('zstd', [...args, '-q', '-c', '--no-progress'], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    cancelSignal: signal,
    forceKillAfterDelay: 2000,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  return { input: child.stdin, output: child.stdout, exit: waitForExit(child, 'zstd', stderr) };
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

