// A restore into a new database with no local file: storage -> hash -> decrypt -> decompress ->
// the restore tool's standard input. The checksum is only known at the end, so the new database
// is dropped when it fails (the caller drops what it created on any error).
import type { Writable } from 'node:stream';
import type { LifeboatConfig } from '../config/schema.js';
import { LifeboatError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Engine, RestorePlan, Tool } from '../engines/index.js';
import type { Filter } from '../crypto/filter.js';
import type { PrivilegeMode, RestoreHeartbeat } from '../contracts/index.js';
import { fetchArtifact, type FetchResult } from './artifact.js';
import type { SelectedBackup } from './select.js';
import type { ResolvedTarget } from './target.js';

type Progress = Omit<RestoreHeartbeat, 'elapsedMs' | 'activity'>;

/** What a streamed restore needs of the restore run. */
export interface StreamRun {
  cfg: LifeboatConfig;
  req: { database: string; target: string; mode: string; expect: 'new' | 'existing'; jobs?: number; privileges: PrivilegeMode };
  selected: SelectedBackup;
  target: ResolvedTarget;
  tool: Tool;
  label: string;
  log: Logger;
  hooks: { signal?: AbortSignal };
  progress: Progress;
  report: (update?: Partial<Progress>) => void;
  decrypt?: (signal: AbortSignal) => Filter;
  notes: string[];
}

/**
 * Whether the restore streams: a whole backup into a new database (a discardable one), without
 * `-j` asked for (a stream cannot be restored in parallel), by an engine that can, from a backup
 * that recorded how to create its database and left no provider schemas out, in one file. Otherwise (or with
 * `restore.jobs` set, even to 1) the checksummed temporary file is used.
 */
export function streamable(run: StreamRun): run is StreamRun & { target: { engine: Required<Pick<Engine, 'restoreStream'>> } } {
  const { req, selected, target, cfg } = run;
  return (
    req.expect === 'new' &&
    req.mode === 'full' &&
    req.jobs === undefined &&
    cfg.restore?.jobs === undefined &&
    target.engine.restoreStream !== undefined &&
    selected.manifest.createOptions !== undefined &&
    // A directory dump is many files; pg_restore reads it from a directory only.
    selected.manifest.artifact.files === undefined &&
    // A dump without a provider's managed schemas may need entries left out, read from its TOC (a file).
    !selected.manifest.excludedSchemas?.length
  );
}

/** The error to report: a corrupt artifact first (it explains the rest), then the restore tool's, then the download's. */
function firstCause(fetched: PromiseSettledResult<FetchResult>, restored: PromiseSettledResult<void>): unknown {
  const fetchErr = fetched.status === 'rejected' ? (fetched.reason as unknown) : undefined;
  if (fetchErr instanceof LifeboatError && ['CHECKSUM_MISMATCH', 'BACKUP_NOT_FOUND', 'DECRYPT_FAILED', 'CANCELLED'].includes(fetchErr.code)) return fetchErr;
  if (restored.status === 'rejected') return restored.reason;
  return fetchErr;
}

/**
 * Creates the new database (`create`), then streams the artifact into the engine's restore. The
 * download's checksum is compared when the stream ends; on any failure this throws and the
 * caller drops the database.
 */
export async function restoreStreamed(
  run: StreamRun & { target: { engine: Required<Pick<Engine, 'restoreStream'>> } },
  create: (createOptions: string[]) => Promise<void>,
): Promise<{ fetched: FetchResult; plan: Pick<RestorePlan, 'tables'>; toolMs: number }> {
  const { req, target, hooks, progress, report, selected, label } = run;
  await create(selected.manifest.createOptions ?? []);
  progress.phase = 'restoring';
  report();
  run.log.info(
    { database: req.database, backupId: selected.manifest.backupId, target: req.target, location: selected.storage.describe(selected.manifest.artifact.key) },
    'streamed restore started',
  );
  const started = Date.now();
  let handed!: (stdin: Writable) => void;
  const stdin = new Promise<Writable>((resolve) => (handed = resolve));
  const restoring = target.engine.restoreStream({
    tool: run.tool,
    conn: target.conn,
    onStdin: handed,
    label,
    privileges: req.privileges,
    signal: hooks.signal,
    onProgress: (p) => report({ step: p.step, items: p.items }),
  });
  const toolEnded = restoring.then(() => {
    throw new Error('the restore tool ended before it was given the archive');
  });
  const fetching = Promise.race([stdin, toolEnded]).then((into) =>
    fetchArtifact({
      storage: selected.storage,
      manifest: selected.manifest,
      file: 'the restore tool',
      into,
      handoff: true,
      label,
      signal: hooks.signal,
      onProgress: (p) => report({ storedBytes: p.storedBytes, rawBytes: p.rawBytes }),
      decrypt: run.decrypt,
    }),
  );
  const [fetched, restored] = await Promise.allSettled([fetching, restoring]);
  if (fetched.status === 'rejected' || restored.status === 'rejected') throw firstCause(fetched, restored);
  const toolMs = Date.now() - started;
  run.notes.push('streamed from storage into the restore tool (no temporary file)');
  run.log.info(
    { database: req.database, backupId: selected.manifest.backupId, target: req.target, tool: run.tool.name, toolMs, streamed: true },
    'restore tool finished',
  );
  return { fetched: fetched.value, plan: {}, toolMs };
}
