// Restoring an archive dumped without a provider's managed schemas (the Supabase preset) onto a
// server that lacks them: what references those schemas or the provider's roles is left out with a
// note, and the schemas extensions are installed into are created, so the rest restores cleanly.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { connectPg, type PgConnection } from './connection.js';
import type { TocEntry } from './toc.js';

/** An archive entry that may reference what the target lacks, with its SQL. */
export interface ManagedCandidate {
  entry: TocEntry;
  sql: string;
}

/** What the target has of the objects candidates reference. */
export interface TargetState {
  schemas: Set<string>;
  roles: Set<string>;
  /** `schema.name` of relations in the excluded schemas. */
  relations: Set<string>;
  publications: Set<string>;
}

export interface ManagedAdaptation {
  /** Entry ids left out of the restore. */
  omit: Set<number>;
  /** Excluded schemas to create first (extensions are installed into them). */
  createSchemas: string[];
  notes: string[];
}

const CANDIDATE_DESCS = new Set(['EXTENSION', 'FK CONSTRAINT', 'POLICY', 'EVENT TRIGGER', 'PUBLICATION']);
const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;

function unquote(id: string): string {
  return id.startsWith('"') ? id.slice(1, -1).replace(/""/g, '"') : id;
}

/** Reads the SQL of the entries that may reference managed schemas or roles (`pg_restore --file=-` of those entries). */
export async function readCandidates(toc: TocEntry[], workDir: string, sqlOf: (listFile: string) => Promise<string>): Promise<ManagedCandidate[]> {
  const entries = toc.filter((e) => CANDIDATE_DESCS.has(e.desc));
  if (entries.length === 0) return [];
  const list = path.join(workDir, 'managed.list');
  await writeFile(list, `${entries.map((e) => e.line).join('\n')}\n`, { mode: 0o600 });
  const sql = await sqlOf(list);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const out: ManagedCandidate[] = [];
  const parts = sql.split(/^-- TOC entry (\d+) .*$/m);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const entry = byId.get(Number(parts[i]));
    if (entry) out.push({ entry, sql: parts[i + 1]!.replace(/^--.*$/gm, '').trim() });
  }
  return out;
}

/** Reads which schemas, roles, relations of `excluded` schemas and publications the target has. */
export async function readTargetState(c: pg.Client, excluded: string[]): Promise<TargetState> {
  const col = async (sql: string, params: unknown[] = []) => new Set((await c.query<{ v: string }>(sql, params)).rows.map((r) => r.v));
  return {
    schemas: await col('select nspname as v from pg_namespace'),
    roles: await col('select rolname as v from pg_roles'),
    relations: await col(`select n.nspname || '.' || c.relname as v from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = any($1)`, [
      excluded,
    ]),
    publications: await col('select pubname as v from pg_publication'),
  };
}

/** Excluded schemas the SQL names (`auth.uid()`, `"storage".objects`) that the target does not have. */
function missingSchemaRefs(sql: string, excluded: string[], state: TargetState): string[] {
  return excluded.filter((s) => !state.schemas.has(s) && new RegExp(`(^|[^\\w$".])("${s}"|${s})\\.`).test(sql));
}

function policyRoles(sql: string): string[] {
  const m = new RegExp(String.raw`\sTO\s+(${IDENT}(?:\s*,\s*${IDENT})*)`).exec(sql);
  return m ? m[1]!.split(/\s*,\s*/).map(unquote) : [];
}

interface Omission {
  kind: string;
  what: string;
  why: string;
}

function decide(c: ManagedCandidate, excluded: string[], state: TargetState, createSchemas: Set<string>): Omission | undefined {
  const { entry, sql } = c;
  switch (entry.desc) {
    case 'EXTENSION': {
      const m = new RegExp(String.raw`WITH SCHEMA (${IDENT})`).exec(sql);
      const schema = m ? unquote(m[1]!) : undefined;
      if (schema && excluded.includes(schema) && !state.schemas.has(schema)) createSchemas.add(schema);
      return undefined;
    }
    case 'FK CONSTRAINT': {
      const m = new RegExp(String.raw`REFERENCES (${IDENT})\.(${IDENT})\(`).exec(sql);
      if (!m) return undefined;
      const ref = `${unquote(m[1]!)}.${unquote(m[2]!)}`;
      if (!excluded.includes(unquote(m[1]!)) || state.relations.has(ref)) return undefined;
      return { kind: 'foreign keys', what: entry.rest.replace(/ \S+$/, ''), why: `references ${ref}` };
    }
    case 'POLICY': {
      const roles = policyRoles(sql).filter((r) => r !== 'public' && !state.roles.has(r));
      const schemas = missingSchemaRefs(sql, excluded, state);
      if (roles.length === 0 && schemas.length === 0) return undefined;
      const why = [roles.length ? `role ${roles.join(', ')} missing` : '', schemas.length ? `uses schema ${schemas.join(', ')}` : ''].filter(Boolean);
      return { kind: 'row level security policies', what: entry.rest.replace(/ \S+$/, ''), why: why.join(', ') };
    }
    case 'EVENT TRIGGER': {
      const schemas = missingSchemaRefs(sql.replace(/^[\s\S]*EXECUTE (FUNCTION|PROCEDURE)/, ''), excluded, state);
      return schemas.length
        ? { kind: 'event triggers', what: entry.rest.replace(/^- /, '').replace(/ \S+$/, ''), why: `runs a function of ${schemas.join(', ')}` }
        : undefined;
    }
    case 'PUBLICATION': {
      const name = entry.rest.replace(/^- /, '').replace(/ \S+$/, '');
      return state.publications.has(name) ? { kind: 'publications', what: name, why: 'exists on the target' } : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Decides, for a target in `state`, which candidates to leave out and which excluded schemas to
 * create. Left out: foreign keys to tables of excluded schemas the target lacks, policies for
 * roles it lacks or calling functions of excluded schemas it lacks (the table stays under row
 * level security: stricter, never looser), event triggers running functions of such schemas,
 * publications it already has. Each kind gets one note naming what was left out and why.
 */
export function adaptToTarget(candidates: ManagedCandidate[], excluded: string[], state: TargetState, provider: string): ManagedAdaptation {
  const omit = new Set<number>();
  const createSchemas = new Set<string>();
  const byKind = new Map<string, string[]>();
  for (const c of candidates) {
    const o = decide(c, excluded, state, createSchemas);
    if (!o) continue;
    omit.add(c.entry.id);
    byKind.set(o.kind, [...(byKind.get(o.kind) ?? []), `${o.what} (${o.why})`]);
  }
  const notes = [...byKind].map(
    ([kind, items]) => `left out ${items.length} ${kind} the ${provider} preset cannot restore on this server: ${items.join('; ')}`,
  );
  if (createSchemas.size) notes.push(`created schema ${[...createSchemas].join(', ')} for the extensions the backup installs into it`);
  return { omit, createSchemas: [...createSchemas], notes };
}

/** Reads the target's state, creates the schemas extensions need there and returns what to leave out. */
export async function adaptTarget(
  conn: PgConnection,
  candidates: ManagedCandidate[],
  excluded: string[],
  provider: string,
  label: string,
): Promise<ManagedAdaptation> {
  const c = await connectPg(conn, label);
  try {
    const adaptation = adaptToTarget(candidates, excluded, await readTargetState(c, excluded), provider);
    for (const s of adaptation.createSchemas) await c.query(`create schema if not exists "${s.replace(/"/g, '""')}"`);
    return adaptation;
  } finally {
    await c.end().catch(() => undefined);
  }
}
