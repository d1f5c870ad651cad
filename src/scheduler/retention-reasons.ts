/**
 * Why a snapshot is kept: a typed union the CLI can render with {@link describeReason}.
 */
import type { AlignedMarks } from './aligned.js';
import type { AlignedPolicy } from './policy.js';

/** One reason a snapshot is kept. */
export type RetentionReason =
  /** The newest complete (counted) snapshot. */
  | { readonly kind: 'newest' }
  /** Pinned by the user. */
  | { readonly kind: 'pinned' }
  /** Being created now. */
  | { readonly kind: 'in-progress' }
  /** Created or completed after now (clock skew or a bad record): kept and reported, never deleted. */
  | { readonly kind: 'future' }
  /** `child`, a kept (or incomplete, passed-through) snapshot, depends on this one. */
  | { readonly kind: 'chain'; readonly child: string }
  /** Among the newest `keepLast`; rank 1 is the newest. */
  | { readonly kind: 'keep-last'; readonly rank: number }
  /** Younger than `keepWithinMs` at the thinning time. */
  | { readonly kind: 'within'; readonly ageMs: number }
  /** The earliest snapshot of an aligned slot `[slotStart, slotStart + slotMs)` at `level`. */
  | { readonly kind: 'slot'; readonly level: number; readonly slotStart: number; readonly slotMs: number }
  /** Within the quota of DSS interval `interval` (0 = newest), which wants `wanted` and may hold `allowed`. */
  | { readonly kind: 'interval'; readonly interval: number; readonly wanted: number; readonly allowed: number };

/** Shared instances of the reasons without data. */
export const NEWEST: RetentionReason = /* @__PURE__ */ Object.freeze({ kind: 'newest' });
/** See {@link NEWEST}. */
export const PINNED: RetentionReason = /* @__PURE__ */ Object.freeze({ kind: 'pinned' });
/** See {@link NEWEST}. */
export const IN_PROGRESS: RetentionReason = /* @__PURE__ */ Object.freeze({ kind: 'in-progress' });
/** See {@link NEWEST}. */
export const FUTURE: RetentionReason = /* @__PURE__ */ Object.freeze({ kind: 'future' });

/** Reasons that hold whatever the policy says. */
export function isAlwaysKeptReason(r: RetentionReason): boolean {
  return r.kind === 'newest' || r.kind === 'pinned' || r.kind === 'in-progress' || r.kind === 'future' || r.kind === 'chain';
}

/** Builders of the policy reasons, used by the retention function. */
export const reasonsFor = {
  /**
   * Appends the aligned reasons of counted snapshot `ci` (time `t`) to `out`. `hitOrder` lists the slot hits
   * sorted by (index, level) and `h` points at the first hit for `ci` or later; returns the next `h`.
   */
  aligned(
    out: RetentionReason[],
    policy: AlignedPolicy,
    marks: AlignedMarks,
    hitOrder: Int32Array | null,
    h: number,
    ci: number,
    count: number,
    t: number,
    now: number,
  ): number {
    if (ci >= marks.keepLastFrom) out.push({ kind: 'keep-last', rank: count - ci });
    if (ci >= marks.withinFrom) out.push({ kind: 'within', ageMs: now - t });
    if (hitOrder === null) return h;
    for (; h < hitOrder.length && marks.slotIndex[hitOrder[h]] === ci; h++) {
      const hit = hitOrder[h];
      const level = marks.slotLevel[hit];
      out.push({ kind: 'slot', level, slotStart: marks.slotStart[hit], slotMs: policy.baseMs * 2 ** level });
    }
    return h;
  },
};

/** A duration as the CLI shows it, e.g. `3d 4h`, `90s`, `250ms`: at most two units. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(Math.round(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  const units: [string, number][] = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];
  const parts: string[] = [];
  for (const [name, size] of units) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${name}`);
      rest %= size;
    } else if (parts.length > 0) {
      break;
    }
  }
  return sign + parts.join(' ');
}

/** One line of text for a reason, e.g. `earliest of level-3 slot 2024-05-01T08:00:00.000Z (+8h)`. */
export function describeReason(r: RetentionReason): string {
  switch (r.kind) {
    case 'newest':
      return 'newest complete snapshot';
    case 'pinned':
      return 'pinned';
    case 'in-progress':
      return 'being created';
    case 'future':
      return 'dated in the future';
    case 'chain':
      return `needed by ${r.child}`;
    case 'keep-last':
      return `keep-last #${r.rank}`;
    case 'within':
      return `within keep-within (age ${formatDuration(r.ageMs)})`;
    case 'slot':
      return `earliest of level-${r.level} slot ${new Date(r.slotStart).toISOString()} (+${formatDuration(r.slotMs)})`;
    case 'interval':
      return `DSS interval ${r.interval} (wants ${r.wanted}, may keep ${r.allowed})`;
  }
}
