/** Growing the typed arrays of the scheduler's working sets and heaps. */

/** A typed array (made by `make`) twice as long as `a`, with `a`'s values first. */
export function doubled<T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T): T {
  const b = make(a.length * 2);
  b.set(a);
  return b;
}
