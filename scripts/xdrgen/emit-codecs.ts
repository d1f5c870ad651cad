/**
 * Emits TypeScript types and straight-line encode/decode functions for the types of one `.x` file.
 * Each struct and union function carries one try/catch that adds the failing field to an XdrError's path as
 * it unwinds, so errors read like `remote_x_ret.snapshots[3].name: string of 70000 bytes exceeds 65536`.
 *
 * Types with the same layout share their functions: remote_protocol.x has hundreds of `{ dom, flags }`-like
 * argument structs, and every function is memory a program pays for when it loads the module (about 1 KB of
 * resident memory each in Node, measured). The first type of a layout gets the functions; the others export
 * them under their own names (`dec_T`, `enc_T`) and keep their own type and codec (`xdr_T`, whose `name` the
 * error paths use).
 */
import type { Declaration, Definition } from './ast';
import { Model, Shape, UNBOUNDED } from './model';

/** Collects the lines of one generated module and the symbols it imports from sibling modules. */
export class ModuleWriter {
  readonly lines: string[] = [];
  /** module -> symbols imported from it. */
  readonly imports = new Map<string, Set<string>>();
  readonly module: string;
  readonly model: Model;
  #tmp = 0;

  constructor(module: string, model: Model) {
    this.module = module;
    this.model = model;
  }

  push(...ls: string[]): void {
    this.lines.push(...ls);
  }

  /** A fresh local variable name. */
  tmp(prefix: string): string {
    return `${prefix}${++this.#tmp}`;
  }

  resetTmp(): void {
    this.#tmp = 0;
  }

  /** Layout (the functions' text with the type's own name taken out) -> the first type that has it. */
  readonly #layouts = new Map<string, string>();

  /**
   * Called after the functions of type `name` were pushed from line `start` on: when an earlier type of this
   * module has the same layout, they are replaced by aliases of its functions.
   */
  shareLayout(name: string, start: number): void {
    const own = new RegExp(`\\b${name}(?=\\$|\\b)|\\b(dec|enc)_${name}\\b`, 'g');
    const key = this.lines.slice(start).join('\n').replace(own, (m) => (m.startsWith('dec_') || m.startsWith('enc_') ? `${m.slice(0, 4)}@` : '@'));
    const first = this.#layouts.get(key);
    if (first === undefined) {
      this.#layouts.set(key, name);
      return;
    }
    this.lines.length = start;
    this.push(
      `/** \`${name}\` has the layout of \`${first}\`: the same functions encode and decode it. */`,
      `export const dec_${name}: (r: XdrReader) => ${name} = dec_${first};`,
      `export const enc_${name}: (w: XdrWriter, v: ${name}) => void = enc_${first};`,
      '',
    );
  }

  /** Refers to a symbol of a type's module, importing it when it lives elsewhere. */
  use(typeName: string, symbol: string): string {
    const mod = this.model.moduleOf(typeName);
    if (mod !== this.module) {
      let set = this.imports.get(mod);
      if (!set) this.imports.set(mod, (set = new Set()));
      set.add(symbol);
    }
    return symbol;
  }
}

const INT_RANGES: Partial<Record<string, [number, number]>> = {
  char: [-128, 127],
  uchar: [0, 255],
  short: [-32768, 32767],
  ushort: [0, 65535],
};

function maxLit(n: number): string {
  return n === UNBOUNDED ? '0xffffffff' : String(n);
}

/** A decode expression for shapes that need no statements, else null. */
function decExpr(w: ModuleWriter, s: Shape): string | null {
  switch (s.k) {
    case 'prim': {
      const range = INT_RANGES[s.prim];
      if (range) return `r.intIn(${range[0]}, ${range[1]})`;
      return `r.${s.prim}()`;
    }
    case 'string':
      return `r.string(${maxLit(s.max)})`;
    case 'opaque':
      return `r.opaque(${maxLit(s.max)})`;
    case 'opaqueFixed':
      return `r.opaqueFixed(${s.size})`;
    case 'enum':
      // Like libvirt's rpcgen (xdr_enum), enum values are not checked on decode, so a newer daemon's
      // values pass through.
      return 'r.int()';
    case 'ref':
      return `${w.use(s.name, `dec_${s.name}`)}(r)`;
    case 'optional': {
      const inner = decExpr(w, s.of);
      return inner === null ? null : `(r.optional() ? ${inner} : null)`;
    }
    default:
      return null;
  }
}

/** The TypeScript type of a shape's value. */
function tsOfShape(s: Shape): string {
  switch (s.k) {
    case 'prim':
      return s.prim === 'hyper' || s.prim === 'uhyper' ? 'bigint' : s.prim === 'bool' ? 'boolean' : 'number';
    case 'string':
      return 'string';
    case 'opaque':
    case 'opaqueFixed':
      return 'Uint8Array';
    case 'enum':
      return 'number';
    case 'ref':
      return s.name;
    case 'optional':
      return `${s.ts} | null`;
    case 'fixed':
    case 'variable':
      return `${s.ts}[]`;
  }
}

/** Statements that decode `s` into the already-declared variable `target`. */
function decStmts(w: ModuleWriter, s: Shape, target: string, ind: string): string[] {
  const e = decExpr(w, s);
  if (e !== null) return [`${ind}${target} = ${e};`];
  if (s.k === 'optional') {
    const t = w.tmp('o');
    return [
      `${ind}let ${t}: ${s.ts} | null = null;`,
      `${ind}if (r.optional()) {`,
      ...decStmts(w, s.of, t, ind + '  '),
      `${ind}}`,
      `${ind}${target} = ${t};`,
    ];
  }
  if (s.k === 'fixed' || s.k === 'variable') {
    const n = w.tmp('n');
    const a = w.tmp('a');
    const i = w.tmp('i');
    const item = w.tmp('x');
    const itemExpr = decExpr(w, s.of);
    const len =
      s.k === 'variable'
        ? `r.arrayLength(${maxLit(s.max)}, ${w.model.minSize(s.of)})`
        : `${s.size}`;
    return [
      `${ind}const ${n} = ${len};`,
      `${ind}const ${a}: ${s.ts}[] = [];`,
      `${ind}let ${i} = 0;`,
      `${ind}try {`,
      `${ind}  for (; ${i} < ${n}; ${i}++) {`,
      ...(itemExpr !== null
        ? [`${ind}    ${a}.push(${itemExpr});`]
        : [`${ind}    let ${item}: ${tsOfShape(s.of)};`, ...decStmts(w, s.of, item, ind + '    '), `${ind}    ${a}.push(${item});`]),
      `${ind}  }`,
      `${ind}} catch (e) {`,
      `${ind}  throw xdrWithin(e, \`[\${${i}}]\`);`,
      `${ind}}`,
      `${ind}${target} = ${a};`,
    ];
  }
  throw new Error(`no decoder for shape ${s.k}`);
}

/** Statements that encode the value expression `v` (a plain identifier or property access) of shape `s`. */
function encStmts(w: ModuleWriter, s: Shape, v: string, ind: string): string[] {
  switch (s.k) {
    case 'prim': {
      const range = INT_RANGES[s.prim];
      if (range) return [`${ind}w.intIn(${v}, ${range[0]}, ${range[1]});`];
      return [`${ind}w.${s.prim}(${v});`];
    }
    case 'string':
      return [`${ind}w.string(${v}, ${maxLit(s.max)});`];
    case 'opaque':
      return [`${ind}w.opaque(${v}, ${maxLit(s.max)});`];
    case 'opaqueFixed':
      return [`${ind}w.opaqueFixed(${v}, ${s.size});`];
    case 'enum':
      return [`${ind}w.int(${v});`];
    case 'ref':
      return [`${ind}${w.use(s.name, `enc_${s.name}`)}(w, ${v});`];
    case 'optional': {
      const t = w.tmp('o');
      return [`${ind}const ${t} = ${v};`, `${ind}if (w.optional(${t})) {`, ...encStmts(w, s.of, `${t}!`, ind + '  '), `${ind}}`];
    }
    case 'fixed':
    case 'variable': {
      const a = w.tmp('a');
      const i = w.tmp('i');
      const check = s.k === 'variable' ? `w.arrayLength(${a}, ${maxLit(s.max)});` : `w.fixedArray(${a}, ${s.size});`;
      return [
        `${ind}const ${a} = ${v};`,
        `${ind}${check}`,
        `${ind}let ${i} = 0;`,
        `${ind}try {`,
        `${ind}  for (; ${i} < ${a}.length; ${i}++) {`,
        ...encStmts(w, s.of, `${a}[${i}]`, ind + '    '),
        `${ind}  }`,
        `${ind}} catch (e) {`,
        `${ind}  throw xdrWithin(e, \`[\${${i}}]\`);`,
        `${ind}}`,
      ];
    }
  }
}

const OBJECT_CHECK = (ind: string): string =>
  `${ind}if (typeof v !== 'object' || v === null) throw new XdrError(\`expected an object, got \${v === null ? 'null' : typeof v}\`);`;

function codecConst(name: string): string[] {
  return [
    `/** Codec of \`${name}\`. */`,
    `export const xdr_${name}: XdrCodec<${name}> = { name: '${name}', encode: enc_${name}, decode: dec_${name} };`,
    '',
  ];
}

/**
 * A constructor for decoded values: `new` of a function whose prototype is Object.prototype gives a plain object
 * (same prototype and keys as a literal) that V8 does not pretenure. Object literals in a decoder that builds
 * large replies get their allocation site pretenured, and then every young string or Uint8Array stored into the
 * old-space object costs a write barrier: a 10,000-snapshot list decoded 4x slower that way.
 *
 * The prototype is set by `plainConstructor`, called under a `@__PURE__` annotation: a top-level assignment
 * would be a side effect that keeps every struct's constructor in every bundle that uses one codec of the module.
 */
function maker(fn: string, type: string, fields: [string, string][]): string[] {
  const params = fields.map(([, ts], k) => `f${k}: ${ts}`).join(', ');
  const body = fields.map(([f], k) => `this.${f} = f${k};`).join(' ');
  return [
    `const ${fn} = /* @__PURE__ */ plainConstructor(function (this: ${type}${params ? `, ${params}` : ''}) { ${body} }) as unknown as new (${params}) => ${type};`,
    '',
  ];
}

function emitStruct(w: ModuleWriter, name: string, fields: Declaration[]): void {
  const m = w.model;
  const named = fields as Extract<Declaration, { name: string }>[];
  w.push(`export interface ${name} {`);
  for (const f of named) w.push(`  ${f.name}: ${m.tsOfDecl(f)};`);
  w.push('}', '');
  const paths = named.map((f) => `'.${f.name}'`).join(', ');
  const start = w.lines.length;
  w.push(`const ${name}$fields = [${paths}];`, '');
  w.push(...maker(`${name}$new`, name, named.map((f) => [f.name, m.tsOfDecl(f)])));
  // decode
  w.resetTmp();
  w.push(`export function dec_${name}(r: XdrReader): ${name} {`, '  let f = 0;', '  try {');
  named.forEach((f, k) => {
    const s = m.shapeOf(f, `${name}.${f.name}`);
    if (k > 0) w.push(`    f = ${k};`);
    const e = decExpr(w, s);
    if (e !== null) w.push(`    const f${k} = ${e};`);
    else w.push(`    let f${k}: ${tsOfShape(s)};`, ...decStmts(w, s, `f${k}`, '    '));
  });
  w.push(`    return new ${name}$new(${named.map((_, k) => `f${k}`).join(', ')});`);
  w.push('  } catch (e) {', `    throw xdrWithin(e, ${name}$fields[f]);`, '  }', '}', '');
  // encode
  w.resetTmp();
  w.push(`export function enc_${name}(w: XdrWriter, v: ${name}): void {`, OBJECT_CHECK('  '), '  let f = 0;', '  try {');
  named.forEach((f, k) => {
    if (k > 0) w.push(`    f = ${k};`);
    w.push(...encStmts(w, m.shapeOf(f, `${name}.${f.name}`), `v.${f.name}`, '    '));
  });
  w.push('  } catch (e) {', `    throw xdrWithin(e, ${name}$fields[f]);`, '  }', '}', '');
  w.shareLayout(name, start);
  w.push(...codecConst(name));
}

function emitUnion(w: ModuleWriter, def: Extract<Definition, { kind: 'union' }>): void {
  const m = w.model;
  const name = def.name;
  const disc = def.discriminant as Extract<Declaration, { name: string }>;
  const dShape = m.shapeOf(disc, `${name}.${disc.name}`);
  const dName = disc.name;
  const isBool = dShape.k === 'prim' && dShape.prim === 'bool';
  const caseLit = (n: number): string => (isBool ? (n ? 'true' : 'false') : String(n));
  // TypeScript type: one object type per arm.
  const variants: string[] = [];
  for (const arm of def.arms) {
    const lits = arm.cases.map((c) => caseLit(m.value(c, name))).join(' | ');
    const body = arm.decl.form === 'void' ? '' : `; ${arm.decl.name}: ${m.tsOfDecl(arm.decl)}`;
    variants.push(`{ ${dName}: ${lits}${body} }`);
  }
  if (def.defaultArm) {
    const body = def.defaultArm.form === 'void' ? '' : `; ${def.defaultArm.name}: ${m.tsOfDecl(def.defaultArm)}`;
    variants.push(`{ ${dName}: ${isBool ? 'boolean' : 'number'}${body} }`);
  }
  w.push(`export type ${name} =`, ...variants.map((v, i) => `  | ${v}${i === variants.length - 1 ? ';' : ''}`), '');
  const dTs = isBool ? 'boolean' : 'number';
  const arms = [...def.arms.map((a) => a.decl), ...(def.defaultArm ? [def.defaultArm] : [])];
  const armMaker = new Map<string, string>();
  const start = w.lines.length;
  for (const decl of arms) {
    const key = decl.form === 'void' ? '' : decl.name;
    if (armMaker.has(key)) continue;
    const fn = `${name}$new${armMaker.size}`;
    armMaker.set(key, fn);
    w.push(...maker(fn, 'any', decl.form === 'void' ? [[dName, dTs]] : [[dName, dTs], [decl.name, m.tsOfDecl(decl)]]));
  }
  // decode
  w.resetTmp();
  const dExpr = decExpr(w, dShape)!;
  w.push(`export function dec_${name}(r: XdrReader): ${name} {`, `  let p = '.${dName}';`, '  try {', `    const d = ${dExpr};`, '    switch (d) {');
  const decArm = (decl: Declaration): void => {
    if (decl.form === 'void') {
      w.push(`        return new ${armMaker.get('')}(d) as ${name};`);
      return;
    }
    const s = m.shapeOf(decl, `${name}.${decl.name}`);
    w.push(`        p = '.${decl.name}';`);
    const e = decExpr(w, s);
    const fn = armMaker.get(decl.name)!;
    if (e !== null) w.push(`        return new ${fn}(d, ${e}) as ${name};`);
    else w.push(`        let x: ${tsOfShape(s)};`, ...decStmts(w, s, 'x', '        '), `        return new ${fn}(d, x) as ${name};`);
  };
  for (const arm of def.arms) {
    w.push(...arm.cases.map((c) => `      case ${caseLit(m.value(c, name))}:`), '      {');
    decArm(arm.decl);
    w.push('      }');
  }
  w.push('      default: {');
  if (def.defaultArm) decArm(def.defaultArm);
  else w.push(`        throw new XdrError(\`union discriminant \${d} has no arm and there is no default\`);`);
  w.push('      }', '    }', '  } catch (e) {', '    throw xdrWithin(e, p);', '  }', '}', '');
  // encode
  w.resetTmp();
  w.push(`export function enc_${name}(w: XdrWriter, v: ${name}): void {`, OBJECT_CHECK('  '), `  let p = '.${dName}';`, '  try {');
  w.push(`    const d = v.${dName};`, ...encStmts(w, dShape, 'd', '    '), '    const u = v as any;', '    switch (d) {');
  const encArm = (decl: Declaration): void => {
    if (decl.form === 'void') {
      w.push('        return;');
      return;
    }
    w.push(`        p = '.${decl.name}';`, ...encStmts(w, m.shapeOf(decl, `${name}.${decl.name}`), `u.${decl.name}`, '        '), '        return;');
  };
  for (const arm of def.arms) {
    w.push(...arm.cases.map((c) => `      case ${caseLit(m.value(c, name))}:`), '      {');
    encArm(arm.decl);
    w.push('      }');
  }
  w.push('      default: {');
  if (def.defaultArm) encArm(def.defaultArm);
  else w.push(`        throw new XdrError(\`union discriminant \${d} has no arm and there is no default\`);`);
  w.push('      }', '    }', '  } catch (e) {', '    throw xdrWithin(e, p);', '  }', '}', '');
  w.shareLayout(name, start);
  w.push(...codecConst(name));
}

function emitTypedef(w: ModuleWriter, decl: Extract<Declaration, { name: string }>): void {
  const m = w.model;
  const name = decl.name;
  const s = m.shapeOf(decl, `typedef ${name}`);
  w.push(`export type ${name} = ${m.tsOfDecl(decl)};`, '');
  w.resetTmp();
  const start = w.lines.length;
  const e = decExpr(w, s);
  w.push(`export function dec_${name}(r: XdrReader): ${name} {`);
  if (e !== null) w.push(`  return ${e};`);
  else w.push(`  let v: ${name};`, ...decStmts(w, s, 'v', '  '), '  return v;');
  w.push('}', '');
  w.resetTmp();
  w.push(`export function enc_${name}(w: XdrWriter, v: ${name}): void {`, ...encStmts(w, s, 'v', '  '), '}', '');
  w.shareLayout(name, start);
  w.push(...codecConst(name));
}

function emitEnum(w: ModuleWriter, def: Extract<Definition, { kind: 'enum' }>): void {
  const m = w.model;
  w.push(`/** enum ${def.name} */`, `export const ${def.name} = {`);
  for (const mem of def.members) w.push(`  ${mem.name}: ${m.value(mem.value, def.name)},`);
  w.push('} as const;', `export type ${def.name} = number;`, '');
  const start = w.lines.length;
  w.push(`export function dec_${def.name}(r: XdrReader): ${def.name} {`, '  return r.int();', '}', '');
  w.push(`export function enc_${def.name}(w: XdrWriter, v: ${def.name}): void {`, '  w.int(v);', '}', '');
  w.shareLayout(def.name, start);
  w.push(...codecConst(def.name));
}

/** Emits the constants, types and codecs of one file's definitions, in file order. */
export function emitDefinitions(w: ModuleWriter, defs: Definition[]): void {
  const m = w.model;
  for (const d of defs) {
    switch (d.kind) {
      case 'const': {
        const origin = d.value.kind === 'ref' ? ` // = ${d.value.name} (${m.constantOrigin.get(d.value.name) ?? '?'})` : '';
        w.push(`export const ${d.name} = ${m.value(d.value, d.name)};${origin}`, '');
        break;
      }
      case 'enum':
        emitEnum(w, d);
        break;
      case 'struct':
        emitStruct(w, d.name, d.fields);
        break;
      case 'union':
        emitUnion(w, d);
        break;
      case 'typedef':
        emitTypedef(w, d.decl as Extract<Declaration, { name: string }>);
        break;
    }
  }
}
