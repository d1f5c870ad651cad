import { computeRetention, type RetentionSnapshot } from '../../src/scheduler/retention';

// "Now" for thinning is at most the newest complete snapshot plus the grace period: a long outage (host down,
// guest shut off, scheduler stopped) never thins the history that was there when snapshots stopped.

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.UTC(2024, 0, 1);
const history: RetentionSnapshot[] = Array.from({ length: 30 * 24 }, (_, i) => ({
  id: `h${String(i).padStart(3, '0')}`,
  created: T0 + i * H,
  completed: T0 + i * H + 30_000,
}));
const last = history[history.length - 1].created;
const aligned = { baseMs: H, levels: 10, slots: 2, keepLast: 4, keepWithinMs: 12 * H };
const dss = { kind: 'dss' as const, unitMs: 2 * D, intervals: 4 };
const ids = (r: ReturnType<typeof computeRetention>) => r.keep.map((k) => k.id);

describe('the grace-period clamp on now', () => {
  it.each([
    ['aligned', aligned, H],
    ['dss', dss, 2 * D],
  ])('keeps the %s history of the moment snapshots stopped, however long the outage', (_name, policy, grace) => {
    const atStop = computeRetention(history, policy, { now: last + grace });
    const afterOutage = computeRetention(history, policy, { now: last + 90 * D });
    expect(afterOutage.now).toBe(last + grace);
    expect(afterOutage.requestedNow).toBe(last + 90 * D);
    expect(ids(afterOutage)).toEqual(ids(atStop));
    // Without the clamp the outage would have thinned it.
    const unclamped = computeRetention(history, { ...policy, graceMs: 2 ** 48 }, { now: last + 90 * D });
    expect(unclamped.keep.length).toBeLessThan(afterOutage.keep.length);
  });

  it('does not touch now within the grace period', () => {
    const r = computeRetention(history, { ...aligned, graceMs: 3 * H }, { now: last + 2 * H });
    expect(r.now).toBe(last + 2 * H);
  });

  it('clamps from the newest complete snapshot, not from incomplete or future ones', () => {
    const snaps = [
      ...history,
      { id: 'stuck', created: last + 10 * D, completed: null },
      { id: 'skewed', created: last + 200 * D, completed: last + 200 * D },
    ];
    const r = computeRetention(snaps, { ...aligned, graceMs: 0 }, { now: last + 90 * D });
    expect(r.now).toBe(last);
    expect(r.incomplete).toEqual(['stuck']);
    expect(r.future).toEqual(['skewed']);
  });
});
