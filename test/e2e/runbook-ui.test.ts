import { mkdirSync, mkdtempSync, writeFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../harness/browser.js';
import { parseConfig } from '../../src/config/load.js';
import type { RunbookProgress } from '../../src/contracts/runbook.js';
import { createBucket, repoRoot, services, startWorker, uniqueName, type RunningWorker } from '../harness/services.js';

// An operator starts a runbook from the Temporal Web UI's Start Workflow form, typing the JSON
// input by hand, and sees the run's current details. Headless Debian Chromium via playwright-core.

const outDir = path.join(repoRoot, 'test-output');
let w: RunningWorker;
let browser: Browser;
let taskQueue: string;

beforeAll(async () => {
  if (!services().temporal.uiUrl) throw new Error('The Temporal server of this run has no Web UI (set LIFEBOAT_TEST_TEMPORAL_UI)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-ui-'));
  writeFileSync(
    path.join(dir, 'ui-drill.yaml'),
    `name: ui-drill
description: waits for the incident commander
params:
  database: { type: string, required: true }
steps:
  - { id: announce, type: notify, with: { message: "drill of \${{ params.database }}" } }
  - { id: go, type: approval, with: { role: incident-commander }, timeout: 10m }
`,
  );
  taskQueue = uniqueName('lb-ui');
  process.env.LB_UI_S3 = services().s3.secretAccessKey;
  const cfg = parseConfig({
    temporal: { address: services().temporal.address, taskQueue },
    storage: {
      primary: {
        type: 's3',
        bucket: await createBucket('lb-ui'),
        endpoint: services().s3.endpoint,
        forcePathStyle: true,
        accessKeyId: services().s3.accessKeyId,
        secretAccessKey: { env: 'LB_UI_S3' },
      },
    },
    databases: {},
    runbooks: { paths: [dir], roles: { 'incident-commander': ['carol'] } },
  });
  w = await startWorker(cfg);
  browser = await launchChromium();
  mkdirSync(outDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

test('runRunbook started from the Web UI form with a hand-typed JSON input shows its current details', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const workflowId = uniqueName('ui-runbook');
  await page.goto(`${services().temporal.uiUrl}/namespaces/default/workflows/start-workflow`);
  await page.locator('#workflowId').fill(workflowId);
  await page.locator('#taskQueue').fill(taskQueue);
  await page.locator('#workflowType').fill('runRunbook');
  const editor = page.locator('[aria-label="Data"] [contenteditable="true"], [aria-label="Data"][contenteditable="true"]').first();
  await editor.click();
  await page.keyboard.type('{"runbook":"ui-drill","database":"orders","drill":true}');
  await page.locator('#workflowType').click(); // leave the editor so the form takes the input
  const start = page.getByRole('button', { name: 'Start Workflow' });
  await start.waitFor();
  expect(await start.isEnabled()).toBe(true);

  // The run exists, was started with exactly the typed input, and waits for the approval.
  const handle = w.client.workflow.getHandle(workflowId);
  let described: Awaited<ReturnType<typeof handle.describe>> | undefined;
  for (let i = 0; i < 75 && !described; i++) {
    // The form ignores a click while it is still validating; a click after the start is refused.
    if (i % 15 === 0) await start.click();
    described = await handle.describe().catch(() => undefined);
    if (!described) await new Promise((r) => setTimeout(r, 200));
  }
  if (!described) await page.screenshot({ path: path.join(outDir, 'runbook-ui-start-failed.png'), fullPage: true });
  expect(described?.type).toBe('runRunbook');
  expect(described?.taskQueue).toBe(taskQueue);
  let progress: RunbookProgress | undefined;
  let queryError: unknown;
  for (let i = 0; i < 100 && progress?.status !== 'waiting-approval'; i++) {
    progress = (await handle.query('progress').catch((e: unknown) => {
      queryError = e;
      return undefined;
    })) as RunbookProgress | undefined;
    await new Promise((r) => setTimeout(r, 200));
  }
  expect({ status: progress?.status, queryError: progress ? undefined : String(queryError) }).toEqual({ status: 'waiting-approval', queryError: undefined });
  expect(progress?.drill).toBe(true);

  // The operator sees the readable current details on the workflow's page.
  await page.goto(`${services().temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`);
  await page.getByText('User Metadata').first().click();
  // Current details are rendered from Markdown inside a sandboxed frame.
  let seen = '';
  for (let i = 0; i < 60 && !seen.includes('waiting for approval by role incident-commander'); i++) {
    await page.waitForTimeout(500);
    seen = (
      await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .innerText()
            .catch(() => ''),
        ),
      )
    ).join('\n');
  }
  expect(seen).toContain('ui-drill (drill): waiting-approval');
  expect(seen).toContain('waiting for approval by role incident-commander');
  const shot = path.join(outDir, 'runbook-ui.png');
  await page.screenshot({ path: shot, fullPage: true });
  expect(statSync(shot).size).toBeGreaterThan(10_000);

  await handle.executeUpdate('approve', { args: [{ step: 'go', by: 'carol' }] });
  expect(((await handle.result()) as { status: string }).status).toBe('succeeded');
}, 120_000);
