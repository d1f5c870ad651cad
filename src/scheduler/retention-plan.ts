/**
 * Looking ahead with a retention policy: when each kept snapshot is expected to go (`schedule plan`), and what a
 * policy keeps over simulated time (`schedule simulate`, in simulate.ts).
 *
 * Both assume the scheduler's normal life: a new complete snapshot every `every` ms and a prune right after each,
 * with now = that snapshot's creation (plus its duration in `simulate`).
 */
import { alignedDeletionTime, markAligned } from './aligned.js';
import { doubled } from './grow.js';
import { markDss } from './dss.js';
import { validatePolicy, type RetentionPolicy, type RetentionPolicyInput } from './policy.js';
import { computeRetention, type RetentionSnapshot } from './retention.js';
import { checkPositive } from './simulate.js';

/** When a kept snapshot is expected to be deleted. */
export interface PlannedDeletion {
  readonly id: string;
  /**
   * The prune (ms since the epoch) that deletes it, or `null` when the policy alone never does (see `basis`).
   * With basis `upper-bound` it is deleted at this prune or earlier.
   */
  readonly deleteAt: number | null;
  /**
   * `policy`: exact under the stated assumptions; `upper-bound`: DSS's age limit, given when simulating DSS
   * exactly would exceed the work budget; `pinned`, `in-progress`, `future`, `chain`: kept regardless of the
   * policy, so no date is predicted.
   */
  readonly basis: 'policy' | 'upper-bound' | 'pinned' | 'in-progress' | 'future' | 'chain';
}

/** Options of {@link planDeletions}. */
export interface PlanOptions {
  /** The current time, ms since the epoch. */
  now: number;
  /** Spacing of future snapshots in ms. Default: `baseMs` (aligned), `unitMs / 2^(intervals-1)` (DSS). */
  every?: number;
  /** Most snapshot-visits a DSS simulation may spend before it falls back to upper bounds. Default 5e7. */
  maxWork?: number;
}

/** The plan: one entry per kept snapshot, oldest first. */
export interface DeletionPlan {
  /** Time of the first assumed future snapshot: `max(now, newest complete creation + every)`. */
  readonly firstArrival: number;
  readonly every: number;
  readonly deletions: PlannedDeletion[];
}

/** The spacing `plan` and `simulate` assume when the caller gives none. */
export function defaultEvery(policy: RetentionPolicy): number {
  return policy.kind === 'aligned' ? policy.baseMs : Math.max(1, Math.floor(policy.unitMs / 2 ** (policy.intervals - 1)));
}

/**
 * A growable set of counted snapshots (ascending times) that a policy prunes in place (also the working set of
 * the reference simulation, test/helpers/simulate-reference.ts).
 */
export class WorkingSet {
  times = new Float64Array(64);
  protect = new Uint8Array(64);
  tag = new Int32Array(64);
  count = 0;

  push(t: number, isProtected: boolean, tag: number): void {
    if (this.count === this.times.length) {
      this.times = doubled(this.times, (n) => new Float64Array(n));
      this.protect = doubled(this.protect, (n) => new Uint8Array(n));
      this.tag = doubled(this.tag, (n) => new Int32Array(n));
    }
    this.times[this.count] = t;
    this.protect[this.count] = isProtected ? 1 : 0;
    this.tag[this.count++] = tag;
  }

  /** Prunes with the policy at `now`; calls `removed(tag)` for each deletion. */
  prune(policy: RetentionPolicy, now: number, removed: (tag: number) => void): void {
    const { times, protect, tag, count } = this;
    let keep: (i: number) => boolean;
    if (policy.kind === 'aligned') {
      const marks = markAligned(times, count, policy, now);
      const from = Math.min(marks.keepLastFrom, marks.withinFrom);
      const hit = new Uint8Array(count);
      for (let h = 0; h < marks.slotHits; h++) hit[marks.slotIndex[h]] = 1;
      keep = (i) => i >= from || hit[i] === 1 || protect[i] === 1;
    } else {
      const kept = markDss(times, protect, count, policy, now).kept;
      keep = (i) => kept[i] === 1;
    }
    let m = 0;
    for (let i = 0; i < count; i++) {
      if (!keep(i)) {
        removed(tag[i]);
        continue;
      }
      times[m] = times[i];
      protect[m] = protect[i];
      tag[m++] = tag[i];
    }
    this.count = m;
  }
}

/**
 * For each snapshot the policy keeps now, the prune expected to delete it if a complete snapshot keeps arriving
 * every `every` ms from `max(now, newest + every)`, with a prune right after each. Aligned: computed from the slot
 * arithmetic (each rule's hold ends at a known time and never returns). DSS: simulated forward on the kept set,
 * falling back to DSS's age limit (`created + intervals * unitMs`) past the work budget. Snapshots with a later
 * arrival that is not complete (incomplete ones) are assumed to stay incomplete.
 */
export function planDeletions(
  snapshots: readonly RetentionSnapshot[],
  policyInput: RetentionPolicyInput | RetentionPolicy,
  options: PlanOptions,
): DeletionPlan {
  const policy = validatePolicy(policyInput);
  const result = computeRetention(snapshots, policy, { now: options.now });
  const every = options.every === undefined ? defaultEvery(policy) : checkPositive(options.every, 'options.every');
  const maxWork = options.maxWork ?? 5e7;
  const keptIds = new Map<string, number>();
  result.keep.forEach((k, i) => keptIds.set(k.id, i));
  const created = new Float64Array(result.keep.length);
  for (const s of snapshots) {
    const i = keptIds.get(s.id);
    if (i !== undefined) created[i] = s.created;
  }
  let newest = -Infinity;
  result.keep.forEach((k, i) => {
    if (k.reasons.some((r) => r.kind === 'newest')) newest = created[i];
  });
  const firstArrival = Math.max(options.now, newest + every);
  const deletions: PlannedDeletion[] = result.keep.map((k) => {
    for (const basis of ['pinned', 'in-progress', 'future', 'chain'] as const) {
      if (k.reasons.some((r) => r.kind === basis)) return { id: k.id, deleteAt: null, basis };
    }
    return { id: k.id, deleteAt: null, basis: 'policy' };
  });
  if (policy.kind === 'aligned') {
    result.keep.forEach((k, i) => {
      if (deletions[i].basis !== 'policy') return;
      let rank = 0;
      const slotExpiries: number[] = [];
      for (const r of k.reasons) {
        if (r.kind === 'keep-last') rank = r.rank;
        if (r.kind === 'slot') slotExpiries.push(r.slotStart + policy.slots * r.slotMs);
      }
      const at = alignedDeletionTime(policy, created[i], rank, slotExpiries, firstArrival, every);
      deletions[i] = { id: k.id, deleteAt: at, basis: 'policy' };
    });
    return { firstArrival, every, deletions };
  }
  // DSS: simulate forward. Counted snapshots kept for other reasons stay in the set, protected.
  const set = new WorkingSet();
  const complete = new Set<string>();
  for (const s of snapshots) if (s.completed != null && s.completed >= s.created && s.created <= options.now) complete.add(s.id);
  let tracked = 0;
  let latest = -Infinity;
  result.keep.forEach((k, i) => {
    if (!complete.has(k.id) || deletions[i].basis === 'future') return;
    const track = deletions[i].basis === 'policy';
    set.push(created[i], !track, track ? i : -1);
    if (track) {
      tracked++;
      latest = Math.max(latest, created[i]);
    }
  });
  const horizon = policy.intervals * policy.unitMs;
  const steps = Math.max(0, Math.ceil((latest + horizon - firstArrival) / every) + 1);
  const exact = steps * (set.count + 2 ** policy.intervals) <= maxWork;
  const onRemoved = (at: number) => (tag: number): void => {
    if (tag < 0) return;
    deletions[tag] = { id: result.keep[tag].id, deleteAt: at, basis: 'policy' };
    tracked--;
  };
  for (let j = 0; exact && tracked > 0 && j <= steps; j++) {
    const at = firstArrival + j * every;
    // The previous arrival stops being the newest (always kept); the new one is.
    if (set.count > 0 && set.tag[set.count - 1] === -2) set.protect[set.count - 1] = 0;
    set.push(at, true, -2);
    set.prune(policy, at, onRemoved(at));
  }
  for (let i = 0; i < deletions.length; i++) {
    if (deletions[i].basis !== 'policy' || deletions[i].deleteAt !== null) continue;
    const limit = created[i] + horizon;
    const at = firstArrival + Math.max(0, Math.ceil((limit - firstArrival) / every)) * every;
    deletions[i] = { id: deletions[i].id, deleteAt: at, basis: 'upper-bound' };
  }
  return { firstArrival, every, deletions };
}

export { simulate, simulateAsync, type SimulateControl, type SimulateOptions, type SimulatedSnapshot, type SimulationResult } from './simulate.js';
