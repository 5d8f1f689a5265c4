import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../harness/services.js';

// The demo on embedded defaults, as `npm run demo -- --once` runs it after bootstrap and build: its
// own Temporal dev server, SeaweedFS and ephemeral PostgreSQL, then the whole loop through the CLI.

function demo(): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.DEMO_DATABASE_URL;
    execFile(process.execPath, [path.join(repoRoot, 'dist', 'dev', 'demo.js'), '--once'], { env, cwd: repoRoot, timeout: 240_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test('the demo shows the whole loop: a backup, its verification with the restore time, a restored database, schedules, a drill', async () => {
  const r = await demo();
  if (r.code !== 0) throw new Error(`demo exited with ${r.code}:\n${r.stdout}\n${r.stderr}`);
  const table = r.stdout.slice(r.stdout.lastIndexOf('STEP '));
  const row = (step: string) => table.split('\n').find((l) => l.startsWith(`${step} `)) ?? `(no ${step} row)`;
  const duration = String.raw`\d+(?:\.\d)? (?:ms|s|min)`;
  expect(row('backup')).toMatch(/^backup\s+ok\s+.*\d{8}T\d{6}Z-full-[0-9a-f]{8}: .* dumped -> .* stored \(zstd\), sha256 [0-9a-f]{16}/);
  expect(row('verify')).toMatch(
    new RegExp(`^verify\\s+ok\\s+.*passed: restored into a scratch database in ${duration} \\(the measured RTO\\), (\\d+)/\\1 checks passed`),
  );
  expect(row('restore')).toMatch(
    new RegExp(`^restore\\s+ok\\s+.*new database demo_restored_[0-9a-z]+ in ${duration}, row counts of [1-9]\\d* tables equal to the manifest`),
  );
  expect(row('schedules')).toMatch(/^schedules\s+ok\s+.*4 schedule\(s\) applied, the next one runs at \d{4}-\d\d-\d\dT/);
  expect(row('runbook drill')).toMatch(/^runbook drill\s+ok\s+.*accidental-deletion drill passed, approved from the CLI, RTO .*, scratch databases dropped/);
  // Each step links to its run in the Web UI, and the whole output has no npm or stack noise.
  expect(r.stdout.match(/^ {2}http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/\S+$/gm)?.length).toBe(4);
  expect(`${r.stdout}${r.stderr}`).not.toMatch(/npm error|^\s+at .*\(.*:\d+:\d+\)$/m);
}, 300_000);
