/**
 * Reads libvirt's public C headers for what the `.x` files and users need from them: `#define` constants
 * (VIR_UUID_BUFLEN, VIR_SECURITY_*_BUFLEN, VIR_TYPED_PARAM_FIELD_LENGTH, typed-parameter field names) and every
 * `typedef enum { ... } name;` with C's rules (implicit values count up from the previous member).
 * Members inside `#ifdef VIR_ENUM_SENTINELS` (the `_LAST` markers) are left out, as a C user would see them
 * without that macro.
 */

/** One enum from a header, in declaration order. */
export interface HeaderEnum {
  name: string;
  header: string;
  members: { name: string; value: number }[];
}

/** A `#define` with a constant value. */
export interface HeaderDefine {
  name: string;
  header: string;
  value: number | string;
}

export interface HeaderConstants {
  enums: HeaderEnum[];
  defines: HeaderDefine[];
  /** Every known numeric constant by name (enum members and numeric defines). */
  values: Map<string, number>;
}

/** Removes C comments, keeping line structure so `#` directives stay on their own lines. */
function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
}

/** Drops `#ifdef VIR_ENUM_SENTINELS ... #endif` blocks (nesting-aware). */
function dropSentinels(src: string): string {
  const lines = src.split('\n');
  const out: string[] = [];
  let skipDepth = 0;
  let depth = 0;
  for (const line of lines) {
    const d = /^\s*#\s*(\w+)\s*(.*)$/.exec(line);
    if (d) {
      const [, dir, rest] = d;
      if (dir === 'if' || dir === 'ifdef' || dir === 'ifndef') {
        depth++;
        if (skipDepth === 0 && dir === 'ifdef' && rest.trim() === 'VIR_ENUM_SENTINELS') skipDepth = depth;
        out.push('');
        continue;
      }
      if (dir === 'endif') {
        if (skipDepth === depth) skipDepth = 0;
        depth--;
        out.push('');
        continue;
      }
    }
    out.push(skipDepth ? '' : line);
  }
  return out.join('\n');
}

/** Evaluates a C integer constant expression; returns null when it is not one (a string, a call, ...). */
export function evalCExpr(expr: string, lookup: (name: string) => number | undefined): number | null {
  const toks = expr.match(/0[xX][0-9A-Fa-f]+[uUlL]*|[0-9]+[uUlL]*|[A-Za-z_][A-Za-z0-9_]*|<<|>>|[-+*/%|&^~!()]/g);
  if (!toks || toks.join('') !== expr.replace(/\s+/g, '')) return null;
  let i = 0;
  const prec: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };
  const primary = (): bigint | null => {
    const t = toks[i++];
    if (t === undefined) return null;
    if (t === '(') {
      const v = binary(0);
      if (toks[i++] !== ')') return null;
      return v;
    }
    if (t === '-' || t === '~' || t === '!' || t === '+') {
      const v = primary();
      if (v === null) return null;
      return t === '-' ? -v : t === '~' ? ~v : t === '!' ? (v === 0n ? 1n : 0n) : v;
    }
    if (/^[0-9]/.test(t)) {
      const digits = t.replace(/[uUlL]+$/, '');
      if (/^0[xX]/.test(digits)) return BigInt(digits);
      if (/^0[0-7]+$/.test(digits)) return BigInt('0o' + digits.slice(1));
      return BigInt(digits);
    }
    if (/^[A-Za-z_]/.test(t)) {
      const v = lookup(t);
      return v === undefined ? null : BigInt(v);
    }
    return null;
  };
  const binary = (minPrec: number): bigint | null => {
    let lhs = primary();
    while (lhs !== null && i < toks.length && prec[toks[i]] !== undefined && prec[toks[i]] > minPrec) {
      const op = toks[i++];
      const rhs = binary(prec[op]);
      if (rhs === null) return null;
      switch (op) {
        case '|': lhs = lhs | rhs; break;
        case '^': lhs = lhs ^ rhs; break;
        case '&': lhs = lhs & rhs; break;
        case '<<': lhs = lhs << rhs; break;
        case '>>': lhs = lhs >> rhs; break;
        case '+': lhs = lhs + rhs; break;
        case '-': lhs = lhs - rhs; break;
        case '*': lhs = lhs * rhs; break;
        case '/': if (rhs === 0n) return null; lhs = lhs / rhs; break;
        case '%': if (rhs === 0n) return null; lhs = lhs % rhs; break;
      }
    }
    return lhs;
  };
  const v = binary(0);
  if (v === null || i !== toks.length) return null;
  return Number(v);
}

/** Parses headers in the order given; later headers may use constants of earlier ones and of their own. */
export function parseHeaders(files: { name: string; text: string }[]): HeaderConstants {
  const enums: HeaderEnum[] = [];
  const defines: HeaderDefine[] = [];
  const values = new Map<string, number>();
  const pendingDefines: { name: string; header: string; expr: string }[] = [];
  const lookup = (n: string): number | undefined => values.get(n);

  for (const { name: header, text } of files) {
    const src = dropSentinels(stripComments(text));
    // Object-like #defines (function-like macros have '(' right after the name and are skipped).
    for (const m of src.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_(])[ \t]*(.*)$/gm)) {
      const [, name, body] = m;
      const expr = body.trim();
      if (!/^VIR_|^LIBVIR_/.test(name) || expr === '') continue;
      const str = /^"((?:[^"\\]|\\.)*)"$/.exec(expr);
      if (str) defines.push({ name, header, value: str[1].replace(/\\(.)/g, '$1') });
      else pendingDefines.push({ name, header, expr });
    }
    for (const m of src.matchAll(/typedef\s+enum\s*(?:[A-Za-z_]\w*)?\s*\{([^}]*)\}\s*([A-Za-z_]\w*)\s*;/g)) {
      const [, body, enumName] = m;
      const members: { name: string; value: number }[] = [];
      let next = 0;
      for (const raw of body.split(',')) {
        const item = raw.trim();
        if (!item) continue;
        const em = /^([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+))?$/.exec(item);
        if (!em) throw new Error(`${header}: cannot read enum member '${item}' of ${enumName}`);
        const [, mname, expr] = em;
        let value = next;
        if (expr !== undefined) {
          const v = evalCExpr(expr.trim(), lookup);
          if (v === null) throw new Error(`${header}: cannot evaluate ${mname} = ${expr.trim()}`);
          value = v;
        }
        members.push({ name: mname, value });
        values.set(mname, value);
        next = value + 1;
      }
      enums.push({ name: enumName, header, members });
    }
  }
  // Defines may refer to enum members or to later defines: resolve until nothing changes.
  let progress = true;
  while (progress) {
    progress = false;
    for (let k = 0; k < pendingDefines.length; k++) {
      const d = pendingDefines[k];
      const v = evalCExpr(d.expr, lookup);
      if (v === null) continue;
      values.set(d.name, v);
      defines.push({ name: d.name, header: d.header, value: v });
      pendingDefines.splice(k--, 1);
      progress = true;
    }
  }
  // Keep header order stable regardless of resolution order.
  const order = new Map(files.map((f, i) => [f.name, i]));
  defines.sort((a, b) => (order.get(a.header)! - order.get(b.header)!) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { enums, defines, values };
}
