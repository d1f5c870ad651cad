/**
 * Lexer and recursive-descent parser for XDR language files (RFC 4506 section 6) as libvirt writes them:
 * `%` passthrough lines, C comments, and `/** ... *\/` annotation blocks before procedure enum members.
 * Anonymous inline `struct`/`union`/`enum` types in declarations are hoisted into named types
 * `<outer>_<field>`, so every type the emitter sees has a name.
 */
import type { Annotations, Declaration, Definition, EnumMember, Primitive, TypeSpec, Value, XFile } from './ast';

type Token =
  | { t: 'id'; v: string; line: number }
  | { t: 'num'; v: number; line: number }
  | { t: 'punct'; v: string; line: number }
  | { t: 'doc'; v: string; line: number }
  | { t: 'eof'; line: number };

/** A syntax error in a `.x` file, with file and line. */
export class XdrSyntaxError extends Error {}

function lex(src: string, file: string, passthrough: string[]): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  let atLineStart = true;
  while (i < n) {
    const c = src[i];
    if (c === '\n') {
      line++;
      i++;
      atLineStart = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') {
      i++;
      continue;
    }
    if (atLineStart && c === '%') {
      // rpcgen passes `%` lines straight to its C output; they carry no XDR meaning.
      const end = src.indexOf('\n', i);
      passthrough.push(src.slice(i + 1, end < 0 ? n : end));
      i = end < 0 ? n : end;
      continue;
    }
    atLineStart = false;
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new XdrSyntaxError(`${file}:${line}: unterminated comment`);
      const body = src.slice(i + 2, end);
      if (body.startsWith('*') && !body.startsWith('**')) out.push({ t: 'doc', v: body.slice(1), line });
      for (const ch of body) if (ch === '\n') line++;
      i = end + 2;
      continue;
    }
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') i++;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_]/.test(src[j])) j++;
      out.push({ t: 'id', v: src.slice(i, j), line });
      i = j;
      continue;
    }
    if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9A-Fa-fxX]/.test(src[j])) j++;
      const text = src.slice(i, j);
      let v: number;
      if (/^0[xX][0-9A-Fa-f]+$/.test(text)) v = parseInt(text.slice(2), 16);
      else if (/^0[0-7]+$/.test(text)) v = parseInt(text.slice(1), 8);
      else if (/^[0-9]+$/.test(text)) v = parseInt(text, 10);
      else throw new XdrSyntaxError(`${file}:${line}: bad number ${text}`);
      out.push({ t: 'num', v, line });
      i = j;
      continue;
    }
    if ('{}()[]<>;,=*:-'.includes(c)) {
      out.push({ t: 'punct', v: c, line });
      i++;
      continue;
    }
    throw new XdrSyntaxError(`${file}:${line}: unexpected character '${c}'`);
  }
  out.push({ t: 'eof', line });
  return out;
}

/** Reads the `@key: value` lines of an annotation comment. */
function parseAnnotations(doc: string): Annotations {
  const a: Annotations = {
    generate: null,
    priority: null,
    acl: [],
    aclFilter: [],
    readStream: null,
    writeStream: null,
    sparseFlag: null,
  };
  for (const raw of doc.split('\n')) {
    const m = /^\s*\*?\s*@([a-z]+)\s*:\s*(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'generate') a.generate = value;
    else if (key === 'priority') a.priority = value;
    else if (key === 'acl') a.acl.push(value);
    else if (key === 'aclfilter') a.aclFilter.push(value);
    else if (key === 'readstream') a.readStream = Number(value);
    else if (key === 'writestream') a.writeStream = Number(value);
    else if (key === 'sparseflag') a.sparseFlag = value;
  }
  return a;
}

class Parser {
  #toks: Token[];
  #i = 0;
  #file: string;
  #defs: Definition[] = [];

  constructor(toks: Token[], file: string) {
    this.#toks = toks;
    this.#file = file;
  }

  #peek(): Token {
    // Annotation comments only matter inside enums; elsewhere they are skipped by #next/#peek.
    while (this.#toks[this.#i].t === 'doc') this.#i++;
    return this.#toks[this.#i];
  }

  #next(): Token {
    const t = this.#peek();
    this.#i++;
    return t;
  }

  #fail(msg: string, tok: Token = this.#peek()): never {
    const what = tok.t === 'eof' ? 'end of file' : `'${(tok as { v: unknown }).v}'`;
    throw new XdrSyntaxError(`${this.#file}:${tok.line}: ${msg} (at ${what})`);
  }

  #punct(v: string): void {
    const t = this.#next();
    if (t.t !== 'punct' || t.v !== v) this.#fail(`expected '${v}'`, t);
  }

  #isPunct(v: string): boolean {
    const t = this.#peek();
    return t.t === 'punct' && t.v === v;
  }

  #ident(): string {
    const t = this.#next();
    if (t.t !== 'id') this.#fail('expected an identifier', t);
    return t.v;
  }

  #isId(v: string): boolean {
    const t = this.#peek();
    return t.t === 'id' && t.v === v;
  }

  #value(): Value {
    let neg = false;
    if (this.#isPunct('-')) {
      this.#next();
      neg = true;
    }
    const t = this.#next();
    if (t.t === 'num') return { kind: 'num', value: neg ? -t.v : t.v };
    if (t.t === 'id' && !neg) return { kind: 'ref', name: t.v };
    this.#fail('expected a constant', t);
  }

  parse(): Definition[] {
    while (this.#peek().t !== 'eof') this.#definition();
    return this.#defs;
  }

  #definition(): void {
    const kw = this.#ident();
    if (kw === 'const') {
      const name = this.#ident();
      this.#punct('=');
      const value = this.#value();
      this.#punct(';');
      this.#defs.push({ kind: 'const', name, value });
    } else if (kw === 'enum') {
      const name = this.#ident();
      this.#defs.push({ kind: 'enum', name, members: this.#enumBody() });
      this.#punct(';');
    } else if (kw === 'struct') {
      const name = this.#ident();
      this.#defs.push({ kind: 'struct', name, fields: this.#structBody(name) });
      this.#punct(';');
    } else if (kw === 'union') {
      const name = this.#ident();
      this.#unionBody(name);
      this.#punct(';');
    } else if (kw === 'typedef') {
      const decl = this.#declaration('');
      if (decl.form === 'void') this.#fail('typedef of void');
      this.#punct(';');
      this.#defs.push({ kind: 'typedef', decl });
    } else {
      this.#fail(`expected a definition, got '${kw}'`);
    }
  }

  #enumBody(): EnumMember[] {
    this.#punct('{');
    const members: EnumMember[] = [];
    for (;;) {
      // Collect an annotation comment directly before this member (the last one wins).
      let doc: string | null = null;
      while (this.#toks[this.#i].t === 'doc') doc = (this.#toks[this.#i++] as { v: string }).v;
      const name = this.#ident();
      this.#punct('=');
      const value = this.#value();
      members.push({ name, value, annotations: doc === null ? null : parseAnnotations(doc) });
      if (this.#isPunct(',')) {
        this.#next();
        continue;
      }
      this.#punct('}');
      return members;
    }
  }

  #structBody(owner: string): Declaration[] {
    this.#punct('{');
    const fields: Declaration[] = [];
    do {
      const d = this.#declaration(owner);
      if (d.form === 'void') this.#fail('void is not a struct member');
      fields.push(d);
      this.#punct(';');
    } while (!this.#isPunct('}'));
    this.#punct('}');
    return fields;
  }

  #unionBody(name: string): void {
    if (this.#ident() !== 'switch') this.#fail("expected 'switch'");
    this.#punct('(');
    const discriminant = this.#declaration(name);
    this.#punct(')');
    this.#punct('{');
    const arms: { cases: Value[]; decl: Declaration }[] = [];
    let defaultArm: Declaration | null = null;
    let hasDefault = false;
    while (!this.#isPunct('}')) {
      if (this.#isId('default')) {
        this.#next();
        this.#punct(':');
        defaultArm = this.#declaration(name);
        hasDefault = true;
        this.#punct(';');
        continue;
      }
      const cases: Value[] = [];
      while (this.#isId('case')) {
        this.#next();
        cases.push(this.#value());
        this.#punct(':');
      }
      if (cases.length === 0) this.#fail("expected 'case' or 'default'");
      const decl = this.#declaration(name);
      this.#punct(';');
      arms.push({ cases, decl });
    }
    this.#punct('}');
    this.#defs.push({ kind: 'union', name, discriminant, arms, defaultArm: hasDefault ? defaultArm ?? { form: 'void' } : null });
  }

  #typeSpec(owner: string, fieldHint: () => string): TypeSpec {
    const t = this.#ident();
    const prim = (p: Primitive): TypeSpec => ({ kind: 'prim', prim: p });
    switch (t) {
      case 'int':
      case 'long': // rpcgen maps `long` to 4 bytes as well
        return prim('int');
      case 'hyper':
        return prim('hyper');
      case 'bool':
        return prim('bool');
      case 'float':
        return prim('float');
      case 'double':
        return prim('double');
      case 'quadruple':
        this.#fail('quadruple is not supported by libvirt or by this generator');
      // falls through (never reached)
      case 'char':
        return prim('char');
      case 'short':
        return prim('short');
      case 'string':
        return { kind: 'string' };
      case 'opaque':
        return { kind: 'opaque' };
      case 'unsigned': {
        const nx = this.#peek();
        if (nx.t === 'id' && ['int', 'long', 'hyper', 'char', 'short'].includes(nx.v)) {
          this.#next();
          return prim(nx.v === 'hyper' ? 'uhyper' : nx.v === 'char' ? 'uchar' : nx.v === 'short' ? 'ushort' : 'uint');
        }
        return prim('uint'); // bare `unsigned` means unsigned int (virnetprotocol.x uses it)
      }
      case 'struct':
      case 'union':
      case 'enum': {
        const nx = this.#peek();
        // `struct foo x;` names a type; `union switch (...)` starts an anonymous one.
        if (nx.t === 'id' && !(t === 'union' && nx.v === 'switch')) return { kind: 'named', name: this.#ident() };
        // An anonymous inline type: hoist it to a named definition.
        const name = `${owner}_${fieldHint()}`;
        if (t === 'struct') this.#defs.push({ kind: 'struct', name, fields: this.#structBody(name) });
        else if (t === 'enum') this.#defs.push({ kind: 'enum', name, members: this.#enumBody() });
        else this.#unionBody(name);
        return { kind: 'named', name };
      }
      default:
        return { kind: 'named', name: t };
    }
  }

  #declaration(owner: string): Declaration {
    if (this.#isId('void')) {
      this.#next();
      return { form: 'void' };
    }
    // For a hoisted inline type the field name follows the body: look ahead for it.
    const fieldHint = (): string => {
      let depth = 0;
      for (let j = this.#i; j < this.#toks.length; j++) {
        const tk = this.#toks[j];
        if (tk.t === 'punct' && tk.v === '{') depth++;
        if (tk.t === 'punct' && tk.v === '}') {
          depth--;
          if (depth === 0) {
            for (let k = j + 1; k < this.#toks.length; k++) {
              const n = this.#toks[k];
              if (n.t === 'id') return n.v;
            }
          }
        }
      }
      return 'anon';
    };
    const type = this.#typeSpec(owner, fieldHint);
    let optional = false;
    if (this.#isPunct('*')) {
      this.#next();
      optional = true;
    }
    const name = this.#ident();
    if (optional) return { form: 'optional', name, type };
    if (this.#isPunct('[')) {
      this.#next();
      const size = this.#value();
      this.#punct(']');
      return { form: 'fixed', name, type, size };
    }
    if (this.#isPunct('<')) {
      this.#next();
      let max: Value | null = null;
      if (!this.#isPunct('>')) max = this.#value();
      this.#punct('>');
      return { form: 'variable', name, type, max };
    }
    if (type.kind === 'string') this.#fail('string must be declared with <max> or <>');
    if (type.kind === 'opaque') this.#fail('opaque must be declared with [n], <max> or <>');
    return { form: 'plain', name, type };
  }
}

/** Parses one `.x` file. */
export function parseX(src: string, file: string): XFile {
  const passthrough: string[] = [];
  const toks = lex(src, file, passthrough);
  const definitions = new Parser(toks, file).parse();
  return { file, definitions, passthrough };
}
