// The retention planner: a pure function from a catalog (manifests + verification status), a
// policy and the current time to the set of backups to delete. No I/O, no clock, no randomness.
import { formatDurationShort } from '../contracts/duration.js';
import { PERIODS, bucketKey, type Period } from './calendar.js';

/** `verified`: a passed verification record; `corrupt`: the latest record failed; else `unverified`. */
export type VerificationStatus = 'verified' | 'unverified' | 'corrupt';

export interface RetentionCandidate {
  backupId: string;
  kind: string;
  /** ISO time the backup's snapshot was taken (the manifest's `startedAt`). */
  startedAt: string;
  status: VerificationStatus;
}

/** A resolved policy for one kind on one storage target. */
export interface RetentionPolicy {
  keepLast?: number;
  keepWithinMs?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  /** At least this many good backups are always kept (at least 1). */
  minKeep: number;
  /** Nothing is deleted while the newest good backup is older than this. */
  freshnessMs?: number;
  /** Time zone of the calendar buckets. */
  timezone: string;
}

export interface RetentionDecision {
  backupId: string;
  kind: string;
  startedAt: string;
  status: VerificationStatus;
  keep: boolean;
  /** Why it is kept (every rule that selects it) or why it goes. */
  reasons: string[];
}

export interface RetentionHalt {
  kind: string;
  reason: 'stale' | 'no-good-backup';
  message: string;
}

export interface KindPlan {
  kind: string;
  decisions: RetentionDecision[];
  halted?: RetentionHalt;
  warnings: string[];
}

export interface RetentionPlan {
  /** Per kind, kinds sorted by name; decisions newest first. */
  kinds: KindPlan[];
  keep: string[];
  delete: string[];
  halted: RetentionHalt[];
  warnings: string[];
}

const HOUR = 3_600_000;

function human(ms: number): string {
  if (ms >= 2 * 86_400_000) return `${Math.floor(ms / 86_400_000)}d${Math.floor((ms % 86_400_000) / HOUR) ? `${Math.floor((ms % 86_400_000) / HOUR)}h` : ''}`;
  if (ms >= 2 * HOUR) return `${Math.floor(ms / HOUR)}h`;
  return `${Math.max(0, Math.round(ms / 60_000))}m`;
}

/** Does the policy have any keep rule? Without one, everything is kept. */
export function hasKeepRules(p: RetentionPolicy): boolean {
  return p.keepLast !== undefined || p.keepWithinMs !== undefined || PERIODS.some((k) => p[k] !== undefined);
}

interface Entry {
  c: RetentionCandidate;
  t: number;
  reasons: string[];
}

function planKind(kind: string, candidates: RetentionCandidate[], policy: RetentionPolicy | undefined, now: number): KindPlan {
  const warnings: string[] = [];
  const entries: Entry[] = [];
  const undated: Entry[] = [];
  for (const c of candidates) {
    const t = Date.parse(c.startedAt);
    (Number.isFinite(t) ? entries : undated).push({ c, t, reasons: [] });
  }
  // Newest first by the time in the manifest, never by name; ties broken by id for determinism.
  entries.sort((a, b) => b.t - a.t || (a.c.backupId < b.c.backupId ? 1 : a.c.backupId > b.c.backupId ? -1 : 0));
  undated.sort((a, b) => (a.c.backupId < b.c.backupId ? -1 : 1));
  for (const u of undated) {
    u.reasons.push('unreadable start time: never deleted');
    warnings.push(`backup ${u.c.backupId} has an unreadable start time "${u.c.startedAt}"; kept`);
  }

  const good = entries.filter((e) => e.c.status !== 'corrupt');
  const finish = (halted?: RetentionHalt): KindPlan => {
    const all = [...entries, ...undated];
    const decisions = all.map((e) => {
      const keep = halted !== undefined || e.reasons.length > 0;
      const reasons = e.reasons.length
        ? e.reasons
        : halted
          ? [`halted: ${halted.reason}`]
          : [e.c.status === 'corrupt' ? 'verification failed: not counted as kept' : 'not selected by any rule'];
      return { backupId: e.c.backupId, kind, startedAt: e.c.startedAt, status: e.c.status, keep, reasons };
    });
    return { kind, decisions, halted, warnings };
  };

  if (entries.length === 0) return finish();
  if (!policy) {
    warnings.push(`no retention policy for kind "${kind}": keeping everything`);
    for (const e of entries) e.reasons.push('no policy');
    return finish();
  }
  if (good.length === 0) {
    return finish({ kind, reason: 'no-good-backup', message: `every ${kind} backup failed verification; nothing deleted` });
  }
  const newest = good[0]!;
  if (policy.freshnessMs !== undefined && now - newest.t > policy.freshnessMs) {
    return finish({
      kind,
      reason: 'stale',
      message: `newest good ${kind} backup ${newest.c.backupId} is ${human(now - newest.t)} old (freshness bound ${formatDurationShort(policy.freshnessMs)}); nothing deleted`,
    });
  }
  if (!hasKeepRules(policy)) {
    for (const e of entries) e.reasons.push('no keep rules: everything kept');
    return finish();
  }

  if (policy.keepLast) for (const e of good.slice(0, policy.keepLast)) e.reasons.push(`last ${policy.keepLast}`);
  if (policy.keepWithinMs !== undefined) {
    for (const e of good) if (e.t >= newest.t - policy.keepWithinMs) e.reasons.push(`within ${formatDurationShort(policy.keepWithinMs)}`);
  }
  for (const period of PERIODS) {
    const n = policy[period as Period];
    if (!n) continue;
    const seen = new Set<string>();
    for (const e of good) {
      if (seen.size >= n) break;
      const key = bucketKey(period, e.t, policy.timezone);
      if (seen.has(key)) continue;
      seen.add(key);
      e.reasons.push(`${period} ${key}`);
    }
  }
  // Rules no policy can override.
  const newestVerified = good.find((e) => e.c.status === 'verified');
  if (newestVerified) newestVerified.reasons.push('newest verified');
  for (const e of good.slice(0, Math.max(1, policy.minKeep))) e.reasons.push(`minKeep ${Math.max(1, policy.minKeep)}`);
  if (good.length < policy.minKeep) warnings.push(`only ${good.length} good ${kind} backup(s), fewer than minKeep ${policy.minKeep}`);
  if (!newestVerified) warnings.push(`no verified ${kind} backup`);
  return finish();
}

/**
 * Decides which backups to delete. Each kind is planned on its own. Whatever the policy says:
 * the newest verified backup and the newest `minKeep` good backups are kept; corrupt backups
 * (failed verification) never count as kept; nothing is deleted while the newest good backup is
 * older than `freshnessMs`, or when no good backup exists. Deterministic: the same input (in any
 * order) gives the same plan, and applying a plan then planning again deletes nothing more.
 */
export function planRetention(input: { backups: RetentionCandidate[]; policies: Partial<Record<string, RetentionPolicy>>; now: Date | number }): RetentionPlan {
  const now = typeof input.now === 'number' ? input.now : input.now.getTime();
  const byKind = new Map<string, RetentionCandidate[]>();
  const seenIds = new Set<string>();
  const duplicates = new Set<string>();
  for (const b of input.backups) {
    if (seenIds.has(b.backupId)) duplicates.add(b.backupId);
    seenIds.add(b.backupId);
    byKind.set(b.kind, [...(byKind.get(b.kind) ?? []), b]);
  }
  const kinds = [...byKind.keys()].sort().map((k) => planKind(k, byKind.get(k)!, input.policies[k], now));
  const warnings = kinds.flatMap((k) => k.warnings);
  for (const id of [...duplicates].sort()) warnings.push(`backup id ${id} appears more than once; all its entries are kept`);
  const keep: string[] = [];
  const del: string[] = [];
  for (const k of kinds) {
    for (const d of k.decisions) {
      if (!d.keep && duplicates.has(d.backupId)) {
        d.keep = true;
        d.reasons = ['duplicate id: never deleted'];
      }
      (d.keep ? keep : del).push(d.backupId);
    }
  }
  return { kinds, keep, delete: del, halted: kinds.flatMap((k) => (k.halted ? [k.halted] : [])), warnings };
}
