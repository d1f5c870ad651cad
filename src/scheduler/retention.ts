/**
 * The retention function of the dyadic snapshot scheduler: given the snapshots (or checkpoints) the scheduler
 * owns, a policy and now, decide which to keep (each with its reasons) and which to delete.
 *
 * Categories, each snapshot in exactly one of `keep`, `delete`, `incomplete`:
 * - complete: has a completion time not before its creation time. A completion before the creation marks a
 *   broken record and counts as incomplete (dss 0.1.1 ignores such snapshot directories the same way).
 * - counted: complete and not dated in the future. Only these are thinned by the policy, and only these are "the
 *   newest complete snapshot" and chain parents.
 * - always kept, whatever the policy: the newest counted snapshot, pinned ones, the one being created, anything
 *   with a creation or completion time after now (also listed in `future`), and every chain dependency of a kept
 *   snapshot, and of every incomplete one (see retention-chain.ts).
 * - incomplete (and neither pinned nor being created): listed in `incomplete`, never counted, never deleted here;
 *   only an explicit command removes them. An incomplete snapshot dated in the future is listed in both.
 *
 * Thinning uses `min(now, newest counted creation + policy.graceMs)` as now, so a long outage never thins history.
 *
 * Cost: one validation pass, one ordering (skipped when the input is already in ascending (created, id) order,
 * else a radix sort of an index array), one pass collecting the counted times into a Float64Array; the aligned
 * rules then cost `O(slots * levels * log n)` and DSS `O(m log m)` for the m snapshots it weighs. Objects are only
 * allocated for the result.
 */
import { InvalidArgumentError } from '../errors.js';
import { markAligned, type AlignedMarks } from './aligned.js';
import { dssInterval, markDss } from './dss.js';
import { dssWanted, validatePolicy, type DssPolicy, type RetentionPolicy, type RetentionPolicyInput } from './policy.js';
import {
  dependsOnParent,
  F_COMPLETE,
  F_DEP,
  F_FUTURE,
  F_PINNED,
  F_PROGRESS,
  markAncestors,
  resolveParents,
} from './retention-chain.js';
import { compareIds, orderByCreation } from './retention-order.js';
import { reasonsFor, NEWEST, PINNED, IN_PROGRESS, FUTURE, type RetentionReason } from './retention-reasons.js';

export type { RetentionReason } from './retention-reasons.js';

/** What kind of libvirt object a snapshot record is; decides whether its `parent` is a data dependency. */
export type SnapshotKind = 'internal' | 'external' | 'disk-only' | 'memory' | 'checkpoint';

/** One snapshot or checkpoint owned by the scheduler. */
export interface RetentionSnapshot {
  /** Unique name (libvirt snapshot or checkpoint name). */
  readonly id: string;
  /** Creation time, ms since the epoch. */
  readonly created: number;
  /** Completion time, ms since the epoch; `null` (or absent) while incomplete. */
  readonly completed?: number | null;
  /** Never deleted by the policy. */
  readonly pinned?: boolean;
  /** Being created right now: always kept, and not counted unless already complete. */
  readonly inProgress?: boolean;
  /** The parent's id. A dependency only for kinds `checkpoint`, `external` and `disk-only`. */
  readonly parent?: string | null;
  /** Default `internal` (self-contained, parent not a dependency). */
  readonly kind?: SnapshotKind;
}

/** A kept snapshot and every reason it is kept (always-kept reasons first, then the policy's). */
export interface KeptSnapshot {
  readonly id: string;
  readonly reasons: RetentionReason[];
}

/** The decision. `keep`, `delete` and `incomplete` partition the input. */
export interface RetentionResult {
  /** Kept snapshots, oldest first. */
  keep: KeptSnapshot[];
  /** Ids to delete, newest first, so a dependent child always comes before its parent. */
  delete: string[];
  /** Incomplete snapshots (not pinned, not being created), oldest first: never deleted here. */
  incomplete: string[];
  /** Snapshots with a creation or completion time after the requested now, oldest first: never deleted. */
  future: string[];
  /** The time thinning used: `min(requestedNow, newest counted creation + graceMs)`. */
  now: number;
  /** The now the caller asked for. */
  requestedNow: number;
  /** How many snapshots were counted (complete and not in the future). */
  counted: number;
}

/** Options of {@link computeRetention}. */
export interface RetentionOptions {
  /** The current time, ms since the epoch. */
  now: number;
}

const KINDS = new Set<string>(['internal', 'external', 'disk-only', 'memory', 'checkpoint']);
const KEEP = 1;
const DELETE = 2;
const INCOMPLETE = 3;

function bad(i: number, field: string, detail: string): InvalidArgumentError {
  return new InvalidArgumentError(`snapshots[${i}]${field}: ${detail}`);
}

const SCAN_SORTED = 1;
const SCAN_DEPS = 2;

/** Validates every record, fills `created` and `flags`; returns SCAN_SORTED if already ordered, SCAN_DEPS if any
 * snapshot has a parent it depends on. */
function scan(
  snapshots: readonly RetentionSnapshot[],
  now: number,
  created: Float64Array,
  flags: Uint8Array,
  ids: string[],
): number {
  let sorted = true;
  let deps = false;
  let prevTime = -Infinity;
  let prevId = '';
  for (let i = 0; i < snapshots.length; i++) {
    const s = snapshots[i];
    if (typeof s !== 'object' || s === null) throw bad(i, '', 'must be an object');
    const { id, created: c, completed: d } = s;
    if (typeof id !== 'string' || id === '') throw bad(i, '.id', 'must be a non-empty string');
    if (typeof c !== 'number' || !Number.isFinite(c)) throw bad(i, '.created', `must be a finite number, got ${String(c)}`);
    if (d != null && (typeof d !== 'number' || !Number.isFinite(d))) {
      throw bad(i, '.completed', `must be a finite number or null, got ${String(d)}`);
    }
    let f = 0;
    if (d != null && d >= c) f |= F_COMPLETE;
    if (c > now || (d != null && d > now)) f |= F_FUTURE;
    if (s.pinned !== undefined && typeof s.pinned !== 'boolean') throw bad(i, '.pinned', 'must be a boolean');
    if (s.pinned) f |= F_PINNED;
    if (s.inProgress !== undefined && typeof s.inProgress !== 'boolean') throw bad(i, '.inProgress', 'must be a boolean');
    if (s.inProgress) f |= F_PROGRESS;
    const kind = s.kind;
    if (kind !== undefined && !KINDS.has(kind)) throw bad(i, '.kind', `must be one of ${[...KINDS].join(', ')}`);
    const parent = s.parent;
    if (parent != null) {
      if (typeof parent !== 'string') throw bad(i, '.parent', 'must be a string or null');
      if (dependsOnParent(kind)) {
        f |= F_DEP;
        deps = true;
      }
    }
    flags[i] = f;
    created[i] = c;
    ids[i] = id;
    if (sorted && (c < prevTime || (c === prevTime && compareIds(prevId, id) > 0))) sorted = false;
    prevTime = c;
    prevId = id;
  }
  return (sorted ? SCAN_SORTED : 0) | (deps ? SCAN_DEPS : 0);
}

/**
 * Decides which snapshots to keep and which to delete under `policy` at `options.now`. Throws
 * {@link PolicyError} for an unusable policy and InvalidArgumentError (naming `snapshots[i].field`) for a bad
 * record. Pure: reads its arguments, allocates its result, touches nothing else.
 */
export function computeRetention(
  snapshots: readonly RetentionSnapshot[],
  policyInput: RetentionPolicyInput | RetentionPolicy,
  options: RetentionOptions,
): RetentionResult {
  const policy = validatePolicy(policyInput);
  const requestedNow = options?.now;
  if (typeof requestedNow !== 'number' || !Number.isFinite(requestedNow)) {
    throw new InvalidArgumentError(`options.now: must be a finite number of ms since the epoch, got ${String(requestedNow)}`);
  }
  if (!Array.isArray(snapshots)) throw new InvalidArgumentError('snapshots: must be an array');
  const n = snapshots.length;
  const created = new Float64Array(n);
  const flags = new Uint8Array(n);
  // The ids, gathered while each record is at hand: the result loops then read a dense array instead of
  // revisiting every object in creation order (with shuffled input, a cache miss each).
  const ids: string[] = new Array<string>(n);
  const scanned = scan(snapshots, requestedNow, created, flags, ids);
  const order = scanned & SCAN_SORTED ? null : orderByCreation(created, snapshots);

  // Counted snapshots in ascending order: their times and original indices.
  const times = new Float64Array(n);
  const countedAt = new Int32Array(n);
  let count = 0;
  for (let r = 0; r < n; r++) {
    const i = order === null ? r : order[r];
    if ((flags[i] & (F_COMPLETE | F_FUTURE)) === F_COMPLETE) {
      times[count] = created[i];
      countedAt[count++] = i;
    }
  }
  const newest = count > 0 ? countedAt[count - 1] : -1;
  const now = newest >= 0 ? Math.min(requestedNow, created[newest] + policy.graceMs) : requestedNow;

  // Always kept, whatever the policy.
  const state = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const f = flags[i];
    if (f & (F_PINNED | F_PROGRESS) || (f & (F_COMPLETE | F_FUTURE)) === (F_COMPLETE | F_FUTURE)) state[i] = KEEP;
    else if (!(f & F_COMPLETE)) state[i] = INCOMPLETE;
  }
  if (newest >= 0) state[newest] = KEEP;
  const parent = scanned & SCAN_DEPS ? resolveParents(snapshots, flags) : null;

  let aligned: AlignedMarks | null = null;
  let dssAllowed: Float64Array | null = null;
  const protectedCounted = new Uint8Array(count);
  if (policy.kind === 'aligned') {
    aligned = markAligned(times, count, policy, now);
    const from = Math.min(aligned.keepLastFrom, aligned.withinFrom);
    for (let c = 0; c < count; c++) {
      if (c >= from) state[countedAt[c]] = KEEP;
      else if (state[countedAt[c]] !== KEEP) state[countedAt[c]] = DELETE;
    }
    for (let h = 0; h < aligned.slotHits; h++) state[countedAt[aligned.slotIndex[h]]] = KEEP;
  } else {
    for (let c = 0; c < count; c++) protectedCounted[c] = state[countedAt[c]] === KEEP ? 1 : 0;
    dssAllowed = runDss(policy, now, times, countedAt, count, protectedCounted, state, flags, parent);
  }

  // Chain dependencies of everything that stays (kept, or incomplete and so never deleted here) stay too.
  let via: Int32Array | null = null;
  if (parent !== null) {
    const start = new Uint8Array(n);
    for (let i = 0; i < n; i++) start[i] = state[i] === KEEP || state[i] === INCOMPLETE ? 1 : 0;
    via = markAncestors(start, flags, parent);
    for (let i = 0; i < n; i++) if (via[i] >= 0 && state[i] === DELETE) state[i] = KEEP;
  }

  const result: RetentionResult = { keep: [], delete: [], incomplete: [], future: [], now, requestedNow, counted: count };
  let hitOrder: Int32Array | null = null;
  if (aligned !== null && aligned.slotHits > 0) {
    const a = aligned;
    // Slot hits come level by level; the result walks snapshots in order, so sort the hits by (index, level).
    hitOrder = new Int32Array(a.slotHits).map((_, x) => x);
    hitOrder.sort((x, y) => a.slotIndex[x] - a.slotIndex[y] || a.slotLevel[x] - a.slotLevel[y]);
  }
  let h = 0;
  let c = 0;
  for (let r = 0; r < n; r++) {
    const i = order === null ? r : order[r];
    const f = flags[i];
    const ci = c < count && countedAt[c] === i ? c++ : -1;
    if (f & F_FUTURE) result.future.push(ids[i]);
    if (state[i] === INCOMPLETE) {
      result.incomplete.push(ids[i]);
      continue;
    }
    if (state[i] !== KEEP) continue;
    const reasons: RetentionReason[] = [];
    if (i === newest) reasons.push(NEWEST);
    if (f & F_PINNED) reasons.push(PINNED);
    if (f & F_PROGRESS) reasons.push(IN_PROGRESS);
    if (f & F_FUTURE) reasons.push(FUTURE);
    if (via !== null && via[i] >= 0) reasons.push({ kind: 'chain', child: ids[via[i]] });
    if (ci >= 0 && aligned !== null && policy.kind === 'aligned') {
      while (hitOrder !== null && h < hitOrder.length && aligned.slotIndex[hitOrder[h]] < ci) h++;
      h = reasonsFor.aligned(reasons, policy, aligned, hitOrder, h, ci, count, times[ci], now);
    } else if (ci >= 0 && dssAllowed !== null && policy.kind === 'dss' && !protectedCounted[ci]) {
      const k = dssInterval(times[ci], now, policy.unitMs);
      if (k < dssAllowed.length) {
        reasons.push({ kind: 'interval', interval: k, wanted: dssWanted(k, dssAllowed.length), allowed: dssAllowed[k] });
      }
    }
    result.keep.push({ id: ids[i], reasons });
  }
  for (let r = n - 1; r >= 0; r--) {
    const i = order === null ? r : order[r];
    if (state[i] === DELETE) result.delete.push(ids[i]);
  }
  return result;
}

/**
 * Runs the DSS rules over the counted snapshots, writing KEEP/DELETE into `state` and marking in `protectedCounted`
 * every counted snapshot it was not allowed to remove. With chain dependencies a snapshot something present
 * still builds on cannot go; removing its last dependent can free it, so DSS runs again on the survivors until a
 * run frees nothing (DSS itself rescans after every removal). Each extra run costs O(n) and deletes at least
 * one chained snapshot; typically the runs number the depth of the deepest chain going away, and without
 * chains there is one. Returns the last run's allowed counts.
 */
function runDss(
  policy: DssPolicy,
  now: number,
  times: Float64Array,
  countedAt: Int32Array,
  count: number,
  protectedCounted: Uint8Array,
  state: Uint8Array,
  flags: Uint8Array,
  parent: Int32Array | null,
): Float64Array {
  if (parent === null) {
    const marks = markDss(times, protectedCounted, count, policy, now);
    for (let c = 0; c < count; c++) if (state[countedAt[c]] !== KEEP) state[countedAt[c]] = marks.kept[c] ? KEEP : DELETE;
    return marks.allowed;
  }
  const always = protectedCounted.slice();
  const alive = new Uint8Array(count).fill(1);
  const start = new Uint8Array(state.length);
  const subTimes = new Float64Array(count);
  const subProtect = new Uint8Array(count);
  const subAt = new Int32Array(count);
  for (;;) {
    // Present: kept regardless, incomplete (never deleted here), and every counted snapshot still alive.
    for (let i = 0; i < state.length; i++) start[i] = state[i] === KEEP || state[i] === INCOMPLETE ? 1 : 0;
    for (let c = 0; c < count; c++) start[countedAt[c]] = alive[c];
    const via = markAncestors(start, flags, parent);
    let m = 0;
    for (let c = 0; c < count; c++) {
      if (!alive[c]) continue;
      protectedCounted[c] = always[c] || via[countedAt[c]] >= 0 ? 1 : 0;
      subTimes[m] = times[c];
      subProtect[m] = protectedCounted[c];
      subAt[m++] = c;
    }
    const marks = markDss(subTimes, subProtect, m, policy, now);
    let freesParent = false;
    for (let j = 0; j < m; j++) {
      if (marks.kept[j]) continue;
      const c = subAt[j];
      alive[c] = 0;
      if (flags[countedAt[c]] & F_DEP && parent[countedAt[c]] >= 0) freesParent = true;
    }
    if (!freesParent) {
      for (let c = 0; c < count; c++) if (state[countedAt[c]] !== KEEP) state[countedAt[c]] = alive[c] ? KEEP : DELETE;
      return marks.allowed;
    }
  }
}
