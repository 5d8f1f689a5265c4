// The committed workflow histories: where they live, what they show, and how a fresh one is
// written so that it is portable (no checkout path) and safe (no secret).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { toolPath } from '../../dev/services.js';
import { repoRoot, services } from '../harness/services.js';

export const historiesDir = path.join(repoRoot, 'test', 'replay', 'histories');

export function historyFiles(dir = historiesDir): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** The workflow type a recorded history ran (from its first event), read as plain JSON. */
export function workflowTypeOf(file: string): string | undefined {
  const history = JSON.parse(readFileSync(file, 'utf8')) as {
    events?: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
  };
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name;
}

/** The history's JSON with its payloads (base64 JSON) decoded, to search for what must not be there. */
function readable(json: string): string {
  return json.replace(/"data": "([A-Za-z0-9+/=]+)"/g, (_m, b64: string) => JSON.stringify(Buffer.from(b64, 'base64').toString('utf8')));
}

/**
 * Fetches a closed workflow's history (`temporal workflow show --output json`), strips this
 * checkout's absolute path from stack traces, refuses one that still names a local path or
 * contains any of `secrets`, and writes it as `histories/<name>.json`.
 */
export function saveHistory(workflowId: string, name: string, secrets: string[]): string {
  const raw = execFileSync(
    toolPath('temporal'),
    ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', services().temporal.address],
    { maxBuffer: 64 << 20 },
  ).toString();
  const json = raw.split(`${repoRoot}/`).join('');
  const text = readable(json);
  for (const s of secrets.filter((x) => x.length >= 6)) {
    if (text.includes(s) || text.includes(encodeURIComponent(s))) throw new Error(`History of ${workflowId} not saved: it contains a secret`);
  }
  for (const local of [repoRoot, os.tmpdir() + path.sep]) {
    if (text.includes(local)) throw new Error(`History of ${workflowId} not saved: it names the local path ${local}`);
  }
  const file = path.join(historiesDir, `${name}.json`);
  writeFileSync(file, json);
  return file;
}

/**
 * Replays histories in a plain Node process (protobuf JSON decoding does not work inside Jest's
 * module sandbox) with the run's prebuilt workflow bundle. One line per file.
 */
export async function replay(paths: string[]): Promise<{ exitCode?: number; lines: string[]; stderr: string }> {
  const bundle = services().workflowBundle;
  const args = [path.join(repoRoot, 'dist', 'dev', 'replay.js'), ...(bundle ? ['--bundle', bundle.codePath] : []), ...paths];
  const r = await execa(process.execPath, args, { reject: false, timeout: 300_000 });
  return { exitCode: r.exitCode, lines: r.stdout.trim().split('\n').filter(Boolean), stderr: r.stderr };
}
