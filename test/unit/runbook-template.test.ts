import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { condition, evaluate, render, type TemplateScope } from '../../src/contracts/template.js';
import { parseConfig } from '../../src/config/load.js';
import { loadRunbook, readRunbookFile, listRunbooks } from '../../src/runbooks/load.js';
import { checkStepWith, describeWithIssues } from '../../src/contracts/runbook.js';

const scope: TemplateScope = {
  params: { database: 'orders', count: 3, yes: true },
  steps: { restore: { state: 'succeeded', output: { target: 'orders_dr', backupId: 'b1' } } },
  drill: false,
  run: { workflowId: 'runbook:x', id: 'abcd1234' },
};

test('templates resolve params, step outputs and expressions deterministically', () => {
  expect(render('${{ params.database }}_restore', scope)).toBe('orders_restore');
  expect(render('${{ params.count }}', scope)).toBe(3);
  expect(render({ a: ['${{ steps.restore.output.target }}', 'x'], b: '${{ drill }}' }, scope)).toEqual({ a: ['orders_dr', 'x'], b: false });
  expect(evaluate("params.database == 'orders' && !drill", scope)).toBe(true);
  expect(evaluate('params.count + 1 >= 4', scope)).toBe(true);
  expect(evaluate("params.database + '_' + run.id", scope)).toBe('orders_abcd1234');
  expect(condition('${{ params.yes || drill }}', scope)).toBe(true);
  expect(condition("steps.restore.state != 'succeeded'", scope)).toBe(false);
  expect(() => evaluate('params.nope', scope)).toThrow('unknown value "params.nope"');
  expect(() => evaluate('process.exit(1)', scope)).toThrow();
  expect(() => evaluate("'unterminated", scope)).toThrow('unterminated string');
});

function writeRunbook(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-rb-'));
  const file = path.join(dir, 'rb.yaml');
  writeFileSync(file, text);
  return file;
}

test('runbook files are validated with every problem listed by path', () => {
  const file = writeRunbook(`name: bad
steps:
  - { id: a, type: teleport }
  - { id: b, type: approval, with: {} }
  - { id: c, type: wait, with: {}, timeout: soon }
`);
  let message = '';
  try {
    readRunbookFile(file);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain(`Invalid runbook ${file}:`);
  expect(message).toContain('steps.0.type: expected one of restore, verify, sql, command, http-check, approval, notify, wait');
  expect(message).toContain('steps.1.with.role: required by approval steps');
  expect(message).toContain('steps.2.timeout: expected a duration such as "30s", "15m" or "2h"');
  expect(message).toContain('steps.2.with.duration: required by wait steps');
  const dup = writeRunbook('name: dup\nsteps:\n  - { id: a, type: wait, with: { duration: 1s } }\n  - { id: a, type: wait, with: { duration: 1s } }\n');
  expect(() => readRunbookFile(dup)).toThrow('steps.1.id: duplicate step id "a"');
});

test('step settings are checked by type: spelled-out values when the file is read, templated ones once rendered', () => {
  const file = writeRunbook(`name: typed
params:
  db: { type: string, default: orders }
  yes: { type: boolean, default: true }
steps:
  - { id: h, type: http-check, with: { url: "not a url", interval: fast } }
  - { id: c, type: command, with: { command: mark, colour: red } }
  - { id: s, type: sql, with: { database: "\${{ params.db }}", sql: "select 1", assert: "\${{ params.yes }}" }, retry: { initialInterval: 1.5s } }
  - { id: t, type: wait, with: { duration: "1h 30m" }, timeout: "2 hours" }
  - { id: n, type: notify, with: { message: hi }, compensation: { type: approval, with: { role: dba } } }
  - { id: r, type: restore, with: { database: orders, target: "\${{ params.db }}_dr", mode: everything } }
  - { id: a, type: approval, with: { role: dba, escalateAfter: 0s } }
`);
  let message = '';
  try {
    readRunbookFile(file);
  } catch (err) {
    message = (err as Error).message;
  }
  expect(message).toContain('steps.0.with.url: expected an http(s) URL');
  expect(message).toContain('steps.0.with.interval: expected a duration such as "30s", "15m" or "2h"');
  expect(message).toContain('steps.1.with: Unrecognized key: "colour"');
  expect(message).toContain('steps.2.retry.initialInterval: expected a duration such as "30s", "15m" or "2h"');
  expect(message).toContain('steps.4.compensation.type: expected one of restore, verify, sql, command, http-check, notify');
  expect(message).toContain('steps.5.with.mode: expected "full", "schema", "data" or "tables"');
  expect(message).toContain('steps.6.with.escalateAfter: expected a duration');
  // Templated values wait for rendering; "1h 30m" and "2 hours" are in the one duration grammar.
  expect(message).not.toContain('steps.2.with');
  expect(message).not.toContain('steps.3');
  expect(message).not.toContain('steps.5.with.target');
});

test('a rendered with is typed, defaulted and checked by the schema of its step type', () => {
  expect(checkStepWith('restore', { database: 'orders', target: 'orders_dr', tables: 'public.a, public.b' })).toEqual({
    ok: true,
    with: {
      database: 'orders',
      target: 'orders_dr',
      backup: 'latest',
      mode: 'full',
      tables: ['public.a', 'public.b'],
      privileges: 'skip',
      approvalTimeout: '1 hour',
    },
  });
  expect(checkStepWith('http-check', { url: 'http://127.0.0.1:8080/health' })).toEqual({
    ok: true,
    with: { url: 'http://127.0.0.1:8080/health', expectStatus: 200, interval: '2s' },
  });
  expect(checkStepWith('command', { command: 'migrate', args: ['db', 3, true] })).toEqual({
    ok: true,
    with: { command: 'migrate', args: ['db', '3', 'true'] },
  });
  const describe = (r: ReturnType<typeof checkStepWith>) => (r.ok ? 'ok' : describeWithIssues(r.issues));
  expect(describe(checkStepWith('wait', { duration: 'soon' }))).toBe(
    'with.duration: expected a duration such as "30s", "15m" or "2h" (units w, d, h, m, s, ms)',
  );
  expect(describe(checkStepWith('approval', {}))).toBe('with.role: required by approval steps');
  expect(describe(checkStepWith('sql', { database: 'orders', sql: 'select 1', assert: 'yes' }))).toBe('with.assert: expected true or false');
  expect(describe(checkStepWith('restore', { database: 'orders', target: 'bad name!' }))).toMatch(/^with\.target: expected a target name/);
});

test('command timeouts in the configuration use the one duration grammar', () => {
  const cfg = (timeout: string) =>
    parseConfig({ storage: { s: { type: 'filesystem', path: '/tmp/x' } }, databases: {}, runbooks: { commands: { x: { program: 'true', timeout } } } });
  expect(cfg('1m 30s').runbooks?.commands.x?.timeout).toBe('1m 30s');
  expect(() => cfg('1.5m')).toThrow('runbooks.commands.x.timeout: expected a duration such as "30s", "15m" or "2h"');
});

test('parameters: types, defaults, required and unknown ones', () => {
  const file = writeRunbook(`name: params-test
params:
  database: { type: string, required: true }
  minutes: { type: number, default: 5 }
  force: { type: boolean, default: false }
steps:
  - { id: w, type: wait, with: { duration: 1s } }
`);
  const cfg = parseConfig({
    storage: { s: { type: 'filesystem', path: '/tmp/x' } },
    databases: { orders: { engine: 'postgres', url: { env: 'X' } } },
    runbooks: { paths: [path.dirname(file)], roles: { dba: ['alice'] } },
  });
  const loaded = loadRunbook(cfg, 'params-test', { database: 'orders', minutes: '7', force: 'true' });
  expect(loaded.params).toEqual({ database: 'orders', minutes: 7, force: true });
  expect(loaded.roles).toEqual({ dba: ['alice'] });
  expect(() => loadRunbook(cfg, 'params-test', { minutes: 'many', colour: 'red' })).toThrow(
    'Invalid parameters for runbook params-test: params.colour: not a parameter of params-test (parameters: database, minutes, force); params.database: required; params.minutes: expected a number',
  );
  expect(() => loadRunbook(cfg, 'nope', {})).toThrow(/Unknown runbook "nope" \(available: .*params-test/);
});

test('the shipped runbooks are valid', () => {
  const cfg = parseConfig({ storage: { s: { type: 'filesystem', path: '/tmp/x' } }, databases: {} });
  const names = [...listRunbooks(cfg).keys()].sort();
  expect(names).toEqual(['accidental-deletion', 'corruption', 'provider-outage']);
});

test('configured drills become managed schedules of runRunbook with drill: true (monthly by default)', async () => {
  const { desiredSchedules } = await import('../../src/schedules/desired.js');
  const cfg = parseConfig({
    storage: { s: { type: 'filesystem', path: '/tmp/x' } },
    databases: {},
    runbooks: { drills: [{ runbook: 'provider-outage', params: { database: 'orders', target: 'orders_standby' } }] },
  });
  const drill = desiredSchedules(cfg).find((d) => d.kind === 'drill');
  expect(drill).toMatchObject({
    scheduleId: 'lifeboat:drill:provider-outage',
    workflowType: 'runRunbook',
    args: [{ runbook: 'provider-outage', params: { database: 'orders', target: 'orders_standby' }, drill: true }],
    spec: { cronExpressions: ['0 3 1 * *'], timezone: 'UTC' },
    policies: { overlap: 'SKIP' },
  });
});
