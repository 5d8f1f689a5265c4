// The one duration grammar of Lifeboat, for the configuration, workflow inputs and runbooks.
// Pure: no I/O. Terms of a whole number and a unit, optionally separated by spaces:
// "36h", "1d12h", "2w", "90m", "250ms", "30 minutes", "1 hour", "1h 30m".

const UNITS: Array<[RegExp, number]> = [
  [/^(ms|msecs?|milliseconds?)$/, 1],
  [/^(s|secs?|seconds?)$/, 1000],
  [/^(m|mins?|minutes?)$/, 60_000],
  [/^(h|hrs?|hours?)$/, 3_600_000],
  [/^(d|days?)$/, 86_400_000],
  [/^(w|weeks?)$/, 604_800_000],
];
const TERM_RE = /(\d+)\s*([a-z]+)\s*/gy;

/** The error message for a malformed duration. */
export const DURATION_MESSAGE = 'expected a duration such as "36h", "14d", "2w" or "1d12h" (units w, d, h, m, s)';

/** Parses a duration into milliseconds; undefined when malformed or zero. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  TERM_RE.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (let m = TERM_RE.exec(s); m; m = TERM_RE.exec(s)) {
    const unit = UNITS.find(([re]) => re.test(m![2]!));
    if (!unit) return undefined;
    total += Number(m[1]) * unit[1];
    pos = TERM_RE.lastIndex;
  }
  if (pos !== s.length) return undefined;
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/** Same as {@link parseDuration}; the name workflow code has always used. */
export const parseDurationMs = parseDuration;

/** Like {@link parseDuration} but throws with {@link DURATION_MESSAGE}, naming `what`. */
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
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out || '0s';
}

/** Human form for people: `850 ms`, `1.2 s`, `1 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const totalS = Math.round(ms / 1000);
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h} h ${pad(m)} min` : `${m} min ${pad(s)} s`;
}
