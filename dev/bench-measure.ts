// Measuring the benchmark's contenders: wall time, CPU seconds of every process involved, peak RSS.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const TICKS = 100; // USER_HZ on Linux

/** CPU seconds of a live process: its own, and its reaped children's (pg_dump and zstd under the worker). */
export function procCpuParts(pid: number): { own: number; children: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 11-14 after the command.
    return { own: (Number(f[11]) + Number(f[12])) / TICKS, children: (Number(f[13]) + Number(f[14])) / TICKS };
  } catch {
    return { own: 0, children: 0 };
  }
}

/** CPU seconds of a live process, including its reaped children. */
export function procCpu(pid: number): number {
  const { own, children } = procCpuParts(pid);
  return own + children;
}

/** Peak resident set size of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

export interface Watched {
  name: string;
  pid: number;
  /** Report the CPU of its reaped children (the tools a worker runs) under this name, and only its own under `name`. */
  children?: string;
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
  const before = watched.map((w) => procCpuParts(w.pid));
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
    watched.forEach((w, i) => {
      const now = procCpuParts(w.pid);
      const own = now.own - before[i]!.own;
      const children = now.children - before[i]!.children;
      if (w.children) {
        cpu[w.name] = own;
        cpu[w.children] = children;
      } else cpu[w.name] = own + children;
    });
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
