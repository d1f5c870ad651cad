import fc from 'fast-check';
import { computeRetention, type RetentionSnapshot } from '../../src/scheduler/retention';

const H = 3_600_000;
const T0 = Date.UTC(2024, 5, 1);
const hourly = (n: number, extra: (i: number) => Partial<RetentionSnapshot> = () => ({})): RetentionSnapshot[] =>
  Array.from({ length: n }, (_, i) => ({ id: `h${String(i).padStart(3, '0')}`, created: T0 + i * H, completed: T0 + i * H + 60_000, ...extra(i) }));
const tight = { baseMs: H, levels: 0, slots: 1, keepLast: 1 };
const tightDss = { kind: 'dss' as const, unitMs: H, intervals: 1 };
const reasonsOf = (r: ReturnType<typeof computeRetention>, id: string) => r.keep.find((k) => k.id === id)?.reasons.map((x) => x.kind);

describe('always kept, whatever the policy', () => {
  it('keeps the newest complete snapshot under any policy', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ created: fc.integer({ min: 0, max: 500 }), done: fc.option(fc.integer({ min: -3, max: 5 })) })),
        fc.oneof(
          fc.record({ baseMs: fc.integer({ min: 1, max: 50 }), levels: fc.nat(5), slots: fc.integer({ min: 1, max: 3 }), keepLast: fc.integer({ min: 1, max: 3 }), graceMs: fc.nat(100) }),
          fc.record({ kind: fc.constant('dss' as const), unitMs: fc.integer({ min: 1, max: 100 }), intervals: fc.integer({ min: 1, max: 5 }), graceMs: fc.nat(100) }),
        ),
        fc.integer({ min: 0, max: 600 }),
        (rows, policy, now) => {
          const snaps = rows.map((r, i) => ({ id: `x${i}`, created: r.created, completed: r.done === null ? null : r.created + r.done }));
          const counted = snaps
            .filter((s) => s.completed !== null && s.completed >= s.created && s.completed <= now && s.created <= now)
            .sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1));
          const r = computeRetention(snaps, policy, { now });
          if (counted.length === 0) {
            expect(r.keep.some((k) => k.reasons.some((x) => x.kind === 'newest'))).toBe(false);
            return;
          }
          const newest = counted[counted.length - 1].id;
          expect(reasonsOf(r, newest)?.[0]).toBe('newest');
          expect(r.delete).not.toContain(newest);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([['aligned', tight], ['dss', tightDss]])('keeps pinned snapshots (%s)', (_name, policy) => {
    const snaps = hourly(30, (i) => ({ pinned: i === 3 || i === 17 }));
    const r = computeRetention(snaps, policy, { now: T0 + 30 * H });
    expect(reasonsOf(r, 'h003')).toEqual(['pinned']);
    expect(reasonsOf(r, 'h017')).toEqual(['pinned']);
    expect(r.keep.map((k) => k.id)).toEqual(['h003', 'h017', 'h029']);
  });

  it.each([['aligned', tight], ['dss', tightDss]])('keeps the snapshot being created, uncounted (%s)', (_name, policy) => {
    const snaps = [...hourly(5), { id: 'creating', created: T0 + 5 * H, completed: null, inProgress: true }];
    const r = computeRetention(snaps, policy, { now: T0 + 5 * H + 1000 });
    expect(reasonsOf(r, 'creating')).toEqual(['in-progress']);
    // It is not the newest complete one, and it does not push h004 out of keep-last 1.
    expect(reasonsOf(r, 'h004')?.[0]).toBe('newest');
    expect(r.incomplete).toEqual([]);
  });

  it.each([['aligned', tight], ['dss', tightDss]])('keeps and reports future-dated snapshots, uncounted (%s)', (_name, policy) => {
    const now = T0 + 10 * H;
    const snaps = [
      ...hourly(10),
      { id: 'ahead', created: now + 5 * H, completed: now + 5 * H + 10 },
      { id: 'finishes-later', created: now - 1000, completed: now + 1000 },
      { id: 'ahead-incomplete', created: now + H, completed: null },
    ];
    const r = computeRetention(snaps, policy, { now });
    expect(r.future).toEqual(['finishes-later', 'ahead-incomplete', 'ahead']);
    expect(reasonsOf(r, 'ahead')).toEqual(['future']);
    expect(reasonsOf(r, 'finishes-later')).toEqual(['future']);
    expect(r.incomplete).toEqual(['ahead-incomplete']);
    expect(r.delete).not.toContain('ahead');
    // h009 is still the newest counted snapshot: the future ones never displace it.
    expect(reasonsOf(r, 'h009')?.[0]).toBe('newest');
    expect(r.counted).toBe(10);
  });
});

describe('incomplete snapshots', () => {
  it.each([['aligned', tight], ['dss', tightDss]])('are never counted, never deleted, and reported (%s)', (_name, policy) => {
    const snaps = [
      { id: 'old-broken', created: T0 - 10 * H, completed: null },
      ...hourly(6),
      // Completion before creation: a broken record, incomplete (the DSS 0.1.1 rule).
      { id: 'backwards', created: T0 + 6 * H, completed: T0 + 5 * H },
      { id: 'unfinished', created: T0 + 7 * H, completed: null },
    ];
    const r = computeRetention(snaps, policy, { now: T0 + 8 * H });
    expect(r.incomplete).toEqual(['old-broken', 'backwards', 'unfinished']);
    expect(r.delete).not.toContain('old-broken');
    expect(reasonsOf(r, 'h005')?.[0]).toBe('newest');
    expect(r.keep.map((k) => k.id)).toEqual(['h005']);
    expect(r.counted).toBe(6);
  });

  it('are kept, not listed, when pinned', () => {
    const r = computeRetention([...hourly(3), { id: 'keep-me', created: T0, completed: null, pinned: true }], tight, {
      now: T0 + 3 * H,
    });
    expect(reasonsOf(r, 'keep-me')).toEqual(['pinned']);
    expect(r.incomplete).toEqual([]);
  });

  it('leave a clean result when there is nothing complete at all', () => {
    const r = computeRetention([{ id: 'a', created: T0, completed: null }], tight, { now: T0 + H });
    expect(r).toEqual({ keep: [], delete: [], incomplete: ['a'], future: [], now: T0 + H, requestedNow: T0 + H, counted: 0 });
    expect(computeRetention([], tightDss, { now: 5 })).toEqual({
      keep: [],
      delete: [],
      incomplete: [],
      future: [],
      now: 5,
      requestedNow: 5,
      counted: 0,
    });
  });
});
