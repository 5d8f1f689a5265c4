import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { condition, evaluate, render, type TemplateScope } from '../../src/contracts/template.js';
import { parseConfig } from '../../src/config/load.js';
import { loadRunbook, readRunbookFile, listRunbooks } from '../../src/runbooks/load.js';

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
