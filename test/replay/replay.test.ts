// Every committed workflow history replays against the current workflow code: a change that
// breaks determinism for runs already in flight fails here, naming the history.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WORKFLOWS } from '../../src/contracts/index.js';
import { historiesDir, historyFiles, replay, workflowTypeOf } from './histories.js';

const files = historyFiles();

test('every workflow type has a recorded history', () => {
  const types = new Set(files.map((f) => workflowTypeOf(path.join(historiesDir, f))));
  expect(Object.values(WORKFLOWS).filter((t) => !types.has(t))).toEqual([]);
});

test('every committed history replays without non-determinism', async () => {
  expect(files.length).toBeGreaterThan(0);
  const r = await replay([historiesDir]);
  // One line per history, each named: a failure shows which file and why.
  expect(r.lines).toEqual(files.map((f) => `replayed ${f}`));
  expect(r.exitCode).toBe(0);
});

test('the replay fails on a history the code no longer matches, naming the file, and still replays the others', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-replay-'));
  try {
    const source = files.find((f) => f.startsWith('backupDatabase-'))!;
    copyFileSync(path.join(historiesDir, source), path.join(dir, 'a-intact.json'));
    // The same run, but its history says the workflow scheduled another activity first.
    const tampered = readFileSync(path.join(historiesDir, source), 'utf8').replace('"name": "runBackup"', '"name": "restoreBackup"');
    writeFileSync(path.join(dir, 'b-tampered.json'), tampered);
    writeFileSync(path.join(dir, 'c-truncated.json'), tampered.slice(0, 200));
    const r = await replay([dir]);
    expect(r.lines[0]).toBe('replayed a-intact.json');
    expect(r.lines[1]).toMatch(/^FAILED b-tampered\.json: .*[Nn]ondeterminism/);
    expect(r.lines[2]).toMatch(/^FAILED c-truncated\.json: /);
    expect(r.lines).toHaveLength(3);
    expect(r.exitCode).toBe(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
