// The Temporal Web UI as the operator console, in headless Debian Chromium (playwright-core):
// the workflow list filtered by the LifeboatDatabase search attribute, a run's static summary,
// and a restore waiting for approval approved from its workflow page's Update form with a
// hand-typed JSON payload. Runs are started the way the CLI starts them (src/cli/shared.ts).
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../harness/browser.js';
import { createSampleDatabase } from '../../dev/sample-data.js';
import { startWorkflow } from '../../src/cli/shared.js';
import type { LifeboatConfig } from '../../src/config/schema.js';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_NAMES, WORKFLOWS, restoreProgressQuery, type WorkflowTypes } from '../../src/contracts/index.js';
import { registerSearchAttributes } from '../../src/temporal/run-metadata.js';
import { waitFor } from '../harness/logic.js';
import { createBucket, createRole, pgUrl, repoRoot, services, startWorker, testConfig, uniqueName, withPg, type RunningWorker } from '../harness/services.js';

const outDir = path.join(repoRoot, 'test-output');
const suffix = uniqueName('c').slice(2);
const orders = `orders-${suffix}`;
const crm = `crm-${suffix}`;
let w: RunningWorker;
let cfg: LifeboatConfig;
let browser: Browser;

beforeAll(async () => {
  if (!services().temporal.uiUrl) throw new Error('The Temporal server of this run has no Web UI (set LIFEBOAT_TEST_TEMPORAL_UI)');
  const role = await createRole();
  const source = uniqueName('lb_ui_src');
  const staging = uniqueName('lb_ui_staging');
  await createSampleDatabase(services().pg.adminUrl, source, 0.02);
  await withPg('postgres', (c) => c.query(`create database ${staging}`));
  await withPg(staging, (c) => c.query(`create table keep_me (id int primary key); insert into keep_me values (1)`));
  const extra = { environment: 'staging' };
  cfg = testConfig({
    bucket: await createBucket('lb-ui-console'),
    databases: { [orders]: { url: pgUrl(source, role), extra }, [crm]: { url: pgUrl(source, role), extra } },
  });
  process.env.LB_UI_STAGING_URL = pgUrl(staging, role);
  cfg.targets = { staging: { engine: 'postgres', url: { env: 'LB_UI_STAGING_URL' }, protected: true } } as LifeboatConfig['targets'];
  cfg.approvers = ['alice'];
  w = await startWorker(cfg);
  browser = await launchChromium();
  mkdirSync(outDir, { recursive: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await w?.stop();
});

/** The text of the page and of every frame (Markdown details render in a sandboxed frame). */
async function pageText(page: Page): Promise<string> {
  const texts = await Promise.all(
    page.frames().map((f) =>
      f
        .locator('body')
        .innerText()
        .catch(() => ''),
    ),
  );
  return texts.join('\n');
}

async function waitForText(page: Page, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    seen = await pageText(page);
    if (seen.includes(what)) return seen;
    await page.waitForTimeout(300);
  }
  await page.screenshot({ path: path.join(outDir, `console-ui-missing.png`), fullPage: true });
  throw new Error(`"${what}" not shown within ${timeoutMs} ms; the page shows: ${seen.slice(0, 1500)}`);
}

const start = <K extends 'backupDatabase' | 'restoreDatabase'>(type: K, input: Parameters<WorkflowTypes[K]>[0], workflowId: string) =>
  startWorkflow(w.client, cfg, WORKFLOWS[type], input, { workflowId, alreadyRunning: 'already running' });

test('the Web UI filters runs by LifeboatDatabase, shows a run summary, and approves a waiting restore from its Update form', async () => {
  // The suite's dev server registers the attributes at launch: registering again adds nothing.
  expect(await registerSearchAttributes(w.client, 'default')).toEqual({ added: [], present: SEARCH_ATTRIBUTE_NAMES });
  const ordersBackup = await start('backupDatabase', { database: orders, kind: 'full' }, uniqueName(`backup-${orders}`));
  const crmBackup = await start('backupDatabase', { database: crm, kind: 'full' }, uniqueName(`backup-${crm}`));
  await Promise.all([ordersBackup.result(), crmBackup.result()]);
  const done = await ordersBackup.describe();
  expect(done.typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('succeeded');
  expect(done.typedSearchAttributes.get(SEARCH_ATTRIBUTES.kind)).toBe('full');

  const restoreId = uniqueName(`restore-${orders}`);
  const restore = await start('restoreDatabase', { database: orders, target: 'staging', approvalTimeout: '10 minutes' }, restoreId);
  await waitFor(
    'the restore waiting',
    () => restore.query(restoreProgressQuery),
    (s) => s.phase === 'awaiting-approval',
  );

  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const ui = `${services().temporal.uiUrl}/namespaces/default`;
  // The list, filtered by the search attribute: this database's runs, not the other's.
  await page.goto(`${ui}/workflows?query=${encodeURIComponent(`LifeboatDatabase="${orders}"`)}`);
  const listed = await waitForText(page, ordersBackup.workflowId);
  expect(listed).toContain(restoreId);
  expect(listed).not.toContain(crmBackup.workflowId);
  await page.screenshot({ path: path.join(outDir, 'console-ui-list.png'), fullPage: true });

  // A run's page shows its summary.
  await page.goto(`${ui}/workflows/${encodeURIComponent(ordersBackup.workflowId)}`);
  await page.getByText('User Metadata').first().click();
  await waitForText(page, `backup of ${orders} (full)`);

  await page.goto(`${ui}/workflows/${encodeURIComponent(restoreId)}`);
  await page.getByText('User Metadata').first().click();
  await waitForText(page, `restore of ${orders} (latest) into staging`);
  await waitForText(page, 'waiting for approval');
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.waitForTimeout(500);
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  // The Update form: pick the update the workflow offers, type its JSON payload, submit.
  const form = page.getByRole('dialog');
  await form.getByRole('button', { name: 'Select an Update' }).click();
  await form.getByRole('option', { name: 'approve' }).click();
  const editor = form.locator('[aria-label="Data"] [contenteditable="true"], [aria-label="Data"][contenteditable="true"]').first();
  await editor.click();
  await page.keyboard.type('{"approver": "alice", "target": "staging"}');
  await form.locator('#update-id').click(); // leave the editor so the form takes the payload
  await page.screenshot({ path: path.join(outDir, 'console-ui-update.png'), fullPage: true });
  await form.getByRole('button', { name: 'Submit' }).click();

  const result = await restore.result();
  expect(result).toMatchObject({ database: orders, target: 'staging' });
  const progress = await restore.query(restoreProgressQuery);
  expect(progress.approvedBy).toBe('alice');
  expect((await restore.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.outcome)).toBe('succeeded');
  await page.close();
}, 180_000);
