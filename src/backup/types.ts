import type { BackupKind } from '../contracts/index.js';
import type { DumpSlots } from './dump-slots.js';

export interface BackupRequest {
  database: string;
  kind: BackupKind;
  backupId: string;
  workflow: { workflowId: string; runId: string; attempt: number };
}

export interface BackupProgress {
  phase: 'connecting' | 'waiting' | 'dumping' | 'confirming' | 'committing';
  rawBytes: number;
  storedBytes: number;
  /** The database's size on disk from the engine's probe: an estimate of `rawBytes` at the end. */
  estimateBytes?: number;
  /** While `waiting`: what for, e.g. `waiting for a slot on host db1:5432 (2 of 2 dumps running there)`. */
  waitingFor?: string;
}

export interface BackupHooks {
  signal?: AbortSignal;
  onProgress?: (p: BackupProgress) => void;
  /** The worker's dump slots (`worker.maxConcurrentDumps`, `worker.perHostDumps`); the dump waits for one. */
  slots?: DumpSlots;
}
