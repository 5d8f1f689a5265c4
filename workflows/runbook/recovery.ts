// RTO/RPO bookkeeping of a run, and the scratch databases a drill restored into.

export interface Measured {
  /** Start of the run to the end of its last restore or cutover step. */
  rtoMs: number | null;
  /** Age of the oldest backup restored, at the time it was restored. */
  rpoMs: number | null;
  met: { rto: boolean | null; rpo: boolean | null };
}

export class RecoveryLog {
  private readonly rpoSamples: number[] = [];
  private lastRecoveryEnd?: number;
  /** Databases a drill restored into (dropped when it ends). */
  readonly scratch: Array<{ database: string; dbname: string }> = [];

  constructor(readonly startedAt: number) {}

  /** A restore step started at `startedAt` restored a backup taken at `backupStartedAt`. */
  restored(r: { database: string; target: string; startedAt: number; backupStartedAt: string; drill: boolean }): void {
    const taken = Date.parse(r.backupStartedAt);
    if (Number.isFinite(taken)) this.rpoSamples.push(r.startedAt - taken);
    if (r.drill) this.scratch.push({ database: r.database, dbname: r.target });
  }

  /** A restore or cutover step ended: the recovery is done as of now (so far). */
  recovered(at: number): void {
    this.lastRecoveryEnd = at;
  }

  measure(targets: { rtoMinutes?: number; rpoMinutes?: number }): Measured {
    const rtoMs = this.lastRecoveryEnd === undefined ? null : this.lastRecoveryEnd - this.startedAt;
    const rpoMs = this.rpoSamples.length ? Math.max(...this.rpoSamples) : null;
    const within = (v: number | null, minutes?: number) => (v === null || minutes === undefined ? null : v <= minutes * 60_000);
    return { rtoMs, rpoMs, met: { rto: within(rtoMs, targets.rtoMinutes), rpo: within(rpoMs, targets.rpoMinutes) } };
  }
}
