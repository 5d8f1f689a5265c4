import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { WORKFLOWS, describeIssues, durationField, formatDuration, parseDuration } from '../../src/contracts/index.js';

const root = path.resolve(import.meta.dirname, '../..');

test('one duration grammar: compact and spelled-out forms, never a silent default', () => {
  expect(parseDuration('250ms')).toBe(250);
  expect(parseDuration('90m')).toBe(90 * 60_000);
  expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
  expect(parseDuration('1h 30m')).toBe(90 * 60_000);
  expect(parseDuration('30 minutes')).toBe(30 * 60_000);
  expect(parseDuration('1 hour')).toBe(3_600_000);
  expect(parseDuration('2 weeks')).toBe(14 * 86_400_000);
  for (const bad of ['', 'soon', '5', '1.5h', '-1d', '0s', '1y', '5 s ago', 'm5']) expect(parseDuration(bad)).toBeUndefined();
  const schema = z.strictObject({ timeout: durationField({ min: 1000, max: 60_000, describe: 'expected 1s to 1 minute' }) });
  const bad = schema.safeParse({ timeout: '2 hours' });
  expect(bad.success).toBe(false);
  expect(describeIssues(bad.error!)).toBe('timeout: expected 1s to 1 minute');
  expect(schema.parse({ timeout: '30s' })).toEqual({ timeout: '30s' });
});

test('durations print for people', () => {
  expect(formatDuration(850)).toBe('850 ms');
  expect(formatDuration(1234)).toBe('1.2 s');
  expect(formatDuration(42_400)).toBe('42 s');
  expect(formatDuration(65_000)).toBe('1 min 05 s');
  expect(formatDuration(2 * 3_600_000 + 3 * 60_000)).toBe('2 h 03 min');
});

test('every workflow reference names a workflow the worker registers', () => {
  const index = readFileSync(path.join(root, 'workflows', 'index.ts'), 'utf8');
  const exported = [...index.matchAll(/export \{ (\w+) \}/g)].map((m) => m[1]).sort();
  expect(Object.values(WORKFLOWS).sort()).toEqual(exported);
  for (const [key, name] of Object.entries(WORKFLOWS)) expect(key).toBe(name);
});
