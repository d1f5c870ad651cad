/**
 * Orders snapshots by creation time, oldest first, ties broken by id (plain string comparison), without
 * allocating an object per snapshot: an LSD radix sort of an index array on the whole-millisecond offset from the
 * oldest creation time (16-bit digits, one pass per 16 bits of span, at most three below 2^48 ms), then a
 * comparison sort of each run of equal milliseconds (fractions, then ids). Spans too wide for that fall back to one comparison sort.
 */

/** Something with an id, as the snapshots handed to the retention function are. */
export interface HasId {
  readonly id: string;
}

const RADIX = 65536;

/** Compares two ids the way the retention order breaks creation-time ties. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Returns the indices of `created` in ascending (created, id) order. `created` holds each item's creation time
 * (finite numbers), `items` its id.
 */
export function orderByCreation(created: Float64Array, items: readonly HasId[]): Uint32Array {
  const n = created.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return order;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = created[i];
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const base = Math.floor(min);
  const span = Math.floor(max) - base;
  const byTimeThenId = (a: number, b: number): number =>
    created[a] - created[b] || compareIds(items[a].id, items[b].id);
  if (n < 256 || !(span < 2 ** 48)) {
    return order.sort(byTimeThenId);
  }
  // The offset in whole ms, split into two 32-bit words: 16-bit digits come out of them with shifts.
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const key = Math.floor(created[i]) - base;
    lo[i] = key % 4294967296;
    hi[i] = Math.floor(key / 4294967296);
  }
  let src = order;
  let dst = new Uint32Array(n);
  const count = new Uint32Array(RADIX);
  const passes = span < 2 ** 16 ? 1 : span < 2 ** 32 ? 2 : 3;
  for (let pass = 0; pass < passes; pass++) {
    const word = pass < 2 ? lo : hi;
    const shift = pass === 1 ? 16 : 0;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(word[i] >>> shift) & 0xffff]++;
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = count[d];
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const idx = src[i];
      dst[count[(word[idx] >>> shift) & 0xffff]++] = idx;
    }
    const swap = src;
    src = dst;
    dst = swap;
  }
  // Runs of one millisecond: order them exactly (fractions of a millisecond, then ids).
  let runStart = 0;
  for (let i = 1; i <= n; i++) {
    if (i < n && lo[src[i]] === lo[src[runStart]] && hi[src[i]] === hi[src[runStart]]) continue;
    if (i - runStart > 1) src.subarray(runStart, i).sort(byTimeThenId);
    runStart = i;
  }
  return src;
}
