/**
 * Benchmark of `simulate` (schedule simulate): the current algorithm against the first one (prune the whole
 * working set after every arrival, test/helpers/simulate-reference.ts), measured in the same process on the same
 * inputs, for policies that keep every snapshot (the first one's worst case: quadratic in the snapshots kept) and
 * one that keeps few. Reports median, min and max of the runs and the ratio of medians.
 *
 * Run: npm run bench:simulate
 */
import { simulate } from '../src/scheduler/simulate';
import type { RetentionPolicyInput } from '../src/scheduler/policy';
import { simulateReference } from '../test/helpers/simulate-reference';

const H = 3_600_000;
const start = Date.UTC(2020, 0, 1);

interface Case {
  name: string;
  policy: RetentionPolicyInput;
  n: number;
  runs: number;
}

const CASES: Case[] = [
  { name: 'aligned, keepLast = all (20k)', policy: { baseMs: H, levels: 8, slots: 2, keepLast: 20_000 }, n: 20_000, runs: 3 },
  { name: 'aligned, keepWithin = all (20k)', policy: { baseMs: H, levels: 8, slots: 2, keepLast: 3, keepWithinMs: 20_000 * H }, n: 20_000, runs: 3 },
  { name: 'dss n=15, all kept (20k)', policy: { kind: 'dss', unitMs: H * 2 ** 14, intervals: 15 }, n: 20_000, runs: 3 },
  { name: 'aligned 8x2, keeps 19 (200k)', policy: { baseMs: H, levels: 8, slots: 2, keepLast: 3 }, n: 200_000, runs: 3 },
];

function time(fn: () => unknown, runs: number): { median: number; min: number; max: number } {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], min: ms[0], max: ms[ms.length - 1] };
}

const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
process.stdout.write('case                                   current ms (min-max)       first ms (min-max)          ratio\n');
for (const c of CASES) {
  const options = { start, end: start + (c.n - 1) * H, every: H };
  const a = simulate(c.policy, options);
  const b = simulateReference(c.policy, options);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${c.name}: results differ`);
  const cur = time(() => simulate(c.policy, options), c.runs);
  const ref = time(() => simulateReference(c.policy, options), c.runs);
  process.stdout.write(
    `${c.name.padEnd(38)} ${`${f(cur.median)} (${f(cur.min)}-${f(cur.max)})`.padEnd(26)} ${`${f(ref.median)} (${f(ref.min)}-${f(ref.max)})`.padEnd(27)} ${(ref.median / cur.median).toFixed(0)}x faster\n`,
  );
}
