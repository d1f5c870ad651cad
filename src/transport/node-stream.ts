/**
 * The one adapter from a Node `Duplex` (net.Socket, tls.TLSSocket, an ssh2 channel, a caller's own pipe) to the
 * engine's {@link Transport}. What a pipe owns besides its stream (the SSH connection under an SSH channel)
 * plugs in as a {@link StreamOwner}; ./ssh-channel.ts is that owner for SSH.
 */

import type { Duplex } from 'node:stream';
import { ConnectionClosedError, LibvirtRpcError, TransportError } from '../errors.js';
import type { Transport, TransportSink } from '../protocol/transport.js';
import { toBuffer, WriteCoalescer } from './write-coalescer.js';

/**
 * What a {@link DuplexTransport} owns besides its stream, and closes with it: e.g. the SSH connection an SSH
 * channel runs in. The transport reports its close only once the owner is gone too (within `closeTimeout`).
 */
export interface StreamOwner {
  /**
   * The stream has closed; `local` says whether we ended or destroyed it. Returns the error to report instead
   * of a clean close (a remote command that failed), or undefined.
   */
  streamClosed(local: boolean): Error | undefined;
  /** Closes what it owns, gracefully; resolves when it is gone. */
  close(): Promise<void>;
  /** Closes what it owns at once. */
  destroy(): void;
}

/** Options of a {@link DuplexTransport}. */
export interface DuplexTransportOptions {
  /**
   * The stream's bytes arrive through {@link DuplexTransport.deliver} (a net.Socket opened with `onread`, which
   * reads into one reused buffer and skips the stream machinery), not through 'data' events.
   */
  externalRead?: boolean;
  /**
   * Messages written in one event-loop turn may go out in one write (see write-coalescer.ts). Plain byte
   * streams only (unix, TCP): never TLS, where each message must be its own record.
   */
  coalesce?: boolean;
  /** What the transport owns besides the stream. */
  owner?: StreamOwner;
  /** Whether the stream is TLS, a local unix socket or an SSH channel ({@link Transport.confidential}). */
  confidential?: boolean;
  /**
   * Bound in ms on a graceful close (end() until the stream and the owner are gone); after it both are cut off
   * and the close is reported. Default: none of its own (the engine's close() bounds the whole close).
   */
  closeTimeout?: number;
}

/**
 * A {@link Transport} over a Node duplex stream.
 *
 * - `write()` returns what the stream's `write()` returns; `whenWritable()` waits for `'drain'` (backpressure).
 * - `pause()`/`resume()` stop and restart reading: the peer is then held back by the pipe's own flow control
 *   (TCP's window; for an ssh2 channel, the SSH channel window stops growing).
 * - The sink's `closed` is called exactly once: with `undefined` after a clean end, with the error given to
 *   `destroy(err)`, with the owner's error, or with a {@link TransportError} (its `cause` the stream's error)
 *   when the stream failed.
 * - When the peer ends its side, this side is ended too: a libvirt daemon never sends after EOF.
 */
export class DuplexTransport implements Transport {
  readonly description: string;
  /** See {@link Transport.confidential}: given by the opener (TLS and unix sockets: true). */
  readonly confidential: boolean;
  readonly #stream: Duplex;
  readonly #owner: StreamOwner | undefined;
  readonly #closeTimeout: number | undefined;
  #sink: TransportSink | null = null;
  #error: Error | undefined;
  /** We ended or destroyed the stream (its close is then no failure of the far end). */
  #local = false;
  #streamDone = false;
  #done = false;
  #reported = false;
  #ended = false;
  #finished = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  readonly #waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();

  /** Chunks that arrived through {@link deliver} before attach(), copied. */
  #early: Uint8Array[] | null = null;
  readonly #externalRead: boolean;
  /** Set when the messages of one turn may share a write (see write-coalescer.ts). */
  readonly #coalescer: WriteCoalescer | null;

  constructor(stream: Duplex, description: string, options: DuplexTransportOptions = {}) {
    this.description = description;
    this.confidential = options.confidential ?? false;
    this.#stream = stream;
    this.#externalRead = options.externalRead ?? false;
    this.#owner = options.owner;
    this.#closeTimeout = options.closeTimeout;
    this.#coalescer = options.coalesce ? new WriteCoalescer(stream) : null;
    stream.on('error', (err: Error) => {
      this.#error ??= this.#wrap(err);
      // Some duplexes do not emit 'close' after an error; make sure this one is torn down.
      if (!stream.destroyed) stream.destroy();
      setImmediate(() => this.#onStreamDone());
    });
    stream.on('close', () => this.#onStreamDone());
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
    if (stream.destroyed || (stream.readableEnded && stream.writableFinished)) setImmediate(() => this.#onStreamDone());
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
   * Hands over bytes read outside the stream's 'data' events (see {@link DuplexTransportOptions.externalRead}).
   * The chunk may be a reused buffer: the sink consumes it during the call; chunks before attach() are copied.
   */
  deliver(chunk: Uint8Array): void {
    if (this.#done) return;
    this.#coalescer?.readHappened();
    if (this.#sink === null) (this.#early ??= []).push(Uint8Array.prototype.slice.call(chunk) as Uint8Array); // a real copy, even of a Buffer
    else this.#sink.data(chunk);
  }

  write(chunk: Uint8Array, written?: () => void): boolean {
    if (this.#streamDone || this.#stream.destroyed || this.#stream.writableEnded) return false;
    if (this.#coalescer) return this.#coalescer.write(chunk, written);
    if (written === undefined) return this.#stream.write(toBuffer(chunk));
    return this.#stream.write(toBuffer(chunk), (err) => {
      if (!err) written();
    });
  }

  whenWritable(): Promise<void> {
    if (this.#streamDone || this.#stream.destroyed || this.#stream.writableEnded) {
      return Promise.reject(this.#closedError());
    }
    // Held messages count against the stream's buffer: hand them over first, then look.
    this.#coalescer?.flush();
    if (!this.#stream.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.add({ resolve, reject }));
  }

  end(): void {
    if (this.#done) return;
    this.#local = true;
    if (!this.#stream.writableEnded) {
      this.#coalescer?.flush();
      this.#stream.end();
    }
    this.#arm();
  }

  /** Stops reading (a socket opened with `onread` stops too): the peer is held back by the pipe's flow control. */
  pause(): void {
    if (!this.#done) this.#stream.pause();
  }

  resume(): void {
    if (!this.#done) this.#stream.resume();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.#error ??= err;
    this.#local = true;
    if (this.#done) return;
    this.#coalescer?.drop();
    this.#owner?.destroy();
    // 'close' follows from the stream; if it had already closed, settle now.
    if (!this.#stream.destroyed) this.#stream.destroy();
    else setImmediate(() => this.#onStreamDone());
    this.#arm();
  }

  /** Bounds a close we started: a far end that never closes is cut off after `closeTimeout`. */
  #arm(): void {
    if (this.#closeTimeout === undefined || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#owner?.destroy();
      if (!this.#stream.destroyed) this.#stream.destroy();
      this.#finish();
    }, this.#closeTimeout);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #maybeFinished(): void {
    // A stream that keeps emitClose off never says 'close'; both directions done is the end too. (An owned
    // stream, an ssh2 channel, does say 'close' once the far end has closed the channel: that is awaited.)
    if (this.#ended && this.#finished && this.#owner === undefined) setImmediate(() => this.#onStreamDone());
  }

  /** The stream is gone: with an owner, close it (bounded) before reporting. */
  #onStreamDone(): void {
    if (this.#streamDone) return;
    this.#streamDone = true;
    this.#settleWaiters();
    const owner = this.#owner;
    if (owner === undefined) return this.#finish();
    if (this.#error === undefined) this.#error = owner.streamClosed(this.#local);
    this.#arm();
    owner.close().then(() => this.#finish(), () => this.#finish());
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    this.#streamDone = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
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
      if (this.#streamDone) w.reject(this.#closedError());
      else w.resolve();
    }
  }

  #closedError(): Error {
    return this.#error ?? new ConnectionClosedError(`${this.description}: the connection is closed`);
  }

  #wrap(err: Error): Error {
    if (err instanceof LibvirtRpcError) return err;
    const code = (err as NodeJS.ErrnoException).code;
    return new TransportError(`${this.description}: ${err.message}${code && !err.message.includes(String(code)) ? ` (${code})` : ''}`, {
      cause: err,
    });
  }
}

/** Wraps a caller's own duplex (a socket, a child process's stdio pair, a WebSocket stream) as a Transport. */
export function fromDuplex(stream: Duplex, description = 'caller-supplied stream'): Transport {
  return new DuplexTransport(stream, description);
}
