/**
 * How a sparse upload finds holes without SEEK_DATA/SEEK_HOLE: every run of whole all-zero 4 KiB blocks, aligned
 * to the start, is a hole, and a zero tail is a hole; everything else is data. Whatever the chunking of the
 * source, data and holes put back together are the source, byte for byte.
 */
import fc from 'fast-check';
import { allZero, HOLE_BLOCK, HoleFinder } from '../../src/objects/transfer';
import { isHole, type StreamHole } from '../../src/protocol/stream';

type Item = Uint8Array | StreamHole;

/** Runs `chunks` through a HoleFinder; data items are copied (the finder reuses its block buffer). */
function scan(chunks: Uint8Array[]): Item[] {
  const f = new HoleFinder();
  const out: Item[] = [];
  for (const c of chunks) for (const i of f.push(c)) out.push(isHole(i) ? i : i.slice());
  for (const i of f.end()) out.push(isHole(i) ? i : i.slice());
  return out;
}

function rebuild(items: Item[]): Uint8Array {
  const total = items.reduce((n, i) => n + (isHole(i) ? i.hole : i.length), 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const i of items) {
    if (isHole(i)) at += i.hole;
    else {
      out.set(i, at);
      at += i.length;
    }
  }
  return out;
}

/** Cuts `bytes` at `cuts` (sorted positions). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [0, ...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length];
  return points.slice(1).map((end, i) => bytes.subarray(points[i], end));
}

/** A source made of segments: zeros or non-zero bytes, with lengths around block sizes. */
const sourceArb = fc
  .array(fc.record({ zero: fc.boolean(), len: fc.oneof(fc.integer({ min: 1, max: 3 * HOLE_BLOCK }), fc.constantFrom(HOLE_BLOCK, 2 * HOLE_BLOCK, HOLE_BLOCK - 1, HOLE_BLOCK + 1)) }), { maxLength: 12 })
  .map((segs) => {
    const total = segs.reduce((n, s) => n + s.len, 0);
    const b = new Uint8Array(total);
    let at = 0;
    for (const s of segs) {
      if (!s.zero) for (let i = 0; i < s.len; i++) b[at + i] = ((at + i) % 251) + 1;
      at += s.len;
    }
    return b;
  });

test('data and holes put back together are the source, however it is chunked', () => {
  fc.assert(
    fc.property(sourceArb, fc.array(fc.nat(40000), { maxLength: 8 }), (bytes, cuts) => {
      const items = scan(cut(bytes, cuts));
      expect(Buffer.from(rebuild(items)).equals(Buffer.from(bytes))).toBe(true);
    }),
    { numRuns: 300 },
  );
});

test('holes are exactly the aligned all-zero blocks (and a zero tail); data holds no such block', () => {
  fc.assert(
    fc.property(sourceArb, fc.array(fc.nat(40000), { maxLength: 8 }), (bytes, cuts) => {
      const items = scan(cut(bytes, cuts));
      let at = 0;
      for (const i of items) {
        const len = isHole(i) ? i.hole : i.length;
        if (isHole(i)) {
          expect(at % HOLE_BLOCK).toBe(0);
          expect(len % HOLE_BLOCK === 0 || at + len === bytes.length).toBe(true);
          expect(allZero(bytes, at, at + len)).toBe(true);
        } else {
          // No whole aligned zero block inside data, and no zero tail at its end: those would have been holes.
          for (let b = Math.ceil(at / HOLE_BLOCK) * HOLE_BLOCK; b + HOLE_BLOCK <= at + len; b += HOLE_BLOCK) {
            expect(allZero(bytes, b, b + HOLE_BLOCK)).toBe(false);
          }
          const tail = Math.floor(bytes.length / HOLE_BLOCK) * HOLE_BLOCK;
          if (at + len === bytes.length && tail >= at && tail < bytes.length) expect(allZero(bytes, tail, bytes.length)).toBe(false);
        }
        at += len;
      }
      // Holes and data alternate: no two holes in a row.
      for (let k = 1; k < items.length; k++) expect(isHole(items[k]) && isHole(items[k - 1])).toBe(false);
    }),
    { numRuns: 300 },
  );
});

test('a file of zeros is one hole; a file without zero blocks is data only', () => {
  expect(scan([new Uint8Array(10 * HOLE_BLOCK + 5)])).toEqual([{ hole: 10 * HOLE_BLOCK + 5 }]);
  const dense = new Uint8Array(3 * HOLE_BLOCK + 7).fill(1);
  const items = scan(cut(dense, [100, 5000, 9000]));
  expect(items.every((i) => !isHole(i))).toBe(true);
  expect(rebuild(items)).toEqual(dense);
});

test('allZero is right at every alignment and length', () => {
  const buf = new Uint8Array(200);
  for (let start = 0; start < 20; start++) {
    for (let end = start; end < 120; end += 7) {
      expect(allZero(buf, start, end)).toBe(true);
      for (const at of [start, end - 1, Math.floor((start + end) / 2)]) {
        if (at < start || at >= end) continue;
        buf[at] = 0x80;
        expect(allZero(buf, start, end)).toBe(false);
        buf[at] = 0;
      }
    }
  }
  // An unaligned view (byteOffset not a multiple of 4).
  const view = new Uint8Array(buf.buffer, 3, 100);
  expect(allZero(view, 0, 100)).toBe(true);
  view[50] = 1;
  expect(allZero(view, 0, 100)).toBe(false);
});
