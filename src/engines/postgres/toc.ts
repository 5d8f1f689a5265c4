import { LifeboatError } from '../../errors.js';

/** One entry of `pg_restore --list --verbose` output. */
export interface TocEntry {
  id: number;
  /** `TABLE`, `TABLE DATA`, `FK CONSTRAINT`, ... */
  desc: string;
  /** `<schema> <name> <owner>` as pg_restore prints them (unquoted, so possibly ambiguous). */
  rest: string;
  deps: number[];
  line: string;
}

// Longest first, so `TABLE DATA` wins over `TABLE`.
const DESCS = [
  'MATERIALIZED VIEW DATA',
  'PUBLICATION TABLES IN SCHEMA',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'FOREIGN DATA WRAPPER',
  'TEXT SEARCH TEMPLATE',
  'TEXT SEARCH PARSER',
  'PUBLICATION TABLE',
  'SEQUENCE OWNED BY',
  'MATERIALIZED VIEW',
  'PROCEDURAL LANGUAGE',
  'CHECK CONSTRAINT',
  'OPERATOR FAMILY',
  'OPERATOR CLASS',
  'FOREIGN SERVER',
  'SECURITY LABEL',
  'FOREIGN TABLE',
  'EVENT TRIGGER',
  'FK CONSTRAINT',
  'INDEX ATTACH',
  'TABLE ATTACH',
  'SEQUENCE SET',
  'USER MAPPING',
  'ROW SECURITY',
  'BLOB METADATA',
  'DEFAULT ACL',
  'TABLE DATA',
  'LARGE OBJECT',
];

/** Parses `pg_restore -l -v` output: entries with their dependencies (`;\tdepends on: 1 2`). */
export function parseToc(text: string): TocEntry[] {
  const out: TocEntry[] = [];
  for (const line of text.split('\n')) {
    const dep = /^;\s*depends on:\s*([\d\s]+)$/.exec(line);
    if (dep && out.length > 0) {
      out[out.length - 1]!.deps.push(...dep[1]!.trim().split(/\s+/).map(Number));
      continue;
    }
    const m = /^(\d+); \d+ \d+ (.*)$/.exec(line);
    if (!m) continue;
    const body = m[2]!;
    const desc = DESCS.find((d) => body.startsWith(`${d} `)) ?? body.split(' ')[0]!;
    out.push({ id: Number(m[1]), desc, rest: body.slice(desc.length + 1), deps: [], line });
  }
  return out;
}

/** `public.users` -> candidate (schema, name) pairs; a name without a schema means `public`. */
function splits(spec: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = spec.indexOf('.'); i > 0; i = spec.indexOf('.', i + 1)) out.push([spec.slice(0, i), spec.slice(i + 1)]);
  if (!spec.includes('.')) out.push(['public', spec]);
  return out;
}

function entryNames(e: TocEntry, schema: string, name: string): boolean {
  const head = `${schema} ${name}`;
  if (e.rest === head || e.rest === `${head} `) return true;
  return e.rest.startsWith(`${head} `) && !e.rest.slice(head.length + 1).includes(' ');
}

/** Entries that belong to a restored table (its data, indexes, constraints, triggers, partitions). */
const DEPENDENT_DESCS = new Set([
  'TABLE',
  'TABLE DATA',
  'TABLE ATTACH',
  'INDEX',
  'INDEX ATTACH',
  'CONSTRAINT',
  'CHECK CONSTRAINT',
  'FK CONSTRAINT',
  'TRIGGER',
  'DEFAULT',
  'SEQUENCE',
  'SEQUENCE OWNED BY',
  'SEQUENCE SET',
  'COMMENT',
  'ACL',
  'POLICY',
  'ROW SECURITY',
  'RULE',
  'STATISTICS',
  'SECURITY LABEL',
]);
const RELATION_DESCS = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'FOREIGN TABLE', 'TABLE DATA', 'MATERIALIZED VIEW DATA']);

export interface TableSelection {
  /** The selected entries, in archive order: write their lines to a `pg_restore -L` list. */
  entries: TocEntry[];
  /** The requested tables as `schema.name`. */
  tables: Array<{ schema: string; name: string }>;
}

/**
 * Selects what restoring `tables` needs from an archive's table of contents: each table with its
 * data, indexes, constraints, triggers, defaults, sequences and partitions, plus (with
 * `definitions`, for a new database) the objects they depend on: schemas, types, functions, a
 * parent table. Without `definitions` (an existing database) those must exist in the target.
 * Foreign keys to tables not restored are left out.
 */
export function selectTables(toc: TocEntry[], specs: string[], database: string, definitions = true): TableSelection {
  const byId = new Map(toc.map((e) => [e.id, e]));
  const core = new Set<number>();
  const tables: Array<{ schema: string; name: string }> = [];
  const missing: string[] = [];
  for (const spec of specs) {
    const matches = splits(spec).flatMap(([schema, name]) =>
      toc.filter((e) => e.desc === 'TABLE' && entryNames(e, schema, name)).map((e) => ({ e, schema, name })),
    );
    if (matches.length === 0) missing.push(spec);
    else if (matches.length > 1) {
      throw new LifeboatError('INVALID_INPUT', `Restore of ${database} refused: table "${spec}" is ambiguous in the backup`, { subject: database });
    } else {
      core.add(matches[0]!.e.id);
      tables.push({ schema: matches[0]!.schema, name: matches[0]!.name });
    }
  }
  if (missing.length) {
    throw new LifeboatError('INVALID_INPUT', `Restore of ${database} refused: not in the backup: ${missing.join(', ')} (name tables as schema.table)`, {
      subject: database,
    });
  }

  const included = new Set<number>();
  const ancestors = (id: number, acc = new Set<number>()): Set<number> => {
    for (const d of byId.get(id)?.deps ?? []) {
      if (!byId.has(d) || acc.has(d)) continue;
      acc.add(d);
      ancestors(d, acc);
    }
    return acc;
  };
  // Definitions the tables need (schema, types, functions, a parent table), never other tables' data.
  const needed = new Set<number>();
  const include = (id: number) => {
    included.add(id);
    for (const a of ancestors(id)) {
      if (byId.get(a)!.desc === 'TABLE DATA') continue;
      if (definitions) included.add(a);
      else needed.add(a);
    }
  };
  for (const id of core) include(id);

  // Pull in dependents until nothing changes: partitions (and their own dependents), then the rest.
  for (let changed = true; changed;) {
    changed = false;
    for (const e of toc) {
      if (included.has(e.id) || !DEPENDENT_DESCS.has(e.desc)) continue;
      const deps = e.deps.filter((d) => byId.has(d));
      const touchesCore = deps.some((d) => core.has(d));
      const setOfIncludedSequence =
        (e.desc === 'SEQUENCE SET' || e.desc === 'SEQUENCE OWNED BY') && deps.some((d) => included.has(d) && byId.get(d)!.desc === 'SEQUENCE');
      if (!touchesCore && !setOfIncludedSequence) continue;
      // Leave out anything that needs another relation not being restored (a foreign key, a view).
      const foreign = [...ancestors(e.id)].some((a) => RELATION_DESCS.has(byId.get(a)!.desc) && !included.has(a) && !core.has(a) && !needed.has(a));
      if (foreign) continue;
      if (e.desc === 'TABLE') core.add(e.id);
      include(e.id);
      changed = true;
    }
  }
  return { entries: toc.filter((e) => included.has(e.id)), tables };
}
