/**
 * A min-heap of (gap, index, version) entries in typed arrays, ordered by gap then index: the candidates of one
 * DSS interval in simulate.ts, the closest pair first (ties: the older one, as DSS breaks them). Entries are never
 * updated in place: a new one is pushed, and the holder's version tells stale ones apart.
 */
import { doubled } from './grow.js';

/** A min-heap of (gap, index, version) entries, for one DSS interval's candidates. */
export class GapHeap {
  gap = new Float64Array(16);
  idx = new Int32Array(16);
  ver = new Int32Array(16);
  size = 0;

  #less(a: number, b: number): boolean {
    return this.gap[a] < this.gap[b] || (this.gap[a] === this.gap[b] && this.idx[a] < this.idx[b]);
  }

  #swap(a: number, b: number): void {
    const g = this.gap[a];
    this.gap[a] = this.gap[b];
    this.gap[b] = g;
    const i = this.idx[a];
    this.idx[a] = this.idx[b];
    this.idx[b] = i;
    const v = this.ver[a];
    this.ver[a] = this.ver[b];
    this.ver[b] = v;
  }

  push(gap: number, idx: number, ver: number): void {
    if (this.size === this.gap.length) {
      this.gap = doubled(this.gap, (n) => new Float64Array(n));
      this.idx = doubled(this.idx, (n) => new Int32Array(n));
      this.ver = doubled(this.ver, (n) => new Int32Array(n));
    }
    let h = this.size++;
    this.gap[h] = gap;
    this.idx[h] = idx;
    this.ver[h] = ver;
    while (h > 0) {
      const parent = (h - 1) >> 1;
      if (!this.#less(h, parent)) break;
      this.#swap(h, parent);
      h = parent;
    }
  }

  /** Keeps only the entries `valid(index, version)` accepts (stale ones pile up as members move and go). */
  keep(valid: (idx: number, ver: number) => boolean): void {
    let n = 0;
    for (let h = 0; h < this.size; h++) {
      if (!valid(this.idx[h], this.ver[h])) continue;
      this.gap[n] = this.gap[h];
      this.idx[n] = this.idx[h];
      this.ver[n++] = this.ver[h];
    }
    this.size = n;
    for (let h = (n >> 1) - 1; h >= 0; h--) this.#down(h);
  }

  #down(start: number): void {
    let h = start;
    for (;;) {
      const l = 2 * h + 1;
      if (l >= this.size) break;
      const m = l + 1 < this.size && this.#less(l + 1, l) ? l + 1 : l;
      if (!this.#less(m, h)) break;
      this.#swap(m, h);
      h = m;
    }
  }

  /** Removes the smallest entry (the caller read it at slot 0). */
  pop(): void {
    this.size--;
    if (this.size === 0) return;
    this.#swap(0, this.size);
    this.#down(0);
  }
}
