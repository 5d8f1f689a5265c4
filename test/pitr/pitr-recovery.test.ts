import { runBaseBackup } from '../../src/pitr/base-backup.js';
import { recoverToPoint, stopRecovered, type RecoveredServer } from '../../src/pitr/recover.js';
import { queryRecovered, startArchivedCluster, type ArchivedCluster } from './pitr-support.js';

let src: ArchivedCluster;
const recovered: RecoveredServer[] = [];
const marks: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  src = await startArchivedCluster();
  await runBaseBackup(src.cfg, 'src', { backupId: 'base-1' });
  const now = async () => (await src.sql<{ t: Date }>('select clock_timestamp() as t'))[0]!.t.toISOString();
  await src.sql('create table orders (id int primary key, note text)');
  await src.sql(`insert into orders select g, 'T1' from generate_series(1, 3) g`);
  await sleep(300);
  marks.t1t2 = await now();
  await sleep(300);
  await src.sql(`insert into orders select g, 'T2' from generate_series(4, 5) g`);
  await sleep(300);
  marks.t2t3 = await now();
  await sleep(300);
  await src.sql('drop table orders');
  await src.switchAndWait();
}, 120_000);

afterAll(async () => {
  for (const r of recovered) await stopRecovered(r).catch(() => undefined);
  await src?.stop();
});

test('restore --to-time between T2 and T3 brings back the dropped table with exactly the rows of T2', async () => {
  const r = await recoverToPoint(src.cfg, 'src', { time: marks.t2t3 });
  recovered.push(r);
  const rows = await queryRecovered<{ id: number; note: string }>(src.cluster, r.port, 'select id, note from orders order by id');
  expect(rows.map((x) => `${x.id}:${x.note}`)).toEqual(['1:T1', '2:T1', '3:T1', '4:T2', '5:T2']);
  expect(r.backupId).toBe('base-1');
  expect(r.recoveredTo).not.toBeNull();
  expect(Date.parse(r.recoveredTo!)).toBeLessThanOrEqual(Date.parse(marks.t2t3!));
  expect(r.walReplayedBytes).toBeGreaterThan(0);
  expect(r.segmentsRestored).toBeGreaterThan(0);
  const [{ rec }] = await queryRecovered<{ rec: boolean }>(src.cluster, r.port, 'select pg_is_in_recovery() as rec');
  expect(rec).toBe(false);
});

test('restore --to-time between T1 and T2 has only the rows of T1', async () => {
  const r = await recoverToPoint(src.cfg, 'src', { time: marks.t1t2 });
  recovered.push(r);
  const rows = await queryRecovered<{ id: number }>(src.cluster, r.port, 'select id from orders order by id');
  expect(rows.map((x) => x.id)).toEqual([1, 2, 3]);
});
