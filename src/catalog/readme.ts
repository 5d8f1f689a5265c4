// The README at the root of every storage target (under its prefix): what is where, and how to
// restore with stock tools. Recovery must not need Lifeboat, Temporal or a worker.
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

export const README_KEY = 'README.txt';

export const STORAGE_README = `LIFEBOAT BACKUPS: how to restore without Lifeboat
=================================================

Layout (keys relative to this directory):

  <database>/backups/<backup-id>/manifest.json          written last: the backup exists once this does
  <database>/backups/<backup-id>/<backup-id>.<attempt>.dump.zst[.age|.gpg]   the artifact the manifest names
  <database>/backups/<backup-id>/verifications/*.json   one record per test restore (passed or failed)
  README.txt                                            this file (written once, never rewritten)

Only trust an artifact named by a manifest's "artifact.key"; anything else under backups/ is the
leftover of an attempt that never committed. "artifact.sha256" is the SHA-256 of the stored bytes
(compressed, and encrypted when "artifact.encryption" is set). Check it before restoring:

  echo "<artifact.sha256>  artifact" | sha256sum -c -

PostgreSQL ("format": "pg_dump-custom"), into a new database:

  createdb -T template0 orders_restore
  zstd -dc artifact > backup.dump            # gzip -dc for .gz; nothing for no compression
  pg_restore --exit-on-error --no-owner --no-acl -j 4 -d orders_restore backup.dump

MySQL / MariaDB ("format": "sql"):

  mysql -e 'create database orders_restore'
  zstd -dc artifact | mysql orders_restore   # (mariadb for MariaDB)

Encrypted artifacts ("artifact.encryption"): decrypt first, then decompress.

  age -d -i key.txt artifact | zstd -d > backup.dump               # age (key.txt: age or SSH identity)
  gpg --decrypt artifact | zstd -d > backup.dump                    # GPG (secret key in your keyring)

The recipients a backup was encrypted to are listed in "artifact.encryption.recipients". Without
one of their secret keys the backup cannot be read by anyone.
`;

const written = new Set<string>();

/**
 * Writes the README once per storage target (create-if-absent: never rewritten, so it is safe on
 * Object Lock buckets). A failure is logged, never fails the backup.
 */
export async function ensureStorageReadme(storage: Storage, log: Logger): Promise<void> {
  const where = storage.describe(README_KEY);
  if (written.has(where)) return;
  try {
    await storage.putIfAbsent(README_KEY, STORAGE_README, 'text/plain; charset=utf-8');
    written.add(where);
  } catch (err) {
    log.warn({ where, reason: (err as Error).message }, 'could not write the storage README');
  }
}
