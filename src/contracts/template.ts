// Deterministic `${{ ... }}` templates for runbooks. Pure: no I/O, no clocks, no randomness.

export interface TemplateScope {
  params: Record<string, unknown>;
  steps: Record<string, { output?: unknown; state?: string }>;
  drill: boolean;
  run: { workflowId: string; id: string };
}

type Token = { t: 'num' | 'str' | 'id' | 'op'; v: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i))!;
      out.push({ t: 'num', v: m[0] });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated string in "${src}"`);
      out.push({ t: 'str', v: src.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*/.exec(src.slice(i))!;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (['==', '!=', '&&', '||', '>=', '<='].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('!()<>+'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else {
        throw new Error(`unexpected "${c}" in "${src}"`);
      }
    }
  }
  return out;
}

function lookup(path: string, scope: TemplateScope): unknown {
  if (path === 'true') return true;
  if (path === 'false') return false;
  if (path === 'null') return null;
  const parts = path.split('.');
  let cur: unknown = scope as unknown;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as Record<string, unknown>))) {
      throw new Error(`unknown value "${path}"`);
    }
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/**
 * Evaluates an expression: paths (`params.database`, `steps.restore.output.target`, `drill`),
 * string/number literals, `! == != < > <= >= && || +` and parentheses.
 */
export function evaluate(expr: string, scope: TemplateScope): unknown {
  const tokens = tokenize(expr);
  let pos = 0;
  const peek = () => tokens[pos];
  const take = () => tokens[pos++];
  const isOp = (v: string) => peek()?.t === 'op' && peek()!.v === v;

  function primary(): unknown {
    const tok = take();
    if (!tok) throw new Error(`unexpected end of "${expr}"`);
    if (tok.t === 'num') return Number(tok.v);
    if (tok.t === 'str') return tok.v;
    if (tok.t === 'id') return lookup(tok.v, scope);
    if (tok.v === '(') {
      const v = or();
      if (!isOp(')')) throw new Error(`missing ")" in "${expr}"`);
      take();
      return v;
    }
    if (tok.v === '!') return !primary();
    throw new Error(`unexpected "${tok.v}" in "${expr}"`);
  }
  function sum(): unknown {
    let v = primary();
    while (isOp('+')) {
      take();
      const r = primary();
      v = typeof v === 'number' && typeof r === 'number' ? v + r : `${String(v)}${String(r)}`;
    }
    return v;
  }
  function cmp(): unknown {
    let v = sum();
    for (;;) {
      const op = peek();
      if (op?.t !== 'op' || !['==', '!=', '<', '>', '<=', '>='].includes(op.v)) return v;
      take();
      const r = sum();
      if (op.v === '==') v = v === r;
      else if (op.v === '!=') v = v !== r;
      else if (op.v === '<') v = (v as number) < (r as number);
      else if (op.v === '>') v = (v as number) > (r as number);
      else if (op.v === '<=') v = (v as number) <= (r as number);
      else v = (v as number) >= (r as number);
    }
  }
  function and(): unknown {
    let v = cmp();
    while (isOp('&&')) {
      take();
      const r = cmp();
      v = Boolean(v) && Boolean(r);
    }
    return v;
  }
  function or(): unknown {
    let v = and();
    while (isOp('||')) {
      take();
      const r = and();
      v = Boolean(v) || Boolean(r);
    }
    return v;
  }
  const value = or();
  if (pos !== tokens.length) throw new Error(`unexpected "${tokens[pos]!.v}" in "${expr}"`);
  return value;
}

const WHOLE = /^\$\{\{([^}]*)\}\}$/;
const PART = /\$\{\{([^}]*)\}\}/g;

/** Resolves templates in strings (recursively in arrays and objects). A whole-string template keeps its type. */
export function render(value: unknown, scope: TemplateScope): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) return evaluate(whole[1]!, scope);
    return value.replace(PART, (_m, e: string) => String(evaluate(e, scope)));
  }
  if (Array.isArray(value)) return value.map((v) => render(v, scope));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, render(v, scope)]));
  }
  return value;
}

/** Evaluates a `when` condition: a template (`${{ ... }}`) or a bare expression. */
export function condition(when: string, scope: TemplateScope): boolean {
  const m = WHOLE.exec(when.trim());
  return Boolean(evaluate(m ? m[1]! : when, scope));
}

/** Whether a value (a string, or any string inside an array or object) holds a `${{ ... }}` template. */
export function containsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${{');
  if (Array.isArray(value)) return value.some(containsTemplate);
  if (value && typeof value === 'object') return Object.values(value).some(containsTemplate);
  return false;
}
