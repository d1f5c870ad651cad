/**
 * Every XDR type of libvirt 11.3.0's protocols (REMOTE, QEMU, LXC, ADMIN, virnet, keepalive) round-trips
 * through its generated codec: random values drawn from the `.x` declarations, each type's minimal value
 * (empty strings, opaques and arrays), and one maximum-length value per distinct declared maximum.
 * For every value: decode(encode(v)) deep-equals v and re-encoding gives the same bytes.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { XdrError } from '../../src/errors';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import type { XdrCodec } from '../../src/protocol/xdr';
import { codecOf, GENERATED_MODULES, loadLibvirtModel, ModelType, XdrValues } from '../helpers/xdr-arbitrary';

const { model, types } = loadLibvirtModel();
const values = new XdrValues(model);

/** Random values per type; 779 types at this count take about 15 s on the 2-core machine. */
const NUM_RUNS = 150;

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

/** Encodes, decodes and re-encodes one value; throws (with jest's diff) on any mismatch. */
function roundTrip(codec: XdrCodec<unknown>, v: unknown): Uint8Array {
  const bytes = xdrEncode(codec, v).slice();
  expect(bytes.length % 4).toBe(0);
  const back = xdrDecode(codec, bytes);
  // isDeepStrictEqual is fast on large values; jest's matcher runs only to explain a failure.
  if (!isDeepStrictEqual(back, v)) expect(back).toStrictEqual(v);
  const again = xdrEncode(codec, back);
  if (!sameBytes(again, bytes)) expect(Buffer.from(again).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return bytes;
}

const byModule = new Map<string, ModelType[]>();
for (const t of types) {
  const list = byModule.get(t.module) ?? [];
  list.push(t);
  byModule.set(t.module, list);
}

test('the model and the generated modules hold the same types', () => {
  expect([...byModule.keys()].sort()).toEqual(Object.keys(GENERATED_MODULES).sort());
  expect(types.filter((t) => !codecOf(t)).map((t) => t.name)).toEqual([]);
  // And the other way round: every generated codec is one of the model's types.
  const names = new Set(types.map((t) => `${t.module}:xdr_${t.name}`));
  const generated = Object.entries(GENERATED_MODULES).flatMap(([mod, m]) =>
    Object.keys(m)
      .filter((k) => k.startsWith('xdr_'))
      .map((k) => `${mod}:${k}`),
  );
  expect(generated.filter((g) => !names.has(g))).toEqual([]);
  expect(types.length).toBe(generated.length);
});

describe.each([...byModule.keys()])('%s', (module) => {
  const list = byModule.get(module)!;

  test.each(list.map((t) => [t.name, t] as const))('%s: random values round-trip', (_name, t) => {
    const codec = codecOf(t)!;
    fc.assert(
      fc.property(values.forType(t.name), (v) => {
        roundTrip(codec, v);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  test('every type: the minimal value (empty strings, opaques, arrays; null optionals) round-trips at its least size', () => {
    for (const t of list) {
      const bytes = roundTrip(codecOf(t)!, values.minimal(t.name));
      // The reader bounds allocations by this size, so it must be the true least size on the wire.
      const least = t.def.kind === 'typedef' ? model.minSize(model.shapeOf(t.def.decl, t.name)) : t.def.kind === 'enum' ? 4 : model.minSize({ k: 'ref', name: t.name });
      expect([t.name, bytes.length]).toEqual([t.name, least]);
    }
  });
});

test('unions: every arm round-trips, with every case value of the arm', () => {
  let arms = 0;
  for (const t of types) {
    if (t.def.kind !== 'union') continue;
    const disc = (t.def.discriminant as { name: string }).name;
    const codec = codecOf(t)!;
    for (const arm of t.def.arms) {
      for (const c of arm.cases) {
        const d = model.value(c, t.name);
        const v = arm.decl.form === 'void' ? { [disc]: d } : { [disc]: d, [arm.decl.name]: values.minimalShape(model.shapeOf(arm.decl, t.name)) };
        roundTrip(codec, v);
        arms++;
      }
    }
    if (t.def.defaultArm) {
      const d = values.unusedDiscriminant(t.def);
      const decl = t.def.defaultArm;
      if (d !== null) roundTrip(codec, decl.form === 'void' ? { [disc]: d } : { [disc]: d, [decl.name]: values.minimalShape(model.shapeOf(decl, t.name)) });
    } else {
      // No default arm: a discriminant no case uses is refused both ways.
      const d = values.unusedDiscriminant(t.def)!;
      expect(() => xdrEncode(codec, { [disc]: d })).toThrow(`union discriminant ${d} has no arm`);
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, d as number);
      expect(() => xdrDecode(codec, bytes)).toThrow(XdrError);
    }
  }
  // remote_typed_param_value and admin_typed_param_value have seven arms each.
  expect(arms).toBe(14);
});

describe('maximum lengths, one type per distinct declared maximum', () => {
  const seen = new Map<string, ModelType>();
  for (const t of types) for (const k of values.typeMaxKeys(t.name)) if (!seen.has(k)) seen.set(k, t);

  test('every kind of maximum libvirt declares is covered', () => {
    // string<REMOTE_STRING_MAX>, opaque<4 MiB>, arrays of 16 .. 262144 items, and so on.
    expect(seen.size).toBeGreaterThanOrEqual(18);
    expect(seen.has('string<4194304>')).toBe(true);
    expect(seen.has('array<16384>')).toBe(true);
    expect(seen.has('array<262144>')).toBe(true);
  });

  test.each([...seen].map(([k, t]) => [k, t.name, t] as const))('%s (%s): the longest value round-trips, one more is refused', (key, name, t) => {
    const codec = codecOf(t)!;
    const v = values.maxValue(name, key);
    roundTrip(codec, v);
    const over = overflow(v, key);
    expect(over.changed).toBe(true);
    expect(() => xdrEncode(codec, over.value)).toThrow(XdrError);
    expect(() => xdrEncode(codec, over.value)).toThrow(/exceeds \d+$/);
  });
});

/** The same value with the first item at maximum `key` made one longer (a string grows by one UTF-8 byte). */
function overflow(v: unknown, key: string): { value: unknown; changed: boolean } {
  const max = Number(/<(\d+)>/.exec(key)![1]);
  let changed = false;
  const walk = (x: unknown): unknown => {
    if (changed) return x;
    if (typeof x === 'string' && key.startsWith('string') && new TextEncoder().encode(x).length === max) {
      changed = true;
      return `${x}y`;
    }
    if (x instanceof Uint8Array) {
      if (key.startsWith('opaque') && x.length === max) {
        changed = true;
        return new Uint8Array(max + 1);
      }
      return x;
    }
    if (Array.isArray(x)) {
      if (key.startsWith('array') && x.length === max) {
        changed = true;
        return [...x, x[0]];
      }
      return x.map(walk);
    }
    if (x !== null && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)]));
    return x;
  };
  return { value: walk(v), changed };
}

test('a string whose UTF-16 length fits but whose UTF-8 form does not is refused by the encoder', () => {
  const t = types.find((x) => x.name === 'remote_nonnull_string')!;
  // 1,398,102 euro signs: 4,194,306 UTF-8 bytes, 2 over REMOTE_STRING_MAX.
  const s = '€'.repeat(Math.ceil(4194304 / 3));
  expect(() => xdrEncode(codecOf(t)!, s)).toThrow('string of 4194306 bytes exceeds 4194304');
});

test('bytes held in a Node Buffer (as socket transports deliver them) decode to plain Uint8Array copies', () => {
  // A Buffer is a Uint8Array, so frames read from node:net sockets reach the reader as Buffers. Buffer#slice
  // returns a view, not a copy: an opaque or UUID decoded from it must still be a Uint8Array of its own, or it
  // pins the whole socket chunk in memory and changes when the chunk does.
  const t = types.find((x) => x.name === 'remote_domain_lookup_by_uuid_ret')!;
  const v = { dom: { name: 'vm1', uuid: Uint8Array.from({ length: 16 }, (_, i) => i + 1), id: 7 } };
  const wire = Buffer.from(xdrEncode(codecOf(t)!, v));
  const back = xdrDecode(codecOf(t)!, wire) as typeof v;
  expect(back).toStrictEqual(v);
  expect(back.dom.uuid.constructor).toBe(Uint8Array);
  expect(back.dom.uuid.buffer).not.toBe(wire.buffer);
  wire.fill(0);
  expect(back.dom.uuid[0]).toBe(1);
});
