// Reads what health and metrics describe from storage, not from a worker's memory: committed
// manifests, verification records and audit events of every configured database. Manifests,
// verification records and audit events are immutable, so each is read once and kept; a refresh
// costs one listing per database and prefix.
import { compareNewestFirst, parseManifest } from '../catalog/catalog.js';
import { isManifestKey, isVerificationKey, keys, type Manifest } from '../catalog/manifest.js';
import { databaseStorageNames } from '../config/load.js';
import type { LifeboatConfig } from '../config/schema.js';
import type { VerificationRecord } from '../contracts/index.js';
import { readVerification } from '../restore/verification.js';
import { archiveRpoMs, checkArchive, type ArchiveStatus } from '../pitr/archive-check.js';
import { openStorage, type Storage } from '../storage/index.js';
import { listAudit, type AuditCache } from '../audit/log.js';
import type { AuditEntry } from '../audit/schema.js';

/** A verification record with the kind of the backup it verified. */
export type KindedVerification = VerificationRecord & { kind: Manifest['kind'] | 'unknown' };

/** What one storage target holds for one database, as read at `readAt`. */
export interface DatabaseCatalog {
  database: string;
  storage: string;
  readAt: string;
  /** Committed backups, newest first. */
  backups: Manifest[];
  /** The newest verification record of any outcome. */
  latestVerification?: KindedVerification;
  /** The newest passed verification per backup kind. */
  latestPassed: Partial<Record<Manifest['kind'], KindedVerification>>;
  /** Audit events that feed counters: failed backups and retention deletions. */
  audit: AuditEntry[];
  /** Objects that exist but cannot be read (reported, never dropped silently). */
  problems: string[];
  /** Set when the target could not be listed at all: nothing above can be trusted. */
  error?: string;
  /** When this target was first seen failing, while it keeps failing. */
  failingSince?: string;
  /** The WAL archive's completeness, when the database uses point-in-time recovery. */
  walArchive?: ArchiveStatus;
}

const verificationName = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/** Cached, bounded reads of the catalog; one instance per worker (or per CLI command). */
export class CatalogReader {
  private readonly storages = new Map<string, Storage>();
  private readonly manifests = new Map<string, Manifest>();
  private readonly records = new Map<string, VerificationRecord>();
  private readonly audit: AuditCache = new Map();
  private readonly failing = new Map<string, string>();
  private fleetCache?: { at: number; value: Promise<DatabaseCatalog[]> };

  constructor(
    private readonly cfg: LifeboatConfig,
    private readonly ttlMs = 30_000,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private storage(name: string): Storage {
    let s = this.storages.get(name);
    if (!s) this.storages.set(name, (s = openStorage(this.cfg, name)));
    return s;
  }

  /** Every configured database as its primary storage target holds it; reused for `ttlMs`. */
  fleet(): Promise<DatabaseCatalog[]> {
    const t = this.now().getTime();
    if (!this.fleetCache || t - this.fleetCache.at >= this.ttlMs) {
      const value = Promise.all(Object.keys(this.cfg.databases).map((db) => this.read(db, databaseStorageNames(this.cfg, db)[0]!)));
      this.fleetCache = { at: t, value };
      value.catch(() => (this.fleetCache = undefined));
    }
    return this.fleetCache.value;
  }

  /** One database on every one of its storage targets (for per-target details); not cached. */
  targets(database: string): Promise<DatabaseCatalog[]> {
    return Promise.all(databaseStorageNames(this.cfg, database).map((s) => this.read(database, s)));
  }

  /** Reads one database on one storage target; a storage failure becomes `error`, never a throw. */
  async read(database: string, storageName: string): Promise<DatabaseCatalog> {
    const readAt = this.now().toISOString();
    const base: DatabaseCatalog = { database, storage: storageName, readAt, backups: [], latestPassed: {}, audit: [], problems: [] };
    const failKey = `${storageName}/${database}`;
    try {
      const storage = this.storage(storageName);
      const listed = (await storage.list(keys.databasePrefix(database))).map((o) => o.key);
      const problems: string[] = [];
      const backups = await this.readManifests(storage, database, listed.filter(isManifestKey), problems);
      const verifications = await this.readVerifications(storage, backups, listed.filter(isVerificationKey), problems);
      const audit = await listAudit(storage, { database, actions: ['backup', 'retention-delete'] }, this.audit);
      const walArchive = await checkArchive(storage, database, archiveRpoMs(this.cfg, database), this.now());
      this.failing.delete(failKey);
      return { ...base, backups, ...verifications, audit: audit.entries, problems: [...problems, ...audit.problems], ...(walArchive ? { walArchive } : {}) };
    } catch (err) {
      if (!this.failing.has(failKey)) this.failing.set(failKey, readAt);
      return { ...base, error: (err as Error).message, failingSince: this.failing.get(failKey) };
    }
  }

  private async readManifests(storage: Storage, database: string, manifestKeys: string[], problems: string[]): Promise<Manifest[]> {
    const out: Manifest[] = [];
    for (const key of manifestKeys) {
      const id = `${storage.name}:${key}`;
      let m = this.manifests.get(id);
      if (!m) {
        try {
          m = parseManifest(await storage.getBuffer(key), storage.describe(key));
          this.manifests.set(id, m);
        } catch (err) {
          problems.push((err as Error).message);
          continue;
        }
      }
      if (m.database === database) out.push(m);
    }
    return out.sort(compareNewestFirst);
  }

  private async readRecord(storage: Storage, key: string, problems: string[]): Promise<VerificationRecord | undefined> {
    const id = `${storage.name}:${key}`;
    const cached = this.records.get(id);
    if (cached) return cached;
    try {
      const r = await readVerification(storage, key);
      this.records.set(id, r);
      return r;
    } catch (err) {
      problems.push((err as Error).message);
      return undefined;
    }
  }

  /** Newest record overall and newest passed per kind; record names sort by time. */
  private async readVerifications(
    storage: Storage,
    backups: Manifest[],
    recordKeys: string[],
    problems: string[],
  ): Promise<Pick<DatabaseCatalog, 'latestVerification' | 'latestPassed'>> {
    const kindOf = new Map(backups.map((b) => [b.backupId, b.kind] as const));
    const backupOf = (key: string) => key.split('/backups/')[1]!.split('/')[0]!;
    const sorted = [...recordKeys].sort((a, b) => verificationName(b).localeCompare(verificationName(a)));
    const kinded = async (key: string): Promise<KindedVerification | undefined> => {
      const r = await this.readRecord(storage, key, problems);
      return r && { ...r, kind: kindOf.get(backupOf(key)) ?? 'unknown' };
    };
    const latestVerification = sorted[0] ? await kinded(sorted[0]) : undefined;
    const latestPassed: DatabaseCatalog['latestPassed'] = {};
    for (const kind of ['full', 'schema', 'data'] as const) {
      const key = sorted.find((k) => kindOf.get(backupOf(k)) === kind && /-passed-/.test(verificationName(k)));
      const r = key ? await kinded(key) : undefined;
      if (r) latestPassed[kind] = r;
    }
    return { latestVerification, latestPassed };
  }
}
