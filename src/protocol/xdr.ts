/**
 * XDR (RFC 4506) reader and writer over `Uint8Array`, used by the generated codecs in `generated/`.
 *
 * The reader checks bounds on every read, enforces every declared maximum, refuses a `bool` other than 0 or 1,
 * and never allocates more than the input justifies (an array length is checked against the bytes left before
 * anything is allocated). Every failure is an {@link XdrError}; the generated codecs add the field path as the
 * error unwinds. No `node:` imports: this runs in browsers too.
 */
import { XdrError } from '../errors.js';

const MAX_UINT32 = 0xffffffff;

/**
 * A copy of `bytes[start, end)` as a plain Uint8Array. Not `bytes.slice()`: on a Node Buffer (which transports
 * hand in) `slice` returns a view, and a transport may reuse its read buffer.
 */
export function copyBytes(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end));
}

/** `parts` one after another, in a new array; `total` is their summed length when the caller already has it. */
export function concatBytes(parts: readonly Uint8Array[], total = parts.reduce((n, p) => n + p.length, 0)): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
/** Strings up to this many bytes are decoded by hand (see XdrReader.string). */
const SHORT_STRING = 64;
/**
 * Scratch char-code arrays for short strings, one per length (setting an array's length on every call costs
 * more than filling it); reused, so never held past one call.
 */
const CODES: number[][] = /* @__PURE__ */ Array.from({ length: SHORT_STRING + 1 }, (_, n) => new Array<number>(n).fill(0));

/** A copy of n bytes at `start`. Small copies (UUIDs) are a byte loop into an on-heap array: no builtin call. */
function copySmall(bytes: Uint8Array, start: number, n: number): Uint8Array {
  if (n > 64) return copyBytes(bytes, start, start + n);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = bytes[start + i];
  return out;
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const utf8Decoder = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = /* @__PURE__ */ new TextEncoder();

/** Reads XDR items from a byte range. `pos` is public so generated code and frame parsers can inspect it. */
export class XdrReader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;
  readonly #start: number;
  /** Made on the first 64-bit or floating-point read: see {@link XdrReader.view}. */
  #view: DataView | null = null;
  /** The whole range as one latin1 string, for short ASCII strings (see {@link XdrReader.string}). */
  #latin1: string | null = null;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    if (!(start >= 0 && start <= end && end <= buf.length)) {
      throw new RangeError(`XdrReader range ${start}..${end} is outside a buffer of ${buf.length} bytes`);
    }
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#start = start;
  }

  /**
   * A DataView of the buffer, made when first needed. Most messages hold only 32-bit items, read with byte
   * arithmetic: constructing a DataView (and reading a typed array's `.buffer`) are calls into the runtime that
   * cost more than decoding a small reply, and a reader is made for every message.
   */
  get view(): DataView {
    return (this.#view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength));
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.end - this.pos;
  }

  #short(n: number): never {
    throw new XdrError(`needs ${n} bytes but only ${this.end - this.pos} remain`);
  }

  /** Signed 32-bit integer (also `char` and `short`, which libvirt's rpcgen sends as 4 bytes). */
  int(): number {
    const p = this.pos;
    if (this.end - p < 4) this.#short(4);
    this.pos = p + 4;
    const b = this.buf;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  /** Unsigned 32-bit integer. */
  uint(): number {
    const p = this.pos;
    if (this.end - p < 4) this.#short(4);
    this.pos = p + 4;
    const b = this.buf;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** A signed 32-bit value that must lie in [min, max] (`char`, `short` and their unsigned forms). */
  intIn(min: number, max: number): number {
    const v = min < 0 ? this.int() : this.uint();
    if (v < min || v > max) throw new XdrError(`value ${v} is outside ${min}..${max}`);
    return v;
  }

  /** Signed 64-bit integer. */
  hyper(): bigint {
    const p = this.pos;
    if (this.end - p < 8) this.#short(8);
    this.pos = p + 8;
    const b = this.buf;
    const hi = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
    // Values within ±2^53 (versions, sizes, counters: nearly all) are exact as a double.
    if (hi >= -0x200000 && hi < 0x200000) return BigInt(hi * 4294967296 + (((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0));
    return this.view.getBigInt64(p);
  }

  /** Unsigned 64-bit integer. */
  uhyper(): bigint {
    const p = this.pos;
    if (this.end - p < 8) this.#short(8);
    this.pos = p + 8;
    const b = this.buf;
    const hi = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
    if (hi < 0x200000) return BigInt(hi * 4294967296 + (((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0));
    return this.view.getBigUint64(p);
  }

  /** XDR bool: exactly 0 or 1. */
  bool(): boolean {
    const v = this.int();
    if (v === 0) return false;
    if (v === 1) return true;
    throw new XdrError(`bool must be 0 or 1, got ${v}`);
  }

  /** The discriminant of an optional (`*T`): true when a value follows. */
  optional(): boolean {
    const v = this.int();
    if (v === 0) return false;
    if (v === 1) return true;
    throw new XdrError(`optional-data discriminant must be 0 or 1, got ${v}`);
  }

  float(): number {
    const p = this.pos;
    if (this.end - p < 4) this.#short(4);
    this.pos = p + 4;
    return this.view.getFloat32(p);
  }

  double(): number {
    const p = this.pos;
    if (this.end - p < 8) this.#short(8);
    this.pos = p + 8;
    return this.view.getFloat64(p);
  }

  /** Reads a variable length and checks it against `max` and against the bytes left. */
  #length(max: number, what: string, minItemSize: number): number {
    const n = this.uint();
    if (n > max) throw new XdrError(`${what} of ${n} ${what === 'array' ? 'items' : 'bytes'} exceeds ${max}`);
    if (n * minItemSize > this.end - this.pos) {
      throw new XdrError(`${what} of ${n} claims at least ${n * minItemSize} bytes but only ${this.end - this.pos} remain`);
    }
    return n;
  }

  /** Checks that padding after `n` data bytes is present and zero, and skips it. */
  #skipPad(n: number): void {
    const pad = (4 - (n & 3)) & 3;
    if (pad === 0) return;
    if (this.end - this.pos < pad) this.#short(pad);
    for (let i = 0; i < pad; i++) {
      if (this.buf[this.pos + i] !== 0) throw new XdrError('non-zero padding bytes');
    }
    this.pos += pad;
  }

  /** `string<max>` as UTF-8. Invalid UTF-8 is an error rather than a silent replacement. */
  string(max: number): string {
    const n = this.#length(max, 'string', 1);
    const p = this.pos;
    const buf = this.buf;
    let s: string;
    if (n < SLICE_COPY_MAX && latin1Decoder !== null && this.end - this.#start >= SLAB_MIN) {
      // Long lists of names (listSnapshotNames: 5,000 of them) are cut out of one latin1 string of the whole
      // message, made once by the host: for bytes below 0x80 latin1 and UTF-8 agree, so a name that is plain ASCII
      // is that substring. V8 copies a substring this short (it makes a slice, which would keep the whole
      // message alive, only from 13 characters on), so no name holds on to the message.
      let high = 0;
      for (let i = 0; i < n; i++) high |= buf[p + i];
      if (high < 0x80) {
        const whole = (this.#latin1 ??= latin1Decoder(buf.subarray(this.#start, this.end)));
        s = whole.substring(p - this.#start, p - this.#start + n);
        this.pos = p + n;
        this.#skipPad(n);
        return s;
      }
    }
    if (n <= SHORT_STRING) {
      // Short strings (names, UUID strings, typed-parameter fields) are most of what libvirt sends. Collect the
      // bytes as char codes and make one flat string: `s += char` builds a rope of n pieces that all survive
      // into the decoded value, and a TextDecoder call costs more than the copy for a few dozen bytes.
      const codes = CODES[n];
      let high = 0;
      for (let i = 0; i < n; i++) {
        const c = buf[p + i];
        high |= c;
        codes[i] = c;
      }
      s = high < 0x80 ? String.fromCharCode.apply(null, codes) : decodeUtf8(buf.subarray(p, p + n));
    } else {
      const bytes = buf.subarray(p, p + n);
      s = (n >= ASCII_DECODER_MIN && asciiDecoder !== null && asciiDecoder(bytes)) || decodeUtf8(bytes);
    }
    this.pos = p + n;
    this.#skipPad(n);
    return s;
  }

  /** `opaque<max>`: a copy of the bytes. */
  opaque(max: number): Uint8Array {
    const n = this.#length(max, 'opaque', 1);
    const out = copySmall(this.buf, this.pos, n);
    this.pos += n;
    this.#skipPad(n);
    return out;
  }

  /** `opaque[n]`: a copy of exactly n bytes. */
  opaqueFixed(n: number): Uint8Array {
    if (this.end - this.pos < n) this.#short(n);
    const out = copySmall(this.buf, this.pos, n);
    this.pos += n;
    this.#skipPad(n);
    return out;
  }

  /** The length of `T<max>`; `minItemSize` (bytes) bounds the allocation by the input left. */
  arrayLength(max: number, minItemSize: number): number {
    return this.#length(max, 'array', minItemSize);
  }

  /** Fails unless every byte was consumed. */
  done(): void {
    if (this.pos !== this.end) throw new XdrError(`${this.end - this.pos} bytes left over after decoding`);
  }
}

/** Strings from this many bytes on are offered to the host's ASCII decoder first. */
const ASCII_DECODER_MIN = 256;
/** Messages from this many bytes on may decode their short strings from one string of the whole message. */
const SLAB_MIN = 4096;
/** V8 copies substrings shorter than this (SlicedString::kMinLength); longer ones would share the message's. */
const SLICE_COPY_MAX = 13;
let asciiDecoder: ((bytes: Uint8Array) => string | null) | null = null;

let latin1Decoder: ((bytes: Uint8Array) => string) | null = null;

/**
 * Installs the host's latin1 decoder (one char per byte, no validation): large messages of short names are
 * decoded from one such string (see XdrReader.string). The Node entry installs one built on Buffer.
 */
export function setLatin1Decoder(decoder: ((bytes: Uint8Array) => string) | null): void {
  latin1Decoder = decoder;
}

/**
 * Installs a faster decoder for long strings that are plain ASCII (XML, nearly always): it returns the string, or
 * null when the bytes are not all ASCII, and the fatal UTF-8 decoder then decides. The Node entry installs one
 * built on Buffer (src/node/ascii-strings.ts); browsers keep TextDecoder.
 */
export function setAsciiDecoder(decoder: ((bytes: Uint8Array) => string | null) | null): void {
  asciiDecoder = decoder;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new XdrError('string is not valid UTF-8');
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `a string of length ${v.length}`;
  if (typeof v === 'bigint') return `bigint ${v}`;
  if (typeof v === 'number') return `number ${v}`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return typeof v;
}

/**
 * Writes XDR items into a growing buffer (growth about 1.5x). Values are checked against their XDR type and
 * declared maximum before anything is written.
 */
export class XdrWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length + (this.buf.length >> 1) + 16;
    if (size < need) size = need;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  int(v: number): void {
    if (typeof v !== 'number' || (v | 0) !== v) throw new XdrError(`expected a 32-bit signed integer, got ${describe(v)}`);
    this.ensure(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  uint(v: number): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_UINT32) {
      throw new XdrError(`expected a 32-bit unsigned integer, got ${describe(v)}`);
    }
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  /** A 4-byte value restricted to [min, max] (`char`, `short` and their unsigned forms). */
  intIn(v: number, min: number, max: number): void {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new XdrError(`expected an integer in ${min}..${max}, got ${describe(v)}`);
    }
    this.ensure(4);
    if (min < 0) this.view.setInt32(this.pos, v);
    else this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  hyper(v: bigint): void {
    if (typeof v !== 'bigint' || BigInt.asIntN(64, v) !== v) throw new XdrError(`expected a 64-bit signed bigint, got ${describe(v)}`);
    this.ensure(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
  }

  uhyper(v: bigint): void {
    if (typeof v !== 'bigint' || BigInt.asUintN(64, v) !== v) throw new XdrError(`expected a 64-bit unsigned bigint, got ${describe(v)}`);
    this.ensure(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
  }

  bool(v: boolean): void {
    if (typeof v !== 'boolean') throw new XdrError(`expected a boolean, got ${describe(v)}`);
    this.ensure(4);
    this.view.setInt32(this.pos, v ? 1 : 0);
    this.pos += 4;
  }

  /** The discriminant of an optional: writes 1 and returns true when `v` is not null/undefined. */
  optional(v: unknown): boolean {
    const present = v !== null && v !== undefined;
    this.ensure(4);
    this.view.setInt32(this.pos, present ? 1 : 0);
    this.pos += 4;
    return present;
  }

  float(v: number): void {
    if (typeof v !== 'number') throw new XdrError(`expected a number, got ${describe(v)}`);
    this.ensure(4);
    this.view.setFloat32(this.pos, v);
    this.pos += 4;
  }

  double(v: number): void {
    if (typeof v !== 'number') throw new XdrError(`expected a number, got ${describe(v)}`);
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }

  #pad(n: number): void {
    const pad = (4 - (n & 3)) & 3;
    for (let i = 0; i < pad; i++) this.buf[this.pos++] = 0;
  }

  /** `string<max>`, encoded as UTF-8; the maximum applies to the encoded bytes. */
  string(v: string, max: number): void {
    if (typeof v !== 'string') throw new XdrError(`expected a string, got ${describe(v)}`);
    const len = v.length;
    // UTF-8 never takes fewer bytes than UTF-16 units: refuse before allocating for an oversize string.
    if (len > max) throw new XdrError(`string of at least ${len} bytes exceeds ${max}`);
    // Worst case 3 bytes per UTF-16 unit, plus the length word and padding.
    this.ensure(4 + len * 3 + 3);
    const start = this.pos + 4;
    const buf = this.buf;
    let n = 0;
    let ascii = true;
    for (; n < len; n++) {
      const c = v.charCodeAt(n);
      if (c >= 0x80) {
        ascii = false;
        break;
      }
      buf[start + n] = c;
    }
    if (!ascii) {
      // A lone surrogate has no UTF-8 form; TextEncoder would write U+FFFD and the value would not round-trip.
      if (LONE_SURROGATE.test(v)) throw new XdrError('string contains a lone UTF-16 surrogate, which has no UTF-8 form');
      n = utf8Encoder.encodeInto(v, buf.subarray(start)).written;
    }
    if (n > max) throw new XdrError(`string of ${n} bytes exceeds ${max}`);
    this.view.setUint32(this.pos, n);
    this.pos = start + n;
    this.#pad(n);
  }

  /** `opaque<max>`. */
  opaque(v: Uint8Array, max: number): void {
    if (!(v instanceof Uint8Array)) throw new XdrError(`expected a Uint8Array, got ${describe(v)}`);
    if (v.length > max) throw new XdrError(`opaque of ${v.length} bytes exceeds ${max}`);
    this.ensure(4 + v.length + 3);
    this.view.setUint32(this.pos, v.length);
    this.buf.set(v, this.pos + 4);
    this.pos += 4 + v.length;
    this.#pad(v.length);
  }

  /** `opaque[n]`: exactly n bytes. */
  opaqueFixed(v: Uint8Array, n: number): void {
    if (!(v instanceof Uint8Array)) throw new XdrError(`expected a Uint8Array, got ${describe(v)}`);
    if (v.length !== n) throw new XdrError(`fixed opaque needs exactly ${n} bytes, got ${v.length}`);
    this.ensure(n + 3);
    this.buf.set(v, this.pos);
    this.pos += n;
    this.#pad(n);
  }

  /** The length word of `T<max>`, after checking `v` is an array within `max`. */
  arrayLength(v: readonly unknown[], max: number): void {
    if (!Array.isArray(v)) throw new XdrError(`expected an array, got ${describe(v)}`);
    if (v.length > max) throw new XdrError(`array of ${v.length} items exceeds ${max}`);
    this.ensure(4);
    this.view.setUint32(this.pos, v.length);
    this.pos += 4;
  }

  /** Checks that `v` is an array of exactly `n` items (`T[n]`); writes nothing. */
  fixedArray(v: readonly unknown[], n: number): void {
    if (!Array.isArray(v)) throw new XdrError(`expected an array, got ${describe(v)}`);
    if (v.length !== n) throw new XdrError(`fixed array needs exactly ${n} items, got ${v.length}`);
  }

  /** Reserves a 4-byte word to patch later with {@link patchUint}; returns its offset. */
  reserve(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  /** Writes an unsigned 32-bit value at an offset reserved earlier. */
  patchUint(at: number, v: number): void {
    this.view.setUint32(at, v);
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

/** A generated codec for one XDR type. */
export interface XdrCodec<T> {
  /** The XDR type's name, e.g. `remote_nonnull_domain`. */
  readonly name: string;
  encode(w: XdrWriter, v: T): void;
  decode(r: XdrReader): T;
}

/** Adds a path segment to an error unwinding through a codec; anything not an XdrError becomes one. */
export function xdrWithin(e: unknown, segment: string): XdrError {
  if (e instanceof XdrError) return e.within(segment);
  const err = new XdrError(e instanceof Error ? e.message : String(e));
  return err.within(segment);
}

/**
 * Makes `fn` a constructor of plain objects (its `prototype` becomes Object.prototype) and returns it. The
 * generated decoders build each struct with one (see `maker` in scripts/xdrgen/emit-codecs.ts), calling this
 * under a `@__PURE__` annotation so that bundlers drop the constructors of structs nothing decodes.
 */
export function plainConstructor<F extends (...args: never[]) => void>(fn: F): F {
  (fn as unknown as { prototype: object }).prototype = Object.prototype;
  return fn;
}

/** Encodes one value into a fresh byte array. */
export function xdrEncode<T>(codec: XdrCodec<T>, value: T, initialSize = 256): Uint8Array {
  const w = new XdrWriter(initialSize);
  try {
    codec.encode(w, value);
  } catch (e) {
    throw xdrWithin(e, codec.name);
  }
  return w.finish();
}

/** Decodes one value that must span the whole byte array. */
export function xdrDecode<T>(codec: XdrCodec<T>, bytes: Uint8Array): T {
  const r = new XdrReader(bytes);
  let v: T;
  try {
    v = codec.decode(r);
    r.done();
  } catch (e) {
    throw xdrWithin(e, codec.name);
  }
  return v;
}
