import type { LifeboatConfig } from '../config/schema.js';
import { openStorage, type Storage } from '../storage/index.js';
import type { StepProgress } from '../contracts/runbook.js';

/** Where run records are kept: `runbooks.historyStorage`, else the first storage target. */
export function historyStorageName(cfg: LifeboatConfig): string {
  return cfg.runbooks?.historyStorage ?? Object.keys(cfg.storage)[0]!;
}

/** One run of a runbook, kept in storage so drills show RTO/RPO over time. */
export interface RunbookRunRecord {
  runbook: string;
  workflowId: string;
  drill: boolean;
  /** Who started the run (`requestedBy`), when known. */
  requestedBy?: string;
  status: 'succeeded' | 'failed' | 'rejected' | 'aborted';
  startedAt: string;
  finishedAt: string;
  rtoMs: number | null;
  rpoMs: number | null;
  targets: { rtoMinutes?: number; rpoMinutes?: number };
  steps: StepProgress[];
}

export function runRecordKey(r: Pick<RunbookRunRecord, 'runbook' | 'startedAt' | 'workflowId' | 'drill'>): string {
  const t = r.startedAt.replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const id = r.workflowId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);
  return `runbooks/${r.runbook}/runs/${t}-${r.drill ? 'drill' : 'live'}-${id}.json`;
}

/** Writes the record of a run (drill or live); returns where it went. */
export async function writeRunbookRun(cfg: LifeboatConfig, record: RunbookRunRecord): Promise<string> {
  const storage = openStorage(cfg, historyStorageName(cfg));
  const key = runRecordKey(record);
  await storage.put(key, `${JSON.stringify(record, null, 2)}\n`);
  return storage.describe(key);
}

/** Runs of a runbook, oldest first. */
export async function listRunbookRuns(storage: Storage, runbook: string): Promise<RunbookRunRecord[]> {
  const objects = await storage.list(`runbooks/${runbook}/runs/`);
  const out: RunbookRunRecord[] = [];
  for (const o of objects) {
    try {
      out.push(JSON.parse((await storage.getBuffer(o.key)).toString()) as RunbookRunRecord);
    } catch {
      /* an unreadable record is skipped; the others still show */
    }
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}
