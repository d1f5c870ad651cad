import { InvalidArgumentError } from '../../src/errors';
import { computeRetention, type RetentionSnapshot, type SnapshotKind } from '../../src/scheduler/retention';

const H = 3_600_000;
const onlyNewest = { baseMs: H, levels: 0, slots: 1, keepLast: 1 };
const mk = (id: string, hour: number, parent: string | null, kind: SnapshotKind, extra: Partial<RetentionSnapshot> = {}) => ({
  id,
  created: hour * H,
  completed: hour * H + 1,
  parent,
  kind,
  ...extra,
});
const kept = (r: ReturnType<typeof computeRetention>) => r.keep.map((k) => k.id);
const reasonsOf = (r: ReturnType<typeof computeRetention>, id: string) => r.keep.find((k) => k.id === id)?.reasons;

describe('chain dependencies', () => {
  it('keeps every ancestor of a kept checkpoint, and drops dead branches', () => {
    // c0 <- c1 <- c2 (a branch left behind by a revert) and c1 <- c3 <- c4 (current).
    const snaps = [
      mk('c0', 0, null, 'checkpoint'),
      mk('c1', 1, 'c0', 'checkpoint'),
      mk('c2', 2, 'c1', 'checkpoint'),
      mk('c3', 3, 'c1', 'checkpoint'),
      mk('c4', 4, 'c3', 'checkpoint'),
    ];
    const r = computeRetention(snaps, onlyNewest, { now: 5 * H });
    expect(kept(r)).toEqual(['c0', 'c1', 'c3', 'c4']);
    expect(r.delete).toEqual(['c2']);
    expect(reasonsOf(r, 'c3')).toEqual([{ kind: 'chain', child: 'c4' }]);
    expect(reasonsOf(r, 'c0')).toEqual([{ kind: 'chain', child: 'c1' }]);
  });

  it('keeps the backing chain of a kept external snapshot, but not the tree parent of an internal one', () => {
    const snaps = [
      mk('base', 0, null, 'external'),
      mk('e1', 1, 'base', 'disk-only'),
      mk('e2', 2, 'e1', 'external', { pinned: true }),
      mk('i1', 3, null, 'internal'),
      mk('i2', 4, 'i1', 'internal'),
      mk('m1', 5, 'i2', 'memory'),
      mk('u1', 6, 'i2', undefined as never),
      mk('newest', 7, null, 'internal'),
    ];
    const r = computeRetention(snaps, onlyNewest, { now: 8 * H });
    expect(kept(r)).toEqual(['base', 'e1', 'e2', 'newest']);
    expect(r.delete).toEqual(['u1', 'm1', 'i2', 'i1']);
  });

  it('walks through an incomplete parent without keeping it, and an incomplete snapshot protects its chain', () => {
    const snaps = [
      mk('g', 0, null, 'external'),
      mk('p', 1, 'g', 'external', { completed: null }),
      mk('x', 2, 'p', 'external', { pinned: true }),
      mk('g2', 3, null, 'checkpoint'),
      mk('orphan', 4, 'g2', 'checkpoint', { completed: null }),
      mk('z', 5, null, 'checkpoint'),
    ];
    const r = computeRetention(snaps, onlyNewest, { now: 6 * H });
    expect(kept(r)).toEqual(['g', 'x', 'g2', 'z']);
    expect(r.incomplete).toEqual(['p', 'orphan']);
    expect(reasonsOf(r, 'g')).toEqual([{ kind: 'chain', child: 'p' }]);
    expect(reasonsOf(r, 'g2')).toEqual([{ kind: 'chain', child: 'orphan' }]);
    expect(r.delete).toEqual([]);
  });

  it('ignores parents it does not own', () => {
    const r = computeRetention([mk('a', 0, 'elsewhere', 'checkpoint'), mk('b', 1, 'a', 'internal')], onlyNewest, {
      now: 2 * H,
    });
    expect(r.delete).toEqual(['a']);
  });

  it('lists children before their parents in delete', () => {
    const snaps = [mk('r', 0, null, 'checkpoint'), mk('a', 1, 'r', 'checkpoint'), mk('b', 2, 'a', 'checkpoint')];
    snaps.push(mk('b2', 2, 'a', 'checkpoint'), mk('new', 3, null, 'checkpoint'));
    const r = computeRetention(snaps, onlyNewest, { now: 4 * H });
    expect(r.delete).toEqual(['b2', 'b', 'a', 'r']);
  });

  it('under DSS frees a parent once its last dependent goes, in the same call', () => {
    // n0 <- n1 are both outdated; n0 cannot go while n1 exists, so once n1 goes DSS runs again.
    const snaps = [mk('n0', 0, null, 'internal'), mk('n1', 0, 'n0', 'checkpoint'), mk('n2', 900, null, 'internal')];
    const r = computeRetention(snaps, { kind: 'dss', unitMs: H, intervals: 1, graceMs: 0 }, { now: 900 * H + 10 });
    expect(r.delete).toEqual(['n1', 'n0']);
    expect(kept(r)).toEqual(['n2']);
  });

  it('under DSS never removes what a kept snapshot builds on, counting it in its interval', () => {
    // One interval wanting 2: e3 (newest) and its backing chain e2 <- e1 <- e0 all stay; the internal ones go.
    const snaps = [
      mk('e0', 0, null, 'external'),
      mk('i0', 1, null, 'internal'),
      mk('e1', 2, 'e0', 'external'),
      mk('i1', 3, null, 'internal'),
      mk('e2', 4, 'e1', 'external'),
      mk('e3', 5, 'e2', 'external'),
    ];
    const r = computeRetention(snaps, { kind: 'dss', unitMs: 10 * H, intervals: 2 }, { now: 6 * H });
    expect(kept(r)).toEqual(['e0', 'e1', 'e2', 'e3']);
    expect(r.delete).toEqual(['i1', 'i0']);
  });

  it('refuses duplicate ids among referenced parents', () => {
    const snaps = [mk('a', 0, null, 'checkpoint'), mk('a', 1, null, 'checkpoint'), mk('b', 2, 'a', 'checkpoint')];
    expect(() => computeRetention(snaps, onlyNewest, { now: 3 * H })).toThrow(InvalidArgumentError);
    expect(() => computeRetention(snaps, onlyNewest, { now: 3 * H })).toThrow(/^snapshots\[1\]\.id: duplicate id "a"/);
  });
});
