/**
 * Finding the holes of a sparse upload's source fast, where nothing can ask the file system for them (Node has
 * no SEEK_DATA/SEEK_HOLE; libvirt's client uses them in virFileInData, src/util/virfile.c).
 *
 * {@link SparseScan} reads the source with several positional reads in flight and classifies what they
 * return as {@link HoleFinder} does (every run of whole all-zero {@link HOLE_BLOCK}-byte blocks aligned to
 * the start is a hole, and so is a zero tail), so the holes are exactly the ones HoleFinder finds. What it
 * does differently:
 * - it runs ahead of the consumer: while the consumer sends data, the scan goes on through the next holes,
 *   which cost no memory (a hole is a count), until every buffer holds data that waits to be sent;
 * - a buffer is first checked as a whole (one native compare for a buffer of zeros), then in 64 KiB parts,
 *   and only parts with data are cut into 4 KiB blocks;
 * - it stops reading once the data it has seen accounts for all the bytes the file system allocated to the
 *   file, when the reader can vouch for that number ({@link SparseReader.allocation}): the rest of the file
 *   is then a hole that is never read (a trailing hole costs nothing).
 *
 * Browser-safe: the reader is a function, Node's file source supplies one over a file handle.
 */
import { AbortError } from '../errors.js';
import type { StreamHole } from '../protocol/stream.js';
import { allZero, HOLE_BLOCK, type ZeroCheck } from './transfer.js';

/** What {@link SparseScan} reads from. */
export interface SparseReader {
  /** Reads up to `buf.length` bytes at `position` into `buf`; resolves to the count read (0 at the end). */
  read(buf: Uint8Array, position: number): Promise<number>;
  /**
   * The file's allocation, when the file system's numbers can be trusted for the early stop: `bytes` is
   * everything allocated to the file (stat's blocks × 512) and `unit` the file system's allocation unit.
   * Leave it out where a file system compresses, shares or inlines data (then the whole source is read).
   */
  readonly allocation?: { readonly bytes: number; readonly unit: number };
  /** The source's size in bytes, where the early stop makes the rest a hole. */
  readonly size?: number;
}

/** Options of {@link SparseScan}. */
export interface SparseScanOptions {
  /** Bytes per read, a multiple of {@link HOLE_BLOCK} (default 512 KiB). */
  chunkSize?: number;
  /** Reads in flight and buffers at most (default 8): memory is chunkSize × depth. */
  depth?: number;
  /** The all-zero test (Node: a native compare); default {@link allZero}. */
  zeroCheck?: ZeroCheck;
  signal?: AbortSignal;
}

/** What a scan did, for tests and benchmarks. */
export interface SparseScanStats {
  /** Bytes read from the source. */
  bytesRead: number;
  /** Whether the scan stopped at the allocation instead of reading to the end. */
  stoppedEarly: boolean;
}

const PART = 64 * 1024;

interface Read {
  buf: Uint8Array;
  pos: number;
  done: Promise<number>;
}

/**
 * A sparse source's data runs and holes, as an async iterator. Data items are views of the scan's buffers:
 * consume each before taking the next (the buffer is read into again once the scan passes it). `return()`
 * stops the scan; it settles the reads still in flight before it resolves.
 */
export class SparseScan implements AsyncIterableIterator<Uint8Array | StreamHole> {
  readonly stats: SparseScanStats = { bytesRead: 0, stoppedEarly: false };
  readonly #reader: SparseReader;
  readonly #chunk: number;
  readonly #depth: number;
  readonly #zero: ZeroCheck;
  readonly #signal: AbortSignal | undefined;
  readonly #free: Uint8Array[] = [];
  #made = 0;
  readonly #reads: Read[] = [];
  readonly #out: (Uint8Array | StreamHole)[] = [];
  /** Data items not yet passed by the consumer, per buffer; a buffer is reused when its count drops to 0. */
  readonly #held = new Map<Uint8Array, number>();
  #lastBuf: Uint8Array | null = null;
  #next = 0;
  #zeros = 0;
  #dataSeen = 0;
  #eof = false;
  #finished = false;
  #closed = false;
  #error: unknown = null;
  #wakeConsumer: (() => void) | null = null;
  #wakePump: (() => void) | null = null;
  #pumping: Promise<void> | null = null;

  constructor(reader: SparseReader, opts: SparseScanOptions = {}) {
    this.#reader = reader;
    this.#chunk = opts.chunkSize ?? 512 * 1024;
    this.#depth = opts.depth ?? 8;
    if (!Number.isSafeInteger(this.#chunk) || this.#chunk <= 0 || this.#chunk % HOLE_BLOCK !== 0) throw new RangeError(`chunkSize must be a positive multiple of ${HOLE_BLOCK}`);
    if (!Number.isSafeInteger(this.#depth) || this.#depth < 1) throw new RangeError('depth must be a positive integer');
    this.#zero = opts.zeroCheck ?? allZero;
    this.#signal = opts.signal;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array | StreamHole>> {
    // The consumer is done with the item it took last: its buffer may be read into again.
    if (this.#lastBuf !== null) {
      this.#release(this.#lastBuf);
      this.#lastBuf = null;
    }
    this.#pumping ??= this.#pump();
    for (;;) {
      if (this.#signal?.aborted && this.#error === null) this.#error = new AbortError('the sparse scan was aborted', { cause: this.#signal.reason });
      if (this.#error !== null) {
        // No read outlives the scan: the caller may close the file once this rejects.
        this.#closed = true;
        this.#poke();
        await this.#settle();
        throw this.#error;
      }
      const item = this.#out.shift();
      if (item !== undefined) {
        if (item instanceof Uint8Array) this.#lastBuf = bufferOf(item, this.#held);
        return { value: item, done: false };
      }
      if (this.#finished || this.#closed) {
        await this.#settle();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.#wakeConsumer = resolve));
    }
  }

  /** Stops the scan: no more reads; resolves once those in flight settled. */
  async return(): Promise<IteratorResult<Uint8Array | StreamHole>> {
    this.#closed = true;
    this.#poke();
    await this.#settle();
    return { value: undefined, done: true };
  }

  async #settle(): Promise<void> {
    await this.#pumping?.catch(() => undefined);
    await Promise.all(this.#reads.map((r) => r.done.catch(() => undefined)));
  }

  /** Wakes whichever side waits: the consumer for items, the scan for a free buffer. */
  #poke(): void {
    const consumer = this.#wakeConsumer;
    const pump = this.#wakePump;
    this.#wakeConsumer = this.#wakePump = null;
    consumer?.();
    pump?.();
  }

  #release(buf: Uint8Array): void {
    const n = (this.#held.get(buf) ?? 1) - 1;
    if (n > 0) {
      this.#held.set(buf, n);
      return;
    }
    this.#held.delete(buf);
    this.#free.push(buf);
    this.#poke();
  }

  /** Starts reads while buffers are free, in position order. */
  #fill(): void {
    while (!this.#eof && !this.#closed && this.#reads.length < this.#depth) {
      let buf = this.#free.pop();
      if (buf === undefined) {
        if (this.#made >= this.#depth) return;
        buf = new Uint8Array(this.#chunk);
        this.#made++;
      }
      const pos = this.#next;
      this.#next += this.#chunk;
      this.#reads.push({ buf, pos, done: readFull(this.#reader, buf, pos) });
    }
  }

  /** The scan itself: takes reads in order, classifies them, and goes on while buffers are free. */
  async #pump(): Promise<void> {
    try {
      this.#fill();
      while (!this.#closed) {
        const r = this.#reads[0];
        if (r === undefined) {
          if (this.#eof) break;
          // Every buffer holds data the consumer has not passed yet.
          await new Promise<void>((resolve) => (this.#wakePump = resolve));
          this.#fill();
          continue;
        }
        const n = await r.done;
        this.#reads.shift();
        if (this.#closed) break;
        this.stats.bytesRead += n;
        if (n < this.#chunk) this.#eof = true;
        const data = this.#classify(r.buf, n);
        if (data === 0) this.#free.push(r.buf);
        else this.#held.set(r.buf, data);
        if (this.#stopAt(r.pos + n)) break;
        this.#fill();
        this.#poke();
      }
      if (this.#zeros > 0) this.#out.push(this.#takeHole());
      this.#finished = true;
    } catch (e) {
      this.#error = e;
    }
    this.#poke();
  }

  /** Whether the data seen accounts for every allocated byte: then the rest of the source is a hole. */
  #stopAt(end: number): boolean {
    const alloc = this.#reader.allocation;
    const size = this.#reader.size;
    if (this.#eof || alloc === undefined || size === undefined || this.#dataSeen < alloc.bytes || end >= size) return false;
    this.#zeros += size - end;
    this.#eof = true;
    this.stats.stoppedEarly = true;
    return true;
  }

  /** Splits `buf[0, n)` into data runs (queued as views) and zero blocks (added to the pending hole). */
  #classify(buf: Uint8Array, n: number): number {
    if (n === 0) return 0;
    if (this.#zero(buf, 0, n)) {
      this.#zeros += n;
      return 0;
    }
    let items = 0;
    let dataStart = -1;
    const unit = Math.min(this.#reader.allocation?.unit ?? HOLE_BLOCK, HOLE_BLOCK);
    const endData = (at: number): void => {
      if (dataStart < 0) return;
      this.#out.push(buf.subarray(dataStart, at));
      items++;
      dataStart = -1;
    };
    for (let part = 0; part < n; part += PART) {
      const partEnd = Math.min(n, part + PART);
      if (this.#zero(buf, part, partEnd) && (partEnd - part) % HOLE_BLOCK === 0) {
        endData(part);
        this.#zeros += partEnd - part;
        continue;
      }
      for (let b = part; b < partEnd; b += HOLE_BLOCK) {
        const e = Math.min(partEnd, b + HOLE_BLOCK);
        // A partial block is only ever the source's last one: zero, it is part of the final hole.
        if (this.#zero(buf, b, e)) {
          endData(b);
          this.#zeros += e - b;
        } else {
          if (dataStart < 0) {
            if (this.#zeros > 0) this.#out.push(this.#takeHole());
            dataStart = b;
          }
          // A block with data lies in at least one allocation unit (and a unit of 4 KiB or more in one block).
          this.#dataSeen += unit;
        }
      }
    }
    endData(n);
    return items;
  }

  #takeHole(): StreamHole {
    const hole = { hole: this.#zeros };
    this.#zeros = 0;
    return hole;
  }
}

/** Reads until `buf` is full or the source ends (a short read only means the end). */
async function readFull(reader: SparseReader, buf: Uint8Array, pos: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const n = await reader.read(got === 0 ? buf : buf.subarray(got), pos + got);
    if (n <= 0) break;
    got += n;
  }
  return got;
}

function bufferOf(view: Uint8Array, held: Map<Uint8Array, number>): Uint8Array | null {
  for (const buf of held.keys()) if (buf.buffer === view.buffer) return buf;
  return null;
}
