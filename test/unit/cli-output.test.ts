import { parseConfig } from '../../src/config/load.js';
import { LifeboatError } from '../../src/errors.js';
import { progressLine } from '../../src/cli/follow.js';
import { describeHeartbeat, progressBar, progressInterval, progressWriter, shareOf } from '../../src/cli/progress.js';
import { CliExit, exitFor, failureMessage, uiLink } from '../../src/cli/shared.js';
import { lifeboatFailure, shortMessage, withSubject, type Heartbeat } from '../../src/contracts/index.js';

const MiB = 1024 * 1024;

describe('failure lines', () => {
  test('the subject is printed once, then the cause and its code', () => {
    const dump = {
      type: 'DUMP_FAILED',
      message: 'Backup of orders failed: pg_dump exited with code 1: pg_dump: error: query failed: ERROR: permission denied for table secrets',
    };
    expect(failureMessage('Backup of orders', dump)).toBe(
      'Backup of orders failed: pg_dump exited with code 1: pg_dump: error: query failed: ERROR: permission denied for table secrets [DUMP_FAILED]',
    );
    const auth = { type: 'AUTH_FAILED', message: 'Connection to orders failed: authentication rejected: password authentication failed for user "x"' };
    expect(failureMessage('Backup of orders', auth)).toBe(
      'Backup of orders failed: Connection to orders failed: authentication rejected: password authentication failed for user "x" [AUTH_FAILED]',
    );
    expect(failureMessage('Backup of orders', { type: 'TOOL_TOO_OLD', message: 'Backup of orders refused: pg_dump 14.1 is older than the server' })).toBe(
      'Backup of orders refused: pg_dump 14.1 is older than the server [TOOL_TOO_OLD]',
    );
    // Another database whose name starts the same is not the subject.
    expect(failureMessage('Backup of orders', { message: 'Backup of orders_eu failed: x' })).toBe('Backup of orders failed: Backup of orders_eu failed: x');
    expect(
      failureMessage(undefined, { type: 'RESTORE_FAILED', message: 'Restore of shop into x failed: pg_restore exited with code 1 [RESTORE_FAILED]' }),
    ).toBe('Restore of shop into x failed: pg_restore exited with code 1 [RESTORE_FAILED]');
  });

  test('a prefix is printed once, even when the cause already repeats it', () => {
    const doubled = { type: 'DUMP_FAILED', message: 'Backup of x failed: Backup of x failed: pg_dump exited with code 1' };
    expect(failureMessage('Backup of x', doubled)).toBe('Backup of x failed: pg_dump exited with code 1 [DUMP_FAILED]');
    expect(failureMessage(undefined, doubled)).toBe('Backup of x failed: pg_dump exited with code 1 [DUMP_FAILED]');
    expect(withSubject('Verification of x backup b1', 'Verification of x backup b1 failed: check "rows" returned false')).toBe(
      'Verification of x backup b1 failed: check "rows" returned false',
    );
    expect(withSubject('Verification of x backup b1', 'Restore of lb_verify_x failed: checksum mismatch')).toBe(
      'Verification of x backup b1 failed: Restore of lb_verify_x failed: checksum mismatch',
    );
    // Failures carried by Temporal go through shortMessage: a doubled subject never reaches history.
    expect(lifeboatFailure('DUMP_FAILED', 'Backup of x failed: Backup of x failed: Backup of x failed: boom').message).toBe('Backup of x failed: boom');
    expect(shortMessage('Restore of a refused: Restore of a refused: no')).toBe('Restore of a refused: no');
    // Different subjects in a chain are kept: they say where the failure came from.
    expect(shortMessage('Backup of x failed: Connection to x failed: timeout')).toBe('Backup of x failed: Connection to x failed: timeout');
  });

  test('exit codes: 2 for usage and configuration, 1 for failed operations, 0 for help', () => {
    expect(exitFor(new CliExit(2, 'Invalid backup request: kind: expected "full"'))).toEqual({
      code: 2,
      message: 'Invalid backup request: kind: expected "full"',
    });
    expect(exitFor(new LifeboatError('UNKNOWN_DATABASE', 'Unknown database "x"'))).toEqual({ code: 2, message: 'Unknown database "x"' });
    expect(exitFor(new LifeboatError('STORAGE_FAILED', 'Listing failed'))).toEqual({ code: 1, message: 'Listing failed' });
    expect(exitFor(Object.assign(new Error('(outputHelp)'), { code: 'commander.helpDisplayed' }))).toEqual({ code: 0 });
    expect(exitFor(Object.assign(new Error('unknown option'), { code: 'commander.unknownOption' }))).toEqual({ code: 2 });
    expect(exitFor(new CliExit(1, 'Cannot reach postgres://u:hunter2@db/x')).message).not.toContain('hunter2');
  });
});

describe('heartbeats in words', () => {
  const variants: Array<[string, Heartbeat, RegExp]> = [
    [
      'backup',
      { activity: 'backup', phase: 'dumping', rawBytes: 10 * MiB, storedBytes: 2 * MiB, elapsedMs: 5000 },
      /^dumping +10\.0 MiB read, 2\.0 MiB stored, 2\.0 MiB\/s$/,
    ],
    [
      'backup against an estimate',
      { activity: 'backup', phase: 'dumping', rawBytes: 10 * MiB, storedBytes: 2 * MiB, elapsedMs: 5000, estimateBytes: 40 * MiB },
      /^dumping +10\.0 MiB read, 2\.0 MiB stored, 2\.0 MiB\/s, ~25% of ~40\.0 MiB \(estimate: database size\), ETA ~15 s$/,
    ],
    [
      'copy',
      { activity: 'copy', phase: 'copying', to: 'offsite', bytes: 3 * MiB, totalBytes: 12 * MiB, elapsedMs: 1000 },
      /^copying +3\.0 MiB of 12\.0 MiB to offsite, 3\.0 MiB\/s, 25%, ETA 3\.0 s$/,
    ],
    [
      'copy before its first chunk',
      { activity: 'copy', phase: 'copying', to: 'offsite', bytes: 0, totalBytes: 0, elapsedMs: 0 },
      /^copying +0 B to offsite, 0 B\/s$/,
    ],
    [
      'restore',
      {
        activity: 'restore',
        phase: 'restoring',
        rawBytes: 30 * MiB,
        storedBytes: 6 * MiB,
        totalBytes: 8 * MiB,
        items: 42,
        step: 'processing data for table "public.users"',
        elapsedMs: 2000,
      },
      /^restoring +6\.0 MiB of 8\.0 MiB downloaded, 30\.0 MiB unpacked, 42 items, processing data for table "public\.users", 75%, ETA 667 ms$/,
    ],
    ['task', { activity: 'task', phase: 'deleting', done: 3, of: 10 }, /^deleting +3\/10$/],
  ];
  test.each(variants)('%s', (_name, hb, expected) => {
    expect(describeHeartbeat(hb)).toMatch(expected);
  });

  test('on a TTY the share gets a bar; an estimate is marked and stops short of 100%', () => {
    expect(describeHeartbeat(variants[1]![1], { tty: true })).toContain('[#####---------------] ~25%');
    expect(shareOf(50, 40, 1000, { estimate: true })).toBe('~99%, past the estimate');
    expect(shareOf(40, 40, 1000)).toBe('100%');
    expect(progressBar(0.5, 10)).toBe('[#####-----]');
    expect(progressBar(7, 4)).toBe('[####]');
  });

  test('a heartbeat of an unknown shape (another version) never reads "undefined" or "NaN"', () => {
    const odd = [
      {},
      { activity: 'backup' },
      { activity: 'copy', phase: 'copying' },
      { activity: 'restore', phase: 'restoring', totalBytes: 'x' },
      { activity: 'later', phase: 'thinking' },
    ];
    for (const hb of odd) expect(describeHeartbeat(hb as Heartbeat, { tty: true })).not.toMatch(/undefined|NaN|null/);
  });

  test('the progress line joins parallel copies and says which attempt it is', () => {
    const copy = (to: string): Heartbeat => ({ activity: 'copy', phase: 'copying', to, bytes: MiB, totalBytes: 2 * MiB, elapsedMs: 1000 });
    expect(progressLine({ heartbeats: [], waitingForWorker: true }, 1500)).toBe('waiting for a worker… 1.5 s');
    expect(progressLine({ heartbeats: [] }, 4100)).toBe('working… 4.1 s');
    expect(progressLine({ heartbeats: [], waitingForWorker: true, attempt: 3, lastFailure: 'activity timed out' }, 60_000)).toBe(
      'waiting for a worker… 1 min 00 s (attempt 3, after: activity timed out)',
    );
    const line = progressLine({ heartbeats: [copy('offsite'), copy('archive')], attempt: 2, lastFailure: 'Copy of backup x failed: timeout' }, 65_000);
    expect(line).toMatch(
      /^copying +1\.0 MiB of 2\.0 MiB to offsite, .*; copying +1\.0 MiB of 2\.0 MiB to archive, .*, 1 min 05 s \(attempt 2, after: Copy of backup x failed: timeout\)$/,
    );
  });
});

describe('progress output', () => {
  /** A capturing stream standing in for stderr (a terminal when `isTTY`). */
  const sink = (isTTY: boolean, columns?: number) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) > 0 } as unknown as NodeJS.WriteStream };
  };

  test('off a TTY, lines are printed at most once per interval; LIFEBOAT_PROGRESS_INTERVAL_MS sets it', () => {
    const quiet = sink(false);
    const w = progressWriter(quiet.stream, {});
    w.line('one');
    w.line('two');
    expect(quiet.writes).toEqual(['one\n']);
    expect(w.intervalMs).toBe(1000);
    const fast = progressWriter(sink(false).stream, { LIFEBOAT_PROGRESS_INTERVAL_MS: '200' });
    expect(fast.intervalMs).toBe(200);
    expect(() => progressInterval({ LIFEBOAT_PROGRESS_INTERVAL_MS: '10ms' })).toThrow(
      'Invalid LIFEBOAT_PROGRESS_INTERVAL_MS: expected milliseconds, at least 50: "10ms"',
    );
  });

  test('on a TTY, the line is redrawn in place and cut to the width of the terminal', () => {
    const tty = sink(true, 20);
    const w = progressWriter(tty.stream, {});
    w.line('short');
    w.line('a line much longer than twenty columns');
    w.note('Approved by alice');
    w.clear();
    expect(tty.writes).toEqual(['\r\x1b[2Kshort', '\r\x1b[2Ka line much longer…', '\r\x1b[2KApproved by alice\n', '\r\x1b[2K']);
  });
});

test('UI links: the configured base, else the dev server next to a loopback address', () => {
  const cfg = (temporal: Record<string, unknown>) =>
    parseConfig({ temporal, storage: { s: { type: 'filesystem', path: '/tmp' } }, databases: { d: { engine: 'postgres', url: 'postgres://u@h/d' } } });
  expect(uiLink(cfg({ address: '127.0.0.1:7233', namespace: 'default' }), 'backup:d:full:2026-01-01T00:00:00Z')).toBe(
    'http://127.0.0.1:8233/namespaces/default/workflows/backup%3Ad%3Afull%3A2026-01-01T00%3A00%3A00Z',
  );
  expect(uiLink(cfg({ address: 'ns.a1.tmprl.cloud:7233', namespace: 'ns.a1', uiUrl: 'https://cloud.temporal.io/' }), 'x')).toBe(
    'https://cloud.temporal.io/namespaces/ns.a1/workflows/x',
  );
  expect(uiLink(cfg({ address: 'temporal.internal:7233', namespace: 'default' }), 'x')).toBeUndefined();
});
