// Typed references to every workflow type: the name the worker registers it under and its
// signature. Clients, child-workflow starts and schedules use these, never a string literal.
import type { BackupInput, BackupWithCopiesResult, CopyBackupInput, CopyBackupResult } from './backup.js';
import type { RestoreInput, RestoreResult, VerifyInput, VerifyResult } from './restore.js';
import type { ApplyRetentionInput, ApplyRetentionResult, PurgeInput, PurgeResult } from './retention.js';
import type { RunbookInput, RunbookResult } from './runbook.js';
import type {
  ArchiveCheckInput,
  ArchiveCheckResult,
  BaseBackupInput,
  BaseBackupResult,
  PitrRestoreInput,
  PitrRestoreResult,
  RecoveryPointVerification,
  RestorePointInput,
  RestorePointResult,
  VerifyRecoveryPointInput,
} from './pitr.js';
import type { WatchInput, WatchResult } from './watch.js';

/** The signature of each workflow type, as a client sees it. */
export interface WorkflowTypes {
  backupDatabase: (input: BackupInput) => Promise<BackupWithCopiesResult>;
  copyBackup: (input: CopyBackupInput) => Promise<CopyBackupResult>;
  restoreDatabase: (input: RestoreInput) => Promise<RestoreResult>;
  verifyBackup: (input: VerifyInput) => Promise<VerifyResult>;
  applyRetention: (input: ApplyRetentionInput) => Promise<ApplyRetentionResult>;
  purgeBackups: (input: PurgeInput) => Promise<PurgeResult>;
  runRunbook: (input: RunbookInput) => Promise<RunbookResult>;
  baseBackup: (input: BaseBackupInput) => Promise<BaseBackupResult>;
  pointInTimeRestore: (input: PitrRestoreInput) => Promise<PitrRestoreResult>;
  checkWalArchive: (input: ArchiveCheckInput) => Promise<ArchiveCheckResult>;
  verifyRecoveryPoint: (input: VerifyRecoveryPointInput) => Promise<RecoveryPointVerification>;
  createRestorePoint: (input: RestorePointInput) => Promise<RestorePointResult>;
  watchDatabase: (input: WatchInput) => Promise<WatchResult>;
}

export type WorkflowName = keyof WorkflowTypes;

/** Workflow type names; each equals the name of the function exported by `workflows/index.ts`. */
export const WORKFLOWS: { readonly [K in WorkflowName]: K } = {
  backupDatabase: 'backupDatabase',
  copyBackup: 'copyBackup',
  restoreDatabase: 'restoreDatabase',
  verifyBackup: 'verifyBackup',
  applyRetention: 'applyRetention',
  purgeBackups: 'purgeBackups',
  runRunbook: 'runRunbook',
  baseBackup: 'baseBackup',
  pointInTimeRestore: 'pointInTimeRestore',
  checkWalArchive: 'checkWalArchive',
  verifyRecoveryPoint: 'verifyRecoveryPoint',
  createRestorePoint: 'createRestorePoint',
  watchDatabase: 'watchDatabase',
};
