// `lifeboat doctor`: every configured part checked, each failure with its fix.
import type { LifeboatConfig } from '../config/schema.js';
import { checkDatabase } from './databases.js';
import { checkScratchSpace } from './space.js';
import { checkStorage } from './storage.js';
import { checkTemporal } from './temporal.js';
import type { DoctorCheck } from './types.js';

export type { DoctorCheck } from './types.js';

/** Runs every check concurrently; the report keeps the order temporal, databases, storage, scratch space. */
export async function runDoctor(cfg: LifeboatConfig): Promise<DoctorCheck[]> {
  const groups = await Promise.all([
    checkTemporal(cfg),
    ...Object.keys(cfg.databases).map((name) => checkDatabase(cfg, name)),
    ...Object.keys(cfg.storage).map((name) => checkStorage(cfg, name)),
    checkScratchSpace(cfg),
  ]);
  return groups.flat();
}

/** True when nothing failed (warnings do not fail the doctor). */
export function healthy(checks: DoctorCheck[]): boolean {
  return checks.every((c) => c.status !== 'fail');
}
