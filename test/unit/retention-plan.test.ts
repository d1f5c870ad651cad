import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors';
import { computeRetention, type RetentionSnapshot } from '../../src/scheduler/retention';
import { planDeletions, simulate } from '../../src/scheduler/retention-plan';

/**
 * Plays the future the plan assumes: the survivors of a prune at `now`, then a complete snapshot every `every`
 * from `first` with a prune after each. Returns when each original snapshot was deleted.
 */
function bruteForce(snaps: RetentionSnapshot[], policy: object, now: number, first: number, every: number, steps: number) {
  const deletedAt = new Map<string, number>();
  const goneNow = new Set(computeRetention(snaps, policy as never, { now }).delete);
  let present = snaps.filter((s) => !goneNow.has(s.id));
  for (let j = 0; j < steps; j++) {
    const t = first + j * every;
    present.push({ id: `future-${j}`, created: t, completed: t });
    const gone = new Set(computeRetention(present, policy as never, { now: t }).delete);
    for (const id of gone) if (!id.startsWith('future-')) deletedAt.set(id, t);
    present = present.filter((s) => !gone.has(s.id));
  }
  return deletedAt;
}

const historyArb = fc
  .array(fc.record({ step: fc.integer({ min: 0, max: 9 }), pinned: fc.integer({ min: 0, max: 15 }).map((x) => x === 0) }), {
    minLength: 1,
    maxLength: 40,
    size: 'medium',
  })
  .map((rows) => {
    let t = 1000;
    return rows.map((r, i): RetentionSnapshot => {
      t += r.step;
      return { id: `s${i}`, created: t, completed: t, pinned: r.pinned };
    });
  });

describe('planned deletion dates', () => {
  it('aligned: the slot arithmetic agrees with playing the future forward', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.record({
          baseMs: fc.integer({ min: 1, max: 8 }),
          levels: fc.integer({ min: 0, max: 5 }),
          slots: fc.integer({ min: 1, max: 3 }),
          keepLast: fc.integer({ min: 1, max: 4 }),
          keepWithinMs: fc.integer({ min: 0, max: 30 }),
          graceMs: fc.integer({ min: 10, max: 40 }),
        }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 9 }),
        (snaps, policy, late, every) => {
          const now = snaps[snaps.length - 1].created + late;
          const plan = planDeletions(snaps, policy, { now, every });
          const steps = Math.ceil((policy.slots * policy.baseMs * 2 ** policy.levels + policy.keepWithinMs) / every) + policy.keepLast + 3;
          const actual = bruteForce(snaps, policy, now, plan.firstArrival, every, steps);
          for (const d of plan.deletions) {
            if (d.basis === 'policy') expect([d.id, d.deleteAt]).toEqual([d.id, actual.get(d.id)]);
            else expect([d.id, actual.has(d.id)]).toEqual([d.id, false]);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('dss: the forward simulation agrees with playing the future forward', () => {
    fc.assert(
      fc.property(
        historyArb,
        fc.record({ kind: fc.constant('dss' as const), unitMs: fc.integer({ min: 4, max: 40 }), intervals: fc.integer({ min: 1, max: 4 }) }),
        fc.integer({ min: 1, max: 9 }),
        (snaps, policy, every) => {
          const now = snaps[snaps.length - 1].created;
          const plan = planDeletions(snaps, policy, { now, every });
          const steps = Math.ceil((policy.intervals * policy.unitMs) / every) + 3;
          const actual = bruteForce(snaps, policy, now, plan.firstArrival, every, steps);
          for (const d of plan.deletions) {
            if (d.basis === 'policy') expect([d.id, d.deleteAt]).toEqual([d.id, actual.get(d.id)]);
            else expect(d.basis).toBe('pinned');
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('dss: falls back to the age limit past the work budget, never earlier than the exact date', () => {
    const snaps = Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, created: i * 10, completed: i * 10 }));
    const policy = { kind: 'dss' as const, unitMs: 100, intervals: 4 };
    const exact = planDeletions(snaps, policy, { now: 395, every: 10 });
    const bounded = planDeletions(snaps, policy, { now: 395, every: 10, maxWork: 1 });
    expect(bounded.deletions.every((d) => d.basis === 'upper-bound')).toBe(true);
    bounded.deletions.forEach((d, i) => {
      expect(d.deleteAt as number).toBeGreaterThanOrEqual(exact.deletions[i].deleteAt as number);
    });
  });

  it('predicts no date for what the policy does not decide', () => {
    const H = 3_600_000;
    const snaps: RetentionSnapshot[] = [
      { id: 'base', created: 0, completed: 1, kind: 'checkpoint' },
      { id: 'pin', created: H, completed: H + 1, pinned: true },
      { id: 'top', created: 2 * H, completed: 2 * H + 1, kind: 'checkpoint', parent: 'base' },
      { id: 'creating', created: 3 * H, completed: null, inProgress: true },
      { id: 'ahead', created: 9 * H, completed: 9 * H },
    ];
    const plan = planDeletions(snaps, { baseMs: H, levels: 2, slots: 1, keepLast: 1 }, { now: 3 * H });
    expect(plan.every).toBe(H);
    expect(plan.firstArrival).toBe(3 * H);
    expect(plan.deletions).toEqual([
      { id: 'base', deleteAt: null, basis: 'chain' },
      { id: 'pin', deleteAt: null, basis: 'pinned' },
      { id: 'top', deleteAt: 4 * H, basis: 'policy' },
      { id: 'creating', deleteAt: null, basis: 'in-progress' },
      { id: 'ahead', deleteAt: null, basis: 'future' },
    ]);
  });
});

describe('simulate', () => {
  const H = 3_600_000;
  const start = Date.UTC(2024, 0, 1);

  it('aligned: ends with what pruning once would keep, and reports the gaps', () => {
    const policy = { baseMs: H, levels: 9, slots: 2, keepLast: 3, keepWithinMs: 4 * H };
    const end = start + 40 * 24 * H;
    const sim = simulate(policy, { start, end, every: H, durationMs: 90_000 });
    const all = Array.from({ length: sim.created }, (_, i) => ({
      id: new Date(start + i * H).toISOString(),
      created: start + i * H,
      completed: start + i * H + 90_000,
    }));
    const once = computeRetention(all, policy, { now: end });
    expect(sim.kept.map((k) => k.id)).toEqual(once.keep.map((k) => k.id));
    expect(sim.created).toBe(40 * 24 + 1);
    expect(sim.deleted).toBe(sim.created - sim.kept.length);
    expect(sim.peakKept).toBeGreaterThanOrEqual(sim.kept.length);
    // The last snapshot, created at `end`, is still being created: the gaps cover the complete ones.
    const complete = sim.kept.filter((k) => k.completed !== null);
    expect(complete.length).toBe(sim.kept.length - 1);
    expect(sim.gaps).toEqual(complete.slice(1).map((k, i) => k.created - complete[i].created));
    expect(sim.kept.length).toBeLessThanOrEqual(3 + 4 + 2 * 9);
  });

  it('dss: settles at 16 + 8 + 4 + 2 + 1 snapshots for n = 5', () => {
    const U = 4 * 24 * H;
    const sim = simulate({ kind: 'dss', unitMs: U, intervals: 5 }, { start, end: start + 30 * U, every: U / 16 });
    expect(sim.kept.length).toBe(31);
    // While the older intervals are still filling, their shortfall lets newer ones keep extras.
    expect(sim.peakKept).toBeGreaterThan(31);
    expect(sim.peakKept).toBeLessThanOrEqual(31 + 15 + 7 + 3 + 1);
  });

  it('lists a snapshot still being created at the end', () => {
    const sim = simulate({ baseMs: H, levels: 2, slots: 1, keepLast: 1 }, { start, end: start + 5 * H + 10, every: H, durationMs: 60_000 });
    expect(sim.kept[sim.kept.length - 1]).toEqual({ id: new Date(start + 5 * H).toISOString(), created: start + 5 * H, completed: null });
  });

  it('refuses simulations it cannot run', () => {
    const policy = { baseMs: H, levels: 2, slots: 1, keepLast: 1 };
    expect(() => simulate(policy, { start, end: start + 1e12, every: 1 })).toThrow(/^options\.every: the simulation would create/);
    expect(() => simulate(policy, { start, end: start - 1, every: H })).toThrow(InvalidArgumentError);
    expect(() => simulate(policy, { start, end: start + H, every: 0 })).toThrow(/^options\.every: /);
    expect(() => simulate(policy, { start, end: start + H, every: H, durationMs: -1 })).toThrow(/^options\.durationMs: /);
  });
});
