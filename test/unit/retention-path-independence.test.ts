import fc from 'fast-check';
import { computeRetention, type RetentionSnapshot, type SnapshotKind } from '../../src/scheduler/retention';

// The aligned policy's promise: pruning after every snapshot, now and then, or once at the end leaves the same set.

const policyArb = fc.record({
  baseMs: fc.integer({ min: 1, max: 30 }),
  levels: fc.integer({ min: 0, max: 7 }),
  slots: fc.integer({ min: 1, max: 4 }),
  keepLast: fc.integer({ min: 1, max: 4 }),
  keepWithinMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 100 })),
  graceMs: fc.integer({ min: 0, max: 200 }),
});

const kinds: (SnapshotKind | undefined)[] = [undefined, 'internal', 'external', 'disk-only', 'memory', 'checkpoint'];

const arrivalArb = fc.record({
  /** How far the clock moves before this arrival. */
  step: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 200 })),
  /** How long before now it was created: > 0 arrives out of order, < 0 is dated in the future. */
  age: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 150 }), fc.integer({ min: -20, max: 0 })),
  /** Completion after creation; null never completes; -1 completes before its creation (a broken record). */
  duration: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant(null), fc.constant(-1)),
  pinned: fc.integer({ min: 0, max: 19 }).map((x) => x === 0),
  kind: fc.constantFrom(...kinds),
  /** Index (modulo) of a snapshot present at arrival to be its parent, or none. */
  parent: fc.option(fc.nat(), { freq: 2 }),
  /** Prune right after this arrival? */
  prune: fc.boolean(),
});

type Row = typeof arrivalArb extends fc.Arbitrary<infer T> ? T : never;

interface Arrival {
  snapshot: RetentionSnapshot;
  now: number;
}

function prune(present: RetentionSnapshot[], policy: object, now: number): RetentionSnapshot[] {
  const gone = new Set(computeRetention(present, policy as never, { now }).delete);
  return present.filter((s) => !gone.has(s.id));
}

/**
 * Plays the rows pruning after every insertion. A row's parent is picked among the snapshots present at its
 * arrival (as libvirt would: a new checkpoint's parent exists). Returns the arrivals (to replay) and survivors.
 */
function playEvery(policy: object, rows: Row[]): { survivors: string[]; arrivals: Arrival[] } {
  let present: RetentionSnapshot[] = [];
  const arrivals: Arrival[] = [];
  let now = 1000;
  rows.forEach((row, i) => {
    now += row.step;
    const created = now - row.age;
    const parent = row.parent !== null && present.length > 0 ? present[row.parent % present.length].id : null;
    const snapshot: RetentionSnapshot = {
      id: `a${i}`,
      created,
      completed: row.duration === null ? null : created + row.duration,
      pinned: row.pinned,
      kind: row.kind,
      parent,
    };
    present.push(snapshot);
    arrivals.push({ snapshot, now });
    present = prune(present, policy, now);
  });
  return { survivors: present.map((s) => s.id).sort(), arrivals };
}

/** Replays the same arrivals, pruning only where `when[i]` says so, and after the last. */
function replay(policy: object, arrivals: Arrival[], when: boolean[]): string[] {
  let present: RetentionSnapshot[] = [];
  arrivals.forEach(({ snapshot, now }, i) => {
    // A parent present at arrival in the every-insertion run is still present here (it was pruned less).
    if (snapshot.parent != null) expect(present.some((s) => s.id === snapshot.parent)).toBe(true);
    present.push(snapshot);
    if (when[i] || i === arrivals.length - 1) present = prune(present, policy, now);
  });
  return present.map((s) => s.id).sort();
}

describe('aligned retention is path independent', () => {
  it('prune after every insertion == prune at random points == prune once', () => {
    fc.assert(
      fc.property(policyArb, fc.array(arrivalArb, { minLength: 1, maxLength: 40, size: 'medium' }), (policy, rows) => {
        const every = playEvery(policy, rows);
        const sometimes = replay(policy, every.arrivals, rows.map((r) => r.prune));
        const all = every.arrivals.map((a) => a.snapshot);
        const finalNow = every.arrivals[every.arrivals.length - 1].now;
        const once = computeRetention(all, policy, { now: finalNow });
        const onceSurvivors = [...once.keep.map((k) => k.id), ...once.incomplete].sort();
        expect(every.survivors).toEqual(onceSurvivors);
        expect(sometimes).toEqual(onceSurvivors);
      }),
      // RETENTION_RUNS=20000 for a deeper search; the default keeps the unit suite quick.
      { numRuns: Number(process.env.RETENTION_RUNS ?? 400) },
    );
  });

  it('holds for a long regular history with jitter (hourly snapshots for 60 days)', () => {
    const H = 3_600_000;
    const policy = { baseMs: H, levels: 12, slots: 2, keepLast: 5, keepWithinMs: 6 * H };
    let present: RetentionSnapshot[] = [];
    const all: RetentionSnapshot[] = [];
    let now = Date.UTC(2024, 1, 27, 22);
    for (let i = 0; i < 24 * 60; i++) {
      now += H + ((i * 7919) % 600_000) - 300_000;
      const s = { id: `h${String(i).padStart(4, '0')}`, created: now, completed: now + 42_000 };
      now += 42_000;
      present.push(s);
      all.push(s);
      present = prune(present, policy, now);
    }
    const once = computeRetention(all, policy, { now });
    expect(present.map((s) => s.id)).toEqual(once.keep.map((k) => k.id));
    expect(present.length).toBeLessThanOrEqual(5 + 6 + 24);
  });
});
