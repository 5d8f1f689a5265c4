// Chaos of point-in-time recovery: the worker SIGKILLed in the middle of a base backup, and the
// `lifeboat wal-push` processes PostgreSQL's archiver runs SIGKILLed again and again under load.
// Nothing may be lost: every segment PostgreSQL archived is in storage exactly once with its
// checksum, the archive has no gap, and a recovery through the killed pushes brings the rows back.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WORKFLOWS, type BaseBackupResult, type PitrRestoreResult } from '../../src/contracts/index.js';
import { stopRecovered } from '../../src/pitr/recover.js';
import { fetchWalBuffer, readWalRecord, walStorage } from '../../src/pitr/wal-archive.js';
import { listKeys, uniqueName } from '../harness/services.js';
import { queryRecovered, startArchivedCluster, type ArchivedCluster } from '../pitr/pitr-support.js';
import { checkCommitted, connectClient, openUploads, sleep, startChaosWorker, step, waitUntil, type ChaosWorker } from './support.js';

let src: ArchivedCluster;
let conn: Awaited<ReturnType<typeof connectClient>>;
const workers: ChaosWorker[] = [];
const recovered: PitrRestoreResult[] = [];
let base: BaseBackupResult | undefined;
let loadEnd: { at: string; rows: number } | undefined;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  src = await startArchivedCluster('src');
  // About 12 MB of incompressible rows: the base backup's tar is stored in several parts.
  await src.sql('create table blob (id int primary key, data bytea not null)');
  await src.sql(
    `insert into blob select g, decode(string_agg(md5(g::text || ':' || i::text || random()::text), ''), 'hex')
       from generate_series(1, 12000) g, generate_series(1, 64) i group by g`,
  );
  await src.switchAndWait();
  conn = await connectClient();
}, 180_000);

afterAll(async () => {
  for (const r of recovered) await stopRecovered({ dataDir: r.dataDir, binDir: src.cluster.binDir }).catch(() => undefined);
  for (const w of workers) await w.stop();
  await conn?.close();
  await src?.stop();
});

async function worker(): Promise<ChaosWorker> {
  const w = await startChaosWorker(src.configFile);
  workers.push(w);
  return w;
}

function run<T>(type: string, input: Record<string, unknown>): Promise<T> {
  return conn.client.workflow.execute(type, { taskQueue: src.cfg.temporal.taskQueue, workflowId: uniqueName(type), args: [input] }) as Promise<T>;
}

function parentOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  } catch {
    return -1; // gone
  }
}

/** Pids of running processes whose command line contains every one of `parts` (not shells, unless `shells`). */
function processesWith(parts: string[], shells = false): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!parts.every((p) => cmd.some((a) => a.includes(p)))) continue;
      if (shells || !/^(ba|da)?sh$/.test(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** The `lifeboat wal-push` processes of the cluster (node, not the `sh -c` around it). */
const walPushes = () => processesWith(['wal-push', src.configFile]);

test('worker SIGKILLed mid-stream of a base backup: a second worker completes it; one manifest, sha256 matches, no upload left open', async () => {
  const first = await worker();
  const handle = await conn.client.workflow.start(WORKFLOWS.baseBackup, {
    taskQueue: src.cfg.temporal.taskQueue,
    workflowId: uniqueName('chaos-base'),
    args: [{ database: 'src', maxRate: '6M' }],
  });
  const streaming = () => processesWith(['pg_basebackup', '--max-rate=6M']).filter((p) => parentOf(p) === first.pid);
  await waitUntil('pg_basebackup streams into a multipart upload', async () => streaming().length > 0 && (await openUploads(src.bucket)).length > 0, 90_000);
  const killedStream = streaming()[0]!;
  step(`base backup streaming (pg_basebackup ${killedStream}, upload open); SIGKILL worker ${first.pid}`);
  first.signal('SIGKILL');
  expect((await first.exited).signal).toBe('SIGKILL');
  await worker();
  base = (await handle.result()) as BaseBackupResult;
  step(`base backup ${base.backupId} committed`);

  expect(existsSync(`/proc/${killedStream}`)).toBe(false);
  const keys = await listKeys(src.bucket, 'src/pitr/base/');
  const manifests = keys.filter((k) => k.endsWith('/manifest.json'));
  expect(manifests).toEqual([`src/pitr/base/${base.backupId}/manifest.json`]);
  const manifest = await checkCommitted(src.bucket, manifests[0]!);
  expect(manifest.artifact.sha256).toBe(base.sha256);
  expect(manifest.workflow.attempt).toBeGreaterThan(1);
  expect(keys).toEqual([manifest.artifact.key, manifests[0]!].sort());
  expect(await openUploads(src.bucket)).toEqual([]);
}, 180_000);

test('wal-push SIGKILLed repeatedly while a load switches WAL: every segment marked .done is stored exactly once with its checksum', async () => {
  // Every other push seen is killed at a random moment of its life (starting, recording,
  // uploading); the others are spared so the archive moves on.
  let kills = 0;
  let stop = false;
  const fate = new Map<number, { seen: number; killAt: number | null; gone?: number }>();
  const killer = (async () => {
    while (!stop) {
      const now = new Set(walPushes());
      for (const [pid, f] of fate) if (!now.has(pid)) f.gone ??= Date.now();
      for (const pid of now) {
        if (!fate.has(pid)) fate.set(pid, { seen: Date.now(), killAt: fate.size % 2 === 0 ? Date.now() + Math.random() * 600 : null });
        const f = fate.get(pid)!;
        if (f.killAt === null || Date.now() < f.killAt) continue;
        f.killAt = null;
        try {
          process.kill(pid, 'SIGKILL');
          kills++;
        } catch {
          /* finished first */
        }
      }
      await sleep(20);
    }
  })();
  await src.sql('create table ticks (id int primary key, at timestamptz not null default clock_timestamp())');
  const statusDir = path.join(src.cluster.dataDir, 'pg_wal', 'archive_status');
  const ready = () => readdirSync(statusDir).filter((f) => f.endsWith('.ready')).length;
  let rows = 0;
  let switches = 0;
  const until = Date.now() + 75_000;
  while ((switches < 8 || kills < 5) && Date.now() < until) {
    // A connection wakes the postmaster, which then restarts the archiver a kill made exit.
    if (ready() >= 3) await src.sql('select 1');
    else {
      await src.sql(`insert into ticks (id) select g from generate_series($1::int, $1::int + 99) g`, [rows + 1]);
      rows += 100;
      await src.sql('select pg_switch_wal()');
      switches++;
    }
    await sleep(100);
  }
  stop = true;
  await killer;
  const spared = [...fate.values()]
    .filter((f) => f.gone && f.killAt === null)
    .map((f) => f.gone! - f.seen)
    .sort((a, b) => a - b);
  step(`wal-push lifetimes seen (ms): median ${spared[spared.length >> 1]}, max ${spared[spared.length - 1]}`);
  step(`load done: ${rows} rows, ${switches} switches, ${fate.size} wal-push processes seen, ${kills} wal-push processes killed`);
  expect(kills).toBeGreaterThanOrEqual(5);
  loadEnd = { at: (await src.sql<{ t: Date }>('select clock_timestamp() as t'))[0]!.t.toISOString(), rows };
  await sleep(200);
  await src.sql('insert into ticks (id) values (-1)'); // after the recovery target
  const last = await src.switchAndWait();

  await waitUntil('no segment is waiting to be archived', async () => (await src.sql('select 1')) && ready() === 0, 90_000);
  const [st] = await src.sql<{ last: string; archived: string; failed: string }>(
    'select last_archived_wal as last, archived_count as archived, failed_count as failed from pg_stat_archiver',
  );
  step(`pg_stat_archiver: last ${st!.last}, archived ${st!.archived}, failed ${st!.failed}`);
  expect(st!.last >= last).toBe(true);
  expect(readFileSync(src.cluster.logFile, 'utf8')).toMatch(/archive command (was terminated by signal 9|failed with exit code 137)/);

  const done = readdirSync(statusDir)
    .filter((f) => /^[0-9A-F]{24}\.done$/.test(f))
    .map((f) => f.slice(0, 24));
  expect(done.length).toBeGreaterThan(0);
  const keys = await listKeys(src.bucket, 'src/pitr/wal/');
  const storage = walStorage(src.cfg, 'src');
  let comparedWithPgWal = 0;
  for (const seg of done) {
    expect(keys.filter((k) => new RegExp(`/${seg}\\.(json|zst(\\.age|\\.gpg)?)$`).test(k))).toEqual([`src/pitr/wal/${seg}.json`, `src/pitr/wal/${seg}.zst`]);
    const record = (await readWalRecord(storage, 'src', seg))!;
    const fetched = await fetchWalBuffer(src.cfg, 'src', seg);
    expect(sha256(fetched)).toBe(record.rawSha256);
    const local = path.join(src.cluster.dataDir, 'pg_wal', seg);
    if (existsSync(local)) {
      expect(sha256(readFileSync(local))).toBe(record.rawSha256);
      comparedWithPgWal++;
    }
  }
  step(`${done.length} segments marked .done checked (${comparedWithPgWal} also against pg_wal)`);
  // Every stored segment is whole: a record and its data, never one without the other.
  const records = keys.filter((k) => k.endsWith('.json')).map((k) => k.replace(/\.json$/, ''));
  expect(keys.filter((k) => k.endsWith('.zst')).map((k) => k.replace(/\.zst$/, ''))).toEqual(records);
}, 180_000);

test('after the kills the archive check passes (no gap) and a point-in-time restore from the base backup has every row of the load', async () => {
  expect(base && loadEnd).toBeTruthy();
  const check = await run<{ ok: boolean; problems: string[]; segments: number }>(WORKFLOWS.checkWalArchive, { database: 'src' });
  expect(check.problems).toEqual([]);
  expect(check.ok).toBe(true);
  const r = await run<PitrRestoreResult>(WORKFLOWS.pointInTimeRestore, { database: 'src', toTime: loadEnd!.at });
  recovered.push(r);
  step(`restored to ${r.recoveredTo} from ${r.backupId}: ${r.segmentsRestored} segments`);
  expect(r.backupId).toBe(base!.backupId);
  const [{ n }] = await queryRecovered<{ n: string }>(src.cluster, r.port, 'select count(*) as n from ticks');
  expect(Number(n)).toBe(loadEnd!.rows);
  const [{ blobs }] = await queryRecovered<{ blobs: string }>(src.cluster, r.port, 'select count(*) as blobs from blob');
  expect(Number(blobs)).toBe(12000);
}, 180_000);
