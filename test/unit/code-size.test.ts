import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

// The size rules of src/, workflows/ and activities/: no file over 350 lines, no function over 80.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const MAX_FILE_LINES = 350;
const MAX_FUNCTION_LINES = 80;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every function-like node longer than `max` lines, as `file:line name (N lines)`. */
export function longFunctions(file: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        const name =
          (node as ts.FunctionDeclaration).name?.getText(source) ??
          (ts.isVariableDeclaration(node.parent)
            ? node.parent.name.getText(source)
            : ts.isPropertyAssignment(node.parent)
              ? node.parent.name.getText(source)
              : '<anonymous>');
        out.push(`${path.relative(repoRoot, file)}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const files = ['src', 'workflows', 'activities'].flatMap((d) => tsFiles(path.join(repoRoot, d)));

test(`no file in src/, workflows/, activities/ is over ${MAX_FILE_LINES} lines`, () => {
  const long = files.map((f) => [path.relative(repoRoot, f), readFileSync(f, 'utf8').split('\n').length] as const).filter(([, n]) => n > MAX_FILE_LINES);
  expect(long).toEqual([]);
});

test(`no function in src/, workflows/, activities/ is over ${MAX_FUNCTION_LINES} lines`, () => {
  expect(files.flatMap((f) => longFunctions(f, readFileSync(f, 'utf8'), MAX_FUNCTION_LINES))).toEqual([]);
});

test('the function-size check finds a long function (it can fail)', () => {
  const body = Array.from({ length: 90 }, (_, i) => `  const v${i} = ${i};`).join('\n');
  expect(longFunctions('/x/sample.ts', `export function big() {\n${body}\n}\nconst small = () => 1;\n`, MAX_FUNCTION_LINES)).toEqual([
    '../../x/sample.ts:1 big (92 lines)'.replace('../../x', path.relative(repoRoot, '/x')),
  ]);
});
