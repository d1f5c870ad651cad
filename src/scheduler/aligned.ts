/**
 * The aligned dyadic policy on a sorted array of creation times.
 *
 * Rules, for the complete, non-future snapshots ("counted" ones) and a thinning time `now`:
 * - keep the newest `keepLast`;
 * - keep every one younger than `keepWithinMs` (created after `now - keepWithinMs`);
 * - for each level `k < levels`, with slot width `w = baseMs * 2^k` and slots `[s*w, (s+1)*w)` aligned to the UTC
 *   epoch, keep the earliest snapshot of each slot `s` in `floor(now/w) - slots + 1 .. floor(now/w)`.
 *
 * Why the result does not depend on how often pruning ran (prune after every insertion == prune once):
 * let the counted set only grow by insertions (not future-dated at insertion) and `now` never decrease.
 * (1) A snapshot kept at the end was kept at every earlier prune: the newest-N at the end were among the newest N
 * of every subset; `t > now - W` holds for every earlier (smaller) `now`; and if x is the earliest of the final set
 * in slot s, it is the earliest of every subset, while s was already inside every earlier window
 * (`s >= floor(now_end/w) - c + 1 >= floor(now_i/w) - c + 1`, and `s <= floor(now_i/w)` because `t_x <= now_i`).
 * (2) A snapshot deleted earlier can never be needed to decide about another: a deleted y newer than x would have
 * had N newer survivors, which outrank x too; an earlier y in x's slot would make the slot's true earliest element,
 * which by (1) survives, still precede x. So the survivors' decision equals the full set's decision.
 * The definition therefore counts slots from `now` (never "the c most recent non-empty slots", which a deletion
 * could change) and keeps the *earliest* of a slot (the latest would be displaced by every insertion). The
 * thinning `now` is `min(now, newest counted creation + grace)`: the newest counted snapshot is always kept, so
 * this too never decreases, and it is never before any counted snapshot.
 * The always-kept additions keep the property: pinned and in-progress are properties of a snapshot, future-dated
 * ones only become counted later (like a late arrival), and chain dependencies follow what stays. One edge case
 * needed a rule: an incomplete snapshot is never deleted here, so its own chain must stay too; otherwise frequent
 * pruning could delete its parent, a later snapshot could be built on the incomplete one, and pruning once would
 * then keep that parent through the later snapshot (see retention-chain.ts). The property is tested with random
 * policies and arrival sequences, including out-of-order, future-dated, incomplete, pinned and chained ones.
 */
import type { AlignedPolicy } from './policy.js';

/** Where the aligned rules put their marks, as indices into the sorted counted times. */
export interface AlignedMarks {
  /** Indices `>= keepLastFrom` are among the newest `keepLast`. */
  keepLastFrom: number;
  /** Indices `>= withinFrom` are younger than `keepWithinMs`. */
  withinFrom: number;
  /** Number of (index, level, slotStart) slot hits below. */
  slotHits: number;
  /** Counted index of each slot hit (the earliest snapshot of that slot). */
  slotIndex: Int32Array;
  /** Level of each slot hit. */
  slotLevel: Uint8Array;
  /** Start of each hit's slot, ms since the epoch. */
  slotStart: Float64Array;
}

/** First index in `[lo, count)` with `times[i] >= value` (`count` if none). */
export function lowerBound(times: Float64Array, lo: number, count: number, value: number): number {
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `[lo, count)` with `times[i] > value` (`count` if none). */
export function upperBound(times: Float64Array, lo: number, count: number, value: number): number {
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Applies the aligned rules to `count` ascending creation times. Cost: two binary searches plus one per
 * window slot that can hold a snapshot, `O(slots * levels * log count)`, independent of how many are deleted.
 */
export function markAligned(times: Float64Array, count: number, policy: AlignedPolicy, now: number): AlignedMarks {
  const maxHits = Math.min(count, policy.slots) * policy.levels;
  const marks: AlignedMarks = {
    keepLastFrom: Math.max(0, count - policy.keepLast),
    withinFrom: policy.keepWithinMs > 0 ? upperBound(times, 0, count, now - policy.keepWithinMs) : count,
    slotHits: 0,
    slotIndex: new Int32Array(maxHits),
    slotLevel: new Uint8Array(maxHits),
    slotStart: new Float64Array(maxHits),
  };
  if (count === 0) return marks;
  const oldest = times[0];
  for (let level = 0; level < policy.levels; level++) {
    const width = policy.baseMs * 2 ** level;
    const top = Math.floor(now / width);
    // Slots before the oldest snapshot are empty: start the walk at the first one that can hold something.
    let slot = Math.max(top - policy.slots + 1, Math.floor(oldest / width));
    let i = 0;
    for (; slot <= top; slot++) {
      const start = slot * width;
      i = lowerBound(times, i, count, start);
      if (i >= count) break;
      if (times[i] < start + width) {
        const h = marks.slotHits++;
        marks.slotIndex[h] = i;
        marks.slotLevel[h] = level;
        marks.slotStart[h] = start;
      } else {
        // Empty slot: jump to just before the slot of the next snapshot (one slot early, in case the division
        // rounded a fractional time up into the next slot; the loop only ever moves forward).
        slot = Math.max(slot, Math.floor(times[i] / width) - 2);
      }
    }
  }
  return marks;
}

/**
 * The earliest prune time at which an aligned-kept snapshot stops being kept, if a new complete snapshot arrives
 * at `firstArrival + j * every` (j = 0, 1, ...) and pruning runs right after each with now = its creation time.
 * `rank` is 1 for the newest counted snapshot (0 if it is not among the newest `keepLast`); `created` its
 * creation time; `slotExpiries` the exclusive ends of the slot windows that keep it: slot `s` at level `k` stays in
 * the window while `now < (s + slots) * w`. Returns the arrival time at which it is deleted. (Once a rule stops
 * holding it never holds again, see above, so the deletion is at the latest of the per-rule expiries.)
 */
export function alignedDeletionTime(
  policy: AlignedPolicy,
  created: number,
  rank: number,
  slotExpiries: readonly number[],
  firstArrival: number,
  every: number,
): number {
  // `steps` counts arrivals: after m of them the snapshot's rank is rank + m, so keep-last lets go at
  // m = keepLast - rank + 1; a time rule expiring at E lets go at the first arrival at or after E.
  let steps = rank > 0 ? policy.keepLast - rank + 1 : 0;
  const stepsUntil = (expiry: number): number => Math.max(1, Math.ceil((expiry - firstArrival) / every) + 1);
  if (policy.keepWithinMs > 0) steps = Math.max(steps, stepsUntil(created + policy.keepWithinMs));
  for (const e of slotExpiries) steps = Math.max(steps, stepsUntil(e));
  return firstArrival + (Math.max(steps, 1) - 1) * every;
}
