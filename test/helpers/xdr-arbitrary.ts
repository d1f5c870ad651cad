/**
 * Values for every XDR type of libvirt's protocols, drawn from the `.x` declarations themselves: the model is
 * built from the protocol folder exactly as `generateLibvirt` builds it, and each type's fast-check arbitrary
 * follows its wire shape (maxima, fixed sizes, union arms). Also deterministic minimal values (the fewest bytes
 * the type can take) and maximum-length values, for the round-trip, fuzz and benchmark code.
 */
import * as path from 'node:path';
import fc from 'fast-check';
import type { Declaration, Definition } from '../../scripts/xdrgen/ast';
import { loadLibvirt } from '../../scripts/xdrgen/main';
import { Model, Shape, UNBOUNDED } from '../../scripts/xdrgen/model';
import type { XdrCodec } from '../../src/protocol/xdr';
import * as admin from '../../generated/admin-protocol';
import * as keepalive from '../../generated/keepalive-protocol';
import * as lxc from '../../generated/lxc-protocol';
import * as qemu from '../../generated/qemu-protocol';
import * as remote from '../../generated/remote-protocol';
import * as virnet from '../../generated/virnet-protocol';

const ROOT = path.resolve(__dirname, '..', '..');
/** The protocol folder the committed `generated/` files come from. */
export const LIBVIRT_11_3_0 = path.resolve(ROOT, '..', 'shared', 'protocol', 'libvirt-11.3.0');

/** The generated module objects by module name. */
export const GENERATED_MODULES: Record<string, Record<string, unknown>> = {
  'virnet-protocol': virnet,
  'keepalive-protocol': keepalive,
  'remote-protocol': remote,
  'qemu-protocol': qemu,
  'lxc-protocol': lxc,
  'admin-protocol': admin,
};

/** A named XDR type of the model, with the module that emits it. */
export interface ModelType {
  name: string;
  module: string;
  def: Exclude<Definition, { kind: 'const' }>;
}

/** The model of a flattened libvirt protocol folder (built as `generateLibvirt` builds it) and its types in file order. */
export function loadLibvirtModel(dir = LIBVIRT_11_3_0): { model: Model; types: ModelType[] } {
  const { model, parsed } = loadLibvirt(dir);
  const types: ModelType[] = [];
  for (const x of parsed) {
    for (const def of x.xf.definitions) {
      if (def.kind === 'const') continue;
      const name = def.kind === 'typedef' ? (def.decl as { name: string }).name : def.name;
      types.push({ name, module: x.module, def });
    }
  }
  return { model, types };
}

/** The generated codec `xdr_<name>` of a model type (undefined when the generator did not emit one). */
export function codecOf(t: { name: string; module: string }): XdrCodec<unknown> | undefined {
  return GENERATED_MODULES[t.module]?.[`xdr_${t.name}`] as XdrCodec<unknown> | undefined;
}

type Named = Extract<Declaration, { name: string }>;
type UnionDef = Extract<Definition, { kind: 'union' }>;

const INT32: [number, number] = [-0x80000000, 0x7fffffff];
const RANGES: Record<string, [number, number]> = {
  int: INT32,
  uint: [0, 0xffffffff],
  char: [-128, 127],
  uchar: [0, 255],
  short: [-32768, 32767],
  ushort: [0, 65535],
};

const utf8 = new TextEncoder();

/** One Unicode scalar value, drawn evenly across the 1-, 2-, 3- and 4-byte UTF-8 forms (no lone surrogates). */
const CODE_POINT: fc.Arbitrary<string> = fc
  .oneof(
    fc.integer({ min: 0, max: 0x7f }),
    fc.integer({ min: 0x80, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xffff }).filter((c) => c < 0xd800 || c > 0xdfff),
    fc.integer({ min: 0x10000, max: 0x10ffff }),
  )
  .map((c) => String.fromCodePoint(c));

/** Cuts a string at code-point boundaries until its UTF-8 form fits in `max` bytes. */
export function fitUtf8(s: string, max: number): string {
  if (s.length <= max && utf8.encode(s).length <= max) return s;
  const cps = [...s];
  while (cps.length && utf8.encode(cps.join('')).length > max) cps.pop();
  return cps.join('');
}

/** Sizes of the random values; declared maxima always win when smaller. */
export interface ArbitrarySizes {
  /** Longest random string, in code points. */
  string: number;
  /** Longest random opaque, in bytes. */
  opaque: number;
  /** Most items in a random variable-length array. */
  array: number;
}

const DEFAULT_SIZES: ArbitrarySizes = { string: 80, opaque: 40, array: 3 };

/** A key naming one declared maximum: `string<65536>`, `opaque<1048576>`, `array<16384>`. */
export type MaxKey = string;

/** Builds arbitraries, minimal values and maximum-length values for the types of a {@link Model}. */
export class XdrValues {
  readonly model: Model;
  readonly sizes: ArbitrarySizes;
  #arbs = new Map<string, fc.Arbitrary<unknown>>();

  constructor(model: Model, sizes: Partial<ArbitrarySizes> = {}) {
    this.model = model;
    this.sizes = { ...DEFAULT_SIZES, ...sizes };
  }

  #def(name: string): Definition {
    const e = this.model.types.get(name);
    if (!e) throw new Error(`unknown type ${name}`);
    return e.def;
  }

  #shape(d: Declaration, where: string): Shape {
    return this.model.shapeOf(d, where);
  }

  // ---- random values -------------------------------------------------------------------------------------

  /** The arbitrary of a named type. Types reached again while being built (recursion) are deferred. */
  forType(name: string): fc.Arbitrary<unknown> {
    const cached = this.#arbs.get(name);
    if (cached) return cached;
    // A placeholder that resolves on first use, so a self-referencing type (through `*T`) still builds.
    this.#arbs.set(name, fc.constant(null).chain(() => this.forType(name)));
    const arb = this.#buildType(name);
    this.#arbs.set(name, arb);
    return arb;
  }

  #buildType(name: string): fc.Arbitrary<unknown> {
    const def = this.#def(name);
    switch (def.kind) {
      case 'enum': {
        const values = def.members.map((m) => this.model.value(m.value, name));
        // Decoding an enum does not check membership (libvirt's xdr_enum does not either), so a value from a
        // newer daemon passes through: draw those too, now and then.
        return fc.oneof({ arbitrary: fc.constantFrom(...values), weight: 9 }, { arbitrary: fc.integer({ min: INT32[0], max: INT32[1] }), weight: 1 });
      }
      case 'struct': {
        const rec: Record<string, fc.Arbitrary<unknown>> = {};
        for (const f of def.fields as Named[]) rec[f.name] = this.forShape(this.#shape(f, `${name}.${f.name}`));
        return fc.record(rec, { noNullPrototype: true });
      }
      case 'union':
        return fc.oneof(...this.#unionArms(def).map((a) => a.arb));
      case 'typedef':
        return this.forShape(this.#shape(def.decl, `typedef ${name}`));
      default:
        throw new Error(`${name} is not a type`);
    }
  }

  /** One arbitrary per union arm (the default arm included), each drawing a discriminant for that arm. */
  #unionArms(def: UnionDef): { arb: fc.Arbitrary<unknown>; isDefault: boolean }[] {
    const disc = def.discriminant as Named;
    const dShape = this.#shape(disc, `${def.name}.${disc.name}`);
    const isBool = dShape.k === 'prim' && dShape.prim === 'bool';
    const lit = (n: number): number | boolean => (isBool ? n !== 0 : n);
    const used = new Set<number>();
    const out: { arb: fc.Arbitrary<unknown>; isDefault: boolean }[] = [];
    const armArb = (discArb: fc.Arbitrary<unknown>, decl: Declaration): fc.Arbitrary<unknown> => {
      if (decl.form === 'void') return discArb.map((d) => ({ [disc.name]: d }));
      const body = this.forShape(this.#shape(decl, `${def.name}.${decl.name}`));
      return fc.tuple(discArb, body).map(([d, x]) => ({ [disc.name]: d, [decl.name]: x }));
    };
    for (const arm of def.arms) {
      const cases = arm.cases.map((c) => this.model.value(c, def.name));
      cases.forEach((c) => used.add(c));
      out.push({ arb: armArb(fc.constantFrom(...cases.map(lit)), arm.decl), isDefault: false });
    }
    if (def.defaultArm) {
      const free = this.#unusedDiscriminants(dShape, used);
      if (free) out.push({ arb: armArb(free, def.defaultArm), isDefault: true });
    }
    return out;
  }

  /** Discriminant values that no case of the union uses (for its default arm), or null when there are none. */
  #unusedDiscriminants(dShape: Shape, used: Set<number>): fc.Arbitrary<unknown> | null {
    if (dShape.k === 'prim' && dShape.prim === 'bool') {
      const free = [0, 1].filter((v) => !used.has(v));
      return free.length ? fc.constantFrom(...free.map((v) => v !== 0)) : null;
    }
    const [min, max] = dShape.k === 'prim' ? RANGES[dShape.prim] : INT32;
    return fc.integer({ min, max }).filter((v) => !used.has(v));
  }

  /** The arbitrary of a wire shape. */
  forShape(s: Shape): fc.Arbitrary<unknown> {
    const z = this.sizes;
    switch (s.k) {
      case 'prim':
        switch (s.prim) {
          case 'hyper':
            return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
          case 'uhyper':
            return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
          case 'bool':
            return fc.boolean();
          case 'float':
            // Any float32 value (NaN, infinities and -0 included), as a JS number it round-trips exactly.
            return fc.float().map(Math.fround);
          case 'double':
            return fc.double();
          default: {
            const [min, max] = RANGES[s.prim];
            return fc.integer({ min, max });
          }
        }
      case 'string': {
        const max = s.max;
        // ASCII (the reader's fast path for <= 64 bytes) and code points of every UTF-8 length (TextDecoder path).
        const maxLength = Math.min(max, z.string);
        const ascii = fc.string({ unit: 'binary-ascii', maxLength, size: 'medium' });
        const any = fc.string({ unit: CODE_POINT, maxLength, size: 'medium' }).map((v) => fitUtf8(v, max));
        return fc.oneof(ascii, any);
      }
      case 'opaque':
        return fc.uint8Array({ maxLength: Math.min(s.max, z.opaque), size: 'medium' });
      case 'opaqueFixed':
        return fc.uint8Array({ minLength: s.size, maxLength: s.size });
      case 'enum':
      case 'ref':
        return this.forType(s.name);
      case 'optional':
        return fc.option(this.forShape(s.of), { nil: null });
      case 'fixed':
        return fc.array(this.forShape(s.of), { minLength: s.size, maxLength: s.size });
      case 'variable':
        return fc.array(this.forShape(s.of), { maxLength: Math.min(s.max, z.array) });
    }
  }

  // ---- minimal values --------------------------------------------------------------------------------------

  /** A value of the named type that takes the fewest bytes on the wire (empty strings, arrays and nulls). */
  minimal(name: string): unknown {
    const def = this.#def(name);
    switch (def.kind) {
      case 'enum':
        return def.members.length ? this.model.value(def.members[0].value, name) : 0;
      case 'struct': {
        const o: Record<string, unknown> = {};
        for (const f of def.fields as Named[]) o[f.name] = this.minimalShape(this.#shape(f, `${name}.${f.name}`));
        return o;
      }
      case 'union': {
        let best: { size: number; value: unknown } | null = null;
        for (const { decl, disc } of this.#armsWithDiscriminant(def)) {
          const size = decl.form === 'void' ? 0 : this.model.minSize(this.#shape(decl, name));
          if (best && best.size <= size) continue;
          const d = (def.discriminant as Named).name;
          best = { size, value: decl.form === 'void' ? { [d]: disc } : { [d]: disc, [decl.name]: this.minimalShape(this.#shape(decl, name)) } };
        }
        if (!best) throw new Error(`${name}: union with no reachable arm`);
        return best.value;
      }
      case 'typedef':
        return this.minimalShape(this.#shape(def.decl, name));
      default:
        throw new Error(`${name} is not a type`);
    }
  }

  /** Each arm with one discriminant value that selects it (the default arm gets a value no case uses). */
  #armsWithDiscriminant(def: UnionDef): { decl: Declaration; disc: number | boolean }[] {
    const disc = def.discriminant as Named;
    const dShape = this.#shape(disc, def.name);
    const isBool = dShape.k === 'prim' && dShape.prim === 'bool';
    const used = new Set<number>();
    const out: { decl: Declaration; disc: number | boolean }[] = [];
    for (const arm of def.arms) {
      const cases = arm.cases.map((c) => this.model.value(c, def.name));
      cases.forEach((c) => used.add(c));
      out.push({ decl: arm.decl, disc: isBool ? cases[0] !== 0 : cases[0] });
    }
    if (def.defaultArm) {
      const free = this.unusedDiscriminant(def);
      if (free !== null) out.push({ decl: def.defaultArm, disc: free });
    }
    return out;
  }

  /** A deterministic discriminant value no case of the union uses (null when every value is a case). */
  unusedDiscriminant(def: UnionDef): number | boolean | null {
    const disc = def.discriminant as Named;
    const dShape = this.#shape(disc, def.name);
    const used = new Set(def.arms.flatMap((a) => a.cases.map((c) => this.model.value(c, def.name))));
    if (dShape.k === 'prim' && dShape.prim === 'bool') return !used.has(0) ? false : !used.has(1) ? true : null;
    let v = Math.max(0, ...used) + 1;
    while (used.has(v)) v++;
    return v;
  }

  /** The smallest value of a wire shape. */
  minimalShape(s: Shape): unknown {
    switch (s.k) {
      case 'prim':
        return s.prim === 'hyper' || s.prim === 'uhyper' ? 0n : s.prim === 'bool' ? false : 0;
      case 'string':
        return '';
      case 'opaque':
        return new Uint8Array(0);
      case 'opaqueFixed':
        return new Uint8Array(s.size);
      case 'enum':
      case 'ref':
        return this.minimal(s.name);
      case 'optional':
        return null;
      case 'fixed':
        return Array.from({ length: s.size }, () => this.minimalShape(s.of));
      case 'variable':
        return [];
    }
  }

  // ---- maximum-length values -----------------------------------------------------------------------------

  /** The declared maxima a shape holds directly (not through another named struct or union). */
  maxKeys(s: Shape, out = new Set<MaxKey>()): Set<MaxKey> {
    switch (s.k) {
      case 'string':
      case 'opaque':
        if (s.max !== UNBOUNDED) out.add(`${s.k}<${s.max}>`);
        break;
      case 'variable':
        if (s.max !== UNBOUNDED) out.add(`array<${s.max}>`);
        this.maxKeys(s.of, out);
        break;
      case 'optional':
      case 'fixed':
        this.maxKeys(s.of, out);
        break;
      default:
        break;
    }
    return out;
  }

  /** The declared maxima a named type holds directly in its fields, arms or typedef. */
  typeMaxKeys(name: string): Set<MaxKey> {
    const def = this.#def(name);
    const out = new Set<MaxKey>();
    if (def.kind === 'struct') for (const f of def.fields) this.maxKeys(this.#shape(f, name), out);
    if (def.kind === 'union') {
      for (const { decl } of this.#armsWithDiscriminant(def)) if (decl.form !== 'void') this.maxKeys(this.#shape(decl, name), out);
    }
    if (def.kind === 'typedef') this.maxKeys(this.#shape(def.decl, name), out);
    return out;
  }

  /**
   * A value of the named type in which every item with maximum `key` is as long as allowed and everything else
   * is minimal. Strings are ASCII except for a 3-byte `€` at the end when the maximum allows one.
   */
  maxValue(name: string, key: MaxKey): unknown {
    const def = this.#def(name);
    if (def.kind === 'struct') {
      const o: Record<string, unknown> = {};
      for (const f of def.fields as Named[]) o[f.name] = this.#fill(this.#shape(f, name), key);
      return o;
    }
    if (def.kind === 'union') {
      const d = (def.discriminant as Named).name;
      for (const { decl, disc } of this.#armsWithDiscriminant(def)) {
        if (decl.form === 'void') continue;
        const s = this.#shape(decl, name);
        if (this.maxKeys(s).has(key)) return { [d]: disc, [decl.name]: this.#fill(s, key) };
      }
      throw new Error(`${name} has no arm with ${key}`);
    }
    if (def.kind === 'typedef') return this.#fill(this.#shape(def.decl, name), key);
    throw new Error(`${name} has no maxima`);
  }

  #fill(s: Shape, key: MaxKey): unknown {
    const has = this.maxKeys(s).has(key);
    if (!has) return this.minimalShape(s);
    switch (s.k) {
      case 'string':
        if (`string<${s.max}>` !== key) return '';
        return s.max >= 3 ? 'x'.repeat(s.max - 3) + '€' : 'x'.repeat(s.max);
      case 'opaque': {
        const b = new Uint8Array(s.max);
        for (let i = 0; i < b.length; i++) b[i] = (i * 7 + 1) & 0xff;
        return b;
      }
      case 'variable': {
        if (`array<${s.max}>` === key) {
          // Every item is the same minimal value: the array is as long as allowed and still small.
          const item = this.minimalShape(s.of);
          return Array.from({ length: s.max }, () => item);
        }
        return [this.#fill(s.of, key)];
      }
      case 'optional':
        return this.#fill(s.of, key);
      case 'fixed':
        return Array.from({ length: s.size }, (_, i) => (i === 0 ? this.#fill(s.of, key) : this.minimalShape(s.of)));
      default:
        return this.minimalShape(s);
    }
  }
}
