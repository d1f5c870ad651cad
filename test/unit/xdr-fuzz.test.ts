/**
 * Hostile input to every generated XDR decoder of libvirt 11.3.0: random bytes, mutated and truncated valid
 * encodings, and length words that lie. A decoder either returns a value that re-encodes to an equal value or
 * throws an XdrError with one of the reader's own messages; nothing else ever escapes (no RangeError from a
 * DataView, no TypeError), and a length that claims more than the input holds is refused before anything is
 * allocated for it.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { XdrError } from '../../src/errors';
import * as runtime from '../../src/protocol/xdr';
import { concatBytes, XdrReader, xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import type { XdrCodec } from '../../src/protocol/xdr';
import type { Shape } from '../../scripts/xdrgen/model';
import { UNBOUNDED } from '../../scripts/xdrgen/model';
import { codecOf, loadLibvirtModel, ModelType, XdrValues } from '../helpers/xdr-arbitrary';

const { model, types } = loadLibvirtModel();
const values = new XdrValues(model, { string: 24, opaque: 24, array: 4 });
const all = types.map((t) => ({ t, codec: codecOf(t)! }));
const byName = new Map(all.map((c) => [c.t.name, c]));

/** Every message the reader and the generated decoders throw; anything else is a bug leaking through. */
const KNOWN_DETAILS = [
  /^needs \d+ bytes but only \d+ remain$/,
  /^value -?\d+ is outside -?\d+\.\.\d+$/,
  /^bool must be 0 or 1, got -?\d+$/,
  /^optional-data discriminant must be 0 or 1, got -?\d+$/,
  /^(string|opaque) of \d+ bytes exceeds \d+$/,
  /^array of \d+ items exceeds \d+$/,
  /^(string|opaque|array) of \d+ claims at least \d+ bytes but only \d+ remain$/,
  /^non-zero padding bytes$/,
  /^\d+ bytes left over after decoding$/,
  /^string is not valid UTF-8$/,
  /^union discriminant -?\d+ has no arm and there is no default$/,
];

/** Errors that reached a codec's path-adding catch without being XdrErrors (converted there, so recorded here). */
const foreign: unknown[] = [];
beforeAll(() => {
  const original = runtime.xdrWithin;
  jest.spyOn(runtime, 'xdrWithin').mockImplementation((e: unknown, segment: string) => {
    if (!(e instanceof XdrError)) foreign.push(e);
    return original(e, segment);
  });
});
afterAll(() => jest.restoreAllMocks());
afterEach(() => {
  const seen = foreign.splice(0);
  expect(seen).toEqual([]);
});

test('the harness sees a non-XdrError that a codec converts on its way out', () => {
  // A reader whose primitive fails with something other than an XdrError (a RangeError, as a runtime fault
  // would raise) mid-struct.
  const { codec } = byName.get('remote_domain_list_all_snapshots_ret')!;
  const r = new XdrReader(new Uint8Array(8));
  r.uint = () => {
    throw new RangeError('a runtime fault');
  };
  expect(() => codec.decode(r)).toThrow(XdrError);
  expect(foreign.splice(0).map((e) => (e as Error).constructor.name)).toContain('RangeError');
});

type Outcome = { ok: true; value: unknown } | { ok: false; error: XdrError };

/** Decodes the whole input with the codec's own decode (not xdrDecode, which would wrap any error). */
function decodeAll(codec: XdrCodec<unknown>, bytes: Uint8Array): Outcome {
  const r = new XdrReader(bytes);
  try {
    const value = codec.decode(r);
    r.done();
    return { ok: true, value };
  } catch (e) {
    if (!(e instanceof XdrError)) throw new Error(`${codec.name}: a ${(e as Error)?.constructor?.name} escaped: ${String(e)}`);
    if (!KNOWN_DETAILS.some((re) => re.test(e.detail))) throw new Error(`${codec.name}: unexpected XdrError detail: ${e.detail}`);
    return { ok: false, error: e };
  }
}

/** Whether a decoded value holds a NaN anywhere (its payload bits are not kept by a JS number). */
function holdsNaN(v: unknown): boolean {
  if (typeof v === 'number') return Number.isNaN(v);
  if (Array.isArray(v)) return v.some(holdsNaN);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) return Object.values(v).some(holdsNaN);
  return false;
}

/**
 * Decodes hostile bytes. A value that does decode must re-encode to exactly the input: the reader accepts only
 * the canonical encoding (zero padding, bool 0/1, valid UTF-8), the one exception being a NaN's payload bits.
 */
function decodeHostile(codec: XdrCodec<unknown>, bytes: Uint8Array): Outcome {
  const out = decodeAll(codec, bytes);
  if (out.ok) {
    const again = xdrEncode(codec, out.value);
    if (Buffer.compare(again, bytes) !== 0) {
      expect(holdsNaN(out.value)).toBe(true);
      const back = decodeAll(codec, again);
      expect(back.ok && isDeepStrictEqual(back.value, out.value)).toBe(true);
    }
  }
  return out;
}

/** XDR-shaped noise: words that are often small counts, discriminants, 0, 1, or hostile lengths. */
const word = fc.oneof(
  fc.integer({ min: 0, max: 8 }),
  fc.constantFrom(0xffffffff, 0x7fffffff, 0x80000000, 16384, 16385, 65536, 4194304, 4194305),
  fc.integer({ min: 0, max: 0xffffffff }),
);
const xdrNoise = fc.array(word, { maxLength: 24 }).map((ws) => {
  const b = new Uint8Array(ws.length * 4);
  const v = new DataView(b.buffer);
  ws.forEach((w, i) => v.setUint32(i * 4, w));
  return b;
});
const rawNoise = fc.uint8Array({ maxLength: 64 });

describe('random bytes', () => {
  test.each(['virnet-protocol', 'keepalive-protocol', 'remote-protocol', 'qemu-protocol', 'lxc-protocol', 'admin-protocol'])(
    'every decoder of %s: only XdrError, never anything else',
    (module) => {
      const codecs = all.filter((c) => c.t.module === module);
      for (const { codec } of codecs) {
        fc.assert(
          fc.property(fc.oneof(xdrNoise, rawNoise), (bytes) => {
            decodeHostile(codec, bytes);
          }),
          { numRuns: 100 },
        );
      }
    },
  );
});

/** Overwrites, inserts or removes at a 4-byte boundary, or flips one byte. */
const mutation = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), w: word }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), w: word }),
  fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
);

type Mutation = { op: 'set' | 'flip' | 'insert' | 'remove'; at: number; w?: number; bit?: number };

function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  if (m.op === 'flip') {
    if (bytes.length === 0) return bytes;
    const out = bytes.slice();
    out[m.at % bytes.length] ^= 1 << m.bit!;
    return out;
  }
  const at = (m.at % (bytes.length / 4 + 1)) * 4;
  const w = new Uint8Array(4);
  new DataView(w.buffer).setUint32(0, m.w ?? 0);
  if (m.op === 'insert') {
    const out = new Uint8Array(bytes.length + 4);
    out.set(bytes.subarray(0, at));
    out.set(w, at);
    out.set(bytes.subarray(at), at + 4);
    return out;
  }
  if (at >= bytes.length) return bytes;
  if (m.op === 'set') {
    const out = bytes.slice();
    out.set(w, at);
    return out;
  }
  const out = new Uint8Array(bytes.length - 4);
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(at + 4), at);
  return out;
}

test('mutated valid encodings of every type: only XdrError, or a value that re-encodes', () => {
  const tally = { decoded: 0, refused: 0 };
  for (const { t, codec } of all) {
    fc.assert(
      fc.property(values.forType(t.name), fc.array(mutation, { minLength: 1, maxLength: 3 }), (v, ms) => {
        let bytes: Uint8Array = xdrEncode(codec, v).slice();
        for (const m of ms) bytes = mutate(bytes, m);
        tally[decodeHostile(codec, bytes).ok ? 'decoded' : 'refused']++;
      }),
      { numRuns: 40 },
    );
  }
  // Both outcomes occur often: the mutations reach past the first field.
  expect(tally.decoded).toBeGreaterThan(all.length);
  expect(tally.refused).toBeGreaterThan(all.length * 5);
});

/** A value of the type with much in it: the longest encoding among a fixed sample, up to 6 KiB. */
function richValue(t: ModelType): { value: unknown; bytes: Uint8Array } {
  const codec = byName.get(t.name)!.codec;
  let best: { value: unknown; bytes: Uint8Array } | null = null;
  for (const value of fc.sample(values.forType(t.name), { numRuns: 40, seed: 20250611 })) {
    const bytes = xdrEncode(codec, value).slice();
    if (bytes.length > 6144) continue;
    if (!best || bytes.length > best.bytes.length) best = { value, bytes };
  }
  return best ?? { value: values.minimal(t.name), bytes: xdrEncode(codec, values.minimal(t.name)).slice() };
}

describe('truncated valid encodings, cut at every byte position', () => {
  const events = types.filter((t) => /_msg$/.test(t.name));
  const sample = [
    'remote_domain_get_xml_desc_ret',
    'remote_connect_get_all_domain_stats_ret',
    'remote_domain_list_all_snapshots_ret',
    'remote_domain_snapshot_get_xml_desc_ret',
    'remote_domain_checkpoint_get_xml_desc_ret',
    'remote_domain_get_job_stats_ret',
    'virNetMessageHeader',
    'virNetMessageError',
    ...events.map((t) => t.name),
  ];

  test('the sample holds every event message type', () => {
    expect(events.filter((t) => t.name.startsWith('remote_')).length).toBe(53);
    expect(events.map((t) => t.name)).toContain('qemu_domain_monitor_event_msg');
  });

  test.each(sample)('%s', (name) => {
    const { codec, t } = byName.get(name)!;
    const { value, bytes } = richValue(t);
    expect(bytes.length).toBeGreaterThan(0);
    const full = decodeAll(codec, bytes);
    expect(full.ok && isDeepStrictEqual(full.value, value)).toBe(true);
    for (let cut = 0; cut < bytes.length; cut++) {
      const out = decodeAll(codec, bytes.subarray(0, cut));
      // A strict prefix of a valid encoding is never itself valid: the decoder would stop at the same place.
      if (out.ok) throw new Error(`${name}: ${cut} of ${bytes.length} bytes decoded`);
      expect(out.error.detail).toMatch(/^needs \d+ bytes but only \d+ remain$|claims at least \d+ bytes but only \d+ remain$/);
      expect(out.error.path[0] ?? name).toBeTruthy();
    }
    // Cut inside the message (not at its start), the error names the field that ran short.
    if (t.def.kind === 'struct' && bytes.length >= 8) {
      const out = decodeAll(codec, bytes.subarray(0, bytes.length - 1));
      expect(!out.ok && out.error.fieldPath.startsWith('.')).toBe(true);
    }
  });
});

describe('hostile lengths fail fast, before allocating', () => {
  const firstWithKey = new Map<string, ModelType>();
  for (const t of types) for (const k of values.typeMaxKeys(t.name)) if (!firstWithKey.has(k)) firstWithKey.set(k, t);

  /** The byte offset of the length word that holds `max` in the max-length encoding of the type. */
  function lengthWordAt(bytes: Uint8Array, max: number): number {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let at = 0; at + 4 <= bytes.length; at += 4) if (v.getUint32(at) === max) return at;
    throw new Error(`no length word ${max}`);
  }

  const u32 = (n: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  };
  const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

  test.each([...firstWithKey].map(([k, t]) => [k, t.name] as const))('%s (%s)', (key, name) => {
    const { codec } = byName.get(name)!;
    const [, kind, maxText] = /^(\w+)<(\d+)>$/.exec(key)!;
    const max = Number(maxText);
    const bytes = xdrEncode(codec, values.maxValue(name, key)).slice();
    const at = lengthWordAt(bytes, max);
    const head = bytes.subarray(0, at);
    const tail = bytes.subarray(at + 4);
    const unit = kind === 'array' ? 'items' : 'bytes';
    for (const n of [max + 1, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const out = decodeAll(codec, concat(head, u32(n), tail));
      expect(!out.ok && out.error.detail).toBe(`${kind} of ${n} ${unit} exceeds ${max}`);
    }
    // The declared maximum itself, with only 8 bytes behind it: refused by the length check, not by a read
    // that runs off the end after the array or string was allocated.
    const out = decodeAll(codec, concat(head, u32(max), new Uint8Array(8)));
    expect(!out.ok && out.error.detail).toMatch(new RegExp(`^${kind} of ${max} claims at least \\d+ bytes but only 8 remain$`));
  });

  test('an array of 16384 snapshots with 8 bytes of input is refused by its length word alone', () => {
    const { codec } = byName.get('remote_domain_list_all_snapshots_ret')!;
    const bytes = concat(u32(16384), new Uint8Array(8));
    // remote_nonnull_domain_snapshot takes at least 28 bytes (two empty strings, a 16-byte UUID, an int).
    expect(() => xdrDecode(codec, bytes)).toThrow('remote_domain_list_all_snapshots_ret.snapshots: array of 16384 claims at least 458752 bytes but only 8 remain');
  });

  test('a 4 GiB string length in a reply is refused by its length word alone', () => {
    const { codec } = byName.get('remote_domain_get_xml_desc_ret')!;
    expect(() => xdrDecode(codec, u32(0xffffffff))).toThrow('remote_domain_get_xml_desc_ret.xml: string of 4294967295 bytes exceeds 4194304');
    expect(decodeAll(codec, u32(4194304))).toMatchObject({ ok: false, error: { detail: 'string of 4194304 claims at least 4194304 bytes but only 0 remain' } });
  });

  test('every variable-length array in every protocol has items of at least 4 bytes, so a length word bounds the work', () => {
    const arrays: { where: string; s: Extract<Shape, { k: 'variable' }> }[] = [];
    const walk = (s: Shape, where: string): void => {
      if (s.k === 'variable') arrays.push({ where, s });
      if (s.k === 'variable' || s.k === 'fixed' || s.k === 'optional') walk(s.of, where);
    };
    for (const t of types) {
      const d = t.def;
      if (d.kind === 'struct') for (const f of d.fields) walk(model.shapeOf(f, t.name), `${t.name}.${(f as { name: string }).name}`);
      if (d.kind === 'typedef') walk(model.shapeOf(d.decl, t.name), t.name);
      if (d.kind === 'union') for (const a of d.arms) if (a.decl.form !== 'void') walk(model.shapeOf(a.decl, t.name), `${t.name}.${a.decl.name}`);
    }
    expect(arrays.length).toBeGreaterThan(100);
    expect(arrays.filter((a) => model.minSize(a.s.of) < 4).map((a) => a.where)).toEqual([]);
    // And none is unbounded (`<>`): every one has a declared maximum.
    expect(arrays.filter((a) => a.s.max === UNBOUNDED).map((a) => a.where)).toEqual([]);
  });
});
