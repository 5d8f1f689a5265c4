import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Two rules of the code's shape, checked over src/, activities/, workflows/ and dev/:
// no import cycles, and no workflow, update, query or signal named by a string literal outside
// src/contracts (where each is defined once, with its types).

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ROOTS = ['src', 'activities', 'workflows', 'dev'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const files = ROOTS.flatMap((r) => tsFiles(path.join(repoRoot, r)));
const rel = (p: string) => path.relative(repoRoot, p);

// ---------------------------------------------------------------------------- import cycles --

const IMPORT_RE = /^\s*(?:import|export)\s[^'"]*?\sfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm;

/** Relative imports of each file (type-only ones too: a cycle of types is still a tangle). */
function importGraph(sources: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const deps = [...text.matchAll(IMPORT_RE)].map((m) => path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    graph.set(
      file,
      deps.filter((d) => sources.has(d)),
    );
  }
  return graph;
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const stack: string[] = [];
  const onStack = new Set<string>();
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) !== idx.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

test('the cycle finder finds a cycle through three files, and none in a chain', () => {
  const src = (deps: string[]) => deps.map((d) => `import { x } from './${d}.js';`).join('\n');
  const at = (n: string) => path.join(repoRoot, 'virtual', `${n}.ts`);
  const ring = new Map([
    [at('a'), src(['b'])],
    [at('b'), `import type {\n  Y,\n} from './c.js';`],
    [at('c'), src(['a'])],
    [at('d'), src(['a'])],
  ]);
  expect(cycles(importGraph(ring))).toEqual([[at('a'), at('b'), at('c')]]);
  const chain = new Map([
    [at('a'), src(['b'])],
    [at('b'), src(['c'])],
    [at('c'), ''],
  ]);
  expect(cycles(importGraph(chain))).toEqual([]);
});

test('no import cycles in src/, activities/, workflows/ and dev/', () => {
  const sources = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
  expect(cycles(importGraph(sources)).map((c) => c.map(rel))).toEqual([]);
});

// ------------------------------------------------------------------- typed references only --

/** Names defined in src/contracts with defineQuery/defineUpdate/defineSignal. */
function definedNames(): Set<string> {
  const names = new Set<string>();
  for (const f of tsFiles(path.join(repoRoot, 'src', 'contracts'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/define(?:Query|Update|Signal)\s*(?:<[^()]*?>)?\(\s*['"]([^'"]+)['"]/g)) names.add(m[1]!);
  }
  return names;
}

const GENERIC = String.raw`\s*(?:<[^()]*?>)?\(\s*`;
/** Calls whose first argument names a workflow, child workflow, update or signal. */
const NAMING_CALL = new RegExp(
  String.raw`(?:\.(?:start|execute|signalWithStart|startUpdate|executeUpdate|executeUpdateWithStart|signal)|\b(?:startChild|executeChild|setHandler|startWorkflow|startAndFollow))${GENERIC}(['"\x60])`,
  'g',
);
/** `.query('…')` is also how SQL is sent: only a defined query name (or Temporal's own) counts. */
const QUERY_CALL = new RegExp(String.raw`\.query${GENERIC}(['"\x60])([^'"\x60]*)\1`, 'g');
/** Visibility queries and schedule actions that spell a workflow type out. */
const TYPE_FIELD = /\b(?:WorkflowType\s*=\s*['"]|workflowType\s*:\s*['"`])(?!\$\{)/g;

/** `file:line: text` of every string-literal reference in `text`. */
function literalReferences(file: string, text: string, queries: Set<string>): string[] {
  const code = text.replace(/^[ \t]*(\/\/|\/?\*).*$/gm, ''); // comment lines keep their newline
  const hits: number[] = [...code.matchAll(NAMING_CALL), ...code.matchAll(TYPE_FIELD)].map((m) => m.index!);
  for (const m of code.matchAll(QUERY_CALL)) if (queries.has(m[2]!) || m[2]!.startsWith('__temporal')) hits.push(m.index!);
  return hits
    .sort((a, b) => a - b)
    .map((at) => {
      const line = code.slice(0, at).split('\n').length;
      return `${rel(file)}:${line}: ${text.split('\n')[line - 1]!.trim().slice(0, 120)}`;
    });
}

test('the reference scan flags each kind of string-literal reference, and not SQL or typed references', () => {
  const queries = new Set(['progress']);
  const bad = [
    `await client.workflow.start('backupDatabase', { taskQueue });`,
    `await client.workflow\n  .execute("copyBackup", opts);`,
    `await handle.executeUpdate('approve', { args });`,
    `await handle.signal(\`abort\`, {});`,
    `const s = await handle.query<{ phase: string }>('progress');`,
    `await startChild<WorkflowTypes['restoreDatabase']>('restoreDatabase', {});`,
    `setHandler('approve', () => 1);`,
    `for await (const w of client.workflow.list({ query: \`WorkflowType = 'purgeBackups'\` }));`,
    `const action = { type: 'startWorkflow', workflowType: 'verifyBackup' };`,
  ];
  bad.forEach((snippet, i) => expect([i, literalReferences(`snippet-${i}.ts`, snippet, queries)]).toEqual([i, [expect.stringContaining(`snippet-${i}.ts:`)]]));
  const fine = [
    `await client.workflow.start<WorkflowTypes['backupDatabase']>(WORKFLOWS.backupDatabase, { taskQueue });`,
    `await handle.executeUpdate(approveRestoreUpdate, { args });`,
    `await admin.query('begin isolation level repeatable read read only');`,
    `await c.query(\`create database \${name}\`);`,
    `// an example in a comment: handle.query('progress')`,
    `query: \`WorkflowType = '\${WORKFLOWS.purgeBackups}'\``,
  ];
  for (const snippet of fine) expect(literalReferences('fine.ts', snippet, queries)).toEqual([]);
});

test('no workflow, child workflow, update, query or signal is named by a string literal outside src/contracts', () => {
  const queries = definedNames();
  expect([...queries].sort()).toEqual(expect.arrayContaining(['abort', 'approve', 'progress', 'reject']));
  const contracts = path.join(repoRoot, 'src', 'contracts') + path.sep;
  const found = files.filter((f) => !f.startsWith(contracts)).flatMap((f) => literalReferences(f, readFileSync(f, 'utf8'), queries));
  expect(found).toEqual([]);
});
