// A child process as a stream filter (stdin → stdout), with optional async set-up and clean-up
// around it (temporary key files, a temporary GNUPGHOME), so callers see one Writable/Readable pair.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LifeboatError, type ErrorCode } from '../errors.js';
import { startChild, type ChildSpec } from '../pipeline/child.js';

export { startChild, type ChildSpec };
import { describeExit, type ExitInfo } from '../pipeline/process.js';

/** A running stream stage: write to `input`, read from `output`; `done` settles when it has closed. */
export interface Filter {
  input: Writable;
  output: Readable;
  /** Resolves when the stage closed successfully (and cleaned up); rejects with a LifeboatError. */
  done: Promise<void>;
}

/** Why a filter's child failed, as a LifeboatError (`TOOL_MISSING` when it could not start). */
export function filterFailure(exit: ExitInfo, code: ErrorCode, what: string): LifeboatError {
  if (exit.spawnError?.endsWith('not found')) {
    return new LifeboatError(
      'TOOL_MISSING',
      `${what} failed: ${exit.tool} is not installed on the worker (Debian: apt-get install ${exit.tool === 'gpg' ? 'gnupg' : exit.tool})`,
      { subject: exit.tool },
    );
  }
  return new LifeboatError(code, `${what} failed: ${exit.tool} ${describeExit(exit)}`, { subject: exit.tool });
}

/** A private directory (0700) for key material; `remove` deletes it and everything in it. */
export async function privateDir(
  prefix: string,
): Promise<{ dir: string; write(name: string, data: string | Buffer): Promise<string>; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    dir,
    async write(name, data) {
      const file = path.join(dir, name);
      await writeFile(file, data, { mode: 0o600 });
      return file;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * A filter whose child starts after `setup` (which may write temp files) and whose `cleanup`
 * runs once the child has closed, whatever happened. `input`/`output` exist at once.
 */
export function deferredFilter(opts: {
  setup: () => Promise<{ spec: ChildSpec; cleanup: () => Promise<void> }>;
  signal: AbortSignal;
  failureCode: ErrorCode;
  what: string;
}): Filter {
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  const run = async (): Promise<void> => {
    const { spec, cleanup } = await opts.setup();
    try {
      if (opts.signal.aborted) throw new LifeboatError('CANCELLED', `${opts.what} cancelled`);
      const child = startChild(spec, opts.signal);
      const feeding = pipeline(input, child.input).catch(() => undefined);
      // The output ends only once the child exited with status 0: a reader never mistakes a
      // failed (truncated, unauthenticated) stream for a complete one.
      child.output.pipe(output, { end: false });
      const exit = await child.exit;
      await feeding;
      if (!exit.ok) throw exit.canceled ? new LifeboatError('CANCELLED', `${opts.what} cancelled`) : filterFailure(exit, opts.failureCode, opts.what);
      output.end();
    } finally {
      await cleanup().catch(() => undefined);
    }
  };
  const done = run().catch((err: Error) => {
    input.destroy();
    output.destroy(err);
    throw err;
  });
  output.on('error', () => undefined);
  done.catch(() => undefined);
  return { input, output, done };
}

/**
 * A decryption filter: `prepare(dir)` writes key material into a private directory and returns the
 * child to run; `release(dir)` runs before the directory is removed (e.g. stopping gpg's agent),
 * on success, failure or a failed set-up alike.
 */
export function decryptFilter(opts: {
  label: string;
  signal: AbortSignal;
  prefix: string;
  prepare: (dir: Awaited<ReturnType<typeof privateDir>>) => Promise<ChildSpec>;
  release?: (dir: string) => Promise<void>;
}): Filter {
  return deferredFilter({
    signal: opts.signal,
    failureCode: 'DECRYPT_FAILED',
    what: `Decryption of ${opts.label}`,
    setup: async () => {
      const dir = await privateDir(opts.prefix);
      const cleanup = async () => {
        await opts.release?.(dir.dir);
        await dir.remove();
      };
      try {
        return { spec: await opts.prepare(dir), cleanup };
      } catch (err) {
        await cleanup();
        throw err;
      }
    },
  });
}
