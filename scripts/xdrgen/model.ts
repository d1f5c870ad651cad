/**
 * The resolved model the emitter works from: every named type of every parsed file (so qemu_protocol.x can use
 * remote_protocol.x's types, as libvirt's C build does through `%#include "remote_protocol.h"`), every constant
 * (from `.x` files and from the C headers), and the wire "shape" of each declaration with typedefs resolved.
 */
import type { Declaration, Definition, Primitive, TypeSpec, Value, XFile } from './ast';

/** The wire form of a declaration, with typedefs resolved to what is actually encoded. */
export type Shape =
  | { k: 'prim'; prim: Primitive }
  | { k: 'string'; max: number }
  | { k: 'opaque'; max: number }
  | { k: 'opaqueFixed'; size: number }
  | { k: 'enum'; name: string }
  | { k: 'ref'; name: string } // a struct or union, encoded by its own function
  | { k: 'optional'; of: Shape; ts: string }
  | { k: 'fixed'; of: Shape; size: number; ts: string }
  | { k: 'variable'; of: Shape; max: number; ts: string };

/** Where a named type lives. */
export interface TypeEntry {
  def: Definition;
  /** The module (file stem) that emits it, e.g. `remote-protocol`. */
  module: string;
}

export const UNBOUNDED = 0xffffffff;

export class Model {
  readonly types = new Map<string, TypeEntry>();
  readonly constants = new Map<string, number>();
  /** Where a constant came from, for comments: `.x` file or header. */
  readonly constantOrigin = new Map<string, string>();
  #minSize = new Map<string, number>();

  constructor(headerValues: Map<string, number>, headerOrigin: Map<string, string>) {
    for (const [k, v] of headerValues) {
      this.constants.set(k, v);
      this.constantOrigin.set(k, headerOrigin.get(k) ?? 'C headers');
    }
    // RFC 4506 section 4.4: TRUE and FALSE are the values of bool.
    this.constants.set('TRUE', 1);
    this.constants.set('FALSE', 0);
  }

  /** Registers a parsed file's types and constants under its module name. */
  add(x: XFile, module: string): void {
    for (const d of x.definitions) {
      const name = definitionName(d);
      if (d.kind === 'const') {
        this.constants.set(d.name, this.value(d.value, `const ${d.name}`));
        this.constantOrigin.set(d.name, x.file);
        continue;
      }
      if (this.types.has(name)) throw new Error(`${x.file}: type ${name} is defined twice`);
      this.types.set(name, { def: d, module });
      if (d.kind === 'enum') {
        for (const m of d.members) {
          this.constants.set(m.name, this.value(m.value, `${d.name}.${m.name}`));
          this.constantOrigin.set(m.name, x.file);
        }
      }
    }
  }

  /** Resolves a constant reference to its number. */
  value(v: Value, where: string): number {
    if (v.kind === 'num') return v.value;
    const n = this.constants.get(v.name);
    if (n === undefined) throw new Error(`${where}: unknown constant ${v.name} (not in the .x files nor in include/libvirt/*.h)`);
    return n;
  }

  #entry(name: string, where: string): TypeEntry {
    const e = this.types.get(name);
    if (!e) throw new Error(`${where}: unknown type ${name}`);
    return e;
  }

  /** The TypeScript type of a type specifier as written (typedef names are kept as aliases). */
  tsOfSpec(t: TypeSpec): string {
    switch (t.kind) {
      case 'prim':
        return t.prim === 'hyper' || t.prim === 'uhyper' ? 'bigint' : t.prim === 'bool' ? 'boolean' : 'number';
      case 'string':
        return 'string';
      case 'opaque':
        return 'Uint8Array';
      case 'named':
        return t.name;
    }
  }

  /** The TypeScript type of a declaration. */
  tsOfDecl(d: Declaration): string {
    if (d.form === 'void') return 'void';
    if (d.type.kind === 'string') return 'string';
    if (d.type.kind === 'opaque') return 'Uint8Array';
    const base = this.tsOfSpec(d.type);
    if (d.form === 'plain') return base;
    if (d.form === 'optional') return `${base} | null`;
    return `${base}[]`;
  }

  /** The wire shape of a type specifier used plainly. */
  #specShape(t: TypeSpec, where: string): Shape {
    if (t.kind === 'prim') return { k: 'prim', prim: t.prim };
    if (t.kind !== 'named') throw new Error(`${where}: ${t.kind} needs a size`);
    const e = this.#entry(t.name, where);
    switch (e.def.kind) {
      case 'enum':
        return { k: 'enum', name: t.name };
      case 'struct':
      case 'union':
        return { k: 'ref', name: t.name };
      case 'typedef':
        return this.shapeOf(e.def.decl, `typedef ${t.name}`);
      default:
        throw new Error(`${where}: ${t.name} is not a type`);
    }
  }

  /** The wire shape of a declaration. */
  shapeOf(d: Declaration, where: string): Shape {
    if (d.form === 'void') throw new Error(`${where}: void has no shape`);
    const ts = this.tsOfSpec(d.type);
    switch (d.form) {
      case 'plain':
        return this.#specShape(d.type, where);
      case 'optional':
        return { k: 'optional', of: this.#specShape(d.type, where), ts };
      case 'fixed': {
        const size = this.value(d.size, where);
        if (d.type.kind === 'opaque') return { k: 'opaqueFixed', size };
        if (d.type.kind === 'string') throw new Error(`${where}: string cannot have a fixed size`);
        return { k: 'fixed', of: this.#specShape(d.type, where), size, ts };
      }
      case 'variable': {
        const max = d.max === null ? UNBOUNDED : this.value(d.max, where);
        if (d.type.kind === 'string') return { k: 'string', max };
        if (d.type.kind === 'opaque') return { k: 'opaque', max };
        return { k: 'variable', of: this.#specShape(d.type, where), max, ts };
      }
    }
  }

  /** The fewest bytes one value of this shape can take on the wire (bounds allocations while decoding). */
  minSize(s: Shape): number {
    switch (s.k) {
      case 'prim':
        return s.prim === 'hyper' || s.prim === 'uhyper' || s.prim === 'double' ? 8 : 4;
      case 'string':
      case 'opaque':
      case 'optional':
      case 'variable':
      case 'enum':
        return 4;
      case 'opaqueFixed':
        return (s.size + 3) & ~3;
      case 'fixed':
        return s.size * this.minSize(s.of);
      case 'ref':
        return this.#refMinSize(s.name);
    }
  }

  #refMinSize(name: string): number {
    const cached = this.#minSize.get(name);
    if (cached !== undefined) return cached;
    this.#minSize.set(name, 4); // recursion guard; only optional members can recurse, and they count 4
    const def = this.#entry(name, name).def;
    let size = 4;
    if (def.kind === 'struct') {
      size = 0;
      for (const f of def.fields) size += this.minSize(this.shapeOf(f, name));
    } else if (def.kind === 'union') {
      let least = Infinity;
      const arms = def.arms.map((a) => a.decl);
      if (def.defaultArm) arms.push(def.defaultArm);
      for (const a of arms) least = Math.min(least, a.form === 'void' ? 0 : this.minSize(this.shapeOf(a, name)));
      size = 4 + (least === Infinity ? 0 : least);
    }
    this.#minSize.set(name, size);
    return size;
  }

  /** The module that defines a type. */
  moduleOf(name: string): string {
    return this.#entry(name, name).module;
  }
}

/** The name a definition introduces. */
export function definitionName(d: Definition): string {
  if (d.kind === 'typedef') return (d.decl as { name: string }).name;
  return d.name;
}
