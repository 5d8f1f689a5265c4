// Bundles the workflows for the chaos suite with dev/chaos-profiles.ts in place of
// workflows/activity-profiles.ts (timeouts of seconds). Workers started by dev/chaos-worker.ts load it.
import { createRequire } from 'node:module';
import path from 'node:path';
import { DefaultLogger, bundleWorkflowCode } from '@temporalio/worker';
import { repoRoot } from './services.js';

type Webpack = { NormalModuleReplacementPlugin: new (re: RegExp, fn: (r: { context: string; request: string }) => void) => unknown };

/** The workflow bundle's code, with the chaos activity profiles; fails if nothing was replaced. */
export async function bundleChaosWorkflows(): Promise<string> {
  const root = repoRoot();
  const workerRequire = createRequire(createRequire(import.meta.url).resolve('@temporalio/worker'));
  const webpack = workerRequire('webpack') as Webpack;
  const real = path.join(root, 'workflows', 'activity-profiles');
  const profiles = path.join(root, 'dev', 'chaos-profiles.ts');
  let replaced = 0;
  const plugin = new webpack.NormalModuleReplacementPlugin(/activity-profiles(\.js|\.ts)?$/, (r) => {
    if (path.resolve(r.context, r.request).replace(/\.(js|ts)$/, '') !== real) return;
    r.request = profiles;
    replaced++;
  });
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(root, 'workflows', 'index.ts'),
    logger: new DefaultLogger('WARN'),
    webpackConfigHook: (config) => ({ ...config, plugins: [...(config.plugins ?? []), plugin as never] }),
  });
  if (replaced === 0) throw new Error('Chaos bundle failed: workflows/activity-profiles was not replaced by dev/chaos-profiles.ts');
  return code;
}
