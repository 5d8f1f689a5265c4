// What `--wait` shows while a workflow runs: one line per heartbeat variant of
// src/contracts/progress.ts, redrawn in place on a TTY and printed now and then otherwise.
import type { BackupHeartbeat, CopyHeartbeat, Heartbeat, RestoreHeartbeat, TaskHeartbeat } from '../contracts/index.js';
import { formatBytes, formatDuration } from './format.js';

const BAR_WIDTH = 20;
/** Progress lines off a TTY: one every 30 s unless `LIFEBOAT_PROGRESS_INTERVAL_MS` says otherwise. */
const NON_TTY_INTERVAL_MS = 30_000;
const TTY_INTERVAL_MS = 1000;

/** A finite, non-negative number, or 0 (a heartbeat from another version may lack a field). */
const num = (x: unknown): number => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : 0);

/** `[########------------]` for a fraction from 0 to 1. */
export function progressBar(fraction: number, width = BAR_WIDTH): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/**
 * Share of `total` done and the time left at the average rate so far: `[####----] 25%, ETA 3.0 s`.
 * With `estimate`, both are marked `~` and the share stops at 99% (the total is a guess, not a
 * promise); `of` names the total after the share.
 */
export function shareOf(done: number, total: number, elapsedMs: number, opts: { estimate?: boolean; tty?: boolean; of?: string } = {}): string {
  if (total <= 0) return '';
  const mark = opts.estimate ? '~' : '';
  const fraction = Math.min(done / total, opts.estimate ? 0.99 : 1);
  const percent = `${mark}${Math.floor(fraction * 100)}%${opts.of ? ` of ${opts.of}` : ''}`;
  const rate = elapsedMs > 0 ? done / elapsedMs : 0;
  let eta = '';
  if (done >= total) eta = opts.estimate ? ', past the estimate' : '';
  else if (rate > 0) eta = `, ETA ${mark}${formatDuration((total - done) / rate)}`;
  return `${opts.tty ? `${progressBar(fraction)} ` : ''}${percent}${eta}`;
}

function perSecond(bytes: number, elapsedMs: number): string {
  return `${formatBytes(elapsedMs > 0 ? (bytes / elapsedMs) * 1000 : 0)}/s`;
}

function backupLine(hb: BackupHeartbeat, tty: boolean): string {
  if (hb.phase === 'waiting' && hb.waitingFor) return hb.waitingFor.replace(/^waiting /, '');
  const raw = num(hb.rawBytes);
  const elapsed = num(hb.elapsedMs);
  const parts = [`${formatBytes(raw)} read`, `${formatBytes(num(hb.storedBytes))} stored`, perSecond(raw, elapsed)];
  const estimate = num(hb.estimateBytes);
  if (estimate > 0) parts.push(shareOf(raw, estimate, elapsed, { estimate: true, tty, of: `~${formatBytes(estimate)} (estimate: database size)` }));
  return parts.join(', ');
}

function copyLine(hb: CopyHeartbeat, tty: boolean): string {
  const bytes = num(hb.bytes);
  const total = num(hb.totalBytes);
  const elapsed = num(hb.elapsedMs);
  const head = total > 0 ? `${formatBytes(bytes)} of ${formatBytes(total)}` : formatBytes(bytes);
  const parts = [`${head} to ${hb.to || 'another target'}`, perSecond(bytes, elapsed)];
  if (total > 0) parts.push(shareOf(bytes, total, elapsed, { tty }));
  return parts.join(', ');
}

function restoreLine(hb: RestoreHeartbeat, tty: boolean): string {
  const stored = num(hb.storedBytes);
  const total = num(hb.totalBytes);
  const parts = [`${formatBytes(stored)}${total > 0 ? ` of ${formatBytes(total)}` : ''} downloaded`, `${formatBytes(num(hb.rawBytes))} unpacked`];
  if (num(hb.items) > 0) parts.push(`${num(hb.items)} items`);
  if (hb.step) parts.push(hb.step.slice(0, 60));
  if (total > 0) parts.push(shareOf(stored, total, num(hb.elapsedMs), { tty }));
  return parts.join(', ');
}

function taskLine(hb: TaskHeartbeat): string {
  const of = num(hb.of);
  return of > 0 ? `${num(hb.done)}/${of}` : hb.done !== undefined ? `${num(hb.done)} done` : '';
}

/** One heartbeat in words, by its variant: `copying 1.5 MiB of 4.0 MiB to offsite, 3.0 MiB/s, 37%, ETA 1.0 s`. */
export function describeHeartbeat(hb: Heartbeat, opts: { tty?: boolean } = {}): string {
  const tty = Boolean(opts.tty);
  const phase = typeof hb?.phase === 'string' && hb.phase ? hb.phase : 'working';
  let detail: string;
  switch (hb?.activity) {
    case 'backup':
      detail = backupLine(hb, tty);
      break;
    case 'copy':
      detail = copyLine(hb, tty);
      break;
    case 'restore':
      detail = restoreLine(hb, tty);
      break;
    case 'task':
      detail = taskLine(hb);
      break;
    default:
      detail = '';
  }
  return `${phase.padEnd(11)} ${detail}`.trimEnd();
}

/** Where progress lines go: redrawn in place on a TTY, printed every `printEveryMs` otherwise. */
export interface ProgressWriter {
  readonly live: boolean;
  /** How often the follower polls for progress. */
  readonly intervalMs: number;
  line(text: string): void;
  /** A line that stays (an approval request, a retry). */
  note(text: string): void;
  clear(): void;
}

/** `LIFEBOAT_PROGRESS_INTERVAL_MS`: poll and print progress this often, on a TTY or not (tests, CI logs). */
export function progressInterval(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env.LIFEBOAT_PROGRESS_INTERVAL_MS;
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 50) throw new Error(`Invalid LIFEBOAT_PROGRESS_INTERVAL_MS: expected milliseconds, at least 50: "${raw}"`);
  return ms;
}

export function progressWriter(out: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): ProgressWriter {
  const live = Boolean(out.isTTY);
  const configured = progressInterval(env);
  const printEveryMs = configured ?? NON_TTY_INTERVAL_MS;
  let last = 0;
  const fit = (text: string) => (out.columns && text.length >= out.columns ? `${text.slice(0, out.columns - 2)}…` : text);
  return {
    live,
    intervalMs: configured ?? TTY_INTERVAL_MS,
    line(text) {
      if (live) out.write(`\r\x1b[2K${fit(text)}`);
      else if (Date.now() - last >= printEveryMs) {
        last = Date.now();
        out.write(`${text}\n`);
      }
    },
    note(text) {
      out.write(`${live ? '\r\x1b[2K' : ''}${text}\n`);
    },
    clear() {
      if (live) out.write('\r\x1b[2K');
    },
  };
}
