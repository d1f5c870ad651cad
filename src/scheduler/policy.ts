/**
 * Retention policies of the dyadic snapshot scheduler, and their validation.
 *
 * Two kinds exist. `aligned` (the default) keeps the newest `keepLast`, everything younger than `keepWithinMs`,
 * and the earliest snapshot of each of the `slots` most recent epoch-aligned slots of width `baseMs * 2^k` for
 * every level `k < levels`; its result does not depend on how often pruning ran. `dss` reproduces the Dyadic
 * Snapshot Scheduler by Andre Noll: `intervals` intervals of width `unitMs` counted back from now, interval `k`
 * wanting `2^(intervals-k-1)` snapshots.
 *
 * Validation names the failing field in every message (`policy.levels: must be an integer from 0 to 40, got 1.5`)
 * and refuses unknown fields, so a typo in a config file is an error, not a silently ignored rule.
 */
import { InvalidArgumentError, brandError } from '../errors.js';

/** A retention policy that cannot be used; `field` is the path of the offending field, e.g. `policy.keepLast`. */
export class PolicyError extends InvalidArgumentError {
  static {
    brandError(this, 'PolicyError');
  }

  override readonly code: string = 'ERR_POLICY';
  /** Path of the field that failed, e.g. `policy.baseMs`. */
  readonly field: string;
  /** What is wrong with it, without the path. */
  readonly detail: string;

  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.field = field;
    this.detail = detail;
  }
}

/** The aligned dyadic policy, validated and with its defaults filled in. */
export interface AlignedPolicy {
  readonly kind: 'aligned';
  /** Width of a level-0 slot in ms (`b`); level `k` slots are `baseMs * 2^k` wide, aligned to the UTC epoch. */
  readonly baseMs: number;
  /** Number of levels (`L`), 0 or more. */
  readonly levels: number;
  /** Slots per level (`c`): the slot containing now and the `slots - 1` before it. */
  readonly slots: number;
  /** The newest `keepLast` (`N`, at least 1) complete snapshots are kept. */
  readonly keepLast: number;
  /** Complete snapshots younger than this many ms (`W`) are kept; 0 keeps none by age. */
  readonly keepWithinMs: number;
  /** Thinning uses `min(now, newest complete creation + graceMs)` as now, so an outage never thins history. */
  readonly graceMs: number;
}

/** The DSS policy, validated and with its defaults filled in. */
export interface DssPolicy {
  readonly kind: 'dss';
  /** Width of one interval in ms (DSS's `unit-interval`, which DSS counts in days). */
  readonly unitMs: number;
  /** Number of intervals `n` (DSS's `num-intervals`); nothing older than `n * unitMs` is kept. */
  readonly intervals: number;
  /** As for the aligned policy: now for thinning is at most the newest complete snapshot plus this. */
  readonly graceMs: number;
}

/** A validated retention policy. */
export type RetentionPolicy = AlignedPolicy | DssPolicy;

/** What a caller (or a config file) may pass for an aligned policy; `kind` defaults to `aligned`. */
export interface AlignedPolicyInput {
  kind?: 'aligned';
  baseMs: number;
  levels: number;
  slots: number;
  keepLast: number;
  /** Default 0. */
  keepWithinMs?: number;
  /** Default `baseMs`: one missed snapshot is tolerated before thinning stops. */
  graceMs?: number;
}

/** What a caller may pass for a DSS policy. */
export interface DssPolicyInput {
  kind: 'dss';
  unitMs: number;
  intervals: number;
  /** Default `unitMs`. */
  graceMs?: number;
}

/** Either policy input. */
export type RetentionPolicyInput = AlignedPolicyInput | DssPolicyInput;

/** The widest slot or interval horizon accepted, in ms (about 8,900 years): keeps every product exact. */
export const MAX_SPAN_MS = 2 ** 48;
/** Most levels of the aligned policy. */
export const MAX_LEVELS = 48;
/** Most slots per level. */
export const MAX_SLOTS = 1_000_000;
/** Most DSS intervals: interval 0 then wants 2^30 snapshots. */
export const MAX_INTERVALS = 31;

const ALIGNED_FIELDS = new Set(['kind', 'baseMs', 'levels', 'slots', 'keepLast', 'keepWithinMs', 'graceMs']);
const DSS_FIELDS = new Set(['kind', 'unitMs', 'intervals', 'graceMs']);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}

function integer(obj: Record<string, unknown>, path: string, key: string, min: number, max: number): number {
  const v = obj[key];
  if (v === undefined) throw new PolicyError(`${path}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new PolicyError(`${path}.${key}`, `must be an integer from ${min} to ${max}, got ${describe(v)}`);
  }
  return v;
}

function duration(obj: Record<string, unknown>, path: string, key: string, min: number, fallback?: number): number {
  const v = obj[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (v === undefined) throw new PolicyError(`${path}.${key}`, 'is required');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > MAX_SPAN_MS) {
    throw new PolicyError(`${path}.${key}`, `must be a whole number of milliseconds from ${min} to 2^48, got ${describe(v)}`);
  }
  return v;
}

function rejectUnknown(obj: Record<string, unknown>, path: string, allowed: Set<string>): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.has(key)) throw new PolicyError(`${path}.${key}`, `is not a field of this policy (known: ${[...allowed].join(', ')})`);
  }
}

/**
 * Checks a policy and fills in its defaults. Throws {@link PolicyError} naming the field for anything missing,
 * mistyped, out of range or unknown. An empty policy is refused (its required fields are missing), and so is any
 * policy that could leave no complete snapshot (`keepLast: 0`, `intervals: 0`).
 */
export function validatePolicy(input: unknown, path = 'policy'): RetentionPolicy {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new PolicyError(path, `must be an object, got ${describe(input)}`);
  }
  const obj = input as Record<string, unknown>;
  const kind = obj.kind ?? 'aligned';
  if (kind === 'dss') return validateDss(obj, path);
  if (kind !== 'aligned') throw new PolicyError(`${path}.kind`, `must be "aligned" or "dss", got ${describe(kind)}`);
  return validateAligned(obj, path);
}

function validateAligned(obj: Record<string, unknown>, path: string): AlignedPolicy {
  rejectUnknown(obj, path, ALIGNED_FIELDS);
  if (obj.keepLast === 0) {
    throw new PolicyError(`${path}.keepLast`, 'must be at least 1: a policy must never leave no complete snapshot');
  }
  const keepLast = integer(obj, path, 'keepLast', 1, 2 ** 31);
  const baseMs = duration(obj, path, 'baseMs', 1);
  const levels = integer(obj, path, 'levels', 0, MAX_LEVELS);
  const slots = integer(obj, path, 'slots', 1, MAX_SLOTS);
  // The oldest slot reaches `slots * baseMs * 2^(levels-1)` back; keep that (and every slot start) exact.
  if (levels > 0 && slots * baseMs * 2 ** (levels - 1) > MAX_SPAN_MS) {
    throw new PolicyError(`${path}.levels`, `slots * baseMs * 2^(levels-1) exceeds 2^48 ms; use fewer levels or slots`);
  }
  const keepWithinMs = duration(obj, path, 'keepWithinMs', 0, 0);
  const graceMs = duration(obj, path, 'graceMs', 0, baseMs);
  return Object.freeze({ kind: 'aligned', baseMs, levels, slots, keepLast, keepWithinMs, graceMs });
}

function validateDss(obj: Record<string, unknown>, path: string): DssPolicy {
  rejectUnknown(obj, path, DSS_FIELDS);
  if (obj.intervals === 0) {
    throw new PolicyError(`${path}.intervals`, 'must be at least 1: a policy must never leave no complete snapshot');
  }
  const intervals = integer(obj, path, 'intervals', 1, MAX_INTERVALS);
  const unitMs = duration(obj, path, 'unitMs', 1);
  if (unitMs * intervals > MAX_SPAN_MS) {
    throw new PolicyError(`${path}.unitMs`, 'unitMs * intervals exceeds 2^48 ms');
  }
  const graceMs = duration(obj, path, 'graceMs', 0, unitMs);
  return Object.freeze({ kind: 'dss', unitMs, intervals, graceMs });
}

/** Snapshots wanted in DSS interval `k` (0 = newest) of `n`: `2^(n-k-1)`, none beyond the last interval. */
export function dssWanted(k: number, n: number): number {
  return k >= n || k < 0 ? 0 : 2 ** (n - k - 1);
}

/**
 * The upper bound on the kept snapshots that carry a policy reason (`keep-last`, `within`, `slot`, `interval`),
 * whatever else they carry. Snapshots kept only as newest, pinned, in progress, future-dated or a chain
 * dependency are outside it. `withinCount` is the number of counted snapshots younger than `keepWithinMs` at the
 * thinning time. Aligned: `keepLast + withinCount + slots * levels`. DSS: `sum_k (2^(n-k) - 1)`,
 * because DSS lets every newer interval use the whole shortfall of the older ones (it never subtracts extras
 * already granted), so interval `k` keeps at most `2^(n-k-1)` plus `2^(n-k-1) - 1` extras.
 */
export function policyKeepBound(policy: RetentionPolicy, withinCount: number): number {
  if (policy.kind === 'aligned') return policy.keepLast + withinCount + policy.slots * policy.levels;
  let sum = 0;
  for (let k = 0; k < policy.intervals; k++) sum += 2 ** (policy.intervals - k) - 1;
  return sum;
}
