import fc from 'fast-check';
import { planPitrRetention } from '../../src/pitr/retention.js';
import { parseSegment, segmentName } from '../../src/pitr/wal-names.js';

const MB = 1024 * 1024;

/** A timeline of base backups at increasing segment positions, and the WAL archived from the first on. */
const archive = fc
  .record({
    starts: fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 8 }),
    extra: fc.integer({ min: 0, max: 50 }),
    keep: fc.integer({ min: 0, max: 10 }),
    timelineSwitch: fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
  })
  .map(({ starts, extra, keep, timelineSwitch }) => {
    const sorted = [...starts].sort((a, b) => a - b);
    const bases = sorted.map((index, i) => ({
      backupId: `b${i}`,
      consistentAt: new Date(Date.UTC(2026, 0, 1) + i * 3_600_000).toISOString(),
      startSegment: segmentName(1, index, MB),
      server: { walSegmentBytes: MB },
    }));
    const last = sorted[sorted.length - 1]! + extra;
    const wal: string[] = [];
    for (let i = Math.max(0, sorted[0]! - 20); i <= last; i++) {
      const tl = timelineSwitch !== undefined && i >= timelineSwitch ? 2 : 1;
      wal.push(segmentName(tl, i, MB));
    }
    wal.push('00000002.history', `${segmentName(1, sorted[0]!, MB)}.00000028.backup`);
    return { bases, wal, keep };
  });

test('property: no segment a kept base backup needs is deleted, at least one base backup is kept, only older WAL goes', () => {
  fc.assert(
    fc.property(archive, ({ bases, wal, keep }) => {
      const plan = planPitrRetention(bases, wal, keep);
      expect(plan.keepBase.length).toBe(Math.min(bases.length, Math.max(1, keep)));
      expect(plan.keepBase).toContain(bases[bases.length - 1]!.backupId);
      const oldestKept = Math.min(...plan.keepBase.map((id) => parseSegment(bases.find((x) => x.backupId === id)!.startSegment, MB)!.index));
      const needed = wal.filter((f) => f.endsWith('.history') || parseSegment(f.slice(0, 24), MB)!.index >= oldestKept);
      const wronglyDeleted = needed.filter((f) => plan.deleteWal.includes(f));
      expect(wronglyDeleted).toEqual([]);
      for (const f of plan.deleteWal) expect(parseSegment(f.slice(0, 24), MB)!.index).toBeLessThan(plan.keepFromIndex!);
      expect([...plan.keepBase, ...plan.deleteBase].sort()).toEqual(bases.map((b) => b.backupId).sort());
    }),
    { numRuns: 200 },
  );
});

test('keeping the newest two base backups removes the WAL before the older of them, not the history files', () => {
  const bases = [0, 10, 20].map((i, n) => ({
    backupId: `b${n}`,
    consistentAt: `2026-01-0${n + 1}T00:00:00Z`,
    startSegment: segmentName(1, i, MB),
    server: { walSegmentBytes: MB },
  }));
  const wal = Array.from({ length: 25 }, (_, i) => segmentName(1, i, MB)).concat('00000002.history');
  const plan = planPitrRetention(bases, wal, 2);
  expect(plan.deleteBase).toEqual(['b0']);
  expect(plan.deleteWal).toEqual(wal.slice(0, 10));
});

test('applying retention on a directory target deletes the old base backup and only the WAL before the kept one', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const { FilesystemStorage } = await import('../../src/storage/filesystem.js');
  const { applyPitrRetention } = await import('../../src/pitr/retention.js');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lb-pitr-ret-'));
  try {
    const storage = new FilesystemStorage('local', { type: 'filesystem', path: dir, prefix: '' });
    const manifest = (id: string, start: number, at: string) =>
      JSON.stringify({
        ...BASE,
        backupId: id,
        startSegment: segmentName(1, start, MB),
        consistentAt: at,
        artifact: { ...BASE.artifact, key: `orders/pitr/base/${id}/base-1.tar.zst` },
      });
    await storage.put('orders/pitr/base/old/manifest.json', manifest('old', 2, '2026-01-01T00:00:00Z'));
    await storage.put('orders/pitr/base/old/base-1.tar.zst', 'x');
    await storage.put('orders/pitr/base/new/manifest.json', manifest('new', 5, '2026-01-02T00:00:00Z'));
    for (let i = 2; i <= 7; i++) {
      await storage.put(`orders/pitr/wal/${segmentName(1, i, MB)}.json`, '{}');
      await storage.put(`orders/pitr/wal/${segmentName(1, i, MB)}.zst`, 'x');
    }
    const dry = await applyPitrRetention(storage, 'orders', 1, true);
    expect(dry.deleteWal).toEqual([2, 3, 4].map((i) => segmentName(1, i, MB)));
    expect((await storage.list('orders/pitr/wal/')).length).toBe(12);
    await applyPitrRetention(storage, 'orders', 1, false);
    const left = (await storage.list('orders/pitr/wal/')).map((o) => o.key).sort();
    expect(left).toEqual([5, 6, 7].flatMap((i) => [`orders/pitr/wal/${segmentName(1, i, MB)}.json`, `orders/pitr/wal/${segmentName(1, i, MB)}.zst`]));
    expect((await storage.list('orders/pitr/base/')).map((o) => o.key)).toEqual(['orders/pitr/base/new/manifest.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const BASE = {
  formatVersion: 1,
  kind: 'base',
  database: 'orders',
  format: 'pg_basebackup-tar',
  server: { version: '15.20', walSegmentBytes: MB },
  tool: { name: 'pg_basebackup', version: '15.20' },
  label: 'x',
  startLsn: '0/200028',
  startTimeline: 1,
  stopLsn: '0/200100',
  startedAt: '2026-01-01T00:00:00Z',
  finishedAt: '2026-01-01T00:00:00Z',
  durationMs: 1,
  rawBytes: 1,
  artifact: { storage: 'local', key: '', bytes: 1, sha256: 'a'.repeat(64), compression: { codec: 'zstd', level: 1 }, encryption: null },
  lifeboatVersion: '0.1.0',
};
