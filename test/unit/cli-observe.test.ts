// Pure parts of `lifeboat status` and `lifeboat audit`: colour on a terminal only, `--since`.
import { parseSince, statusTable, useColour } from '../../src/cli/observe-commands.js';

test('colour only on a terminal without NO_COLOR; unhealthy production lines red, others yellow, healthy green', () => {
  expect(useColour({ isTTY: true }, {})).toBe(true);
  expect(useColour({ isTTY: false }, {})).toBe(false);
  expect(useColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  const rows = [
    { healthy: true, cells: ['orders', 'production', 'healthy', 'b1', '1h / 26h', 'passed 1d ago', '+1% (full)', '-'] },
    { healthy: false, cells: ['shop', 'production', 'unhealthy', '-', '- / 26h', 'never', '-', 'stale'] },
    { healthy: false, cells: ['dev', 'development', 'unhealthy', '-', '- / 8d', 'never', '-', 'stale'] },
  ];
  const lines = statusTable(rows, [true, true, false], true).split('\n');
  expect(lines[0]).toMatch(/^DATABASE/);
  expect(lines.slice(1).map((l) => l.slice(0, 5))).toEqual(['\u001b[32m', '\u001b[31m', '\u001b[33m']);
  expect(statusTable(rows, [true, true, false], false)).not.toContain('\u001b');
});

test('--since takes an ISO time or a duration back from now, and names the problem otherwise', () => {
  const now = Date.parse('2026-11-24T12:00:00Z');
  expect(parseSince('24h', now).toISOString()).toBe('2026-11-23T12:00:00.000Z');
  expect(parseSince('2026-11-20T00:00:00Z', now).toISOString()).toBe('2026-11-20T00:00:00.000Z');
  expect(() => parseSince('last week', now)).toThrow(
    'Invalid --since "last week": expected an ISO time such as 2026-11-23T00:00:00Z or a duration such as 24h or 7d',
  );
});
