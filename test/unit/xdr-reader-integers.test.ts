/**
 * XdrReader reads integers with byte arithmetic (and 64-bit values through a double when they fit): every read
 * must equal what a DataView reads from the same bytes, at the edges of each range.
 */
import { XdrReader } from '../../src/protocol/xdr';

function bytesOf(write: (v: DataView) => void, n: number): Uint8Array {
  const b = new Uint8Array(n);
  write(new DataView(b.buffer));
  return b;
}

const INT32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0x12345678, -0x12345678, 255, 256, -256];
const UINT32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xdeadbeef];
const P53 = 2n ** 53n;
const HYPER = [0n, 1n, -1n, P53 - 1n, P53, P53 + 1n, -P53, -P53 - 1n, -P53 + 1n, 2n ** 63n - 1n, -(2n ** 63n), 0x1fffffn << 32n, -(0x200000n << 32n), (0x200000n << 32n) - 1n, 9000000n];
const UHYPER = [0n, 1n, P53 - 1n, P53, P53 + 1n, 2n ** 64n - 1n, 2n ** 63n, (0x200000n << 32n) - 1n, 0x200000n << 32n, 0xffffffffn];

test('int() and uint() equal DataView reads', () => {
  for (const v of INT32) expect(new XdrReader(bytesOf((d) => d.setInt32(0, v), 4)).int()).toBe(v);
  for (const v of UINT32) expect(new XdrReader(bytesOf((d) => d.setUint32(0, v), 4)).uint()).toBe(v);
});

test('hyper() and uhyper() are exact at ±2^53, at the fast path\'s edges and at the 64-bit limits', () => {
  for (const v of HYPER) expect(new XdrReader(bytesOf((d) => d.setBigInt64(0, v), 8)).hyper()).toBe(v);
  for (const v of UHYPER) expect(new XdrReader(bytesOf((d) => d.setBigUint64(0, v), 8)).uhyper()).toBe(v);
});

test('reads at an offset inside a larger buffer (a payload view into a read buffer)', () => {
  const big = new Uint8Array(64);
  const view = big.subarray(13, 13 + 16);
  new DataView(big.buffer, 13).setInt32(0, -5);
  new DataView(big.buffer, 17).setBigUint64(0, 2n ** 64n - 2n);
  const r = new XdrReader(view, 0, 12);
  expect(r.int()).toBe(-5);
  expect(r.uhyper()).toBe(2n ** 64n - 2n);
  expect(r.remaining).toBe(0);
});

test('a range outside the buffer is refused when the reader is made, not read as zeros', () => {
  expect(() => new XdrReader(new Uint8Array(4), 0, 64)).toThrow(RangeError);
  expect(() => new XdrReader(new Uint8Array(4), 3, 2)).toThrow(RangeError);
  expect(() => new XdrReader(new Uint8Array(4), -1, 4)).toThrow(RangeError);
});
