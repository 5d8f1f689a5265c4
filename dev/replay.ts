import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { workflowsPath } from '../src/worker.js';

const USAGE = 'usage: replay [--bundle FILE] <history.json | dir>...';

/** Options and history files from the command line: `--bundle FILE` reuses a prebuilt workflow bundle. */
function parseArgs(args: string[]): { bundle?: string; files: string[] } {
  let bundle: string | undefined;
  const inputs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--bundle') {
      bundle = args[++i];
      if (!bundle) throw new Error(`--bundle needs a file: ${USAGE}`);
    } else inputs.push(args[i]!);
  }
  const files = inputs.flatMap((a) =>
    statSync(a).isDirectory()
      ? readdirSync(a)
          .filter((f) => f.endsWith('.json'))
          .map((f) => path.join(a, f))
      : [a],
  );
  return { bundle, files: files.sort() };
}

function* histories(files: string[]): Iterable<HistoryAndWorkflowId> {
  // The file name stands in for the workflow id, so each result names its file.
  for (const file of files) yield { workflowId: path.basename(file), history: JSON.parse(readFileSync(file, 'utf8')) };
}

/**
 * Replays recorded workflow histories (JSON from `temporal workflow show --output json`) against
 * the current workflow code, bundled once for all of them, and reports any non-determinism, one
 * line per file (`replayed <file>` or `FAILED <file>: <why>`). Usage: replay [--bundle FILE]
 * <file-or-dir>... Exits 1 when a history fails to replay or there is none.
 */
async function main(args: string[]): Promise<number> {
  const { bundle, files } = parseArgs(args);
  if (files.length === 0) {
    process.stderr.write(`no histories to replay: ${USAGE}\n`);
    return 1;
  }
  // The SDK core's own warnings go to the logger (stderr); stdout carries one line per history.
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    shutdownSignals: [],
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'WARN' }, forward: {} } },
  });
  const options: ReplayWorkerOptions = bundle ? { workflowBundle: { codePath: bundle } } : { workflowsPath: workflowsPath() };
  let failed = 0;
  let rest = files;
  while (rest.length > 0) {
    let done = 0;
    try {
      for await (const r of Worker.runReplayHistories(options, histories(rest))) {
        done++;
        if (r.error) failed++;
        process.stdout.write(r.error ? `FAILED ${r.workflowId}: ${r.error.message}\n` : `replayed ${r.workflowId}\n`);
      }
      if (done < rest.length) throw new Error('no replay result');
    } catch (err) {
      // A history that cannot even be read fails alone; the others still replay.
      failed++;
      process.stdout.write(`FAILED ${path.basename(rest[done]!)}: ${(err as Error).message}\n`);
      done++;
    }
    rest = rest.slice(done);
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`replay failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
