#!/usr/bin/env node
import { existsSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

// Node 22.1+ keeps compiled code of the modules in a cache, which shortens every later start; the
// user's own cache directory (never a shared temp dir), beside the workflow bundle's. Node 20 has
// no compile cache and starts as before.
if (typeof module.enableCompileCache === 'function' && !process.env.NODE_COMPILE_CACHE) {
  try {
    module.enableCompileCache(path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'lifeboat', 'compile-cache'));
  } catch {
    // No cache: a slower start, nothing else.
  }
}

// The AWS SDK warns about Node 20 on every run; the warning is not actionable for operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// archive_command/restore_command run once per WAL file: they skip the command tree and Temporal.
const walCommand = process.argv.slice(2).find((a) => a === 'wal-push' || a === 'wal-fetch');
const entry = new URL(walCommand ? '../dist/src/pitr/wal-cli.js' : '../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('lifeboat is not built: run `npm run setup` (or `npm run build`) first\n');
  process.exit(2);
}
if (walCommand) {
  const { runWalCommand } = await import(entry.href);
  process.exitCode = await runWalCommand(process.argv.slice(2));
} else {
  const { main } = await import(entry.href);
  process.exitCode = await main(process.argv);
}
