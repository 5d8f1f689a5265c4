// The recovery README: a plain-text object at the root of every storage prefix that explains the
// layout and the stock-tool restore commands, for whoever finds the bucket without Lifeboat.
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';

/** Its key, relative to the storage prefix. */
export const RECOVERY_README_KEY = 'README-RECOVERY.txt';

/** The README's text (the same for every prefix; it names no database, host or key). */
export function recoveryReadme(): string {
  return `Lifeboat database backups: how to restore them without Lifeboat
==================================================================

Layout (keys relative to this directory / prefix):

  <database>/backups/<backup-id>/manifest.json        written last: the backup exists once this does
  <database>/backups/<backup-id>/<backup-id>.<attempt>.dump[.zst|.gz][.age|.gpg]
                                                      the artifact named by manifest.json artifact.key
  <database>/backups/<backup-id>/<backup-id>.<attempt>.dir/<file>[.zst|.gz][.age|.gpg]
                                                      format "pg_dump-directory": artifact.key is a prefix,
                                                      one object per file listed in artifact.files
  <database>/backups/<backup-id>/verifications/*.json one record per verify-by-restore run
  <database>/backups/<backup-id>/roles.sql            PostgreSQL roles (no passwords) when manifest.json roles.status
                                                      is "stored"; check roles.sha256, then psql -f roles.sql

Only trust an artifact that a manifest names (artifact.key); anything else is the leftover of an
attempt that never committed. artifact.sha256 and artifact.bytes are over the STORED bytes
(compressed, then encrypted when artifact.encryption is set). Check them first:

  echo "<artifact.sha256>  backup.dump.zst" | sha256sum -c -      # must print OK
  stat -c %s backup.dump.zst                                       # must equal artifact.bytes

Never restore an artifact whose checksum does not match.

Order of the stages: dump -> compress (zstd|gzip|none) -> encrypt (age|gpg|none). Undo them in
reverse: decrypt, then decompress, then restore. format "pg_dump-custom" restores with pg_restore;
format "sql" (MySQL/MariaDB) with the mysql client.

PostgreSQL (format pg_dump-custom):

  createdb -T template0 orders_restore
  zstd -dc backup.dump.zst > backup.dump            # gzip: gzip -dc backup.dump.gz > backup.dump
  pg_restore --exit-on-error --no-owner --no-acl -j 4 -d orders_restore backup.dump

  age-encrypted (*.age; key.txt: age-keygen identity or unencrypted SSH private key of a recipient):
  age -d -i key.txt backup.dump.zst.age | zstd -dc > backup.dump

  gpg-encrypted (*.gpg; private-key.asc: gpg --export-secret-keys --armor FINGERPRINT):
  gpg --batch --import private-key.asc
  gpg --batch --decrypt backup.dump.zst.gpg | zstd -dc > backup.dump

PostgreSQL (format pg_dump-directory, pg_dump -Fd): artifact.key is a prefix; download every object
under it into one directory. Each artifact.files entry has its own sha256 and bytes (stored);
artifact.sha256 is the SHA-256 of the files' sha256sum lines sorted by stored name:

  jq -r '.artifact.files[] | .sha256 + "  " + .name + ".zst"' manifest.json | LC_ALL=C sort -k2 > SHA256SUMS
  sha256sum -c SHA256SUMS                      # every file OK; sha256sum < SHA256SUMS = artifact.sha256
  mkdir dump; for f in *.zst; do zstd -dc "$f" > "dump/\${f%.zst}"; done    # decrypt first if .age/.gpg
  for t in dump/bundle-*.tar; do [ -e "$t" ] || continue; tar -xf "$t" -C dump; rm "$t"; done  # small files
  pg_restore --exit-on-error --no-owner --no-acl -j 4 -d orders_restore dump

MySQL / MariaDB (format sql):

  mysql -e 'create database orders_restore'
  zstd -dc backup.sql.zst | mysql orders_restore
  age -d -i key.txt backup.sql.zst.age | zstd -dc | mysql orders_restore
  gpg --batch --decrypt backup.sql.zst.gpg | zstd -dc | mysql orders_restore

Use "set -o pipefail" (bash): a tampered or truncated encrypted file fails decryption with a
non-zero exit status; never restore from a pipeline that printed an error.

Afterwards compare row counts: for each "schema.table" in manifest.json rowCounts.tables,
"select count(*) from only schema.table" must return the recorded count.

The key you need to decrypt is the secret half of one of artifact.encryption.recipients
(age1..., "ssh-ed25519 SHA256:..." as ssh-keygen -l prints it, or GPG fingerprints).
This file is written once, when the first backup is stored here, and never rewritten.
`;
}

/** Where this process has seen the README (or written it): later backups there skip the HEAD. */
const present = new Set<string>();

/**
 * Writes the recovery README under `storage` unless it is there (create-if-absent, never
 * rewritten). A failure is logged and does not fail the backup it accompanies. Once a process has
 * seen it on a target, it does not look again.
 */
export async function ensureRecoveryReadme(storage: Storage, log: Logger): Promise<void> {
  const location = storage.describe(RECOVERY_README_KEY);
  if (present.has(location)) return;
  try {
    if (!(await storage.head(RECOVERY_README_KEY)) && (await storage.putIfAbsent(RECOVERY_README_KEY, recoveryReadme(), 'text/plain; charset=utf-8'))) {
      log.info({ location }, 'recovery README written');
    }
    present.add(location);
  } catch (err) {
    log.warn({ location: storage.describe(RECOVERY_README_KEY), reason: (err as Error).message }, 'could not write the recovery README');
  }
}
