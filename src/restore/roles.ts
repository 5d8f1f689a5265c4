import { createHash } from 'node:crypto';
import { LifeboatError } from '../errors.js';
import type { Manifest } from '../catalog/manifest.js';
import type { Storage } from '../storage/index.js';
import type { ResolvedTarget } from './target.js';

/**
 * Restores the roles stored with a backup onto the target's server (only on request, before the
 * database): refused when the backup has none, with the reason the manifest records; the stored
 * file must match its sha256. Returns the notes of the engine's role restore.
 */
export async function restoreBackupRoles(target: ResolvedTarget, manifest: Manifest, storage: Storage, label: string): Promise<string[]> {
  const refuse = (why: string) => new LifeboatError('INVALID_INPUT', `Restore of ${label} with roles refused: ${why}`, { subject: manifest.database });
  const roles = manifest.roles;
  if (!target.engine.restoreRoles) throw refuse(`the ${target.engine.name} engine has no roles to restore`);
  if (!roles) throw refuse(`backup ${manifest.backupId} has no roles (set roles: true on databases.${manifest.database} to dump them)`);
  if (roles.status !== 'stored') throw refuse(`the roles of backup ${manifest.backupId} were not dumped (${roles.status}): ${roles.reason}`);
  const body = await storage.getBuffer(roles.key);
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (sha256 !== roles.sha256) {
    throw new LifeboatError(
      'CHECKSUM_MISMATCH',
      `Restore of ${label} with roles failed: ${storage.describe(roles.key)} does not match its manifest (sha256 ${sha256.slice(0, 12)}…, manifest ${roles.sha256.slice(0, 12)}…)`,
      { subject: manifest.database },
    );
  }
  return target.engine.restoreRoles(target.server, body.toString('utf8'), label);
}
