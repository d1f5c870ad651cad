import fc from 'fast-check';
import { computeRetention, type RetentionSnapshot, type SnapshotKind } from '../../src/scheduler/retention';

// Applying the policy to what it kept keeps everything: a second prune at the same now deletes nothing.

const kinds: (SnapshotKind | undefined)[] = [undefined, 'internal', 'external', 'disk-only', 'memory', 'checkpoint'];

const snapsArb = fc
  .array(
    fc.record({
      created: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 900, max: 1000 })),
      duration: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(null), fc.constant(-2)),
      pinned: fc.integer({ min: 0, max: 14 }).map((x) => x === 0),
      inProgress: fc.integer({ min: 0, max: 24 }).map((x) => x === 0),
      kind: fc.constantFrom(...kinds),
      parent: fc.option(fc.nat(), { freq: 2 }),
    }),
    { maxLength: 60, size: 'medium' },
  )
  .map((rows) =>
    rows.map((r, i): RetentionSnapshot => ({
      id: `n${i}`,
      created: r.created,
      completed: r.duration === null ? null : r.created + r.duration,
      pinned: r.pinned,
      inProgress: r.inProgress,
      kind: r.kind,
      // Any other snapshot, earlier or later in the list; sometimes one that does not exist.
      parent: r.parent === null ? null : `n${r.parent % (rows.length + 2)}`,
    })),
  );

const policyArb = fc.oneof(
  fc.record({
    baseMs: fc.integer({ min: 1, max: 60 }),
    levels: fc.integer({ min: 0, max: 6 }),
    slots: fc.integer({ min: 1, max: 3 }),
    keepLast: fc.integer({ min: 1, max: 4 }),
    keepWithinMs: fc.integer({ min: 0, max: 100 }),
    graceMs: fc.integer({ min: 0, max: 300 }),
  }),
  fc.record({
    kind: fc.constant('dss' as const),
    unitMs: fc.integer({ min: 1, max: 200 }),
    intervals: fc.integer({ min: 1, max: 6 }),
    graceMs: fc.integer({ min: 0, max: 300 }),
  }),
);

describe('retention is idempotent', () => {
  it('keeps everything when applied again to its own result', () => {
    fc.assert(
      fc.property(snapsArb, policyArb, fc.integer({ min: 0, max: 1100 }), (snaps, policy, now) => {
        const first = computeRetention(snaps, policy, { now });
        const survivors = new Set([...first.keep.map((k) => k.id), ...first.incomplete]);
        // keep, delete and incomplete partition the input.
        expect(survivors.size + first.delete.length).toBe(snaps.length);
        const second = computeRetention(
          snaps.filter((s) => survivors.has(s.id)),
          policy,
          { now },
        );
        expect(second.delete).toEqual([]);
        expect(second.keep.map((k) => k.id)).toEqual(first.keep.map((k) => k.id));
        expect(second.incomplete).toEqual(first.incomplete);
      }),
      { numRuns: Number(process.env.RETENTION_RUNS ?? 500) },
    );
  });
});
