import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { LifeboatError } from '../errors.js';
import { ConfigSchema, type DatabaseConfig, type LifeboatConfig, type StorageConfig } from './schema.js';

/** Thrown when a configuration cannot be used; `problems` lists every problem as `path: message`. */
export class ConfigError extends LifeboatError {
  constructor(
    public readonly source: string,
    public readonly problems: string[],
  ) {
    super('CONFIG_INVALID', `Invalid configuration ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, {
      subject: source,
    });
    this.name = 'ConfigError';
  }
}

/** Formats zod issues as `a.b.c: message`, one per problem, in document order. */
export function formatIssues(issues: z.core.$ZodIssue[]): string[] {
  const out: string[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.message.startsWith('Invalid input')) {
      // Report the branch that got furthest, prefixed with the union's path.
      const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
      for (const sub of formatIssues(best)) out.push(prefixPath(issue.path, sub));
      continue;
    }
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      out.push(`${issue.path.map(String).join('.')}: ${issue.issues[0]!.message}`);
      continue;
    }
    const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
    out.push(`${where}: ${issue.message}`);
  }
  return out;
}

function depth(errs: z.core.$ZodIssue[]): number {
  return Math.max(0, ...errs.map((e) => e.path.length));
}

function prefixPath(prefix: PropertyKey[], formatted: string): string {
  if (prefix.length === 0) return formatted;
  const p = prefix.map(String).join('.');
  return formatted.startsWith('(top level)') ? formatted.replace('(top level)', p) : `${p}.${formatted}`;
}

/** Validates an already-parsed configuration object. */
export function parseConfig(raw: unknown, source = '<inline>'): LifeboatConfig {
  const result = ConfigSchema.safeParse(raw ?? {});
  if (!result.success) throw new ConfigError(source, formatIssues(result.error.issues));
  const cfg: LifeboatConfig = { ...result.data, sourcePath: source === '<inline>' ? undefined : source };
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : process.cwd();
  for (const s of Object.values(cfg.storage)) {
    if (s.type === 'filesystem') s.path = path.resolve(base, s.path);
  }
  return cfg;
}

/** Finds the config path: explicit flag, `LIFEBOAT_CONFIG`, then `./lifeboat.yaml`. */
export function configPath(explicit?: string): string {
  return path.resolve(explicit ?? process.env.LIFEBOAT_CONFIG ?? 'lifeboat.yaml');
}

/** Reads and validates a YAML configuration file. Every problem is reported, by path. */
export function loadConfig(file?: string): LifeboatConfig {
  const source = configPath(file);
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found (use --config FILE or LIFEBOAT_CONFIG)' : (err as Error).message;
    throw new ConfigError(source, [`(file): ${why}`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `(yaml) line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // e.g. an alias to an anchor that does not exist, or an alias bomb
    throw new ConfigError(source, [`(yaml): ${(err as Error).message.split('\n')[0]}`]);
  }
  return parseConfig(raw, source);
}

export function getDatabase(cfg: LifeboatConfig, name: string): DatabaseConfig {
  const db = cfg.databases[name];
  if (!db) {
    const known = Object.keys(cfg.databases);
    throw new LifeboatError('UNKNOWN_DATABASE', `Unknown database "${name}": not in the configuration (configured: ${known.join(', ') || 'none'})`, {
      subject: name,
    });
  }
  return db;
}

/** The storage targets of a database, in order; the first is where backups are written. */
export function databaseStorageNames(cfg: LifeboatConfig, name: string): string[] {
  const db = getDatabase(cfg, name);
  return db.storage ?? Object.keys(cfg.storage).slice(0, 1);
}

export function getStorage(cfg: LifeboatConfig, name: string): StorageConfig {
  const s = cfg.storage[name];
  if (!s) throw new LifeboatError('UNKNOWN_STORAGE', `Unknown storage target "${name}"`, { subject: name });
  return s;
}
