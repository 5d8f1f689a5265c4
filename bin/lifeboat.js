#!/usr/bin/env node
import { existsSync } from 'node:fs';

// The AWS SDK warns about Node 20 on every run; the warning is not actionable for operators.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('lifeboat is not built: run `npm run setup` (or `npm run build`) first\n');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv);
