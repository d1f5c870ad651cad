/**
 * Byte streams on a libvirt connection: volume upload and download, consoles, channels, screenshots.
 *
 * A stream is the serial of the call that opened it (STORAGE_VOL_UPLOAD, DOMAIN_OPEN_CONSOLE, ...). It behaves
 * as libvirt's client (src/rpc/virnetclientstream.c, remoteStream* in src/remote/remote_driver.c) and daemon
 * (src/remote/remote_daemon_stream.c) make it behave on the wire:
 * - data travels as STREAM messages with status CONTINUE, at most VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX bytes each
 *   (the daemon reads and sends that much per packet; virStreamSendAll writes that much);
 * - an empty CONTINUE from the daemon is the end of its data (daemonStreamHandleRead sends it at EOF);
 * - finishing sends an empty STREAM with status OK, which the daemon confirms with an empty OK once its side
 *   is done (daemonStreamHandleFinish), or answers with an ERROR carrying the reason;
 * - aborting sends an empty STREAM with status ERROR, which the daemon confirms with an empty OK
 *   (daemonStreamHandleAbort); afterwards the stream is closed and every operation fails, as libvirt's
 *   "stream is closed";
 * - the daemon ends a stream on its side with a STREAM ERROR (a failed write, a read error); that error is
 *   raised by the next operation, before any data still queued, as remoteStreamRecv/Send raise it;
 * - sparse streams (opened with a `*_SPARSE_STREAM` flag) also carry STREAM_HOLE messages, a
 *   `virNetStreamHole` (length, flags 0) of zeros that are not sent. The daemon closes the whole connection
 *   when it gets a hole on a stream that did not ask for them, so {@link Stream.sendHole} refuses locally.
 *
 * Backpressure both ways: incoming data waits in a bounded queue; above its high-water mark the transport
 * stops reading, so TCP (or the SSH window) holds the daemon back until the reader catches up. A sender waits
 * for the socket to drain before each packet. No `node:` imports: this runs in browsers too.
 */
import { ProtocolError, RemoteError, StreamClosedError, StreamError, StreamOverflowError } from '../errors.js';
import * as virnet from '../../generated/virnet-protocol.js';
import { Frame, FrameHeader, MessageStatus, MessageType, MIN_FRAME } from './frame.js';
import type { CallOptions, ProcedureInfo } from './program.js';
import { remoteErrorFrom } from './remote-error.js';
import { decodePayload, type RpcClient, type SerialRoute } from './rpc-client.js';
import { IncomingQueue, POOL_MAX, POOLED_MIN } from './stream-queue.js';
import { pending, Waiters, type Pending } from './stream-wait.js';
import { xdrDecode, xdrEncode } from './xdr.js';

/** The most data one STREAM packet carries: libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX (262120 bytes). */
export const STREAM_PACKET_MAX = virnet.VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX;

/** Default bytes of incoming data queued before the transport stops reading. */
export const DEFAULT_HIGH_WATER = 1024 * 1024;

/** Default bound on waiting for the daemon to confirm an abort, in ms. */
export const ABORT_CONFIRM_TIMEOUT = 30_000;

/** A hole in a sparse stream: `hole` bytes of zeros that were not sent. */
export interface StreamHole {
  readonly hole: number;
}

/** What {@link Stream.receive} returns: data, a hole (sparse streams only), or null at the end of the data. */
export type StreamItem = Uint8Array | StreamHole | null;

/** Options of {@link Stream.open}. */
export interface StreamOpenOptions extends CallOptions {
  /** The stream carries holes: the opening call asked for a sparse stream. */
  sparse?: boolean;
  /** Incoming bytes queued before the daemon is held back (default 1 MiB). The hard bound is 4 times it. */
  highWaterMark?: number;
}

type State = 'opening' | 'open' | 'finishing' | 'aborting' | 'finished' | 'aborted' | 'failed';

/** Whether `item` is a hole. */
export function isHole(item: StreamItem | undefined): item is StreamHole {
  return item !== null && item !== undefined && !(item instanceof Uint8Array);
}

/**
 * One stream on a connection. Open it with {@link Stream.open}; then `send`/`sendHole` (upload, console
 * input), `receive` (download, console output), and end it with `finish` (both sides agree it is complete)
 * or `abort`. Sends must not overlap (each waits for the previous; they are queued in order if they do).
 */
export class Stream<R = unknown> {
  /** The procedure that opened the stream. */
  readonly proc: ProcedureInfo;
  /** Whether holes may travel on this stream. */
  readonly sparse: boolean;
  /** Data bytes received and sent so far (holes not counted). */
  bytesReceived = 0;
  bytesSent = 0;
  readonly #rpc: RpcClient;
  #reply: R | undefined;
  #serial = 0;
  #routed = false;
  #state: State = 'opening';
  /** What every operation throws once set: the daemon's error, a lost connection, an overflow. */
  #error: Error | null = null;
  readonly #queue: IncomingQueue;
  readonly #waiters = new Waiters();
  #opened = pending();
  #closing: Pending | null = null;
  #sendTail: Promise<unknown> = Promise.resolve();
  /** Frame buffers of sent packets, back from the transport (see #sendData). */
  #frames: Uint8Array[] = [];
  /** The opener gave up before the reply: a late acceptance is aborted at once. */
  #openAbandoned = false;
  /** What the engine routes this stream's frames to. */
  readonly #route: SerialRoute;

  private constructor(rpc: RpcClient, proc: ProcedureInfo, options: StreamOpenOptions) {
    this.#rpc = rpc;
    this.proc = proc;
    this.sparse = options.sparse ?? false;
    const high = options.highWaterMark ?? DEFAULT_HIGH_WATER;
    if (!Number.isSafeInteger(high) || high < 1) throw new StreamError(`highWaterMark must be a positive integer, not ${String(high)}`);
    this.#queue = new IncomingQueue(high, (paused) => this.#rpc.setReadPaused(this, paused));
    this.#route = {
      proc,
      holdsClose: false, // a graceful close does not wait for streams: closing the connection ends them
      receive: (f) => this.#onFrame(f),
      fail: (err) => {
        this.#routed = false;
        this.#fail(err);
      },
    };
  }

  /**
   * Calls `proc` (a procedure that opens a stream) and resolves once the daemon accepted it, with the stream.
   * The call's decoded reply is {@link reply}. `timeout`/`signal` bound the opening call only.
   */
  static async open<A, R>(rpc: RpcClient, proc: ProcedureInfo<A, R, unknown>, args: A, options: StreamOpenOptions = {}): Promise<Stream<R>> {
    const st = new Stream<R>(rpc, proc as ProcedureInfo, options);
    st.#serial = rpc.startCall(proc, args, st.#route);
    st.#routed = true;
    try {
      await st.#waiters.wait(st.#opened.promise, options, proc.name, false);
    } catch (e) {
      if (st.#state === 'opening') {
        // Gave up before the reply: if the daemon accepts after all, the stream is aborted then (#onReply).
        st.#openAbandoned = true;
        st.#error ??= e as Error;
        st.#state = 'failed';
        st.#waiters.notify();
      }
      throw e;
    }
    return st;
  }

  /** The decoded reply of the call that opened the stream (e.g. the screenshot's MIME type). */
  get reply(): R {
    return this.#reply as R;
  }

  /** The serial the stream travels under. */
  get serial(): number {
    return this.#serial;
  }

  /** `open` until finished, aborted or failed. */
  get state(): 'opening' | 'open' | 'finishing' | 'aborting' | 'finished' | 'aborted' | 'failed' {
    return this.#state;
  }

  /** Bytes of data waiting to be received. */
  get queuedBytes(): number {
    return this.#queue.bytes;
  }

  // ---- receiving ----

  /**
   * The next data packet, a hole (sparse streams), or null once the daemon sent all its data (then call
   * {@link finish}). Rejects with the daemon's error when it ended the stream, {@link StreamClosedError} after
   * finish or abort, and `TimeoutError`/`AbortError` from `timeout`/`signal` (the stream stays usable then).
   */
  async receive(opts?: CallOptions): Promise<StreamItem> {
    for (;;) {
      this.#check();
      const item = this.#queue.take();
      if (item !== undefined) return item;
      await this.#waiters.wait(null, opts, 'receiving from the stream', true);
    }
  }

  /**
   * The next data packet if one is already queued, else undefined (never waits; a hole or the end stays
   * queued for {@link receive}). Lets a consumer take several packets together (a file sink writes them with
   * one call).
   */
  receiveQueuedData(): Uint8Array | undefined {
    this.#check();
    return this.#queue.takeData();
  }

  /**
   * Hands back a buffer that {@link receive} returned, once the caller is done with it: later packets are
   * received into it instead of new memory (a transfer that writes each packet out and forgets it then moves
   * gigabytes without garbage). The caller must not touch `data` afterwards. Anything else is ignored.
   */
  recycle(data: Uint8Array): void {
    this.#queue.recycle(data);
  }

  // ---- sending ----

  /** Sends `data` (split into packets of at most {@link STREAM_PACKET_MAX} bytes), waiting for the socket. */
  send(data: Uint8Array, opts?: CallOptions): Promise<void> {
    if (!(data instanceof Uint8Array)) return Promise.reject(new StreamError('stream data must be a Uint8Array'));
    return this.#serialize(async () => {
      for (let at = 0; at < data.length; at += STREAM_PACKET_MAX) {
        await this.#writable(opts);
        const end = Math.min(data.length, at + STREAM_PACKET_MAX);
        this.#sendData(data, at, end);
        this.bytesSent += end - at;
      }
    });
  }

  /**
   * Sends a hole of `length` zero bytes (sparse streams only; libvirt's virStreamSendHole). `flags` must be 0,
   * as libvirt requires.
   */
  sendHole(length: number, flags = 0, opts?: CallOptions): Promise<void> {
    if (!this.sparse) return Promise.reject(new StreamError('holes are not supported on this stream (it was not opened sparse)'));
    if (!Number.isSafeInteger(length) || length < 0) return Promise.reject(new StreamError(`a hole's length is a non-negative integer, not ${String(length)}`));
    if (flags !== 0) return Promise.reject(new StreamError(`a hole's flags must be 0, not ${String(flags)}`));
    if (length === 0) return this.#serialize(async () => this.#check());
    return this.#serialize(async () => {
      await this.#writable(opts);
      const payload = xdrEncode(virnet.xdr_virNetStreamHole, { length: BigInt(length), flags: 0 }, 16);
      this.#rpc.sendPacket(this.#header(MessageType.VIR_NET_STREAM_HOLE, MessageStatus.VIR_NET_CONTINUE), payload);
    });
  }

  /**
   * One CONTINUE packet with `data[at, end)`. Large packets are framed in buffers that come back once the
   * transport wrote them (RpcClient.sendFrame), so an upload of any size reuses a handful of buffers.
   */
  #sendData(data: Uint8Array, at: number, end: number): void {
    const n = end - at;
    const pooled = n >= POOLED_MIN;
    const buf = pooled ? (this.#frames.pop() ?? new Uint8Array(MIN_FRAME + STREAM_PACKET_MAX)) : new Uint8Array(MIN_FRAME + n);
    writeHeader(buf, MIN_FRAME + n, this.#header(MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_CONTINUE));
    buf.set(data.subarray(at, end), MIN_FRAME);
    const back = pooled ? () => void (this.#frames.length < POOL_MAX && this.#frames.push(buf)) : undefined;
    this.#rpc.sendFrame(buf.subarray(0, MIN_FRAME + n), back);
  }

  #serialize(fn: () => Promise<void>): Promise<void> {
    const run = this.#sendTail.then(fn, fn);
    this.#sendTail = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits until the socket can take another packet. (Letting a few packets wait in the connection beyond that
   * was measured: slower, and more garbage per packet, on a loaded machine.)
   */
  async #writable(opts: CallOptions | undefined): Promise<void> {
    this.#check();
    while (!this.#rpc.writable) {
      const drained = this.#rpc.whenWritable();
      drained.catch(() => undefined);
      await this.#waiters.wait(drained, opts, 'sending to the stream', true);
      this.#check();
    }
  }

  // ---- ending ----

  /**
   * Ends the stream: sends libvirt's final empty packet (status OK) and waits until the daemon confirms that
   * its side is complete (an upload is written, a download fully read). Rejects with the daemon's error if its
   * side failed; with {@link StreamClosedError} if the stream was already finished or aborted.
   */
  async finish(opts?: CallOptions): Promise<void> {
    await this.#sendTail;
    if (this.#error) {
      this.#unroute();
      throw this.#error;
    }
    if (this.#state !== 'open') throw new StreamClosedError(`${this.proc.name}: stream is closed`);
    await this.#end('finishing', MessageStatus.VIR_NET_OK, opts);
  }

  /**
   * Ends the stream at once: sends an empty packet with status ERROR and waits (by default at most 30 s) for the
   * daemon's confirmation, dropping data still in flight. Resolves quietly when the stream already ended.
   * Rejects only when the daemon reports that aborting failed, or on `timeout`/`signal`.
   */
  async abort(opts?: CallOptions): Promise<void> {
    if (this.#state === 'finishing' || this.#state === 'aborting') {
      await this.#closing!.promise.catch(() => undefined);
      return;
    }
    if (this.#state !== 'open') {
      // Ended already, or the daemon ended it with an error: it has closed its side, nothing to send
      // (remoteStreamAbort sends nothing after a stream error).
      this.#unroute();
      return;
    }
    await this.#end('aborting', MessageStatus.VIR_NET_ERROR, { signal: opts?.signal, timeout: opts?.timeout ?? ABORT_CONFIRM_TIMEOUT });
  }

  async #end(state: 'finishing' | 'aborting', status: number, opts: CallOptions | undefined): Promise<void> {
    this.#state = state;
    this.#closing = pending();
    this.#queue.clear();
    this.#waiters.notify();
    try {
      this.#rpc.sendPacket(this.#header(MessageType.VIR_NET_STREAM, status));
    } catch (e) {
      this.#fail(e as Error);
    }
    try {
      await this.#waiters.wait(this.#closing.promise, opts, state === 'finishing' ? 'finishing the stream' : 'aborting the stream', false);
    } catch (e) {
      if (this.#state === state) this.#fail(e as Error); // gave up waiting: forget the stream
      throw e;
    }
  }

  // ---- the engine's side ----

  /** Every REPLY, STREAM and STREAM_HOLE frame of the serial, from the engine's read path: never blocks. */
  #onFrame(f: Frame): void {
    const h = f.header;
    if (h.type === MessageType.VIR_NET_REPLY) return this.#onReply(f);
    if (h.type === MessageType.VIR_NET_STREAM_HOLE) return this.#onHole(f);
    if (h.type !== MessageType.VIR_NET_STREAM) throw new ProtocolError(`unexpected message type ${h.type} on the stream of ${this.proc.name}`);
    switch (h.status) {
      case MessageStatus.VIR_NET_CONTINUE:
        // Data still in flight after we finished or aborted is dropped, as libvirt's client drops it.
        if (this.#state !== 'open' && this.#state !== 'opening') return;
        if (f.payload.length === 0) this.#queue.pushEnd();
        else {
          this.bytesReceived += f.payload.length;
          if (!this.#queue.pushData(f.payload)) return this.#overflow();
        }
        this.#waiters.notify();
        return;
      case MessageStatus.VIR_NET_OK:
        // The confirmation of our finish or abort (virNetClientCallDispatchStream); unasked, it breaks the
        // protocol, and libvirt's client closes the connection too.
        if (this.#state === 'finishing') return this.#settle('finished');
        if (this.#state === 'aborting') return this.#settle('aborted');
        throw new ProtocolError(`the daemon confirmed a finish of the ${this.proc.name} stream that was not asked for`);
      case MessageStatus.VIR_NET_ERROR: {
        let err: Error;
        try {
          err = remoteErrorFrom(f.payload, this.proc.name);
        } catch (e) {
          throw new ProtocolError(`undecodable stream error for ${this.proc.name}: ${(e as Error).message}`, { cause: e });
        }
        this.#error ??= err;
        this.#settle('failed');
        return;
      }
      default:
        throw new ProtocolError(`stream packet for ${this.proc.name} with status ${h.status}`);
    }
  }

  #onReply(f: Frame): void {
    const h = f.header;
    if (this.#state !== 'opening' && !this.#openAbandoned) {
      throw new ProtocolError(`a second reply to ${this.proc.name} on its stream's serial ${h.serial}`);
    }
    if (h.status === MessageStatus.VIR_NET_OK) {
      let value: R;
      try {
        value = decodePayload(this.proc.ret, f.payload, `${this.proc.name} reply`) as R;
      } catch (e) {
        throw new ProtocolError(`undecodable reply to ${this.proc.name}: ${(e as Error).message}`, { cause: e });
      }
      this.#reply = value;
      if (this.#openAbandoned) {
        // The opener gave up waiting (timeout, signal): close what the daemon just opened.
        this.#openAbandoned = false;
        this.#state = 'aborting';
        this.#closing = pending();
        this.#rpc.sendPacket(this.#header(MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_ERROR));
        return;
      }
      this.#state = 'open';
      this.#opened.resolve();
      return;
    }
    if (h.status !== MessageStatus.VIR_NET_ERROR) throw new ProtocolError(`reply to ${this.proc.name} has status ${h.status}`);
    let err: Error;
    try {
      err = remoteErrorFrom(f.payload, this.proc.name);
    } catch (e) {
      throw new ProtocolError(`undecodable error reply to ${this.proc.name}: ${(e as Error).message}`, { cause: e });
    }
    this.#openAbandoned = false;
    this.#fail(err);
  }

  #onHole(f: Frame): void {
    if (f.header.status !== MessageStatus.VIR_NET_CONTINUE) throw new ProtocolError(`stream hole for ${this.proc.name} with status ${f.header.status}`);
    if (this.#state !== 'open' && this.#state !== 'opening') return;
    let hole: virnet.virNetStreamHole;
    try {
      hole = xdrDecode(virnet.xdr_virNetStreamHole, f.payload);
    } catch (e) {
      throw new ProtocolError(`malformed stream hole for ${this.proc.name}: ${(e as Error).message}`, { cause: e });
    }
    // virNetClientStreamHandleHole: a hole on a stream that did not ask for them, or with flags, fails the
    // stream (not the connection).
    let bad: string | null = null;
    if (!this.sparse) bad = 'unexpected stream hole: the stream was not opened sparse';
    else if (hole.flags !== 0) bad = `stream hole with unsupported flags ${hole.flags}`;
    else if (hole.length < 0n || hole.length > BigInt(Number.MAX_SAFE_INTEGER)) bad = `stream hole of invalid length ${hole.length}`;
    if (bad !== null) {
      this.#failAndAbort(new StreamError(`${this.proc.name}: ${bad}`));
      return;
    }
    const length = Number(hole.length);
    if (length === 0) return;
    this.#queue.pushHole(length);
    this.#waiters.notify();
  }

  /** The queue went past its hard bound: the transport could not pause. The stream fails; the connection stays. */
  #overflow(): void {
    const q = this.#queue;
    this.#failAndAbort(new StreamOverflowError(`${this.proc.name}: ${q.bytes} bytes of stream data queued, over the bound of ${q.hard} (the transport cannot pause reading)`));
  }

  // ---- internals ----

  #check(): void {
    if (this.#error) throw this.#error;
    if (this.#state !== 'open' && this.#state !== 'opening') throw new StreamClosedError(`${this.proc.name}: stream is closed`);
  }

  #header(type: number, status: number): FrameHeader {
    const p = this.proc;
    return { prog: p.program.program, vers: p.program.version, proc: p.number, type, serial: this.#serial, status };
  }

  /** A local failure on a live stream: raise `err` from now on and tell the daemon to drop its side. */
  #failAndAbort(err: Error): void {
    this.#error ??= err;
    this.#opened.reject(err);
    if (this.#state === 'open' || this.#state === 'opening') {
      this.#state = 'aborting';
      this.#closing = pending();
      this.#queue.clear();
      try {
        this.#rpc.sendPacket(this.#header(MessageType.VIR_NET_STREAM, MessageStatus.VIR_NET_ERROR));
      } catch {
        this.#settle('failed');
        return;
      }
    }
    this.#waiters.notify();
  }

  /** Ends the stream with `err` (raised from now on); later packets of its serial are dropped. */
  #fail(err: Error): void {
    this.#error ??= err;
    this.#opened.reject(err);
    this.#openAbandoned = false;
    this.#settle('failed');
  }

  /** Terminal states: settles a finish/abort in progress, frees the queue and the transport. */
  #settle(state: 'finished' | 'aborted' | 'failed'): void {
    const was = this.#state;
    this.#state = state;
    this.#unroute();
    this.#queue.clear();
    const closing = this.#closing;
    if (closing) {
      if (state === 'failed' && was === 'finishing') closing.reject(this.#error ?? new StreamClosedError(`${this.proc.name}: stream is closed`));
      else if (state === 'failed' && was === 'aborting' && this.#error instanceof RemoteError) closing.reject(this.#error); // the daemon could not abort
      else closing.resolve();
    }
    this.#opened.reject(this.#error ?? new StreamClosedError(`${this.proc.name}: stream is closed`));
    this.#waiters.notify();
  }

  #unroute(): void {
    if (!this.#routed) return;
    this.#routed = false;
    this.#rpc.unroute(this.#serial, this.#route, true);
  }
}

/** Writes a frame's length word and header into the first 28 bytes of `buf` (see frame.ts's beginFrame). */
function writeHeader(buf: Uint8Array, length: number, h: FrameHeader): void {
  const v = new DataView(buf.buffer, buf.byteOffset, MIN_FRAME);
  v.setUint32(0, length);
  v.setUint32(4, h.prog);
  v.setUint32(8, h.vers);
  v.setInt32(12, h.proc);
  v.setInt32(16, h.type);
  v.setUint32(20, h.serial);
  v.setInt32(24, h.status);
}
