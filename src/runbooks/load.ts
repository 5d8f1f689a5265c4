import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { LifeboatConfig } from '../config/schema.js';
import { formatIssues } from '../config/load.js';
import { LifeboatError } from '../errors.js';
import { fourEyesFor } from '../restore/target.js';
import { RunbookFileSchema, type LoadedRunbook, type RunbookDefinition } from '../contracts/runbook.js';

/** The runbooks shipped with Lifeboat (`runbooks/` at the package root). */
export function shippedRunbooksDir(): string {
  for (const rel of ['../../runbooks', '../../../runbooks']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(dir)) return dir;
  }
  return fileURLToPath(new URL('../../runbooks', import.meta.url));
}

function yamlFiles(p: string): string[] {
  if (!existsSync(p)) return [];
  if (statSync(p).isDirectory()) {
    return readdirSync(p)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()
      .map((f) => path.join(p, f));
  }
  return [p];
}

/** Reads and validates one runbook file; problems are listed by path. */
export function readRunbookFile(file: string): RunbookDefinition {
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length) {
    throw new LifeboatError('CONFIG_INVALID', `Invalid runbook ${file}: ${doc.errors[0]!.message.split('\n')[0]}`, { subject: file });
  }
  const parsed = RunbookFileSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new LifeboatError(
      'CONFIG_INVALID',
      `Invalid runbook ${file}:\n${formatIssues(parsed.error.issues)
        .map((p) => `  - ${p}`)
        .join('\n')}`,
      { subject: file },
    );
  }
  return parsed.data;
}

/** All runbooks by name: shipped ones first, then the configured paths (which may override them). */
export function listRunbooks(cfg: LifeboatConfig): Map<string, { file: string; definition: RunbookDefinition }> {
  const base = cfg.sourcePath ? path.dirname(cfg.sourcePath) : process.cwd();
  const paths = [shippedRunbooksDir(), ...(cfg.runbooks?.paths ?? []).map((p) => path.resolve(base, p))];
  const out = new Map<string, { file: string; definition: RunbookDefinition }>();
  for (const p of paths) {
    for (const file of yamlFiles(p)) {
      const definition = readRunbookFile(file);
      out.set(definition.name, { file, definition });
    }
  }
  return out;
}

/**
 * Loads a runbook and resolves its parameters: given values are checked against their declared
 * types, defaults fill the rest, unknown or missing required parameters are refused.
 */
export function loadRunbook(cfg: LifeboatConfig, name: string, given: Record<string, string | number | boolean>): LoadedRunbook {
  const all = listRunbooks(cfg);
  const entry = all.get(name);
  if (!entry) {
    throw new LifeboatError('UNKNOWN_RUNBOOK', `Unknown runbook "${name}" (available: ${[...all.keys()].join(', ') || 'none'})`, { subject: name });
  }
  const def = entry.definition;
  const params: Record<string, string | number | boolean> = {};
  const problems: string[] = [];
  for (const key of Object.keys(given))
    if (!def.params[key]) problems.push(`params.${key}: not a parameter of ${name} (parameters: ${Object.keys(def.params).join(', ') || 'none'})`);
  for (const [key, spec] of Object.entries(def.params)) {
    let v: string | number | boolean | undefined = given[key];
    if (v === undefined) v = spec.default;
    if (v === undefined) {
      if (spec.required) problems.push(`params.${key}: required${spec.description ? ` (${spec.description})` : ''}`);
      continue;
    }
    if (spec.type === 'number' && typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) v = Number(v);
    if (spec.type === 'boolean' && typeof v === 'string' && (v === 'true' || v === 'false')) v = v === 'true';
    if (typeof v !== spec.type) {
      problems.push(`params.${key}: expected a ${spec.type}`);
      continue;
    }
    params[key] = v;
  }
  if (problems.length) throw new LifeboatError('INVALID_INPUT', `Invalid parameters for runbook ${name}: ${problems.join('; ')}`, { subject: name });
  const targets = { ...(cfg.runbooks?.targets ?? {}), ...def.targets };
  const db = params.database;
  const fourEyes = typeof db === 'string' && cfg.databases[db] ? fourEyesFor(cfg, db) : false;
  return { definition: { ...def, targets }, params, roles: cfg.runbooks?.roles ?? {}, fourEyes };
}
