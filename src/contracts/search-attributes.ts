// Lifeboat's custom search attributes: what the Web UI's workflow list filters on, e.g.
// `LifeboatDatabase = "orders" AND LifeboatOutcome = "failed"`. Set at start by the CLI, the
// schedules and the watches (only when the namespace has them registered); the outcome is
// upserted by every workflow at its end.
import { SearchAttributeType, defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  /** The configured database a run is about. */
  database: defineSearchAttributeKey('LifeboatDatabase', SearchAttributeType.KEYWORD),
  /** The backup kind of a backup (`full`, `schema`, `data`), else the operation: `restore`, `verify`, `retention`, `purge`, `copy`, `runbook`, `watch`. */
  kind: defineSearchAttributeKey('LifeboatKind', SearchAttributeType.KEYWORD),
  /** `running` from the start; `succeeded`, `failed` or `cancelled` at the end. */
  outcome: defineSearchAttributeKey('LifeboatOutcome', SearchAttributeType.KEYWORD),
  /** The runbook a runbook run executes. */
  runbook: defineSearchAttributeKey('LifeboatRunbook', SearchAttributeType.KEYWORD),
} as const;

/** Every attribute's name, e.g. for `temporal operator search-attribute create`. */
export const SEARCH_ATTRIBUTE_NAMES = Object.values(SEARCH_ATTRIBUTES).map((k) => k.name);

export type RunOutcome = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** What a run is about, as the attributes it starts with (outcome `running`). */
export interface RunAttributes {
  database?: string;
  kind?: string;
  runbook?: string;
}

export function startAttributes(a: RunAttributes): SearchAttributePair[] {
  const pairs: SearchAttributePair[] = [{ key: SEARCH_ATTRIBUTES.outcome, value: 'running' }];
  if (a.database) pairs.push({ key: SEARCH_ATTRIBUTES.database, value: a.database });
  if (a.kind) pairs.push({ key: SEARCH_ATTRIBUTES.kind, value: a.kind });
  if (a.runbook) pairs.push({ key: SEARCH_ATTRIBUTES.runbook, value: a.runbook });
  return pairs;
}
