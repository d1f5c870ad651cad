/**
 * `simulate` without rescanning the working set at every arrival gives exactly what the first implementation
 * (prune the whole set after every arrival: test/helpers/simulate-reference.ts) gives, for random aligned and DSS
 * policies, spacings, durations and grace periods; it is linear where that one was quadratic in the snapshots
 * kept; and `simulateAsync` can be interrupted.
 */
import fc from 'fast-check';
import { AbortError } from '../../src/errors';
import { simulate, simulateAsync } from '../../src/scheduler/simulate';
import { simulateReference } from '../helpers/simulate-reference';

const start = Date.UTC(2026, 0, 1, 0, 0, 0);

const aligned = fc.record({
  kind: fc.constant('aligned' as const),
  baseMs: fc.integer({ min: 1, max: 50 }),
  levels: fc.integer({ min: 0, max: 6 }),
  slots: fc.integer({ min: 1, max: 4 }),
  keepLast: fc.integer({ min: 1, max: 6 }),
  keepWithinMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
  graceMs: fc.integer({ min: 0, max: 100 }),
});
const dss = fc.record({
  kind: fc.constant('dss' as const),
  unitMs: fc.integer({ min: 1, max: 80 }),
  intervals: fc.integer({ min: 1, max: 6 }),
  graceMs: fc.integer({ min: 0, max: 100 }),
});
const run = fc.record({
  every: fc.integer({ min: 1, max: 30 }),
  arrivals: fc.integer({ min: 0, max: 250 }),
  tail: fc.integer({ min: 0, max: 40 }),
  durationMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 60 })),
});

test.each([
  ['aligned', aligned],
  ['dss', dss],
] as const)('%s: the same kept set, gaps, deletions and peak as pruning after every arrival', (_n, policy) => {
  fc.assert(
    fc.property(policy, run, (p, r) => {
      const options = { start, end: start + (r.arrivals - 1) * r.every + r.tail, every: r.every, durationMs: r.durationMs };
      if (options.end < start) options.end = start;
      expect(simulate(p, options)).toEqual(simulateReference(p, options));
    }),
    { numRuns: 400 },
  );
});

test('linear: 80,000 snapshots all kept (keepLast 80,000, or DSS keeping them all) take well under the reference\'s time', () => {
  // The reference needs minutes here on a loaded 2-core machine; these finish in well under a second there.
  const H = 3_600_000;
  const n = 80_000;
  const options = { start, end: start + (n - 1) * H, every: H };
  for (const policy of [
    { baseMs: H, levels: 8, slots: 2, keepLast: n },
    { kind: 'dss' as const, unitMs: H * 2 ** 16, intervals: 17 },
  ]) {
    const t0 = performance.now();
    const r = simulate(policy, options);
    const ms = performance.now() - t0;
    expect(r.kept).toHaveLength(n);
    expect(r.peakKept).toBe(n);
    // Not a timing test: a generous bound that only a quadratic algorithm (about 3.2e9 steps here) misses.
    expect(ms).toBeLessThan(20_000);
  }
});

test('simulateAsync gives the same result, and rejects with AbortError when its signal aborts', async () => {
  const policy = { kind: 'dss' as const, unitMs: 1000, intervals: 8 };
  const options = { start, end: start + 999_999, every: 10 };
  expect(await simulateAsync(policy, options)).toEqual(simulate(policy, options));
  const ctl = new AbortController();
  const big = { start, end: start + 9_999_999 * 10, every: 10 };
  setTimeout(() => ctl.abort(), 20);
  const t0 = Date.now();
  await expect(simulateAsync({ baseMs: 10, levels: 20, slots: 4, keepLast: 3 }, big, { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
  expect(Date.now() - t0).toBeLessThan(10_000);
});
