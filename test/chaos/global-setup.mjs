// The chaos suite's services: those of the normal suite, plus the workflow bundle with activity
// timeouts of seconds (dev/chaos-bundle.ts) that the chaos worker processes load.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import suiteSetup from '../harness/global-setup.mjs';

const built = new URL('../../dist/dev/chaos-bundle.js', import.meta.url);

export default async function globalSetup() {
  if (!existsSync(built)) throw new Error('Lifeboat is not built: run `npm run test:chaos` (it builds first) or `npm run build`');
  const { bundleChaosWorkflows } = await import(built.href);
  const started = Date.now();
  const [code] = await Promise.all([bundleChaosWorkflows(), suiteSetup()]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-chaos-bundle-'));
  const codePath = path.join(dir, 'workflows.bundle.js');
  writeFileSync(codePath, code);
  process.env.LIFEBOAT_CHAOS_BUNDLE = codePath;
  const stopSuite = globalThis.__lifeboatStop;
  globalThis.__lifeboatStop = async () => {
    rmSync(dir, { recursive: true, force: true });
    await stopSuite?.();
  };
  process.stderr.write(`chaos workflows bundled in ${Date.now() - started} ms\n`);
}
