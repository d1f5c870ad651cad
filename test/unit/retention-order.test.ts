import fc from 'fast-check';
import { computeRetention, type RetentionSnapshot } from '../../src/scheduler/retention';
import { compareIds, orderByCreation } from '../../src/scheduler/retention-order';

/** Each array draws all its times from one shape, so large arrays reach every path of the sort. */
const timeShapes = [
  fc.integer({ min: 0, max: 50 }), // many ties, one radix pass
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), // three passes, negative offsets
  fc.integer({ min: 1.7e12, max: 1.7e12 + 2 ** 20 }), // two passes
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }), // fractions within one ms
  fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constantFrom(-8.64e15, 8.64e15)), // span beyond 2^48: fallback
];

function reference(created: Float64Array, ids: string[]): number[] {
  return Array.from(created.keys()).sort((a, b) => created[a] - created[b] || compareIds(ids[a], ids[b]));
}

describe('ordering by creation time', () => {
  it('matches a comparison sort, radix path included', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...timeShapes)
          .chain((shape) => fc.array(fc.tuple(shape, fc.stringMatching(/^[a-c]{1,3}$/)), { maxLength: 900, size: 'max' })),
        (rows) => {
          const created = new Float64Array(rows.map((r) => r[0]));
          const items = rows.map((r, i) => ({ id: `${r[1]}${i % 7}` }));
          const got = Array.from(orderByCreation(created, items));
          const want = reference(created, items.map((x) => x.id));
          // Equal (time, id) pairs may come in either order; compare what each position holds.
          const mismatch = got.findIndex((g, k) => created[g] !== created[want[k]] || items[g].id !== items[want[k]].id);
          expect(mismatch).toBe(-1);
        },
      ),
      // Shrinking arrays of hundreds of items is slow; the first counterexample is informative enough.
      { numRuns: 150, endOnFailure: true },
    );
  });

  it('sorts a large millisecond history exactly', () => {
    const n = 100_000;
    const created = new Float64Array(n);
    const items: { id: string }[] = [];
    for (let i = 0; i < n; i++) {
      created[i] = 1.7e12 + ((i * 7_919_993) % n) * 60_000 + (i % 3); // scrambled, with same-ms ties
      items.push({ id: `s${(i * 31) % 1000}` });
    }
    const got = orderByCreation(created, items);
    let outOfOrder = 0;
    for (let k = 1; k < n; k++) {
      const a = got[k - 1];
      const b = got[k];
      if (!(created[a] < created[b] || (created[a] === created[b] && items[a].id <= items[b].id))) outOfOrder++;
    }
    expect(outOfOrder).toBe(0);
    expect(new Set(got).size).toBe(n);
  });
});

describe('the retention result does not depend on input order', () => {
  const snapsArb = fc.array(
    fc.record({
      created: fc.oneof(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 590, max: 600 })),
      done: fc.option(fc.integer({ min: -1, max: 4 }), { freq: 6 }),
      pinned: fc.integer({ min: 0, max: 20 }).map((x) => x === 0),
    }),
    { minLength: 250, maxLength: 600 },
  );

  it.each([
    ['aligned', { baseMs: 3, levels: 6, slots: 3, keepLast: 3, keepWithinMs: 20 }],
    ['dss', { kind: 'dss' as const, unitMs: 40, intervals: 5 }],
  ])('%s: shuffled input gives the sorted input result', (_name, policy) => {
    fc.assert(
      fc.property(snapsArb, fc.infiniteStream(fc.nat()), (rows, randoms) => {
        const snaps: RetentionSnapshot[] = rows.map((r, i) => ({
          id: `r${String(i % 50).padStart(2, '0')}-${i}`,
          created: r.created,
          completed: r.done === null ? null : r.created + r.done,
          pinned: r.pinned,
        }));
        const sorted = [...snaps].sort((a, b) => a.created - b.created || compareIds(a.id, b.id));
        const keys = snaps.map(() => randoms.next().value as number);
        const shuffled = snaps.map((s, i) => [keys[i], s] as const).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
        expect(computeRetention(shuffled, policy, { now: 605 })).toEqual(computeRetention(sorted, policy, { now: 605 }));
      }),
      { numRuns: 40 },
    );
  });
});
