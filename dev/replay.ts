import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { workflowsPath } from '../src/worker.js';

/**
 * Replays recorded workflow histories (JSON from `temporal workflow show --output json`) against
 * the current workflow code and reports any non-determinism. Usage: replay <file-or-dir>...
 * Exits 1 when a history fails to replay.
 */
async function main(args: string[]): Promise<number> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const files = args.flatMap((a) => (statSync(a).isDirectory() ? readdirSync(a).filter((f) => f.endsWith('.json')).map((f) => path.join(a, f)) : [a]));
  if (files.length === 0) {
    process.stderr.write('no histories to replay\n');
    return 1;
  }
  let failed = 0;
  for (const file of files.sort()) {
    try {
      await Worker.runReplayHistory({ workflowsPath: workflowsPath() }, JSON.parse(readFileSync(file, 'utf8')), path.basename(file));
      process.stdout.write(`replayed ${path.basename(file)}\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`FAILED ${path.basename(file)}: ${(err as Error).message}\n`);
    }
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
