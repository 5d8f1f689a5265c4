// A directory-format dump (`pg_dump -Fd -j N`) stored one object per file while the dump runs.
//
// pg_dump writes each table's data file in one go and closes it; a file no process of the dump
// holds open any more (Linux: /proc/<pid>/fd of pg_dump and its workers) is complete, so it is
// compressed, encrypted, hashed and stored, then deleted: local disk use stays near the files
// being written. `toc.dat` is written last and stored only after pg_dump exited with status 0.
// Where /proc cannot be read, every file waits for the exit (correct, only more disk is used).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import type { CompressionConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import type { Storage } from '../storage/index.js';
import type { ArtifactFile } from '../catalog/manifest.js';
import { childExit, compressFile, killOnAbort, type DumpCommand } from './dump-chain.js';
import { BUNDLE_FILE_LIMIT, Bundler, type BundleMember, type SealedBundle } from './file-bundle.js';
import { hashTap } from './hash-tap.js';
import { TailBuffer, type ExitInfo } from './process.js';
import type { EncryptStage, StreamProgress } from './backup-stream.js';

export interface DirectoryDumpOptions {
  /** The dump command; `--file=<scratch>/dump` is appended. */
  dump: DumpCommand;
  /** Files stored at once (pg_dump's job count is a good value). */
  uploads: number;
  compression: CompressionConfig;
  storage: Storage;
  /** The stored key of a file: `<artifact key>/<name><suffix>`. */
  keyOf: (name: string) => string;
  /** A private, empty directory; the caller removes it. */
  scratch: string;
  signal?: AbortSignal;
  onProgress?: (p: StreamProgress) => void;
  classifyDumpFailure: (exit: ExitInfo) => LifeboatError;
  encrypt?: (signal: AbortSignal) => EncryptStage;
  /** How often the dump directory is looked at, in ms. */
  pollMs?: number;
}

export interface DirectoryDumpResult extends StreamProgress {
  /** Every stored file, sorted by name. */
  files: ArtifactFile[];
}

/** `starttime` of a process from its /proc/<pid>/stat line (field 22). */
function parseStat(line: string): { start: string } | undefined {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return fields.length > 19 ? { start: fields[19]! } : undefined;
}

/** Reads a small /proc file; '' when the process is gone. Synchronous: far cheaper than the thread pool for /proc. */
function procRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The children of `pid` (every thread's), from /proc/<pid>/task/<tid>/children; undefined where that cannot be read. */
function childrenOf(pid: number): number[] | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : undefined; // ENOENT: exited meanwhile
  }
  const out: number[] = [];
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(`/proc/${pid}/task`)) return undefined; // no children files in this kernel
      continue;
    }
    for (const c of text.split(' ')) if (c.trim()) out.push(Number(c));
  }
  return out;
}

/**
 * `root`'s descendants with their start times (pid reuse tells apart), or undefined where /proc
 * cannot tell. Walks the children lists down from `root` instead of reading every process's stat.
 */
function descendants(root: number): Map<number, string> | undefined {
  const out = new Map<number, string>();
  const walk = (pid: number): boolean => {
    const children = childrenOf(pid);
    if (!children) return false;
    for (const child of children) {
      if (out.has(child)) continue;
      const st = parseStat(procRead(`/proc/${child}/stat`));
      if (!st) continue; // exited meanwhile
      out.set(child, st.start);
      if (!walk(child)) return false;
    }
    return true;
  };
  return walk(root) ? out : undefined;
}

/** Paths the processes `pids` hold open, or undefined when that cannot be known. */
function openFiles(pids: number[]): Set<string> | undefined {
  const open = new Set<string>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // exited meanwhile
      return undefined;
    }
    for (const fd of fds) {
      try {
        open.add(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
    }
  }
  return open;
}

/** A pass-through that ends only once `done` resolved; its rejection destroys the stream (the upload then aborts). */
function gateOn(done: Promise<void>): Transform {
  const gate = new Transform({
    highWaterMark: 1 << 20,
    transform: (chunk: Buffer, _enc, cb) => cb(null, chunk),
    flush: (cb) => {
      done.then(
        () => cb(),
        (err: Error) => cb(err),
      );
    },
  });
  done.catch((err: Error) => gate.destroy(err));
  gate.on('error', () => undefined); // reported through `done` or the upload
  return gate;
}

/** Files up to this size are compressed into memory and stored with one plain write. */
const SMALL_FILE = 1 << 20;

interface Run {
  opts: DirectoryDumpOptions;
  signal: AbortSignal;
  progress: StreamProgress;
  files: ArtifactFile[];
}

/** Compresses, encrypts, hashes and stores one finished file (or a bundle of `members`), then deletes it. */
async function storeFile(run: Run, file: string, name: string, members?: BundleMember[]): Promise<void> {
  const { opts, signal, progress } = run;
  const rawBytes = (await stat(file)).size;
  const compressed = compressFile(file, opts.compression, signal);
  let stream: Readable = compressed.output;
  const stages: Promise<unknown>[] = [compressed.done];
  const encryptor = opts.encrypt?.(signal);
  if (encryptor) {
    stages.push(pipeline(compressed.output, encryptor.input), encryptor.done);
    stream = encryptor.output;
  }
  const done = Promise.all(stages).then(() => undefined);
  let counted = 0;
  const tap = hashTap((bytes) => {
    progress.storedBytes += bytes - counted;
    counted = bytes;
    opts.onProgress?.(progress);
  });
  const key = opts.keyOf(name);
  let written: { bytes: number };
  if (rawBytes <= SMALL_FILE) {
    // Most files of a many-table database are small: one plain write each, once every stage succeeded.
    const chunks: Buffer[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        chunks.push(chunk);
        cb();
      },
    });
    await Promise.all([pipeline(stream, tap.stream, sink), done]);
    const body = Buffer.concat(chunks);
    await opts.storage.put(key, body, 'application/octet-stream');
    written = { bytes: body.length };
  } else {
    const gate = gateOn(done);
    const feeding = pipeline(stream, tap.stream, gate).catch(() => undefined);
    [written] = await Promise.all([opts.storage.putStream(key, gate, { signal }), done, feeding]);
  }
  if (written.bytes !== tap.bytes()) {
    throw new LifeboatError('STORAGE_FAILED', `Stored size differs from the bytes sent (${written.bytes} != ${tap.bytes()}): ${opts.storage.describe(key)}`);
  }
  const after = (await stat(file)).size;
  if (after !== rawBytes) {
    throw new LifeboatError('DUMP_FAILED', `${opts.dump.tool} was still writing ${name} (${rawBytes} bytes when it was stored, ${after} now)`, {
      subject: opts.dump.tool,
    });
  }
  run.files.push({ name, bytes: tap.bytes(), sha256: tap.digest(), rawBytes, ...(members ? { members } : {}) });
  if (!members) progress.rawBytes += rawBytes; // a bundle's members counted as they went in
  opts.onProgress?.(progress);
  await rm(file, { force: true });
}

/** Runs at most `limit` tasks at once; the first failure is kept and reported by `idle()`. */
function taskQueue(limit: number, onError: (err: Error) => void) {
  let running = 0;
  const waiting: Array<() => Promise<void>> = [];
  const idlers: Array<() => void> = [];
  const next = () => {
    while (running < limit && waiting.length) {
      const task = waiting.shift()!;
      running++;
      void task()
        .catch(onError)
        .finally(() => {
          running--;
          next();
        });
    }
    if (running === 0 && waiting.length === 0) for (const idle of idlers.splice(0)) idle();
  };
  return {
    push(task: () => Promise<void>) {
      waiting.push(task);
      next();
    },
    clear() {
      waiting.length = 0;
    },
    idle: () => new Promise<void>((resolve) => (running === 0 && waiting.length === 0 ? resolve() : idlers.push(resolve))),
  };
}

/** The files of the dump directory that are complete now (all of them, but `toc.dat`, once the dump exited). */
async function finishedFiles(dir: string, child: ChildProcess, seen: Set<string>, exited: boolean, pids: Map<number, string>): Promise<string[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => !seen.has(n) && n !== 'toc.dat');
  if (exited || names.length === 0) return names;
  const workers = child.pid ? descendants(child.pid) : undefined;
  for (const [p, start] of workers ?? []) pids.set(p, start);
  const open = workers && child.pid ? openFiles([child.pid, ...workers.keys()]) : undefined;
  if (!open) return [];
  // /proc shows resolved paths: a scratch directory reached through a symbolic link must match too.
  const real = realpathSync(dir);
  return names.filter((n) => !open.has(path.join(real, n)));
}

/** Kills pg_dump's workers seen so far that still run (same pid and start time); the leader normally stops them itself. */
function killWorkers(pids: Map<number, string>): void {
  for (const [pid, start] of pids) {
    try {
      if (parseStat(procRead(`/proc/${pid}/stat`))?.start === start) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs a directory dump into `scratch` and stores every file as it completes, `toc.dat` last.
 * Resolves only when the dump exited with 0 and every file is stored; on any failure (or abort)
 * the dump is killed, the uploads aborted, and the first error thrown. The stored files of a
 * failed run are the caller's to delete (they are all under the artifact's prefix).
 */
export async function dumpDirectory(opts: DirectoryDumpOptions): Promise<DirectoryDumpResult> {
  const ac = new AbortController();
  let firstError: Error | undefined;
  const pids = new Map<number, string>();
  const fail = (err: Error) => {
    firstError ??= err;
    ac.abort();
    killWorkers(pids);
  };
  const onOuterAbort = () => fail(new LifeboatError('CANCELLED', `Cancelled: ${opts.dump.tool} was stopped`));
  if (opts.signal?.aborted) onOuterAbort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const dir = path.join(opts.scratch, 'dump');
  const run: Run = { opts, signal: ac.signal, progress: { rawBytes: 0, storedBytes: 0 }, files: [] };
  const queue = taskQueue(Math.max(1, opts.uploads), fail);
  const seen = new Set<string>();
  const bundler = new Bundler(opts.scratch);
  const storeBundle = (b: SealedBundle | undefined) => {
    if (b) queue.push(() => (firstError ? Promise.resolve() : storeFile(run, b.file, b.name, b.members)));
  };
  const store = async (n: string) => {
    const file = path.join(dir, n);
    const size = (await stat(file)).size;
    if (size > BUNDLE_FILE_LIMIT) return storeFile(run, file, n);
    run.progress.rawBytes += size;
    storeBundle(bundler.add(file, n));
  };
  const enqueue = (names: string[]) => {
    for (const n of names) {
      seen.add(n);
      queue.push(() => (firstError ? Promise.resolve() : n === 'toc.dat' ? storeFile(run, path.join(dir, n), n) : store(n)));
    }
  };
  try {
    const child = spawn(opts.dump.file, [...opts.dump.args, `--file=${dir}`], { env: opts.dump.env, stdio: ['ignore', 'ignore', 'pipe'] });
    killOnAbort(ac.signal, [child]);
    let exited = false;
    const exit = childExit(child, opts.dump.tool, new TailBuffer()).finally(() => (exited = true));
    while (!exited && !firstError) {
      enqueue(await finishedFiles(dir, child, seen, false, pids));
      await Promise.race([exit, new Promise((r) => setTimeout(r, opts.pollMs ?? 200))]);
    }
    const e = await exit;
    if (!e.ok) fail(opts.classifyDumpFailure(e));
    if (!firstError) enqueue(await finishedFiles(dir, child, seen, true, pids));
    await queue.idle();
    if (!firstError) storeBundle(bundler.seal());
    await queue.idle();
    if (!firstError) {
      const toc = await stat(path.join(dir, 'toc.dat')).catch(() => undefined);
      if (!toc) fail(new LifeboatError('EMPTY_DUMP', `${opts.dump.tool} wrote no toc.dat`, { subject: opts.dump.tool }));
      else enqueue(['toc.dat']);
      await queue.idle();
    }
    if (firstError) throw firstError;
    run.files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { ...run.progress, files: run.files };
  } finally {
    bundler.close();
    queue.clear();
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
}
