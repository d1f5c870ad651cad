/**
 * One adapter from any Node `Duplex` (net.Socket, tls.TLSSocket, an ssh2 channel, a caller's own pipe) to the
 * engine's {@link Transport}.
 */

import type { Duplex } from 'node:stream';
import { ConnectionClosedError, LibvirtRpcError, TransportError } from '../errors.js';
import type { Transport, TransportSink } from '../protocol/transport.js';
import { toBuffer, WriteCoalescer } from './write-coalescer.js';

/**
 * A {@link Transport} over a Node duplex stream.
 *
 * - `write()` returns what the stream's `write()` returns; `whenWritable()` waits for `'drain'` (backpressure).
 * - The sink's `closed` is called exactly once: with `undefined` after a clean end, with the error given to
 *   `destroy(err)`, or with a {@link TransportError} (its `cause` the stream's error) when the stream failed.
 * - When the peer ends its side, this side is ended too: a libvirt daemon never sends after EOF.
 */
export class DuplexTransport implements Transport {
  readonly description: string;
  readonly #stream: Duplex;
  #sink: TransportSink | null = null;
  #error: Error | undefined;
  #done = false;
  #reported = false;
  #ended = false;
  #finished = false;
  readonly #waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();

  /** Chunks that arrived through {@link deliver} before attach(), copied. */
  #early: Uint8Array[] | null = null;
  readonly #externalRead: boolean;
  /** Set when the messages of one turn may share a write (see write-coalescer.ts). */
  readonly #coalescer: WriteCoalescer | null;

  /**
   * @param externalRead the stream's bytes arrive through {@link deliver} (a net.Socket opened with `onread`,
   *   which reads into one reused buffer and skips the stream machinery), not through 'data' events.
   * @param coalesce messages written in one event-loop turn may go out in one write (plain byte streams only:
   *   never TLS, where each message must be its own record).
   */
  constructor(stream: Duplex, description: string, options: { externalRead?: boolean; coalesce?: boolean } = {}) {
    this.description = description;
    this.#stream = stream;
    this.#externalRead = options.externalRead ?? false;
    this.#coalescer = options.coalesce ? new WriteCoalescer(stream) : null;
    stream.on('error', (err: Error) => {
      this.#error ??= this.#wrap(err);
      // Some duplexes do not emit 'close' after an error; make sure this one is torn down.
      if (!stream.destroyed) stream.destroy();
      setImmediate(() => this.#finish());
    });
    stream.on('close', () => this.#finish());
    stream.on('end', () => {
      this.#ended = true;
      if (!stream.writableEnded) stream.end();
      this.#maybeFinished();
    });
    stream.on('finish', () => {
      this.#finished = true;
      this.#maybeFinished();
    });
    stream.on('drain', () => this.#settleWaiters());
    if (stream.destroyed || (stream.readableEnded && stream.writableFinished)) setImmediate(() => this.#finish());
  }

  attach(sink: TransportSink): void {
    if (this.#sink !== null) throw new TransportError(`${this.description}: attach() called twice`);
    this.#sink = sink;
    if (this.#early) {
      for (const c of this.#early) sink.data(c);
      this.#early = null;
    }
    if (this.#done) {
      queueMicrotask(() => this.#report());
      return;
    }
    if (this.#externalRead) return;
    this.#stream.on('data', (chunk: Uint8Array | string) => {
      if (this.#done || this.#sink === null) return;
      this.#coalescer?.readHappened();
      this.#sink.data(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
    });
    // A stream paused by its opener (TLS reads the daemon's status byte first) stays paused without this.
    this.#stream.resume();
  }

  /**
   * Hands over bytes read outside the stream's 'data' events (see the constructor). The chunk may be a reused
   * buffer: the sink consumes it during the call, and chunks that arrive before attach() are copied.
   */
  deliver(chunk: Uint8Array): void {
    if (this.#done) return;
    this.#coalescer?.readHappened();
    if (this.#sink === null) (this.#early ??= []).push(Uint8Array.prototype.slice.call(chunk) as Uint8Array); // a real copy, even of a Buffer
    else this.#sink.data(chunk);
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#stream.destroyed || this.#stream.writableEnded) return false;
    if (this.#coalescer) return this.#coalescer.write(chunk);
    return this.#stream.write(toBuffer(chunk));
  }

  whenWritable(): Promise<void> {
    if (this.#done || this.#stream.destroyed || this.#stream.writableEnded) {
      return Promise.reject(this.#closedError());
    }
    // Held messages count against the stream's buffer: hand them over first, then look.
    this.#coalescer?.flush();
    if (!this.#stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.add({ resolve, reject }));
  }

  end(): void {
    if (!this.#done && !this.#stream.writableEnded) {
      this.#coalescer?.flush();
      this.#stream.end();
    }
  }

  /** Stops reading (a socket opened with `onread` stops too): the peer is held back by TCP flow control. */
  pause(): void {
    if (!this.#done) this.#stream.pause();
  }

  resume(): void {
    if (!this.#done) this.#stream.resume();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.#error ??= err;
    this.#coalescer?.drop();
    if (!this.#stream.destroyed) this.#stream.destroy();
    // 'close' follows from the stream; if it had already closed, settle now.
    else setImmediate(() => this.#finish());
  }

  #maybeFinished(): void {
    // A stream that keeps emitClose off never says 'close'; both directions done is the end too.
    if (this.#ended && this.#finished) setImmediate(() => this.#finish());
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#settleWaiters();
    if (this.#sink !== null) this.#report();
  }

  #report(): void {
    if (this.#reported || this.#sink === null) return;
    this.#reported = true;
    this.#sink.closed(this.#error);
  }

  #settleWaiters(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) {
      if (this.#done) w.reject(this.#closedError());
      else w.resolve();
    }
  }

  #closedError(): Error {
    return this.#error ?? new ConnectionClosedError(`${this.description}: the connection is closed`);
  }

  #wrap(err: Error): Error {
    if (err instanceof LibvirtRpcError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    return new TransportError(`${this.description}: ${err.message}${code && !err.message.includes(code) ? ` (${code})` : ''}`, {
      cause: err,
    });
  }
}

/** Wraps a caller's own duplex (a socket, a child process's stdio pair, a WebSocket stream) as a Transport. */
export function fromDuplex(stream: Duplex, description = 'caller-supplied stream'): Transport {
  return new DuplexTransport(stream, description);
}
