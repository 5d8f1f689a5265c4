/** One line of `lifeboat doctor`'s report. */
export interface DoctorCheck {
  /** What was checked: `temporal`, `database orders`, `storage primary`, `scratch space`. */
  part: string;
  check: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  /** What to do about a warning or failure. */
  fix?: string;
}

export const ok = (part: string, check: string, detail: string): DoctorCheck => ({ part, check, status: 'ok', detail });
export const fail = (part: string, check: string, detail: string, fix: string): DoctorCheck => ({ part, check, status: 'fail', detail, fix });
export const warn = (part: string, check: string, detail: string, fix: string): DoctorCheck => ({ part, check, status: 'warn', detail, fix });

/** Rejects with a clear message when `p` takes longer than `ms` (a server that accepts and never answers). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
