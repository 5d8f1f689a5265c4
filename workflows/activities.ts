// One activity proxy per timeout class (the profiles: ./activity-profiles.ts).
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { LOCAL_LOOKUP, PROFILES } from './activity-profiles.js';

export { PROFILES } from './activity-profiles.js';

export const lookup = proxyActivities<Activities>(PROFILES.lookup);
export const dataMover = proxyActivities<Activities>(PROFILES.dataMover);
export const restorer = proxyActivities<Activities>(PROFILES.restorer);
export const housekeeping = proxyActivities<Activities>(PROFILES.housekeeping);
export const bookkeeping = proxyActivities<Activities>(PROFILES.bookkeeping);
/** The restorer on `taskQueue` (the restore workers holding identities), or on the workflow's own queue. */
export function restorerOn(taskQueue: string | undefined): typeof restorer {
  return taskQueue ? proxyActivities<Activities>({ ...PROFILES.restorer, taskQueue }) : restorer;
}
export const localLookup = proxyLocalActivities<Activities>(LOCAL_LOOKUP);
