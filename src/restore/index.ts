export { latestVerification, readVerification, verificationKeys, writeVerification, VerificationRecordSchema } from './verification.js';
export { selectBackup, summarize, compatibleKinds } from './select.js';
export { inspectTarget, dropScratchDatabase, resolveTarget } from './target.js';
export { restoreBackup, compareRowCounts, type RestoreRequest, type RestoreHooks } from './restore.js';
export { runVerifyChecks } from './checks.js';
export { restoreLocally, type LocalRestoreOptions } from './local.js';
