export { backupDatabase } from './backup-database.js';
export { runRunbook } from './run-runbook.js';
export { applyRetention } from './apply-retention.js';
export { purgeBackups } from './purge-backups.js';
export { copyBackup } from './copy-backup.js';
export { restoreDatabase } from './restore-database.js';
export { verifyBackup } from './verify-backup.js';
export { watchDatabase } from './watch-database.js';
