import fc from 'fast-check';
import { validatePolicy, type AlignedPolicy } from '../../src/scheduler/policy';
import { computeRetention, type RetentionReason, type RetentionSnapshot } from '../../src/scheduler/retention';
import { describeReason, isAlwaysKeptReason } from '../../src/scheduler/retention-reasons';

const snap = (id: string, created: number): RetentionSnapshot => ({ id, created, completed: created });

describe('aligned dyadic retention: worked example', () => {
  // b = 10 ms, L = 3 (slots of 10, 20, 40 ms), c = 2, N = 1, now = 49.
  // Level 0 window: [30,40) [40,50) -> 31, 44. Level 1: [20,40) [40,60) -> 25, 44. Level 2: [0,40) [40,80) -> 3, 44.
  const times = [3, 12, 17, 25, 31, 38, 44, 47];
  const snaps = times.map((t) => snap(`t${t}`, t));
  const policy = { baseMs: 10, levels: 3, slots: 2, keepLast: 1 };

  it('keeps the earliest of each window slot and the newest N', () => {
    const r = computeRetention(snaps, policy, { now: 49 });
    expect(r.keep.map((k) => k.id)).toEqual(['t3', 't25', 't31', 't44', 't47']);
    expect(r.delete).toEqual(['t38', 't17', 't12']);
    expect(r.now).toBe(49);
    expect(r.keep.find((k) => k.id === 't44')?.reasons).toEqual([
      { kind: 'slot', level: 0, slotStart: 40, slotMs: 10 },
      { kind: 'slot', level: 1, slotStart: 40, slotMs: 20 },
      { kind: 'slot', level: 2, slotStart: 40, slotMs: 40 },
    ]);
    expect(r.keep.find((k) => k.id === 't47')?.reasons).toEqual([{ kind: 'newest' }, { kind: 'keep-last', rank: 1 }]);
    expect(r.keep.find((k) => k.id === 't3')?.reasons).toEqual([{ kind: 'slot', level: 2, slotStart: 0, slotMs: 40 }]);
  });

  it('keeps everything younger than keepWithinMs', () => {
    const r = computeRetention(snaps, { ...policy, keepWithinMs: 15 }, { now: 49 });
    expect(r.keep.map((k) => k.id)).toEqual(['t3', 't25', 't31', 't38', 't44', 't47']);
    expect(r.keep.find((k) => k.id === 't38')?.reasons).toEqual([{ kind: 'within', ageMs: 11 }]);
  });

  it('renders reasons for the CLI', () => {
    const r = computeRetention(snaps, policy, { now: 49 });
    const text = r.keep.map((k) => `${k.id}: ${k.reasons.map(describeReason).join('; ')}`);
    expect(text[0]).toBe('t3: earliest of level-2 slot 1970-01-01T00:00:00.000Z (+40ms)');
    expect(text[4]).toBe('t47: newest complete snapshot; keep-last #1');
    expect(describeReason({ kind: 'within', ageMs: 90_061_000 })).toBe('within keep-within (age 1d 1h)');
    expect(describeReason({ kind: 'interval', interval: 2, wanted: 4, allowed: 5 })).toBe(
      'DSS interval 2 (wants 4, may keep 5)',
    );
  });
});

/** The aligned rules straight from their definition, quadratic and obvious. */
function oracle(snaps: RetentionSnapshot[], p: AlignedPolicy, now: number) {
  const all = [...snaps].sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const complete = (s: RetentionSnapshot) => s.completed != null && s.completed >= s.created;
  const future = (s: RetentionSnapshot) => s.created > now || (s.completed != null && s.completed > now);
  const counted = all.filter((s) => complete(s) && !future(s));
  const newest = counted[counted.length - 1];
  const tnow = newest ? Math.min(now, newest.created + p.graceMs) : now;
  const keep: { id: string; reasons: RetentionReason[] }[] = [];
  const del: string[] = [];
  const incomplete: string[] = [];
  for (const s of all) {
    const reasons: RetentionReason[] = [];
    if (s === newest) reasons.push({ kind: 'newest' });
    if (s.pinned) reasons.push({ kind: 'pinned' });
    if (s.inProgress) reasons.push({ kind: 'in-progress' });
    if (future(s)) reasons.push({ kind: 'future' });
    const idx = counted.indexOf(s);
    if (idx >= 0) {
      const rank = counted.length - idx;
      if (rank <= p.keepLast) reasons.push({ kind: 'keep-last', rank });
      if (p.keepWithinMs > 0 && s.created > tnow - p.keepWithinMs) reasons.push({ kind: 'within', ageMs: tnow - s.created });
      for (let k = 0; k < p.levels; k++) {
        const w = p.baseMs * 2 ** k;
        const slot = Math.floor(s.created / w);
        const top = Math.floor(tnow / w);
        const first = counted.find((o) => Math.floor(o.created / w) === slot);
        if (slot >= top - p.slots + 1 && slot <= top && first === s) {
          reasons.push({ kind: 'slot', level: k, slotStart: slot * w, slotMs: w });
        }
      }
    }
    if (!complete(s) && !s.pinned && !s.inProgress) incomplete.push(s.id);
    else if (reasons.length > 0) keep.push({ id: s.id, reasons });
    else del.push(s.id);
  }
  return { keep, delete: del.reverse(), incomplete, future: all.filter(future).map((s) => s.id), now: tnow };
}

const policyArb = fc.record({
  baseMs: fc.integer({ min: 1, max: 40 }),
  levels: fc.integer({ min: 0, max: 7 }),
  slots: fc.integer({ min: 1, max: 4 }),
  keepLast: fc.integer({ min: 1, max: 5 }),
  keepWithinMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 })),
  graceMs: fc.integer({ min: 0, max: 600 }),
});

const snapsArb = fc
  .array(
    fc.record({
      created: fc.integer({ min: -500, max: 3000 }),
      duration: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(null), fc.constant(-1)),
      pinned: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
      inProgress: fc.integer({ min: 0, max: 19 }).map((x) => x === 0),
    }),
    { maxLength: 60, size: 'medium' },
  )
  .map((rows) =>
    rows.map((r, i): RetentionSnapshot => ({
      id: `s${(i * 7919) % 1000}-${i}`,
      created: r.created,
      completed: r.duration === null ? null : r.created + r.duration,
      pinned: r.pinned,
      inProgress: r.inProgress,
    })),
  );

describe('aligned dyadic retention: properties', () => {
  it('matches the definition on random snapshots, policies and times', () => {
    fc.assert(
      fc.property(snapsArb, policyArb, fc.integer({ min: -100, max: 4000 }), (snaps, input, now) => {
        const p = validatePolicy(input) as AlignedPolicy;
        const r = computeRetention(snaps, p, { now });
        const o = oracle(snaps, p, now);
        expect(r.keep).toEqual(o.keep);
        expect(r.delete).toEqual(o.delete);
        expect(r.incomplete).toEqual(o.incomplete);
        expect(r.future).toEqual(o.future);
        expect(r.now).toBe(o.now);
      }),
      { numRuns: 400 },
    );
  });

  it('keeps at most N + |within| + c*L snapshots for policy reasons', () => {
    // The bound covers the snapshots that carry a policy reason (keep-last, within, slot), whatever else they
    // carry; |within| is the number of counted snapshots younger than keepWithinMs at the thinning time.
    // Snapshots kept only as pinned, in-progress, future or chain dependencies are outside it.
    fc.assert(
      fc.property(snapsArb, policyArb, fc.integer({ min: 0, max: 4000 }), (snaps, input, now) => {
        const p = validatePolicy(input) as AlignedPolicy;
        const r = computeRetention(snaps, p, { now });
        const byPolicy = r.keep.filter((k) => k.reasons.some((x) => !isAlwaysKeptReason(x))).length;
        const within = snaps.filter(
          (s) =>
            s.completed != null &&
            s.completed >= s.created &&
            s.created <= now &&
            s.completed <= now &&
            p.keepWithinMs > 0 &&
            s.created > r.now - p.keepWithinMs,
        ).length;
        expect(byPolicy).toBeLessThanOrEqual(p.keepLast + within + p.slots * p.levels);
        // And nothing else is kept: every kept snapshot has a reason.
        for (const k of r.keep) expect(k.reasons.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });

  it('fills all c*L window slots of a dense history', () => {
    // One snapshot a millisecond for 4096 ms, b = 1, c = 3, L = 8: every level's 3 window slots are full and,
    // apart from the nested coincidences, distinct.
    const snaps = Array.from({ length: 4096 }, (_, i) => snap(`m${String(i).padStart(4, '0')}`, i));
    const r = computeRetention(snaps, { baseMs: 1, levels: 8, slots: 3, keepLast: 2 }, { now: 4095 });
    const bySlot = r.keep.filter((k) => k.reasons.some((x) => x.kind === 'slot'));
    const hits = bySlot.reduce((n, k) => n + k.reasons.filter((x) => x.kind === 'slot').length, 0);
    expect(hits).toBe(24);
    expect(r.keep.length).toBeLessThanOrEqual(2 + 24);
    expect(r.keep.length + r.delete.length).toBe(4096);
  });
});
