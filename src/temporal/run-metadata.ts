// What a run shows in the Web UI from its start: Lifeboat's search attributes (when the
// namespace has them registered), a one-line summary and Markdown details; and the idempotent
// registration of the attributes for clusters the operator API can change.
import type { Client } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import protoPkg from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_NAMES, startAttributes, type RunAttributes, type WorkflowName } from '../contracts/index.js';

const KEYWORD = protoPkg.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export interface RunDescription {
  attributes: RunAttributes;
  summary: string;
  details: string;
}

type Loose = Record<string, unknown> & { database?: string };

function approvalHint(update: string, payload: Record<string, string>): string {
  return `If it waits for an approval, open **Updates** on this page, name \`${update}\`, and send \`${JSON.stringify(payload)}\`.`;
}

function pointOf(i: Loose): string {
  return String(i.toTime ?? i.toLsn ?? i.toName ?? 'now');
}

/** The attributes, summary and details of a run of `type` with `input` (e.g. "backup of orders (full)"). */
export function describeRun(type: WorkflowName, raw: unknown): RunDescription {
  const i = (raw ?? {}) as Loose;
  const db = i.database;
  const input = `Input: \`${JSON.stringify(raw)}\``;
  const simple = (kind: string, summary: string, extra: string[] = []): RunDescription => ({
    attributes: { database: db, kind },
    summary,
    details: [input, ...extra].join('\n\n'),
  });
  switch (type) {
    case 'backupDatabase':
      return simple(String(i.kind ?? 'full'), `backup of ${db} (${String(i.kind ?? 'full')})`);
    case 'copyBackup':
      return simple('copy', `copy of ${db} backup ${String(i.backupId)}`);
    case 'restoreDatabase':
      return simple('restore', `restore of ${db} (${String(i.backup ?? 'latest')}) into ${String(i.target)}`, [
        approvalHint('approve', { approver: '<your name>', target: String(i.target) }),
      ]);
    case 'verifyBackup':
      return simple('verify', `verification of ${db} (${String(i.backup ?? 'latest')})`);
    case 'applyRetention':
      return simple('retention', `retention of ${db}${i.dryRun ? ' (dry run)' : ''}`);
    case 'purgeBackups':
      return simple('purge', `purge of ${db} backups before ${String(i.before)}`, [approvalHint('approve', { approver: '<your name>', database: String(db) })]);
    case 'watchDatabase':
      return simple('watch', `dead-man's switch of ${db}`, [`Alerts when no committed backup, or no passing verification, of ${db} arrived within its bound.`]);
    case 'baseBackup':
      return simple('base', `base backup of ${db}`);
    case 'pointInTimeRestore':
      return simple('pitr-restore', `point-in-time restore of ${db} to ${pointOf(i)}`);
    case 'verifyRecoveryPoint':
      return simple('verify-point', `verification of ${db} at ${pointOf(i)}`);
    case 'checkWalArchive':
      return simple('wal-check', `WAL archive check of ${db}`);
    case 'createRestorePoint':
      return simple('restore-point', `restore point ${String(i.name)} of ${db}`);
    case 'runRunbook': {
      const params = (i.params ?? {}) as Record<string, unknown>;
      const database = db ?? (typeof params.database === 'string' ? params.database : undefined);
      return {
        attributes: { database, kind: 'runbook', runbook: String(i.runbook) },
        summary: `runbook ${String(i.runbook)}${i.drill ? ' (drill)' : ''}${database ? ` for ${database}` : ''}`,
        details: [input, approvalHint('approve', { step: '<step id>', by: '<your name>' })].join('\n\n'),
      };
    }
  }
}

const registered = new WeakMap<Client, Map<string, Promise<boolean>>>();

/** True when every Lifeboat search attribute is registered in `namespace` (asked once per client). */
export function attributesRegistered(client: Client, namespace: string): Promise<boolean> {
  let byNs = registered.get(client);
  if (!byNs) registered.set(client, (byNs = new Map()));
  const cached = byNs.get(namespace);
  if (cached) return cached;
  const p = client.connection.operatorService.listSearchAttributes({ namespace }).then(
    (r) => SEARCH_ATTRIBUTE_NAMES.every((n) => r.customAttributes?.[n] !== undefined),
    () => false,
  );
  byNs.set(namespace, p);
  return p;
}

/** Start options of a run: its summary and details, and its search attributes when registered. */
export async function runStartOptions(
  client: Client,
  namespace: string,
  type: WorkflowName,
  input: unknown,
): Promise<{ staticSummary: string; staticDetails: string; typedSearchAttributes?: SearchAttributePair[] }> {
  const d = describeRun(type, input);
  const base = { staticSummary: d.summary, staticDetails: d.details };
  return (await attributesRegistered(client, namespace)) ? { ...base, typedSearchAttributes: startAttributes(d.attributes) } : base;
}

/**
 * Registers the Lifeboat search attributes that `namespace` lacks (Keyword); idempotent. Needs
 * the operator API (a self-hosted cluster or the dev server); on Temporal Cloud use `tcld`.
 */
export async function registerSearchAttributes(client: Client, namespace: string): Promise<{ added: string[]; present: string[] }> {
  const r = await client.connection.operatorService.listSearchAttributes({ namespace });
  const present = SEARCH_ATTRIBUTE_NAMES.filter((n) => r.customAttributes?.[n] !== undefined);
  const added = SEARCH_ATTRIBUTE_NAMES.filter((n) => !present.includes(n));
  if (added.length)
    await client.connection.operatorService.addSearchAttributes({ namespace, searchAttributes: Object.fromEntries(added.map((n) => [n, KEYWORD])) });
  registered.get(client)?.delete(namespace);
  return { added, present };
}
