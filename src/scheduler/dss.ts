/**
 * The DSS policy on a sorted array of creation times: the removal rules of the Dyadic Snapshot Scheduler by
 * Andre Noll (dss 0.1.x, `find_outdated_snapshot` / `find_redundant_snapshot`), computed in one pass instead of
 * DSS's one-removal-per-loop.
 *
 * DSS's rules, restated: a snapshot's interval is `floor((now - created) / unit)`. Walking the intervals from the
 * oldest (`n - 1`) to the newest (0), interval `k` wants `2^(n-k-1)` snapshots; every older interval holding fewer
 * than it wants adds its shortfall to a running `missing` count (an interval holding more adds nothing, and DSS
 * never subtracts extras it has already granted, so one shortfall can be used by every newer interval). Interval
 * `k` may hold `wanted + missing`; DSS removes from the oldest interval that holds more, one snapshot at a time,
 * rescanning after each removal. The victim is the newer snapshot of the closest pair of neighbours inside the
 * interval (ties: the oldest such pair; the oldest snapshot of an interval is only taken when it is the last
 * candidate left). Snapshots DSS must not remove (the one being created, its rsync reference) are skipped
 * entirely: never a victim, never the older half of a pair. Anything in an interval beyond the last is outdated.
 *
 * Removals in interval k change neither older intervals nor `missing`, so DSS's loop ends with interval k cut to
 * `min(count, wanted + missing)` by repeatedly removing the newer half of the closest pair. That greedy has a
 * closed form, which makes it linear: run it without a stopping point and let `K_j` be candidate j's gap to its
 * left neighbour at the moment it is removed. Removals happen in increasing `(K_j, j)` order (a removal only
 * merges its gap into the right neighbour's, which grows), so the left neighbour at that moment is the nearest
 * earlier candidate p with `K_p > K_j`, and `K_j = t_j - t_p`. A left-to-right stack finds every p in amortized
 * O(1): an earlier candidate i is passed over exactly when `K_i <= t_j - t_i`, which then holds for every later j
 * too, so it leaves the stack for good. The oldest candidate has `K = Infinity` (it goes only when alone). DSS
 * stopping after `excess` removals then removes exactly the `excess` smallest `(K_j, j)`.
 *
 * Deliberate differences, all required by this project's rules: incomplete snapshots are not counted (DSS 0.1.x
 * counts an incomplete directory in its interval); a snapshot whose age is `n * unit` or more is removed (DSS
 * only removes interval `> n`, keeping what has aged into interval `n` for one more unit; its redundancy scan
 * never looks at interval `n`, so intervals `0..n-1`, 16/8/4/2/1 for n = 5 in steady state, are the same either
 * way); the protected set is larger (pinned snapshots and chain dependencies, besides the newest and the one
 * being created); and `now` is clamped by the grace period (retention.ts).
 */
import { dssWanted, type DssPolicy } from './policy.js';

/** The outcome of the DSS rules on the counted snapshots. */
export interface DssMarks {
  /** 1 for each counted index that survives (within its interval's quota, or protected). */
  kept: Uint8Array;
  /** Interval k holds counted indices `[ends[k+1], ends[k])`; `[0, ends[n])` are outdated. */
  ends: Int32Array;
  /** Snapshots wanted per interval, `2^(n-k-1)`. */
  wanted: Float64Array;
  /** Snapshots allowed per interval: wanted plus the older intervals' shortfall. */
  allowed: Float64Array;
}

/** The DSS interval of a snapshot created at `t`, with thinning time `now`. */
export function dssInterval(t: number, now: number, unitMs: number): number {
  return Math.floor((now - t) / unitMs);
}

/**
 * Applies the DSS rules to `count` ascending creation times. `protect[i] = 1` marks snapshots that are counted
 * but must not be removed. Each survivor keeps `kept[i] = 1`.
 */
export function markDss(
  times: Float64Array,
  protect: Uint8Array,
  count: number,
  policy: DssPolicy,
  now: number,
): DssMarks {
  const n = policy.intervals;
  const kept = new Uint8Array(count);
  const ends = new Int32Array(n + 1);
  const wanted = new Float64Array(n);
  const allowed = new Float64Array(n);
  ends[0] = count;
  for (let k = 0; k < n; k++) {
    // First index whose interval is <= k, i.e. older ones belong to interval k+1 or beyond.
    let lo = 0;
    let hi = ends[k];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (dssInterval(times[mid], now, policy.unitMs) > k) lo = mid + 1;
      else hi = mid;
    }
    ends[k + 1] = lo;
  }
  for (let i = 0; i < ends[n]; i++) kept[i] = protect[i];
  kept.fill(1, ends[n], count);
  let missing = 0;
  let work: Workspace | null = null;
  for (let k = n - 1; k >= 0; k--) {
    const from = ends[k + 1];
    const to = ends[k];
    const num = to - from;
    const want = dssWanted(k, n);
    if (want >= num) missing += want - num;
    wanted[k] = want;
    allowed[k] = want + missing;
    const excess = num - (want + missing);
    if (excess <= 0) continue;
    if (work === null || work.capacity < num) work = new Workspace(num);
    thinClosestPairs(times, protect, kept, from, to, excess, work);
  }
  return { kept, ends, wanted, allowed };
}

/** Reusable typed arrays for {@link thinClosestPairs}. */
class Workspace {
  readonly capacity: number;
  readonly cand: Int32Array;
  readonly gapAtRemoval: Float64Array;
  readonly stack: Int32Array;
  readonly sorted: Float64Array;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.cand = new Int32Array(capacity);
    this.gapAtRemoval = new Float64Array(capacity);
    this.stack = new Int32Array(capacity);
    this.sorted = new Float64Array(capacity);
  }
}

/**
 * Removes up to `excess` unprotected snapshots of `[from, to)` the way DSS does, one closest pair's newer half at
 * a time: see the closed form above.
 */
function thinClosestPairs(
  times: Float64Array,
  protect: Uint8Array,
  kept: Uint8Array,
  from: number,
  to: number,
  excess: number,
  w: Workspace,
): void {
  const { cand, gapAtRemoval: gap, stack } = w;
  let m = 0;
  for (let i = from; i < to; i++) if (!protect[i]) cand[m++] = i;
  if (m === 0) return;
  if (excess >= m) {
    for (let j = 0; j < m; j++) kept[cand[j]] = 0;
    return;
  }
  gap[0] = Infinity;
  stack[0] = 0;
  let top = 0;
  for (let j = 1; j < m; j++) {
    const t = times[cand[j]];
    // The oldest candidate (gap Infinity) is never passed over, so the stack never empties.
    while (gap[stack[top]] <= t - times[cand[stack[top]]]) top--;
    gap[j] = t - times[cand[stack[top]]];
    stack[++top] = j;
  }
  // Remove the `excess` smallest (gap, j): everything below the threshold gap, then the oldest ones equal to it.
  const sorted = w.sorted.subarray(0, m);
  sorted.set(gap.subarray(0, m));
  sorted.sort();
  const threshold = sorted[excess - 1];
  let atThreshold = excess;
  for (let x = 0; x < excess; x++) if (sorted[x] < threshold) atThreshold--;
  for (let j = 0; j < m; j++) {
    const g = gap[j];
    if (g < threshold || (g === threshold && atThreshold-- > 0)) kept[cand[j]] = 0;
  }
}
