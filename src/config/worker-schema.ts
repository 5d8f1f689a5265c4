import { z } from 'zod';

/**
 * How much one worker process runs at once (`worker:` in the configuration). Every limit is per
 * worker process: two workers on the same database host each allow `perHostDumps` dumps there.
 */
export const WorkerSettingsSchema = z.strictObject({
  /**
   * Activity tasks run at once (Temporal's `maxConcurrentActivityTaskExecutions`; SDK default 100).
   * A dump waiting for a slot holds one of these, so keep it above `maxConcurrentDumps`.
   */
  maxConcurrentActivities: z.int().min(1).max(10_000).optional(),
  /** Workflow tasks run at once (`maxConcurrentWorkflowTaskExecutions`; SDK default 40). */
  maxConcurrentWorkflowTasks: z.int().min(2).max(10_000).optional(),
  /** Workflows kept in the worker's cache between tasks (`maxCachedWorkflows`; SDK default scales with memory). */
  maxCachedWorkflows: z.int().min(0).max(100_000).optional(),
  /** Backup dumps running at once on this worker; unset, no limit beyond `maxConcurrentActivities`. */
  maxConcurrentDumps: z.int().min(1).max(1_000).optional(),
  /**
   * Backup dumps running at once against one database server, keyed by the host:port of its
   * resolved connection URL; unset, no per-host limit. A dump over the limit waits (heartbeating,
   * cancellable) with the progress `waiting for a slot on host <host:port>`.
   */
  perHostDumps: z.int().min(1).max(1_000).optional(),
});

export type WorkerSettings = z.infer<typeof WorkerSettingsSchema>;
