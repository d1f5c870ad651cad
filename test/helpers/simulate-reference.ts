/**
 * The first implementation of `simulate` (src/scheduler/retention-plan.ts before it became linear): a working
 * set pruned in place after every arrival, O(arrivals x kept). Kept as the reference the faster one must match
 * exactly (test/unit/retention-simulate.test.ts).
 */
import type { RetentionPolicy, RetentionPolicyInput } from '../../src/scheduler/policy';
import { WorkingSet } from '../../src/scheduler/retention-plan';
import { setUp, type SimulatedSnapshot, type SimulateOptions, type SimulationResult } from '../../src/scheduler/simulate';

/**
 * Runs a policy over simulated time: a snapshot created every `every` ms from `start` until `end`, each complete
 * `durationMs` later, a prune at each completion (now = the completion time) and one at `end`. Uses the same
 * rules as {@link computeRetention} (the newest complete snapshot is always kept).
 */
export function simulateReference(policyInput: RetentionPolicyInput | RetentionPolicy, options: SimulateOptions): SimulationResult {
  const { policy, start, end, every, duration, total } = setUp(policyInput, options);
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
