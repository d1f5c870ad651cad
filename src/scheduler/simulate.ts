/**
 * What a policy keeps over simulated time (`schedule simulate`): a snapshot every `every` ms, each complete
 * `durationMs` later, a prune at each completion and one at the end. The result is exactly what pruning a
 * working set after every arrival gives (the first implementation, kept as the reference in
 * test/helpers/simulate-reference.ts), without rescanning the set at every arrival, which was quadratic in the
 * snapshots kept (80,000 kept took seconds per 10,000 arrivals):
 *
 * - Aligned, O(arrivals x levels): every rule's hold on a snapshot ends at a known prune and never returns
 *   (aligned.ts), so each snapshot's deletion is computed once, when it arrives. Keep-last ends `keepLast`
 *   arrivals later; keep-within when the thinning time passes `created + keepWithinMs`; a slot rule holds only
 *   the first arrival of its slot, until the slot leaves the window.
 * - DSS, O(arrivals x intervals + removals x log): the survivors in time order, each interval's members, and
 *   per interval a heap of its candidates by the gap to their older neighbour. DSS removes the newer half of the
 *   closest pair until the interval is within its allowance (dss.ts); removing one merges its gap into its newer
 *   neighbour's, so the heap gives DSS's victims in DSS's order. Snapshots only ever move to older intervals, at
 *   their older end, so each move is O(log).
 *
 * {@link simulateAsync} runs the same computation in slices and gives the event loop a turn between them, so a
 * long simulation can be interrupted (an AbortSignal).
 */
import { AbortError, InvalidArgumentError } from '../errors.js';
import { dssInterval } from './dss.js';
import { GapHeap } from './gap-heap.js';
import { dssWanted, validatePolicy, type AlignedPolicy, type DssPolicy, type RetentionPolicyInput, type RetentionPolicy } from './policy.js';

/** Options of {@link simulate}. */
export interface SimulateOptions {
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
export interface SimulatedSnapshot {
  readonly id: string;
  readonly created: number;
  /** `null` if still being created at the end. */
  readonly completed: number | null;
}

/** What a policy keeps after running over simulated time. */
export interface SimulationResult {
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

/** Options of {@link simulateAsync}. */
export interface SimulateControl {
  /** Stops the simulation: it rejects with AbortError at the next slice. */
  signal?: AbortSignal;
}

/** Arrivals per slice between checks of the clock and the signal. */
const SLICE = 4096;

/** `value` when it is a positive finite number of milliseconds; else an InvalidArgumentError naming `field`. */
export function checkPositive(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`${field}: must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** The simulation's fixed facts: arrival `i` at `start + i * every`; `m` of them complete; prune `m` is the last. */
export interface Run {
  policy: RetentionPolicy;
  start: number;
  end: number;
  every: number;
  duration: number;
  total: number;
  m: number;
}

/** Checks a simulation's policy and options (also for the reference algorithm, test/helpers/simulate-reference.ts). */
export function setUp(policyInput: RetentionPolicyInput | RetentionPolicy, options: SimulateOptions): Run {
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
  let m = 0;
  while (m < total && start + m * every + duration <= end) m++;
  return { policy, start, end, every, duration, total, m };
}

/** Arrival time of snapshot `i` (the same expression as the reference, for the same rounding). */
const at = (r: Run, i: number): number => r.start + i * r.every;

/** The thinning time of prune `j` (`j = m` is the last one, at `end`): min(now, newest + grace). */
function thinning(r: Run, j: number): number {
  if (j < r.m) return Math.min(at(r, j) + r.duration, at(r, j) + r.policy.graceMs);
  return Math.min(r.end, at(r, r.m - 1) + r.policy.graceMs);
}

/** The slot `s` with `s * w <= t < s * w + w`, as aligned.ts tests membership. */
function slotOf(t: number, w: number): number {
  let s = Math.floor(t / w);
  while (s * w > t) s--;
  while (s * w + w <= t) s++;
  return s;
}

/** The first prune `j` in `[lo, m]` at which `holds(j)` is false (m + 1: never), searching from `guess`. */
function firstEnd(r: Run, lo: number, guess: number, holds: (j: number) => boolean): number {
  let j = Math.min(r.m, Math.max(lo, Number.isFinite(guess) ? guess : lo));
  if (holds(j)) {
    let step = 1;
    let ok = j;
    for (;;) {
      const next = Math.min(r.m, ok + step);
      if (next === ok) return r.m + 1;
      if (!holds(next)) {
        j = next;
        break;
      }
      ok = next;
      step *= 2;
    }
    let a = ok;
    // holds(a), !holds(j): narrow down.
    while (j - a > 1) {
      const mid = a + Math.floor((j - a) / 2);
      if (holds(mid)) a = mid;
      else j = mid;
    }
    return j;
  }
  while (j > lo && !holds(j - 1)) j--;
  return j;
}

/** Aligned: the prune at which each complete arrival is deleted (m + 1: kept to the end). */
function* alignedDeletions(r: Run, p: AlignedPolicy): Generator<void, Int32Array> {
  const del = new Int32Array(r.m);
  const c = Math.min(r.duration, p.graceMs);
  const guess = (x: number) => Math.ceil((x - c - r.start) / r.every);
  const widths = Array.from({ length: p.levels }, (_, k) => p.baseMs * 2 ** k);
  for (let i = 0; i < r.m; i++) {
    if ((i & (SLICE - 1)) === 0 && i > 0) yield;
    const t = at(r, i);
    // Keep-last: the newest `keepLast` arrivals (no arrival at the last prune).
    let d = Math.min(r.m, i + p.keepLast);
    if (i + p.keepLast > r.m - 1) d = r.m + 1;
    if (p.keepWithinMs > 0 && d <= r.m) {
      d = Math.max(d, firstEnd(r, i, guess(t + p.keepWithinMs), (j) => t > thinning(r, j) - p.keepWithinMs));
    }
    for (let k = 0; k < widths.length && d <= r.m; k++) {
      const w = widths[k];
      const s = slotOf(t, w);
      if (i > 0 && slotOf(at(r, i - 1), w) === s) continue; // not the first of its slot: never held by it
      d = Math.max(d, firstEnd(r, i, guess((s + p.slots) * w), (j) => Math.floor(thinning(r, j) / w) - p.slots + 1 <= s));
    }
    del[i] = d;
  }
  return del;
}

/** DSS: runs the prunes on the survivors; returns which arrivals survive the last prune, the deletions and the peak. */
function* dssRun(r: Run, p: DssPolicy): Generator<void, { alive: Uint8Array; deleted: number; peak: number }> {
  const n = p.intervals;
  const N = r.m;
  const alive = new Uint8Array(N);
  const cand = new Uint8Array(N);
  const iv = new Int32Array(N);
  const prev = new Int32Array(N).fill(-1);
  const next = new Int32Array(N).fill(-1);
  const ver = new Int32Array(N);
  const head = new Int32Array(n + 1).fill(-1);
  const tail = new Int32Array(n + 1).fill(-1);
  const cnt = new Float64Array(n + 1);
  const heaps = Array.from({ length: n }, () => new GapHeap());
  let last = -1;
  let count = 0;
  let deleted = 0;
  let peak = 0;

  /** Gap of candidate `x` to its older neighbour in the same interval (Infinity when it is the oldest). */
  const gapOf = (x: number): number => (prev[x] !== -1 && iv[prev[x]] === iv[x] ? at(r, x) - at(r, prev[x]) : Infinity);
  const offer = (x: number): void => {
    if (!cand[x] || iv[x] >= n) return;
    ver[x]++;
    heaps[iv[x]].push(gapOf(x), x, ver[x]);
  };
  const leave = (x: number): void => {
    const k = iv[x];
    cnt[k]--;
    if (head[k] === x) head[k] = tail[k] === x ? -1 : next[x];
    if (tail[k] === x) tail[k] = head[k] === -1 ? -1 : prev[x];
    ver[x]++;
  };
  const enter = (x: number, k: number): void => {
    iv[x] = k;
    cnt[k]++;
    if (head[k] === -1) head[k] = x;
    tail[k] = x;
    offer(x);
  };
  const remove = (x: number): void => {
    const k = iv[x];
    const after = next[x];
    leave(x);
    alive[x] = 0;
    if (prev[x] !== -1) next[prev[x]] = after;
    if (after !== -1) prev[after] = prev[x];
    if (last === x) last = prev[x];
    // Its newer neighbour in the interval now measures its gap from the removed one's older neighbour.
    if (after !== -1 && iv[after] === k && alive[after]) offer(after);
    count--;
    deleted++;
  };

  for (let j = 0; j <= N; j++) {
    if (j === N && N === 0) break;
    if ((j & (SLICE - 1)) === 0 && j > 0) yield;
    const now = thinning(r, j);
    if (j < N) {
      // The previous newest stops being protected.
      if (last !== -1) {
        cand[last] = 1;
        offer(last);
      }
    }
    // Older intervals first: a snapshot leaving interval k enters an older one, at its newer end.
    for (let k = n - 1; k >= 0; k--) {
      const before = head[k];
      for (let x = head[k]; x !== -1 && dssInterval(at(r, x), now, p.unitMs) > k; x = head[k]) {
        leave(x);
        enter(x, Math.min(n, dssInterval(at(r, x), now, p.unitMs)));
      }
      // A new oldest member has no older neighbour in the interval any more.
      if (head[k] !== before && head[k] !== -1) offer(head[k]);
      if (heaps[k].size > 2 * cnt[k] + 1024) heaps[k].keep((x, v) => alive[x] === 1 && cand[x] === 1 && iv[x] === k && ver[x] === v);
    }
    if (j < N) {
      alive[j] = 1;
      prev[j] = last;
      if (last !== -1) next[last] = j;
      last = j;
      count++;
      enter(j, Math.min(n, Math.max(0, dssInterval(at(r, j), now, p.unitMs))));
    }
    // Beyond the last interval: outdated, removed unless it is the newest.
    for (let x = head[n]; x !== -1; ) {
      const following = x === tail[n] ? -1 : next[x];
      if (x !== last) remove(x);
      x = following;
    }
    let missing = 0;
    for (let k = n - 1; k >= 0; k--) {
      const want = dssWanted(k, n);
      if (want >= cnt[k]) missing += want - cnt[k];
      let excess = cnt[k] - (want + missing);
      const heap = heaps[k];
      while (excess > 0 && heap.size > 0) {
        const x = heap.idx[0];
        const valid = alive[x] && cand[x] && iv[x] === k && ver[x] === heap.ver[0];
        heap.pop();
        if (!valid) continue;
        remove(x);
        excess--;
      }
    }
    peak = Math.max(peak, count);
  }
  return { alive, deleted, peak };
}

function* simulation(policyInput: RetentionPolicyInput | RetentionPolicy, options: SimulateOptions): Generator<void, SimulationResult> {
  const r = setUp(policyInput, options);
  let survives: (i: number) => boolean;
  let deleted = 0;
  let peak = 0;
  if (r.policy.kind === 'aligned') {
    const del = yield* alignedDeletions(r, r.policy);
    // Alive after prune j: the arrivals so far, less those deleted at or before it.
    const byPrune = new Int32Array(r.m + 2);
    for (let i = 0; i < r.m; i++) byPrune[del[i]]++;
    let gone = 0;
    for (let j = 0; j <= r.m && r.m > 0; j++) {
      gone += byPrune[j];
      peak = Math.max(peak, Math.min(j + 1, r.m) - gone);
    }
    deleted = gone;
    survives = (i) => del[i] > r.m;
  } else {
    const run = yield* dssRun(r, r.policy);
    deleted = run.deleted;
    peak = run.peak;
    survives = (i) => run.alive[i] === 1;
  }
  const kept: SimulatedSnapshot[] = [];
  const gaps: number[] = [];
  let prevT: number | null = null;
  for (let i = 0; i < r.m; i++) {
    if (!survives(i)) continue;
    const t = at(r, i);
    kept.push({ id: new Date(t).toISOString(), created: t, completed: t + r.duration });
    if (prevT !== null) gaps.push(t - prevT);
    prevT = t;
  }
  for (let i = r.m; i < r.total; i++) {
    const t = at(r, i);
    kept.push({ id: new Date(t).toISOString(), created: t, completed: null });
  }
  return { kept, gaps, created: r.total, deleted, peakKept: peak };
}

/**
 * Runs a policy over simulated time: a snapshot created every `every` ms from `start` until `end`, each complete
 * `durationMs` later, a prune at each completion (now = the completion time) and one at `end`. Uses the same
 * rules as `computeRetention` (the newest complete snapshot is always kept). Synchronous: for long simulations
 * in an interactive program, use {@link simulateAsync}.
 */
export function simulate(policyInput: RetentionPolicyInput | RetentionPolicy, options: SimulateOptions): SimulationResult {
  const g = simulation(policyInput, options);
  for (;;) {
    const step = g.next();
    if (step.done) return step.value;
  }
}

/**
 * {@link simulate}, in slices: between slices the event loop gets a turn (at least every 25 ms), and an aborted
 * `signal` rejects with AbortError.
 */
export async function simulateAsync(
  policyInput: RetentionPolicyInput | RetentionPolicy,
  options: SimulateOptions,
  control: SimulateControl = {},
): Promise<SimulationResult> {
  const { signal } = control;
  const check = () => {
    if (signal?.aborted) throw new AbortError('the simulation was interrupted', { cause: signal.reason });
  };
  check();
  const g = simulation(policyInput, options);
  let turn = Date.now();
  for (;;) {
    const step = g.next();
    if (step.done) return step.value;
    if (Date.now() - turn >= 25) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      turn = Date.now();
    }
    check();
  }
}
