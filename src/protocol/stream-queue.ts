/**
 * The incoming side of a stream: a bounded queue of data packets, holes and the end of the data, which asks
 * for the transport to pause above its high-water mark and to resume below half of it (see ./stream.ts).
 * Payloads are copied in (a frame's bytes are reused once handled); large ones into buffers that the reader
 * may hand back with {@link IncomingQueue.recycle}.
 */
import type { StreamHole, StreamItem } from './stream.js';
import { copyBytes } from './xdr.js';

/** The most data one STREAM packet carries, VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX (see STREAM_PACKET_MAX). */
const PACKET_MAX = 262120;
/** Packets at least this large are copied into reusable buffers. */
export const POOLED_MIN = 64 * 1024;
/** Reusable packet buffers kept at most (4 MiB). */
export const POOL_MAX = 16;

const EOF = Symbol('eof');
type Queued = Uint8Array | StreamHole | typeof EOF;

/** The queue; `onPause(true|false)` is called when the transport should stop or start reading. */
export class IncomingQueue {
  readonly high: number;
  /** Past this many queued bytes the transport evidently cannot pause: the stream fails. */
  readonly hard: number;
  readonly #onPause: (paused: boolean) => void;
  #items: Queued[] = [];
  #head = 0;
  #bytes = 0;
  #paused = false;
  readonly #pool: ArrayBuffer[] = [];
  readonly #lent = new WeakSet<ArrayBuffer>();

  constructor(high: number, onPause: (paused: boolean) => void) {
    this.high = high;
    this.hard = Math.max(4 * high, high + 4 * PACKET_MAX);
    this.#onPause = onPause;
  }

  /** Bytes of data queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues a copy of a data packet's payload; false when that went past the hard bound. */
  pushData(payload: Uint8Array): boolean {
    return this.#push(this.#copy(payload), payload.length);
  }

  /** Queues a hole, merged with a hole queued just before. */
  pushHole(length: number): void {
    const last = this.#items.length > this.#head ? this.#items[this.#items.length - 1] : undefined;
    if (last !== undefined && last !== EOF && !(last instanceof Uint8Array)) this.#items[this.#items.length - 1] = { hole: last.hole + length };
    else this.#push({ hole: length }, 0);
  }

  /** Queues the end of the data (the daemon's empty CONTINUE packet). */
  pushEnd(): void {
    this.#push(EOF, 0);
  }

  /** The next item (null once the end is reached, for every later call too), or undefined when none is queued. */
  take(): StreamItem | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    if (item === EOF) return null;
    this.#items[this.#head++] = EOF; // drop the reference
    if (this.#head > 64 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    if (item instanceof Uint8Array) {
      this.#bytes -= item.length;
      if (this.#paused && this.#bytes <= this.high / 2) this.#setPaused(false);
    }
    return item;
  }

  /** The next item if it is data, else undefined (a hole or the end stays queued). */
  takeData(): Uint8Array | undefined {
    return this.#head < this.#items.length && this.#items[this.#head] instanceof Uint8Array ? (this.take() as Uint8Array) : undefined;
  }

  /** Drops everything queued and resumes reading. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#setPaused(false);
  }

  /** Takes back a buffer {@link take} returned, to copy later packets into (see Stream.recycle). */
  recycle(data: Uint8Array): void {
    const buf = data.buffer;
    if (!(buf instanceof ArrayBuffer) || !this.#lent.has(buf)) return;
    this.#lent.delete(buf);
    if (this.#pool.length < POOL_MAX) this.#pool.push(buf);
  }

  #push(item: Queued, bytes: number): boolean {
    this.#items.push(item);
    this.#bytes += bytes;
    if (this.#bytes > this.hard) return false;
    if (!this.#paused && this.#bytes >= this.high) this.#setPaused(true);
    return true;
  }

  #copy(payload: Uint8Array): Uint8Array {
    const n = payload.length;
    if (n < POOLED_MIN || n > PACKET_MAX) return copyBytes(payload, 0, n);
    const buf = this.#pool.pop() ?? new ArrayBuffer(PACKET_MAX);
    this.#lent.add(buf);
    const out = new Uint8Array(buf, 0, n);
    out.set(payload);
    return out;
  }

  #setPaused(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    this.#onPause(paused);
  }
}
