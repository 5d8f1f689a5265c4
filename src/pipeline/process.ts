/** Keeps the last `max` bytes written to it (stderr of a child, for error messages). */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = 16 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

export interface ExitInfo {
  tool: string;
  ok: boolean;
  exitCode?: number;
  signal?: string;
  canceled?: boolean;
  stderr: string;
  /** Set when the process could not be started at all. */
  spawnError?: string;
}

/** The most telling line of a tool's stderr: the first `error:`/`FATAL:` line, else the last line. */
export function keyStderrLine(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => /\b(error|fatal|FATAL|ERROR)\b[:]/.test(l));
  return fatal ?? lines[lines.length - 1];
}

/** `exited with code 1: <reason>` / `was killed by SIGKILL` / `could not start: ...`. */
export function describeExit(exit: ExitInfo): string {
  if (exit.spawnError) return `could not start: ${exit.spawnError}`;
  const line = keyStderrLine(exit.stderr);
  const base = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.exitCode ?? 'unknown'}`;
  return line ? `${base}: ${line}` : base;
}
