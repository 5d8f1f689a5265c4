// A small parser for the cron expressions Lifeboat accepts in lifeboat.yaml: five fields
// (minute hour day-of-month month day-of-week) or a shorthand (@hourly, @daily, @weekly, @monthly,
// @yearly). Temporal Schedules evaluate them; this module validates them with clear messages and
// computes the longest gap between two runs (the default freshness bound of retention). Pure.

export const CRON_SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldDef {
  name: string;
  min: number;
  max: number;
  names?: string[];
  /** Value of names[0]. */
  nameBase?: number;
}

const FIELDS: FieldDef[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1 },
  { name: 'day of week', min: 0, max: 6, names: DAYS, nameBase: 0 },
];

/** The sets of values each field matches. Temporal matches a time when every field matches. */
export interface ParsedCron {
  minutes: number[];
  hours: number[];
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
}

function value(token: string, f: FieldDef): number {
  const upper = token.toUpperCase();
  if (f.names && f.names.includes(upper)) return f.names.indexOf(upper) + f.nameBase!;
  if (!/^\d+$/.test(token)) {
    throw new Error(`${f.name} "${token}" is not a number${f.names ? ` or a name (${f.names[0]}…${f.names[f.names.length - 1]})` : ''}`);
  }
  const n = Number(token);
  if (n < f.min || n > f.max) throw new Error(`${f.name} ${n} is out of range ${f.min}-${f.max}`);
  return n;
}

function parseField(text: string, f: FieldDef): number[] {
  const out = new Set<number>();
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new Error(`${f.name} "${item}" is not a value, range or step`);
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new Error(`${f.name} step must be at least 1 in "${item}"`);
    let lo: number;
    let hi: number;
    if (m[1] === '*') {
      lo = f.min;
      hi = f.max;
    } else if (m[1]!.includes('-')) {
      const [a, b, extra] = m[1]!.split('-');
      if (extra !== undefined || !a || !b) throw new Error(`${f.name} range "${m[1]}" is malformed`);
      lo = value(a, f);
      hi = value(b, f);
      if (hi < lo) throw new Error(`${f.name} range "${m[1]}" ends before it starts`);
    } else {
      lo = value(m[1]!, f);
      hi = m[2] === undefined ? lo : f.max;
    }
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return [...out].sort((a, b) => a - b);
}

/** Parses a cron expression; throws an Error whose message says what is wrong. */
export function parseCron(expression: string): ParsedCron {
  const trimmed = expression.trim();
  if (/^(CRON_)?TZ=/i.test(trimmed)) throw new Error('set the time zone with the "timezone" field, not in the expression');
  if (trimmed.startsWith('@')) {
    const expanded = CRON_SHORTHANDS[trimmed.toLowerCase()];
    if (!expanded) throw new Error(`unknown shorthand "${trimmed}" (use ${Object.keys(CRON_SHORTHANDS).join(', ')}, or "every")`);
    return parseCron(expanded);
  }
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  const [minutes, hours, dom, months, dow] = parts.map((p, i) => parseField(p, FIELDS[i]!));
  return { minutes: minutes!, hours: hours!, daysOfMonth: new Set(dom), months: new Set(months), daysOfWeek: new Set(dow) };
}

/** Describes why `expression` is not a valid cron expression, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  try {
    parseCron(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const DAY_MS = 86_400_000;

/** Run times (UTC wall clock) of `cron` in [fromMs, fromMs + days). */
export function cronTimes(cron: ParsedCron, fromMs: number, days: number): number[] {
  const out: number[] = [];
  const start = Math.floor(fromMs / DAY_MS) * DAY_MS;
  for (let d = 0; d < days; d++) {
    const day = new Date(start + d * DAY_MS);
    if (!cron.months.has(day.getUTCMonth() + 1) || !cron.daysOfMonth.has(day.getUTCDate()) || !cron.daysOfWeek.has(day.getUTCDay())) continue;
    for (const h of cron.hours) for (const m of cron.minutes) out.push(day.getTime() + h * 3_600_000 + m * 60_000);
  }
  return out;
}

/** A fixed reference window keeps the result a pure function of the expressions. */
const REFERENCE_START = Date.UTC(2025, 0, 1);
const REFERENCE_DAYS = 800;

/**
 * The longest time between two consecutive runs of a set of cron expressions and intervals (ms),
 * over a fixed two-year reference window; undefined when they run fewer than twice in it.
 */
export function longestGapMs(crons: string[], intervalsMs: Array<{ every: number; offset: number }>): number | undefined {
  const times: number[] = [];
  for (const c of crons) times.push(...cronTimes(parseCron(c), REFERENCE_START, REFERENCE_DAYS));
  let intervalGap: number | undefined;
  for (const i of intervalsMs) {
    // Intervals repeat exactly; alone, their gap is the interval itself.
    intervalGap = Math.min(intervalGap ?? Infinity, i.every);
    if (crons.length > 0 && (REFERENCE_DAYS * DAY_MS) / i.every <= 50_000) {
      const first = REFERENCE_START + ((((i.offset - REFERENCE_START) % i.every) + i.every) % i.every);
      for (let t = first; t < REFERENCE_START + REFERENCE_DAYS * DAY_MS; t += i.every) times.push(t);
    }
  }
  if (crons.length === 0) return intervalGap;
  if (times.length < 2) return intervalGap;
  times.sort((a, b) => a - b);
  let gap = 0;
  for (let k = 1; k < times.length; k++) gap = Math.max(gap, times[k]! - times[k - 1]!);
  // An interval too fine to enumerate bounds the gap of the union by itself.
  return intervalGap === undefined ? gap : Math.min(gap, intervalGap);
}
