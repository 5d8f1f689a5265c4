import type { LifeboatConfig } from '../src/config/schema.js';
import type { Logger } from '../src/logger.js';

/** What every activity family is created with: the worker's configuration and logger. */
export interface ActivityDeps {
  config: LifeboatConfig;
  logger: Logger;
  /** How often a long activity heartbeats its progress. */
  heartbeatIntervalMs?: number;
}
