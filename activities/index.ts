import { createBackupActivities } from './backup.js';
import { createCopyActivities } from './copy.js';
import { createObserveActivities } from './observe.js';
import { createPitrActivities } from './pitr.js';
import type { ActivityDeps } from './deps.js';
import { createRestoreActivities } from './restore.js';
import { createRetentionActivities } from './retention.js';
import { createRunbookActivities } from './runbook.js';

export type { ActivityDeps } from './deps.js';

/** Activities bound to a worker's configuration. Workflows import their types only. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBackupActivities(deps),
    ...createCopyActivities(deps),
    ...createRestoreActivities(deps),
    ...createRetentionActivities(deps),
    ...createRunbookActivities(deps),
    ...createObserveActivities(deps),
    ...createPitrActivities(deps),
  };
}

/** Every activity, by name: what workflows proxy and what tests may override. */
export type Activities = ReturnType<typeof createActivities>;
