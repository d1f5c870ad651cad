/**
 * The first implementation of `simulate` (src/scheduler/retention-plan.ts before it became linear): a working
 * set pruned in place after every arrival, O(arrivals x kept). Kept as the reference the faster one must match
 * exactly (test/unit/retention-simulate.test.ts).
 */
import { InvalidArgumentError } from '../../src/errors';
import { markAligned } from '../../src/scheduler/aligned';
import { markDss } from '../../src/scheduler/dss';
import { validatePolicy, type RetentionPolicy, type RetentionPolicyInput } from '../../src/scheduler/policy';

function checkPositive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${field}: must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** A growable set of counted snapshots (ascending times) that a policy prunes in place. */
class WorkingSet {
  times = new Float64Array(64);
  protect = new Uint8Array(64);
  tag = new Int32Array(64);
  count = 0;

  push(t: number, isProtected: boolean, tag: number): void {
    if (this.count === this.times.length) {
      const grow = <T extends Float64Array | Uint8Array | Int32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.times = grow(this.times, (n) => new Float64Array(n));
      this.protect = grow(this.protect, (n) => new Uint8Array(n));
      this.tag = grow(this.tag, (n) => new Int32Array(n));
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

/** Options of {@link simulateReference}. */
interface SimulateOptions {
  /** Creation time of the first snapshot, ms since the epoch. */
  start: number;
  /** End of the simulation: no snapshot is created after it; a last prune runs at it. */
  end: number;
  /** Spacing of snapshot creations, ms. */
  every: number;
  /** How long each snapshot takes to complete, ms (default 0); pruning runs at each completion. */
  durationMs?: number;
  /** Refuse simulations creating more snapshots than this (default 10,000,000). */
  maxSnapshots?: number;
}

/** A snapshot alive at the end of a simulation; its id is its creation time in ISO 8601. */
interface SimulatedSnapshot {
  readonly id: string;
  readonly created: number;
  /** `null` if still being created at the end. */
  readonly completed: number | null;
}

/** What a policy keeps after running over simulated time. */
interface SimulationResult {
  /** Alive at `end`, oldest first (complete ones, then any still being created). */
  readonly kept: SimulatedSnapshot[];
  /** Spacing of the complete kept snapshots: `gaps[i] = kept[i+1].created - kept[i].created`. */
  readonly gaps: number[];
  /** Snapshots created. */
  readonly created: number;
  /** Snapshots deleted by the policy. */
  readonly deleted: number;
  /** Most complete snapshots alive after any prune. */
  readonly peakKept: number;
}

/**
 * Runs a policy over simulated time: a snapshot created every `every` ms from `start` until `end`, each complete
 * `durationMs` later, a prune at each completion (now = the completion time) and one at `end`. Uses the same
 * rules as {@link computeRetention} (the newest complete snapshot is always kept).
 */
export function simulateReference(policyInput: RetentionPolicyInput | RetentionPolicy, options: SimulateOptions): SimulationResult {
  const policy = validatePolicy(policyInput);
  const { start, end } = options;
  if (typeof start !== 'number' || !Number.isFinite(start)) throw new InvalidArgumentError('options.start: must be a finite number');
  if (typeof end !== 'number' || !Number.isFinite(end) || end < start) {
    throw new InvalidArgumentError('options.end: must be a finite number not before options.start');
  }
  const every = checkPositive(options.every, 'options.every');
  const duration = options.durationMs ?? 0;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
    throw new InvalidArgumentError('options.durationMs: must be a non-negative number');
  }
  const total = Math.floor((end - start) / every) + 1;
  const maxSnapshots = options.maxSnapshots ?? 10_000_000;
  if (total > maxSnapshots) {
    throw new InvalidArgumentError(`options.every: the simulation would create ${total} snapshots (limit ${maxSnapshots})`);
  }
  const set = new WorkingSet();
  let deleted = 0;
  let peakKept = 0;
  const onRemoved = (): void => {
    deleted++;
  };
  const prune = (now: number): void => {
    const newest = set.times[set.count - 1];
    set.protect[set.count - 1] = 1;
    set.prune(policy, Math.min(now, newest + policy.graceMs), onRemoved);
    set.protect[set.count - 1] = 0;
    peakKept = Math.max(peakKept, set.count);
  };
  let i = 0;
  for (; i < total && start + i * every + duration <= end; i++) {
    const t = start + i * every;
    set.push(t, false, i);
    prune(t + duration);
  }
  if (set.count > 0) prune(end);
  const kept: SimulatedSnapshot[] = [];
  const gaps: number[] = [];
  for (let k = 0; k < set.count; k++) {
    const t = set.times[k];
    kept.push({ id: new Date(t).toISOString(), created: t, completed: t + duration });
    if (k > 0) gaps.push(t - set.times[k - 1]);
  }
  for (; i < total; i++) {
    const t = start + i * every;
    kept.push({ id: new Date(t).toISOString(), created: t, completed: null });
  }
  return { kept, gaps, created: total, deleted, peakKept };
}
