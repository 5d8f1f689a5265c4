import type { ENVIRONMENTS, RetentionPolicyConfig, ScheduleEntry } from '../config/schema.js';

type Environment = (typeof ENVIRONMENTS)[number];

/** Defaults a database gets from its `environment`; its own `schedules` / `retention` override them. */
export interface EnvironmentPreset {
  /** One entry per kind, all in UTC. */
  schedules: Array<Omit<ScheduleEntry, 'enabled'>>;
  retention: RetentionPolicyConfig;
}

/**
 * The seed runbooks' crontab lines, as Temporal Schedules, plus their retention:
 * - production: full daily 02:00 UTC, schema weekly Sunday 01:00, verify weekly (Sunday 04:00),
 *   retention daily 05:00; keep 30 daily / 12 weekly / 12 monthly, at least 3;
 * - staging: full daily 03:00, verify weekly, retention daily; keep 7 daily;
 * - development: full weekly (Sunday 03:00), retention weekly; keep 2 weeks.
 * Retention runs daily rather than monthly (the seed's cleanup): it doubles as the freshness alarm.
 */
export const ENVIRONMENT_PRESETS: Record<Environment, EnvironmentPreset> = {
  production: {
    schedules: [
      { kind: 'full', cron: '0 2 * * *' },
      { kind: 'schema', cron: '0 1 * * 0' },
      { kind: 'verify', cron: '0 4 * * 0' },
      { kind: 'retention', cron: '0 5 * * *' },
    ],
    retention: { daily: 30, weekly: 12, monthly: 12, minKeep: 3 },
  },
  staging: {
    schedules: [
      { kind: 'full', cron: '0 3 * * *' },
      { kind: 'verify', cron: '0 4 * * 0' },
      { kind: 'retention', cron: '0 5 * * *' },
    ],
    retention: { daily: 7, minKeep: 3 },
  },
  development: {
    schedules: [
      { kind: 'full', cron: '0 3 * * 0' },
      { kind: 'retention', cron: '0 5 * * 0' },
    ],
    retention: { keepWithin: '14d', minKeep: 2 },
  },
};
