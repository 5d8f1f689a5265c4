// `node bundle-main.js <workflows entry> <out file>`: builds the workflow bundle in its own process.
import { writeWorkflowBundle } from './workflow-bundle.js';

const [entry, out] = process.argv.slice(2);
if (!entry || !out) {
  process.stderr.write('usage: bundle-main <workflows entry> <out file>\n');
  process.exit(2);
}
await writeWorkflowBundle(entry, out);
