// The contract layer: what workflows, activities, the worker and the CLI agree on. It imports
// nothing but zod and Temporal's definition helpers, so workflow code may import it as values.
export * from './common.js';
export * from './duration.js';
export * from './failures.js';
export * from './progress.js';
export * from './backup.js';
export * from './restore.js';
export * from './retention.js';
export * from './runbook.js';
export * from './provider-steps.js';
export * from './pitr.js';
export * from './watch.js';
export * from './search-attributes.js';
export * from './workflows.js';
