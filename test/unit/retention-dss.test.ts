import fc from 'fast-check';
import { dssWanted, policyKeepBound, validatePolicy, type DssPolicy } from '../../src/scheduler/policy';
import { computeRetention, type RetentionSnapshot } from '../../src/scheduler/retention';
import { isAlwaysKeptReason } from '../../src/scheduler/retention-reasons';

const snap = (created: number, extra: Partial<RetentionSnapshot> = {}): RetentionSnapshot => ({
  id: `t${String(created).padStart(4, '0')}`,
  created,
  completed: created,
  ...extra,
});
const ids = (...times: number[]) => times.map((t) => snap(t).id);
const big = 1e9; // grace large enough that now is never clamped in these examples

describe('DSS retention: worked examples', () => {
  it('removes the outdated, then thins each over-full interval by its closest pairs', () => {
    // n = 2, u = 10, now = 100. Interval 1 = ages [10,20) = (80,90], wants 1; interval 0 = (90,100], wants 2.
    // 75 is outdated. Interval 1 holds 82 85 88: gaps 3 and 3, the older pair's newer half (85) goes first,
    // then 88 (gap 6 to 82). Interval 0 holds 91 92 95 99 (99 the newest, protected): 92 (gap 1) goes, then 95,
    // the last candidate with a gap (the oldest of an interval only goes when it is alone).
    const snaps = [75, 82, 85, 88, 91, 92, 95, 99].map((t) => snap(t));
    const r = computeRetention(snaps, { kind: 'dss', unitMs: 10, intervals: 2, graceMs: big }, { now: 100 });
    expect(r.keep.map((k) => k.id)).toEqual(ids(82, 91, 99));
    expect(r.delete).toEqual(ids(95, 92, 88, 85, 75));
    expect(r.keep.map((k) => k.reasons)).toEqual([
      [{ kind: 'interval', interval: 1, wanted: 1, allowed: 1 }],
      [{ kind: 'interval', interval: 0, wanted: 2, allowed: 2 }],
      [{ kind: 'newest' }],
    ]);
  });

  it('lets newer intervals use the shortfall of older ones, and never subtracts extras granted (as DSS)', () => {
    // n = 3, u = 10, now = 100: intervals 0, 1, 2 want 4, 2, 1. Interval 2 (70,80] is empty: missing = 1.
    // Interval 1 (80,90] holds 81 83 85 87 89, may keep 2 + 1: the equal gaps go oldest pair first, 83 then 87.
    // Interval 0 (90,100] holds 91..100, may keep 4 + 1 (DSS still counts the shortfall of interval 2):
    // 92, 94, 96, 98 (gap 1 each, oldest first), then 93 (gap 2, oldest) go.
    const snaps = [81, 83, 85, 87, 89, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100].map((t) => snap(t));
    const policy = { kind: 'dss' as const, unitMs: 10, intervals: 3, graceMs: big };
    const r = computeRetention(snaps, policy, { now: 100 });
    expect(r.keep.map((k) => k.id)).toEqual(ids(81, 85, 89, 91, 95, 97, 99, 100));
    expect(r.keep[0].reasons).toEqual([{ kind: 'interval', interval: 1, wanted: 2, allowed: 3 }]);
    expect(r.keep[3].reasons).toEqual([{ kind: 'interval', interval: 0, wanted: 4, allowed: 5 }]);
    // 8 kept where the intervals want 7: within the documented DSS bound sum(2^(n-k) - 1) = 7 + 3 + 1 = 11.
    expect(policyKeepBound(validatePolicy(policy), 0)).toBe(11);
  });

  it('counts protected snapshots in their interval but never removes them', () => {
    const snaps = [snap(91, { pinned: true }), snap(95), snap(99)];
    const r = computeRetention(snaps, { kind: 'dss', unitMs: 10, intervals: 1, graceMs: big }, { now: 100 });
    expect(r.keep.map((k) => [k.id, k.reasons.map((x) => x.kind)])).toEqual([
      ['t0091', ['pinned']],
      ['t0099', ['newest']],
    ]);
    expect(r.delete).toEqual(ids(95));
  });

  it('keeps nothing of age n * unit or more', () => {
    const snaps = [snap(80), snap(81), snap(100)];
    const r = computeRetention(snaps, { kind: 'dss', unitMs: 10, intervals: 2, graceMs: big }, { now: 100 });
    expect(r.delete).toEqual(ids(80));
  });

  it('settles at 16/8/4/2/1 snapshots per interval for n = 5, pruning after every snapshot', () => {
    const U = 16 * 60_000; // a unit of 16 minutes, one snapshot a minute: interval 0 fills exactly
    const policy = { kind: 'dss' as const, unitMs: U, intervals: 5 };
    let present: RetentionSnapshot[] = [];
    for (let i = 0; i < 16 * 30; i++) {
      const t = Date.UTC(2024, 0, 1) + i * 60_000 + 17_000;
      present.push({ id: `m${i}`, created: t, completed: t + 5_000 });
      const gone = new Set(computeRetention(present, policy, { now: t + 5_000 }).delete);
      present = present.filter((s) => !gone.has(s.id));
      if (i < 16 * 6) continue; // warm-up: five units fill the intervals, one more settles them
      const perInterval = [0, 0, 0, 0, 0, 0];
      for (const s of present) perInterval[Math.min(5, Math.floor((t + 5_000 - s.created) / U))]++;
      expect(perInterval).toEqual([16, 8, 4, 2, 1, 0]);
    }
  });

  it('reaches the same 16/8/4/2/1 pruning a long regular history once', () => {
    const U = 4 * 86_400_000; // DSS's default: a unit of 4 days, 5 intervals; hourly snapshots for 60 days
    const snaps = Array.from({ length: 24 * 60 }, (_, i) => ({ id: `h${i}`, created: i * 3_600_000, completed: i * 3_600_000 }));
    const now = 24 * 60 * 3_600_000;
    const r = computeRetention(snaps, { kind: 'dss', unitMs: U, intervals: 5 }, { now });
    const created = new Map(snaps.map((s) => [s.id, s.created]));
    const perInterval = [0, 0, 0, 0, 0];
    for (const k of r.keep) perInterval[Math.floor((now - (created.get(k.id) as number)) / U)]++;
    expect(perInterval).toEqual([16, 8, 4, 2, 1]);
  });
});

/** DSS's loop, one removal per rescan, straight from its rules (dss.c: outdated first, then redundant). */
function dssOracle(snaps: RetentionSnapshot[], p: DssPolicy, now: number): string[] {
  const future = (s: RetentionSnapshot) => s.created > now || (s.completed != null && s.completed > now);
  const alive = snaps
    .filter((s) => s.completed != null && s.completed >= s.created && !future(s))
    .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
  const newest = alive[alive.length - 1];
  const tnow = newest ? Math.min(now, newest.created + p.graceMs) : now;
  const interval = (s: RetentionSnapshot) => Math.floor((tnow - s.created) / p.unitMs);
  const locked = (s: RetentionSnapshot) => s === newest || s.pinned === true || s.inProgress === true;
  for (;;) {
    let victim = alive.find((s) => !locked(s) && interval(s) >= p.intervals);
    let missing = 0;
    for (let k = p.intervals - 1; k >= 0 && !victim; k--) {
      const keep = dssWanted(k, p.intervals);
      const num = alive.filter((s) => interval(s) === k).length;
      if (keep >= num) missing += keep - num;
      if (keep + missing >= num) continue;
      let prev: RetentionSnapshot | undefined;
      let score = Infinity;
      for (const s of alive) {
        if (locked(s)) continue;
        if (interval(s) > k) {
          prev = s;
          continue;
        }
        if (interval(s) < k) break;
        if (!victim) {
          victim = s;
          prev = s;
          continue;
        }
        const gap = s.created - (prev as RetentionSnapshot).created;
        if (gap < score) {
          score = gap;
          victim = s;
        }
        prev = s;
      }
    }
    if (!victim) return alive.map((s) => s.id).sort();
    alive.splice(alive.indexOf(victim), 1);
  }
}

describe('DSS retention: properties', () => {
  const scattered = fc.array(fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 380, max: 400 })), {
    maxLength: 70,
    size: 'medium',
  });
  // Small cumulative steps: many equal gaps, so ties at DSS's cut-off are common.
  const regular = fc
    .array(fc.integer({ min: 0, max: 4 }), { maxLength: 70, size: 'medium' })
    .map((steps) => steps.map((_, i) => 300 + steps.slice(0, i + 1).reduce((a, b) => a + b, 0) - 4 * steps.length));
  const snapsArb = fc
    .oneof(scattered, regular)
    .chain((times) =>
      fc.tuple(
        fc.constant(times),
        fc.array(
          fc.record({
            pinned: fc.integer({ min: 0, max: 14 }).map((x) => x === 0),
            inProgress: fc.integer({ min: 0, max: 19 }).map((x) => x === 0),
            duration: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(null)),
          }),
          { minLength: times.length, maxLength: times.length },
        ),
      ),
    )
    .map(([times, rows]) =>
      rows.map((r, i): RetentionSnapshot => ({
        id: `s${String((i * 37) % 100).padStart(2, '0')}-${i}`,
        created: times[i],
        completed: r.duration === null ? null : times[i] + r.duration,
        pinned: r.pinned,
        inProgress: r.inProgress,
      })),
    );
  const policyArb = fc.record({
    kind: fc.constant('dss' as const),
    unitMs: fc.integer({ min: 1, max: 60 }),
    intervals: fc.integer({ min: 1, max: 6 }),
    graceMs: fc.integer({ min: 0, max: 300 }),
  });

  it('matches DSS removing one snapshot per rescan', () => {
    fc.assert(
      fc.property(snapsArb, policyArb, fc.integer({ min: 0, max: 450 }), (snaps, input, now) => {
        const p = validatePolicy(input) as DssPolicy;
        const r = computeRetention(snaps, p, { now });
        const counted = new Set(dssOracle(snaps, p, now));
        const keptCounted = r.keep
          .map((k) => k.id)
          .filter((id) => {
            const s = snaps.find((x) => x.id === id) as RetentionSnapshot;
            return s.completed != null && s.completed >= s.created && s.created <= now && s.completed <= now;
          })
          .sort();
        expect(keptCounted).toEqual([...counted].sort());
      }),
      { numRuns: Number(process.env.RETENTION_RUNS ?? 500) },
    );
  });

  it('matches DSS inside one dense interval full of equal gaps, for every cut-off', () => {
    // Everything in interval 0 with the older intervals empty: it may keep 2^n - 1. Pinned snapshots count but
    // are never candidates, so varying n and the pins moves DSS's cut-off across every position.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 2, maxLength: 14 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 4 }),
        (steps, pins, n) => {
          let t = 0;
          const snaps: RetentionSnapshot[] = steps.map((step, i) => {
            t += step;
            return { id: `c${String(i).padStart(2, '0')}`, created: t, completed: t };
          });
          pins.forEach((p, i) => snaps.push({ id: `p${i}`, created: p % (t + 1), completed: p % (t + 1), pinned: true }));
          const p = validatePolicy({ kind: 'dss', unitMs: 1000, intervals: n, graceMs: 0 }) as DssPolicy;
          const r = computeRetention(snaps, p, { now: t });
          expect(r.keep.map((k) => k.id).sort()).toEqual(dssOracle(snaps, p, t));
        },
      ),
      { numRuns: Number(process.env.RETENTION_RUNS ?? 1000) },
    );
  });

  it('keeps at most sum(2^(n-k) - 1) snapshots for interval reasons', () => {
    fc.assert(
      fc.property(snapsArb, policyArb, fc.integer({ min: 0, max: 450 }), (snaps, input, now) => {
        const p = validatePolicy(input);
        const r = computeRetention(snaps, p, { now });
        const byPolicy = r.keep.filter((k) => k.reasons.some((x) => !isAlwaysKeptReason(x))).length;
        expect(byPolicy).toBeLessThanOrEqual(policyKeepBound(p, 0));
      }),
      { numRuns: 300 },
    );
  });
});
