// Durations as people write them in lifeboat.yaml: "36h", "14d", "2w", "1d12h", "90m", "30s".
// Pure: used by the configuration schema, the retention planner and the schedule compiler.

const UNIT_MS = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
type Unit = keyof typeof UNIT_MS;
const DURATION_RE = /^(?:\d+[wdhms])+$/;

/** The error message for a malformed duration (also used by the configuration schema). */
export const DURATION_MESSAGE = 'expected a duration such as "36h", "14d", "2w" or "1d12h" (units w, d, h, m, s)';

/** Parses a duration such as `1d12h` into milliseconds; undefined when malformed or zero. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!DURATION_RE.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+)([wdhms])/g)) total += Number(m[1]) * UNIT_MS[m[2] as Unit];
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** Like {@link parseDuration} but throws with {@link DURATION_MESSAGE}. */
export function durationMs(text: string, what = 'duration'): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`Invalid ${what}: ${DURATION_MESSAGE}: "${text}"`);
  return ms;
}

/** Formats milliseconds compactly, largest units first: 129600000 -> "1d12h". */
export function formatDurationShort(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out || '0s';
}
