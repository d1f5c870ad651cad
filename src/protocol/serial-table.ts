/**
 * The engine's serial -> route table, with the part of the Map interface the engine uses.
 *
 * A Map cost about a thousand instructions per call here: each call adds its serial and removes it when the
 * reply comes, and V8 shrinks and rehashes a Map's table as it empties and fills. Serials are handed out in
 * order, so the live ones fall into consecutive slots of a small ring; a serial whose slot is still held by a
 * long-lived route (a stream, a call waiting on a slow job) goes to an overflow Map instead.
 */
const SLOTS = 256;
const MASK = SLOTS - 1;

export class SerialTable<V> {
  readonly #keys = new Uint32Array(SLOTS);
  readonly #vals: (V | undefined)[] = new Array<V | undefined>(SLOTS).fill(undefined);
  #overflow: Map<number, V> | null = null;
  #size = 0;

  /** Routes held. */
  get size(): number {
    return this.#size;
  }

  get(serial: number): V | undefined {
    const i = serial & MASK;
    const v = this.#vals[i];
    if (v !== undefined && this.#keys[i] === serial) return v;
    return this.#overflow === null ? undefined : this.#overflow.get(serial);
  }

  set(serial: number, value: V): this {
    const i = serial & MASK;
    const held = this.#vals[i];
    if (held === undefined) {
      this.#keys[i] = serial;
      this.#vals[i] = value;
      this.#size++;
    } else if (this.#keys[i] === serial) {
      this.#vals[i] = value;
    } else {
      const o = (this.#overflow ??= new Map());
      if (!o.has(serial)) this.#size++;
      o.set(serial, value);
    }
    return this;
  }

  delete(serial: number): boolean {
    const i = serial & MASK;
    if (this.#vals[i] !== undefined && this.#keys[i] === serial) {
      this.#vals[i] = undefined;
      this.#size--;
      return true;
    }
    if (this.#overflow !== null && this.#overflow.delete(serial)) {
      this.#size--;
      if (this.#overflow.size === 0) this.#overflow = null;
      return true;
    }
    return false;
  }

  /** Every route held (a snapshot: the table may change while the caller goes through it). */
  values(): V[] {
    const out: V[] = [];
    for (const v of this.#vals) if (v !== undefined) out.push(v);
    if (this.#overflow !== null) for (const v of this.#overflow.values()) out.push(v);
    return out;
  }

  clear(): void {
    this.#vals.fill(undefined);
    this.#overflow = null;
    this.#size = 0;
  }
}
