/**
 * Writes the RPC messages of one event-loop turn to a byte stream in as few syscalls as possible.
 *
 * When replies to several pipelined calls arrive in one read, their callers each send their next call in the
 * same turn. Written one by one, that is one `write()` per message for us and, on the daemon's side, one poll
 * wake-up per message. Here the first message after a read goes out at once (the daemon starts on it while
 * we work), and the ones that follow before the next read are copied into one buffer and written together
 * once the turn's microtasks are done (process.nextTick, which runs after every promise continuation the read
 * woke, however many hops each takes). A caller making one call at a time writes straight through and
 * schedules nothing.
 *
 * Only for plain byte streams (unix, TCP): over TLS each message must stay its own record (see tls.ts), so the
 * TLS transport never coalesces.
 */
import type { Writable } from 'node:stream';

/** Messages collected past this many bytes are written at once rather than at the end of the turn. */
const MAX_BATCH_BYTES = 64 * 1024;

export class WriteCoalescer {
  readonly #stream: Writable;
  /** Messages waiting for the end of the turn. */
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** The `written` callbacks of held messages, in order (null: none). */
  #written: (() => void)[] | null = null;
  /**
   * Whether bytes were read since the last message went straight out: the next one may go straight out too.
   * False at first, so that the messages a connection opens with (AUTH_LIST, CONNECT_SUPPORTS_FEATURE,
   * CONNECT_OPEN, pipelined) leave in one write.
   */
  #fresh = false;
  #flushScheduled = false;
  readonly #endTurn = (): void => {
    this.#flushScheduled = false;
    this.flush();
  };

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  /** Bytes waiting for the end of the turn. */
  get held(): number {
    return this.#heldBytes;
  }

  /** The transport read bytes: a new turn of replies (and so of calls) begins. */
  readHappened(): void {
    this.#fresh = true;
  }

  /**
   * Queues one message; returns false when the stream is above its high-water mark (backpressure). `written`
   * runs once the message's bytes were handed to the kernel (for held messages: once the shared write was),
   * never if the stream fails first.
   */
  write(chunk: Uint8Array, written?: () => void): boolean {
    if (chunk.length >= MAX_BATCH_BYTES) {
      // A large message (a stream's packet) is never copied into a batch: what is held goes first, in order.
      this.#fresh = false;
      if (this.#held.length) this.flush();
      return this.#writeOne(chunk, written);
    }
    if (this.#fresh && this.#heldBytes === 0) {
      this.#fresh = false;
      return this.#writeOne(chunk, written);
    }
    this.#held.push(chunk);
    this.#heldBytes += chunk.length;
    if (written !== undefined) (this.#written ??= []).push(written);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      process.nextTick(this.#endTurn);
    }
    if (this.#heldBytes >= MAX_BATCH_BYTES) return this.flush();
    return this.#stream.writableLength + this.#heldBytes < this.#stream.writableHighWaterMark;
  }

  /** Writes what is held now, as one buffer; returns the stream's answer (false: above its high-water mark). */
  flush(): boolean {
    const held = this.#held;
    if (held.length === 0) return !this.#stream.writableNeedDrain;
    const total = this.#heldBytes;
    const written = this.#written;
    this.#held = [];
    this.#heldBytes = 0;
    this.#written = null;
    if (this.#stream.destroyed || this.#stream.writableEnded) return false;
    const done = written === null ? undefined : written.length === 1 ? written[0] : () => { for (const w of written) w(); };
    if (held.length === 1) return this.#writeOne(held[0], done);
    const out = Buffer.allocUnsafe(total);
    let at = 0;
    for (const c of held) {
      out.set(c, at);
      at += c.length;
    }
    return this.#writeOne(out, done);
  }

  #writeOne(chunk: Uint8Array, written: (() => void) | undefined): boolean {
    if (written === undefined) return this.#stream.write(toBuffer(chunk));
    return this.#stream.write(toBuffer(chunk), (err) => {
      if (!err) written();
    });
  }

  /** Forgets what is held (the stream is being destroyed); their `written` callbacks are never called. */
  drop(): void {
    this.#held = [];
    this.#heldBytes = 0;
    this.#written = null;
  }
}

/**
 * A Node Buffer with the bytes of `chunk`. Handing a plain Uint8Array to a socket makes Node wrap its `.buffer`,
 * which for a small array (kept on V8's heap) means allocating a separate backing store; a copy into Node's
 * buffer pool (used for anything under 4 KiB) is cheaper. Larger chunks are wrapped, not copied.
 */
export function toBuffer(chunk: Uint8Array): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  return chunk.length < 4096 ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
}
