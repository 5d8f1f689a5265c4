// The directory-format contenders of the benchmark: `pg_dump -Fd -j 2` raw (its bound), Lifeboat's
// directory backup (one object per file, stored while the dump runs) and its `pg_restore -j 2`.
import path from 'node:path';
import type { DatasetName } from './bench-datasets.js';
import { q } from './bench-measure.js';

export const DIRECTORY_JOBS = 2;
/** The database name of the directory-format configuration entry (beside `d`, the custom format). */
export const DIRECTORY_DB = 'dd';
const DATASETS: readonly DatasetName[] = ['many-tables', 'pgbench', 'wide'];

export interface BenchContender {
  name: string;
  kind: 'backup' | 'restore';
  script: (n: number) => string;
  /** The database a restore contender created (dropped after each run). */
  restoredInto?: (n: number) => string;
}

/** The configuration line of the directory-format database entry. */
export function directoryConfigLine(): string {
  return `  ${DIRECTORY_DB}: { engine: postgres, url: { env: BENCH_DATABASE }, compression: { codec: zstd, level: 1 }, dump: { format: directory, jobs: ${DIRECTORY_JOBS} }, schedules: false }\n`;
}

/** The contenders for `dataset` (none for a dataset this mode is not meant for). */
export function directoryContenders(dataset: DatasetName, opts: { cli: string; conn: string; work: string }): BenchContender[] {
  if (!DATASETS.includes(dataset)) return [];
  const out = path.join(opts.work, 'raw-dir');
  return [
    {
      name: `raw pg_dump -Fd -j ${DIRECTORY_JOBS} -Z0 to a local directory`,
      kind: 'backup',
      script: () => `rm -rf ${q(out)} && pg_dump -Fd -j ${DIRECTORY_JOBS} -Z0 --no-sync ${opts.conn} -f ${q(out)} && rm -rf ${q(out)}`,
    },
    { name: `Lifeboat backup, directory -j ${DIRECTORY_JOBS}`, kind: 'backup', script: () => `${opts.cli} backup ${DIRECTORY_DB} --wait --json` },
    {
      name: `Lifeboat restore, directory -j ${DIRECTORY_JOBS}`,
      kind: 'restore',
      script: (n) => `${opts.cli} restore ${DIRECTORY_DB} --target bench_lbd_${n} --backup latest --jobs ${DIRECTORY_JOBS} --wait --json`,
      restoredInto: (n) => `bench_lbd_${n}`,
    },
  ];
}
