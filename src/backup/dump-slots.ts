// Slots for backup dumps on one worker process: at most `total` at once, at most `perHost` against
// one database server (host:port of the resolved connection). Waiters are served in arrival order,
// but a waiter whose host has room is not held back by one whose host is full.
import { LifeboatError } from '../errors.js';

export interface DumpSlotLimits {
  total?: number;
  perHost?: number;
}

interface Waiter {
  host: string;
  grant: () => void;
}

/** What the slots look like now, and the most seen at once (per host too). */
export interface DumpSlotStats {
  running: number;
  waiting: number;
  peak: number;
  peakByHost: Record<string, number>;
}

export class DumpSlots {
  private running = 0;
  private peak = 0;
  private readonly byHost = new Map<string, number>();
  private readonly peakByHost = new Map<string, number>();
  private readonly waiters: Waiter[] = [];

  /** `onChange` is told the counts after every change (the worker's metrics). */
  constructor(
    private readonly limits: DumpSlotLimits = {},
    private readonly onChange?: (s: DumpSlotStats) => void,
  ) {}

  private changed(): void {
    this.onChange?.(this.stats());
  }

  /** Why a dump against `host` cannot start now, or undefined when it can. */
  private blocked(host: string): string | undefined {
    const { total, perHost } = this.limits;
    const onHost = this.byHost.get(host) ?? 0;
    if (perHost !== undefined && onHost >= perHost) return `waiting for a slot on host ${host} (${onHost} of ${perHost} dumps running there)`;
    if (total !== undefined && this.running >= total) return `waiting for a dump slot on this worker (${this.running} of ${total} running)`;
    return undefined;
  }

  private take(host: string): () => void {
    this.running++;
    const onHost = (this.byHost.get(host) ?? 0) + 1;
    this.byHost.set(host, onHost);
    this.peak = Math.max(this.peak, this.running);
    this.peakByHost.set(host, Math.max(this.peakByHost.get(host) ?? 0, onHost));
    this.changed();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running--;
      const left = (this.byHost.get(host) ?? 1) - 1;
      if (left > 0) this.byHost.set(host, left);
      else this.byHost.delete(host);
      this.wake();
      this.changed();
    };
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length;) {
      const w = this.waiters[i]!;
      if (this.blocked(w.host) === undefined) {
        this.waiters.splice(i, 1);
        w.grant();
      } else i++;
    }
  }

  /**
   * A slot for a dump against `host` (host:port); resolves to its release function. While it
   * waits, `onWait` is told why (once, and again when the reason changes). An abort of `signal`
   * gives up the place in the queue and rejects with the signal's reason.
   */
  async acquire(host: string, signal?: AbortSignal, onWait?: (reason: string) => void): Promise<() => void> {
    if (signal?.aborted) throw abortReason(signal);
    if (this.blocked(host) === undefined && this.waiters.length === 0) return this.take(host);
    return new Promise<() => void>((resolve, reject) => {
      let told: string | undefined;
      const tell = () => {
        const reason = this.blocked(host);
        if (reason && reason !== told) onWait?.((told = reason));
      };
      const timer = setInterval(tell, 1_000);
      const done = () => {
        clearInterval(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        host,
        grant: () => {
          done();
          resolve(this.take(host));
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        done();
        this.changed();
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.changed();
      tell();
      // Slots may be free already (an earlier waiter of a full host is ahead of this one).
      this.wake();
    });
  }

  stats(): DumpSlotStats {
    return { running: this.running, waiting: this.waiters.length, peak: this.peak, peakByHost: Object.fromEntries(this.peakByHost) };
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new LifeboatError('CANCELLED', 'Backup cancelled while waiting for a dump slot');
}
