/**
 * The engine's serial -> route table behaves as a Map for every pattern of serials: consecutive ones, one held
 * for a long time while later serials reuse its slot, wrap-around at 2^32, and clearing.
 */
import { SerialTable } from '../../src/protocol/serial-table';

/** Applies the same operations to a SerialTable and a Map and compares them after each. */
function same(ops: ['set' | 'delete', number][]): void {
  const t = new SerialTable<{ n: number }>();
  const m = new Map<number, { n: number }>();
  for (const [op, k] of ops) {
    if (op === 'set') {
      const v = { n: k };
      t.set(k, v);
      m.set(k, v);
    } else {
      expect(t.delete(k)).toBe(m.delete(k));
    }
    expect(t.size).toBe(m.size);
    expect(t.get(k)).toBe(m.get(k));
  }
  for (const k of m.keys()) expect(t.get(k)).toBe(m.get(k));
  expect(new Set(t.values())).toEqual(new Set(m.values()));
}

test('consecutive calls, each answered before or after the next starts', () => {
  const ops: ['set' | 'delete', number][] = [];
  for (let s = 1; s < 2000; s++) {
    ops.push(['set', s]);
    if (s > 32) ops.push(['delete', s - 32]); // 32 in flight
  }
  same(ops);
});

test('a long-lived route keeps its slot while later serials with the same slot go elsewhere', () => {
  const ops: ['set' | 'delete', number][] = [['set', 7]];
  for (let s = 8; s < 8 + 256 * 5; s++) {
    ops.push(['set', s], ['delete', s]);
    if (s % 256 === 7) ops.push(['set', s]); // some collide with 7 and stay a while
  }
  ops.push(['delete', 7], ['delete', 7 + 256], ['set', 7 + 256 * 9], ['delete', 12345]);
  same(ops);
});

test('serials near 2^32 and their wrap to 1 (the engine skips 0)', () => {
  const top = 0xffffffff;
  same([['set', top - 1], ['set', top], ['set', 1], ['set', 2], ['delete', top], ['delete', 1], ['set', 255], ['delete', top - 1]]);
});

test('clear() empties it', () => {
  const t = new SerialTable<string>();
  for (let s = 1; s < 600; s++) t.set(s, `r${s}`);
  expect(t.size).toBe(599);
  t.clear();
  expect(t.size).toBe(0);
  expect(t.get(5)).toBeUndefined();
  expect(t.values()).toEqual([]);
});
