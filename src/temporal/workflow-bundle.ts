// The workflow bundle of a worker, built once per build in a child process and cached: bundling
// (webpack) in the worker itself costs it seconds at start and tens of MiB of memory for good.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from '../logger.js';

/** A hash of every compiled file under `root` (the build the bundle is made from). */
function buildHash(root: string): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) h.update(p).update(readFileSync(p));
    }
  };
  for (const sub of ['workflows', 'src']) if (existsSync(path.join(root, sub))) walk(path.join(root, sub));
  const lock = path.join(root, '..', 'package-lock.json'); // the SDK's version is in the bundle too
  if (existsSync(lock)) h.update(readFileSync(lock));
  return h.digest('hex').slice(0, 16);
}

/** The user's own cache directory (never a shared temp dir: the bundle is code the worker runs). */
function cacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'lifeboat');
}

/**
 * The path of a prebuilt bundle of `workflowsPath` (compiled JavaScript only), made in a child
 * process on first use and cached under a hash of the build; undefined when the workflows are
 * TypeScript sources or the cache cannot be written (then the worker bundles them itself).
 */
export async function cachedWorkflowBundle(workflowsPath: string, log: Logger): Promise<string | undefined> {
  if (!workflowsPath.endsWith('.js')) return undefined;
  const root = path.resolve(path.dirname(workflowsPath), '..');
  const file = path.join(cacheDir(), `workflows-${buildHash(root)}.js`);
  if (existsSync(file)) return file;
  const started = Date.now();
  const script = fileURLToPath(new URL('./bundle-main.js', import.meta.url));
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    await promisify(execFile)(process.execPath, [script, workflowsPath, tmp], { maxBuffer: 16 * 1024 * 1024 });
    renameSync(tmp, file);
  } catch (err) {
    log.warn({ reason: (err as Error).message }, 'cannot cache the workflow bundle; bundling in the worker');
    return undefined;
  }
  log.info({ file, ms: Date.now() - started }, 'workflow bundle built');
  return file;
}

const INLINE_MAP = '//# sourceMappingURL=data:application/json;charset=utf-8;base64,';

/**
 * The bundle with its inline source map kept but without `sourcesContent` (a copy of every source
 * file, about 1.1 MB): stack traces still map to files and lines, and the worker's workflow
 * isolate holds about 20 MiB less. The SDK reads the contents only for `showStackTraceSources`,
 * which Lifeboat does not set. A bundle without that inline map is returned unchanged.
 */
export function withoutSourcesContent(code: string): string {
  const at = code.lastIndexOf(INLINE_MAP);
  if (at < 0) return code;
  const map = JSON.parse(Buffer.from(code.slice(at + INLINE_MAP.length).trimEnd(), 'base64').toString('utf8')) as { sourcesContent?: unknown };
  delete map.sourcesContent;
  return `${code.slice(0, at)}${INLINE_MAP}${Buffer.from(JSON.stringify(map)).toString('base64')}\n`;
}

/** Writes the bundle of `workflowsPath` to `out` (the child process's work). */
export async function writeWorkflowBundle(workflowsPath: string, out: string): Promise<void> {
  const { bundleWorkflowCode, DefaultLogger } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({ workflowsPath, logger: new DefaultLogger('WARN') });
  writeFileSync(out, withoutSourcesContent(code), { mode: 0o644 });
}
