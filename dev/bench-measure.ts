// Measuring the benchmark's contenders: wall time, CPU seconds of every process involved, peak RSS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds of a live process, including its reaped children (pg_dump and zstd under the worker). */
export function procCpu(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 11-14 after the command.
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICKS;
  } catch {
    return 0;
  }
}

/** Peak resident set size of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

export interface Watched {
  name: string;
  pid: number;
}

export interface Measured {
  wallMs: number;
  /** CPU seconds per process: `shell` (the command and its children), and each watched process. */
  cpu: Record<string, number>;
  stdout: string;
  startedAt: number;
  endedAt: number;
}

/**
 * Runs a bash script (pipefail), timing it and taking the CPU seconds of its process tree from
 * bash's `times`, plus the CPU the watched long-running processes (worker, S3 server, PostgreSQL)
 * spent meanwhile.
 */
export async function measure(script: string, env: NodeJS.ProcessEnv, watched: Watched[]): Promise<Measured> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-bench-'));
  const timesFile = path.join(dir, 'times');
  const before = watched.map((w) => procCpu(w.pid));
  const startedAt = Date.now();
  const t0 = process.hrtime.bigint();
  const r = await execa('bash', ['-c', `set -o pipefail\n${script}\nrc=$?\ntimes > '${timesFile}'\nexit $rc`], { env, reject: false });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const endedAt = Date.now();
  try {
    if (r.exitCode !== 0) throw new Error(`benchmark step failed (exit ${r.exitCode}): ${script.split('\n')[0]}\n${String(r.stderr).slice(-2000)}`);
    const children = readFileSync(timesFile, 'utf8').trim().split('\n')[1] ?? '';
    const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
    const cpu: Record<string, number> = { shell: secs };
    watched.forEach((w, i) => (cpu[w.name] = procCpu(w.pid) - before[i]!));
    return { wallMs, cpu, stdout: String(r.stdout), startedAt, endedAt };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Shell-quotes one word. */
export const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
