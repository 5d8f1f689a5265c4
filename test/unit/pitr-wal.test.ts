import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { BaseBackupInputSchema, PitrRestoreInputSchema } from '../../src/contracts/index.js';
import { parseBaseBackupStream } from '../../src/pitr/base-backup.js';
import { pgTimestamp } from '../../src/pitr/recover.js';
import { fetchWal, fetchWalBuffer, pushWal, WalMissing } from '../../src/pitr/wal-archive.js';
import { parseWalArgs, runWalCommand } from '../../src/pitr/wal-cli.js';
import { findGaps, isWalFileName, parseSegment, segmentIndexOf, segmentName } from '../../src/pitr/wal-names.js';
import { ageKey } from '../harness/keys.js';

const MB = 1024 * 1024;
const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(path.join(os.tmpdir(), 'lb-pitr-unit-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function config(dir: string, extra: Record<string, unknown> = {}) {
  return parseConfig({
    storage: { local: { type: 'filesystem', path: path.join(dir, 'store') } },
    databases: { orders: { engine: 'postgres', url: 'postgres://u@localhost/orders', ...extra } },
    ...(extra.encryption ? { restore: { identities: [{ env: 'LB_PITR_UNIT_AGE' }] } } : {}),
  });
}

function segment(dir: string, name: string, bytes = 64 * 1024): string {
  const p = path.join(dir, 'pg_wal', name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, randomBytes(bytes));
  return p;
}

describe('WAL names', () => {
  test('segment names round-trip through their index, for 16 MiB and 1 MiB segments', () => {
    for (const [name, size] of [
      ['0000000100000003000000FF', 16 * MB],
      ['000000020000000200000FFF', MB],
    ] as const) {
      const s = parseSegment(name, size)!;
      expect(segmentName(s.timeline, s.index, size)).toBe(name);
    }
    expect(parseSegment('000000010000000200000FFF', MB)!.index).toBe(2 * 4096 + 4095);
    expect(segmentName(1, 256, 16 * MB)).toBe('000000010000000100000000');
    expect(segmentIndexOf('0/3000028', 16 * MB)).toBe(3);
    expect(segmentIndexOf('1/0', 16 * MB)).toBe(256);
  });

  test('only names PostgreSQL archives are accepted (no path can escape the prefix)', () => {
    expect(isWalFileName('000000010000000000000003')).toBe(true);
    expect(isWalFileName('00000002.history')).toBe(true);
    expect(isWalFileName('000000010000000000000003.00000028.backup')).toBe(true);
    expect(isWalFileName('000000010000000000000003.partial')).toBe(true);
    expect(isWalFileName('../000000010000000000000003')).toBe(false);
    expect(isWalFileName('000000010000000000000003.json')).toBe(false);
  });

  test('gaps are found from the oldest base backup on, across a log id boundary, and a timeline switch is no gap', () => {
    const names = ['0000000100000000000000FE', '000000010000000100000000', '000000010000000100000001'];
    expect(findGaps(names)).toEqual([{ timeline: 1, from: '0000000100000000000000FF', to: '0000000100000000000000FF', missing: 1 }]);
    expect(findGaps(names, { fromIndex: 0xfc })).toHaveLength(2);
    expect(findGaps(['000000010000000000000004', '000000010000000000000005', '000000020000000000000005', '000000020000000000000006'])).toEqual([]);
    expect(findGaps([])).toEqual([]);
  });
});

test('the WAL range of a base backup is read from backup_label and backup_manifest', () => {
  const head = 'backup_label\0...START WAL LOCATION: 0/700028 (file 000000010000000000000007)\nCHECKPOINT LOCATION: 0/700060\nSTART TIMELINE: 1\n';
  const tail = '"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/700028", "End-LSN": "0/700100" }\n],';
  expect(parseBaseBackupStream(head, tail)).toEqual({ startLsn: '0/700028', startTimeline: 1, stopLsn: '0/700100' });
  expect(parseBaseBackupStream(head, '')).toBeUndefined();
});

test('recovery targets: an ISO time becomes what recovery_target_time parses; two targets are refused', () => {
  expect(pgTimestamp('2026-12-03T14:40:15.743Z')).toBe('2026-12-03 14:40:15.743+00');
  expect(() => pgTimestamp('yesterday')).toThrow(/not an ISO time/);
  expect(PitrRestoreInputSchema.safeParse({ database: 'orders', toTime: '2026-12-03T14:40:15Z', toLsn: '0/1' }).success).toBe(false);
  expect(PitrRestoreInputSchema.safeParse({ database: 'orders', toLsn: '0/3000028' }).success).toBe(true);
});

test('the maxRate of a base backup takes pg_basebackup --max-rate values (kB/s, k or M suffix) and nothing else', () => {
  for (const ok of ['50M', '800k', '32768']) expect(BaseBackupInputSchema.safeParse({ database: 'orders', maxRate: ok }).success).toBe(true);
  for (const bad of ['50G', '0', '-5M', '5 M', '']) expect(BaseBackupInputSchema.safeParse({ database: 'orders', maxRate: bad }).success).toBe(false);
});

test('wal command arguments: config and database flags anywhere, exact positional count', () => {
  expect(parseWalArgs(['--config', '/etc/l.yaml', 'wal-push', '--db', 'orders', 'pg_wal/000000010000000000000001'])).toEqual({
    command: 'wal-push',
    config: '/etc/l.yaml',
    database: 'orders',
    positional: ['pg_wal/000000010000000000000001'],
  });
  expect(parseWalArgs(['wal-fetch', '--db=orders', '00000002.history', 'pg_wal/RECOVERYHISTORY'])).toMatchObject({ command: 'wal-fetch', database: 'orders' });
  expect(parseWalArgs(['wal-fetch', 'only-one'])).toMatch(/usage/);
  expect(parseWalArgs(['wal-push', '--bogus', 'x'])).toMatch(/unknown option/);
});

describe('wal-push and wal-fetch on a directory target', () => {
  test('a second push of the same segment succeeds, different content is refused, fetch restores the bytes', async () => {
    const dir = tmp();
    const cfg = config(dir);
    const p = segment(dir, '000000010000000000000001');
    expect((await pushWal(cfg, 'orders', p)).outcome).toBe('archived');
    expect((await pushWal(cfg, 'orders', p)).outcome).toBe('already-archived');
    const other = segment(path.join(dir, 'other'), '000000010000000000000001');
    await expect(pushWal(cfg, 'orders', other)).rejects.toMatchObject({
      code: 'MANIFEST_CONFLICT',
      message: expect.stringMatching(/already archived with different content/),
    });
    const dest = path.join(dir, 'restored', 'RECOVERYXLOG');
    await fetchWal(cfg, 'orders', '000000010000000000000001', dest);
    expect(readFileSync(dest).equals(readFileSync(p))).toBe(true);
    await expect(fetchWalBuffer(cfg, 'orders', '00000002.history')).rejects.toBeInstanceOf(WalMissing);
    const stored = readdirSync(path.join(dir, 'store', 'orders', 'pitr', 'wal')).sort();
    expect(stored).toEqual(['000000010000000000000001.json', '000000010000000000000001.zst']);
  });

  test('a segment whose stored bytes were altered is refused on fetch (checksum), and a push that died before its data is completed', async () => {
    const dir = tmp();
    const cfg = config(dir);
    const p = segment(dir, '000000010000000000000002');
    await pushWal(cfg, 'orders', p);
    const data = path.join(dir, 'store', 'orders', 'pitr', 'wal', '000000010000000000000002.zst');
    rmSync(data);
    await expect(fetchWalBuffer(cfg, 'orders', '000000010000000000000002')).rejects.toBeInstanceOf(WalMissing);
    expect((await pushWal(cfg, 'orders', p)).outcome).toBe('archived');
    const other = segment(path.join(dir, 'o2'), 'x', 64 * 1024);
    const { execFileSync } = await import('node:child_process');
    writeFileSync(data, execFileSync('zstd', ['-q', '-c', other]));
    await expect(fetchWalBuffer(cfg, 'orders', '000000010000000000000002')).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
  });

  test('with age encryption on, the stored segment is ciphertext and fetch decrypts it with restore.identities', async () => {
    const dir = tmp();
    const key = ageKey();
    process.env.LB_PITR_UNIT_AGE = key.identity;
    const cfg = config(dir, { encryption: { age: { recipients: [key.recipient] } } });
    const p = segment(dir, '000000010000000000000003');
    await pushWal(cfg, 'orders', p);
    const stored = readFileSync(path.join(dir, 'store', 'orders', 'pitr', 'wal', '000000010000000000000003.zst.age'));
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect((await fetchWalBuffer(cfg, 'orders', '000000010000000000000003')).equals(readFileSync(p))).toBe(true);
  });

  test('the command: exit 0 archived, 1 refused with a clear line, fetch exits 1 quietly for a missing history file', async () => {
    const dir = tmp();
    const file = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      file,
      `storage:\n  local: { type: filesystem, path: ${path.join(dir, 'store')} }\ndatabases:\n  orders: { engine: postgres, url: "postgres://u@localhost/orders" }\n`,
    );
    const p = segment(dir, '000000010000000000000004');
    const err: string[] = [];
    expect(await runWalCommand(['-c', file, 'wal-push', p], (s) => err.push(s))).toBe(0);
    const other = segment(path.join(dir, 'o'), '000000010000000000000004');
    expect(await runWalCommand(['-c', file, 'wal-push', other], (s) => err.push(s))).toBe(1);
    expect(err.join('')).toMatch(/^lifeboat wal-push: WAL archiving of 000000010000000000000004 for orders refused: .*different content/);
    err.length = 0;
    expect(await runWalCommand(['-c', file, 'wal-fetch', '00000002.history', path.join(dir, 'h')], (s) => err.push(s))).toBe(1);
    expect(err).toEqual([]);
  });
});

test('schedules of kind base and wal-check start the baseBackup and checkWalArchive workflows', async () => {
  const { desiredSchedules } = await import('../../src/schedules/desired.js');
  const cfg = parseConfig({
    storage: { local: { type: 'filesystem', path: '/tmp/unused' } },
    databases: {
      orders: {
        engine: 'postgres',
        url: 'postgres://u@localhost/orders',
        environment: 'development',
        schedules: [
          { kind: 'base', cron: '0 3 * * *' },
          { kind: 'wal-check', every: '15m' },
        ],
      },
    },
  });
  const byKind = Object.fromEntries(desiredSchedules(cfg).map((s) => [s.kind, s]));
  expect(byKind.base).toMatchObject({ workflowType: 'baseBackup', args: [{ database: 'orders' }] });
  expect(byKind['wal-check']).toMatchObject({ workflowType: 'checkWalArchive', args: [{ database: 'orders' }] });
});
