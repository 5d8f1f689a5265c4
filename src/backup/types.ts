import type { BackupKind } from '../contracts/index.js';

export interface BackupRequest {
  database: string;
  kind: BackupKind;
  backupId: string;
  workflow: { workflowId: string; runId: string; attempt: number };
}

export interface BackupProgress {
  phase: 'connecting' | 'dumping' | 'confirming' | 'committing';
  rawBytes: number;
  storedBytes: number;
  /** The database's size on disk from the engine's probe: an estimate of `rawBytes` at the end. */
  estimateBytes?: number;
}

export interface BackupHooks {
  signal?: AbortSignal;
  onProgress?: (p: BackupProgress) => void;
}
