// Directory-format dumps without a database: the configuration and manifest rules, the artifact
// checksum, and the completion signal of src/pipeline/directory-dump.ts driven by a real shell
// script standing in for pg_dump (it keeps one file open while another is finished).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { ManifestSchema } from '../../src/catalog/manifest.js';
import { checksumLines, directoryChecksum, isArtifactObject, partKey, storedParts } from '../../src/catalog/artifact-files.js';
import { dumpDirectory } from '../../src/pipeline/directory-dump.js';
import { FilesystemStorage } from '../../src/storage/filesystem.js';
import { LifeboatError } from '../../src/errors.js';
import { pgDumpArgs } from '../../src/engines/postgres/dump.js';

const made: string[] = [];
const tmp = (p: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), p));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function problems(db: Record<string, unknown>): string[] {
  try {
    parseConfig({ storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } }, databases: { orders: { url: { env: 'X' }, ...db } } }, 'lifeboat.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the configuration to be rejected');
}

test('dump: { format: directory } is PostgreSQL only, jobs defaults to 2 and is bounded', () => {
  const cfg = parseConfig({
    storage: { primary: { type: 's3', bucket: 'lifeboat-backups' } },
    databases: { orders: { engine: 'postgres', url: { env: 'X' }, dump: { format: 'directory' } } },
  });
  expect(cfg.databases.orders!.dump).toEqual({ format: 'directory', jobs: 2 });
  expect(problems({ engine: 'mysql', dump: { format: 'directory' } })).toEqual([
    'databases.orders.dump.format: "directory" is a PostgreSQL format (pg_dump -Fd); engine mysql dumps plain SQL',
  ]);
  expect(problems({ engine: 'postgres', dump: { format: 'directory', jobs: 0 } })[0]).toMatch(/^databases\.orders\.dump\.jobs: /);
  expect(problems({ engine: 'postgres', dump: { format: 'tar' } })[0]).toMatch(/^databases\.orders\.dump\.format: expected one of custom, directory/);
});

test('pg_dump arguments: directory with jobs and no fsync; custom unchanged', () => {
  expect(pgDumpArgs('full', 'snap-1', [], 3)).toEqual(
    expect.arrayContaining(['--format=directory', '--jobs=3', '--no-sync', '--compress=0', '--snapshot=snap-1']),
  );
  expect(pgDumpArgs('full', 'snap-1')).not.toContain('--no-sync');
  expect(pgDumpArgs('full', 'snap-1')[0]).toBe('--format=custom');
});

const baseManifest = {
  formatVersion: 1,
  backupId: 'b1',
  database: 'orders',
  kind: 'full',
  engine: 'postgres',
  provider: 'self-hosted',
  format: 'pg_dump-custom',
  server: { version: '17.2' },
  tool: { name: 'pg_dump', version: '17.2' },
  startedAt: 'x',
  finishedAt: 'y',
  durationMs: 1,
  rawBytes: 10,
  artifact: {
    storage: 's',
    key: 'orders/backups/b1/b1.a1-abc.dump.zst',
    bytes: 5,
    sha256: 'a'.repeat(64),
    compression: { codec: 'zstd' as const, level: 1 },
    encryption: null,
  },
  rowCounts: null,
  workflow: { workflowId: 'w', runId: 'r', attempt: 1 },
  lifeboatVersion: '0',
};

test('the manifest accepts old single-file manifests unchanged and a directory artifact only with its files', () => {
  expect(ManifestSchema.parse(baseManifest)).toEqual(baseManifest);
  const files = [
    { name: 'toc.dat', bytes: 3, rawBytes: 7, sha256: 'b'.repeat(64) },
    { name: '3001.dat', bytes: 2, rawBytes: 3, sha256: 'c'.repeat(64) },
  ];
  const artifact = { ...baseManifest.artifact, key: 'orders/backups/b1/b1.a1-abc.dir', files };
  const dir = { ...baseManifest, format: 'pg_dump-directory', artifact: { ...artifact, sha256: directoryChecksum(files, artifact) } };
  expect(ManifestSchema.parse(dir).artifact.files).toEqual(files);
  expect(ManifestSchema.safeParse({ ...dir, artifact: { ...dir.artifact, files: undefined } }).success).toBe(false);
  expect(ManifestSchema.safeParse({ ...baseManifest, artifact: { ...baseManifest.artifact, files } }).success).toBe(false);
  expect(ManifestSchema.safeParse({ ...dir, artifact: { ...dir.artifact, files: [{ ...files[0], name: '../x' }] } }).success).toBe(false);

  // One checksum over sha256sum lines (sorted by stored name), so `sha256sum -c` checks a download.
  expect(checksumLines(files, artifact)).toBe(`${'c'.repeat(64)}  3001.dat.zst\n${'b'.repeat(64)}  toc.dat.zst\n`);
  expect(dir.artifact.sha256).toBe(sha256(Buffer.from(checksumLines(files, artifact))));
  expect(storedParts(dir.artifact as never).map((p) => p.key)).toEqual([`${artifact.key}/toc.dat.zst`, `${artifact.key}/3001.dat.zst`]);
  expect(partKey(artifact.key, 'toc.dat', { compression: { codec: 'gzip', level: 1 }, encryption: { type: 'age', recipients: [] } })).toBe(
    `${artifact.key}/toc.dat.gz.age`,
  );
  expect(isArtifactObject(dir.artifact as never, `${artifact.key}/toc.dat.zst`)).toBe(true);
  expect(isArtifactObject(baseManifest.artifact as never, `${baseManifest.artifact.key}/x`)).toBe(false);
});

/** A stand-in for `pg_dump -Fd`: writes 1.dat and closes it, holds 2.dat open, then writes toc.dat. */
function fakeDump(dir: string, exitCode = 0): string {
  const script = path.join(dir, 'fake-dump.sh');
  writeFileSync(
    script,
    `#!/bin/sh
out="\${1#--file=}"
mkdir "$out" || exit 9
head -c 300000 /dev/urandom > "$out/1.dat"
exec 3>"$out/2.dat"
echo two >&3
# 1.dat is complete: it is stored and deleted while 2.dat is still open here.
i=0; while [ -e "$out/1.dat" ]; do i=$((i+1)); [ $i -gt 200 ] && { echo "1.dat was not taken" >&2; exit 3; }; sleep 0.02; done
sleep 0.3
[ -e "$out/2.dat" ] || { echo "2.dat was taken while open" >&2; exit 4; }
echo more >&3
exec 3>&-
printf 'toc' > "$out/toc.dat"
exit ${exitCode}
`,
    { mode: 0o755 },
  );
  return script;
}

async function runFake(exitCode: number) {
  const work = tmp('lb-fdir-unit-');
  // Reached through a symbolic link: /proc shows the resolved path of an open file.
  const scratch = path.join(work, 'scratch-link');
  symlinkSync(tmp('lb-fdir-scratch-'), scratch);
  const storage = new FilesystemStorage('local', { type: 'filesystem', path: tmp('lb-fdir-store-'), prefix: '' });
  const result = dumpDirectory({
    dump: { tool: 'pg_dump', file: fakeDump(work, exitCode), args: [], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } },
    uploads: 2,
    compression: { codec: 'zstd', level: 1 },
    storage,
    keyOf: (name) => `k/${name}.zst`,
    scratch,
    pollMs: 20,
    classifyDumpFailure: (e) => new LifeboatError('DUMP_FAILED', `pg_dump failed: ${e.stderr.trim()} (${e.exitCode})`),
  });
  return { result, storage, scratch };
}

test('a file is stored (and deleted locally) once no process of the dump holds it open, a small one in a bundle; toc.dat last', async () => {
  const { result, storage, scratch } = await runFake(0);
  const r = await result;
  expect(r.files.map((f) => [f.name, f.rawBytes, f.members])).toEqual([
    ['1.dat', 300000, undefined],
    // 2.dat (9 bytes) in a tar archive: its header, one block of data, the two end blocks.
    ['bundle-000001.tar', 2048, [{ name: '2.dat', rawBytes: 9 }]],
    ['toc.dat', 3, undefined],
  ]);
  expect(r.rawBytes).toBe(300000 + 9 + 3);
  for (const f of r.files) {
    const stored = readFileSync(path.join(storage.describe(`k/${f.name}.zst`)));
    expect([f.name, stored.length, sha256(stored)]).toEqual([f.name, f.bytes, f.sha256]);
    expect(execFileSync('zstd', ['-d', '-c'], { input: stored }).length).toBe(f.rawBytes);
  }
  expect(r.storedBytes).toBe(r.files.reduce((n, f) => n + f.bytes, 0));
  expect(readdirSync(path.join(scratch, 'dump'))).toEqual([]);
});

test('a dump that exits non-zero fails with its classified error and toc.dat is never stored', async () => {
  const { result, storage } = await runFake(5);
  await expect(result).rejects.toMatchObject({ code: 'DUMP_FAILED' });
  expect(existsSync(storage.describe('k/toc.dat.zst'))).toBe(false);
});
