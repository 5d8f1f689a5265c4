// Property-based fuzzing (fast-check) of every workflow's input contract and of the configuration
// loader: wrong types, huge strings, `../`, SQL and shell metacharacters, unicode tricks. Each is
// either accepted as a safe value or refused with a clear validation error; nothing else is thrown.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describeIssues, lifeboatFailure } from '../../src/contracts/index.js';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { LifeboatError } from '../../src/errors.js';
import { hostileInput, hostileString, hostileValue, WORKFLOW_INPUTS } from '../harness/hostile.js';

/** No path separator, never `.` or `..`, no quote, space, control or shell character. */
const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** The names an accepted input carries must be plain: no path, SQL or shell syntax can pass. */
function namesOf(parsed: Record<string, unknown>): string[] {
  return ['database', 'target', 'storage', 'from', 'backupId', 'runbook'].map((k) => parsed[k]).filter((v): v is string => typeof v === 'string');
}

for (const [workflow, { schema, valid }] of Object.entries(WORKFLOW_INPUTS)) {
  test(`${workflow}: hostile inputs are safe values or a clear INVALID_INPUT failure, never a throw`, () => {
    expect(schema.safeParse(valid).success).toBe(true);
    fc.assert(
      fc.property(hostileInput(valid), (input) => {
        const result = schema.safeParse(input);
        if (result.success) {
          for (const name of namesOf(result.data as Record<string, unknown>)) expect(name).toMatch(SAFE_NAME);
          return;
        }
        const message = `Invalid input for ${workflow}: ${describeIssues(result.error)}`;
        expect(message).toMatch(/^Invalid input for \w+: \S/);
        expect(message.length).toBeLessThan(20_000);
        const failure = lifeboatFailure('INVALID_INPUT', message);
        expect(failure.nonRetryable).toBe(true);
        expect(failure.message.length).toBeLessThanOrEqual(2000);
      }),
      { numRuns: 300 },
    );
  });
}

const BASE_CONFIG = {
  temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'lifeboat' },
  storage: { primary: { type: 'filesystem', path: './backups' } },
  databases: { orders: { engine: 'postgres', url: { env: 'ORDERS_URL' }, storage: ['primary'] } },
};

const CONFIG_PATHS: string[][] = [
  ['temporal', 'address'],
  ['temporal', 'taskQueue'],
  ['storage', 'primary', 'path'],
  ['storage', 'primary', 'type'],
  ['storage', 'primary', 'prefix'],
  ['storage', '../evil'],
  ['databases', 'orders', 'engine'],
  ['databases', 'orders', 'url'],
  ['databases', 'orders', 'storage'],
  ['databases', 'orders', 'schedule'],
  ['databases', 'orders', 'retention'],
  ['databases', "x'; drop"],
  ['databases', 'orders', 'compression'],
  ['log', 'level'],
  ['approvers'],
  ['restore', 'tempDir'],
];

function withValue(base: unknown, at: string[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<string, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[at[at.length - 1]!] = value;
  return copy;
}

/** Runs `fn`; any throw must be a CONFIG_INVALID LifeboatError that says the configuration is invalid. */
function configOutcome(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toMatch(/^(Invalid configuration|Configuration error)/);
  }
}

test('the configuration loader: a hostile value anywhere is accepted or refused with CONFIG_INVALID, never another error', () => {
  expect(() => parseConfig(BASE_CONFIG)).not.toThrow();
  fc.assert(
    fc.property(fc.constantFrom(...CONFIG_PATHS), fc.oneof(hostileValue, fc.dictionary(hostileString, hostileValue, { maxKeys: 3 })), (at, value) => {
      configOutcome(() => parseConfig(withValue(BASE_CONFIG, at, value)));
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(hostileValue, (value) => configOutcome(() => parseConfig(value))),
    { numRuns: 200 },
  );
});

test('the configuration file: hostile YAML text is refused with CONFIG_INVALID, never another error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-fuzz-'));
  const file = path.join(dir, 'lifeboat.yaml');
  const yamlish = fc.oneof(
    hostileString,
    fc.constantFrom('{', ': :', '- - -', '!!js/function "x"', '&a [*a, *a]', 'a: &x\n  b: *x', '\t\tkey: value', 'storage: !!binary AAAA', '<<: *undefined'),
    fc.tuple(hostileString, hostileString).map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}\n`),
  );
  fc.assert(
    fc.property(yamlish, (text) => {
      writeFileSync(file, text);
      configOutcome(() => loadConfig(file));
    }),
    { numRuns: 200 },
  );
});
