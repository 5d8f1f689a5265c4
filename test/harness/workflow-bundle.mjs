// Bundles the workflow code once per test run (jest globalSetup), so every worker of every test
// file loads the same prebuilt bundle instead of running webpack again. Plain JavaScript, like
// global-setup.mjs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';

/** The workflows' TypeScript entry point: tests run the current sources, not a stale build. */
export const workflowsSource = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

/** Bundles the workflows into a file in a fresh temporary directory; returns its path and the time taken. */
export async function bundleWorkflows() {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({ workflowsPath: workflowsSource, logger: new DefaultLogger('WARN') });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bundle-'));
  const codePath = path.join(dir, 'workflows.bundle.js');
  writeFileSync(codePath, code);
  return { codePath, ms: Date.now() - started };
}

/** Removes the directory of a bundle made by {@link bundleWorkflows}. */
export function removeBundle(codePath) {
  if (codePath) rmSync(path.dirname(codePath), { recursive: true, force: true });
}
