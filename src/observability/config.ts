// Configuration of the worker's observability port and of each database's health bounds.
import { z } from 'zod';
import { durationField } from '../contracts/common.js';
import { SecretRefSchema } from '../config/refs.js';

const PORT_MESSAGE = 'expected a TCP port from 0 to 65535 (0: any free port)';

/** `observability:` — the worker's one HTTP port for `/metrics` and `/health`. */
export const ObservabilitySchema = z.strictObject({
  /** Serve metrics and health from the worker. */
  enabled: z.boolean().default(true),
  port: z.int({ error: PORT_MESSAGE }).min(0, PORT_MESSAGE).max(65535, PORT_MESSAGE).default(9464),
  /** Address to listen on; loopback by default (put a proxy or a token in front of anything wider). */
  bind: z.string().min(1, 'expected an address such as 127.0.0.1 or 0.0.0.0').default('127.0.0.1'),
  /** Bearer token every request must carry (`Authorization: Bearer …`), as a secret reference. */
  token: SecretRefSchema.optional(),
  /** Include the Temporal SDK's own metrics (polls, task slots, latencies) in `/metrics`. */
  sdkMetrics: z.boolean().default(true),
  /** How long one read of the catalog serves scrapes and health checks. */
  cacheTtl: durationField({ min: 1000, describe: 'expected a duration of at least 1s, such as "30s"' }).default('30s'),
});
export type ObservabilityConfig = z.infer<typeof ObservabilitySchema>;

/** The defaults of an absent `observability:` block. */
export const OBSERVABILITY_DEFAULTS: ObservabilityConfig = ObservabilitySchema.parse({});

const SIZE_DROP_MESSAGE = 'expected a negative percentage such as "-50%", or false to turn the check off';

/** `sizeDropAlert: "-50%"` becomes -0.5; `false` turns the size check off. */
export const SizeDropAlertSchema = z.union(
  [
    z.literal(false),
    z
      .string({ error: SIZE_DROP_MESSAGE })
      .regex(/^-(100|\d{1,2}(\.\d+)?)\s*%$/, SIZE_DROP_MESSAGE)
      .transform((s) => -Number(s.replace(/[-%\s]/g, '')) / 100),
  ],
  { error: SIZE_DROP_MESSAGE },
);

/**
 * Health bounds of one database, spread into `databases.<name>`: how old its newest backup
 * (`rpo`) and its newest verification (`verifyWithin`) may be, and how much smaller a backup
 * may be than the previous one of its kind (`sizeDropAlert`), and how often its watch checks
 * (`watch`). Derived from the schedules when
 * omitted (see `healthBounds`).
 */
/** `watch:` of a database — its dead-man's switch (see `watchDatabase`). */
export const WatchConfigSchema = z.strictObject({
  /** Run a watch for this database (started by `lifeboat schedules apply`). */
  enabled: z.boolean().default(true),
  /** Time between two checks of the catalog. */
  every: durationField({ min: 1000, max: 86_400_000, describe: 'expected a duration from 1s to 1d, such as "5m"' }).default('5m'),
});
export type WatchConfig = z.infer<typeof WatchConfigSchema>;
export const WATCH_DEFAULTS: WatchConfig = WatchConfigSchema.parse({});

export const databaseHealthShape = {
  rpo: durationField({ min: 1000, describe: 'expected a duration such as "26h"' }).optional(),
  verifyWithin: durationField({ min: 1000, describe: 'expected a duration such as "8d"' }).optional(),
  sizeDropAlert: SizeDropAlertSchema.optional(),
  watch: WatchConfigSchema.optional(),
};
