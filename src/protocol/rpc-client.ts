/**
 * The RPC engine: many calls and streams in flight on one transport, as libvirt's virNetClient does.
 *
 * Every frame has one route, chosen by its kind:
 * - REPLY, STREAM and STREAM_HOLE frames go to the route registered under their serial: a call waiting for its
 *   reply ({@link RpcClient.call}), or a stream, which receives its opening call's reply and then its packets
 *   (libvirt's virNetClientStreamMatches matches program, procedure and serial the same way).
 * - MESSAGE frames (events, keepalive) go to the route of their program ({@link RpcClient.setMessageRoute}).
 * Routes never wait on a consumer: anything slow (event listeners, stream readers) sits behind a bounded queue
 * that the route fills, so one slow consumer cannot stall replies to calls.
 *
 * No `node:` imports: it runs over any {@link Transport}.
 */
import { AbortError, ConnectionClosedError, LibvirtRpcError, ProtocolError, TimeoutError, UnsupportedProcedureError, XdrError } from '../errors.js';
import { checkTimeout } from './durations.js';
import { beginFrame, endFrame, Frame, FrameDecoder, FrameHeader, MessageStatus, MessageType, sealFrame } from './frame.js';
import { activeTracer, type CallTrace, type CallTracer, newConnectionId, now } from './observe.js';
import type { CallOptions, ProcedureInfo, ProgramId } from './program.js';
import { remoteErrorFrom } from './remote-error.js';
import { SerialTable } from './serial-table.js';
import { VIR_NET_MESSAGE_NUM_FDS_MAX } from '../../generated/virnet-protocol.js';
import type { Transport } from './transport.js';
import { XdrReader, XdrWriter, xdrWithin } from './xdr.js';

/** Options of an {@link RpcClient}. */
export interface RpcClientOptions {
  /**
   * Default per-call timeout in ms: 1 to 2^31-1, or 0 for none. Default 0, like libvirt; keepalive detects dead
   * peers. Anything else (Infinity, negative, NaN) is refused with InvalidArgumentError.
   */
  callTimeout?: number;
}

/** Default bound on a graceful {@link RpcClient.close}, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** Why the connection closed. */
export interface CloseInfo {
  /** `closed` after close(), `destroyed` after destroy(), `eof` when the peer ended, `error` on a failure. */
  reason: 'closed' | 'destroyed' | 'eof' | 'error';
  error?: Error;
}

/**
 * Whatever waits for frames with one serial: a call's pending reply, or a stream. The engine hands it every
 * REPLY, STREAM and STREAM_HOLE frame with that serial, in order, from its read path: `receive` must not block
 * and must copy what it keeps (the payload is a view into a buffer the transport may reuse).
 */
export interface SerialRoute {
  /** The procedure the serial was opened with; a frame for another procedure is a protocol error. */
  readonly proc: ProcedureInfo;
  /** Whether a graceful close waits for this route to finish (calls do; streams are aborted by the close). */
  readonly holdsClose: boolean;
  /** A frame for this serial. Throwing a ProtocolError closes the connection. */
  receive(frame: Frame): void;
  /**
   * The route ends with `err`: the connection closed, or its reply cannot be handled. Called at most once,
   * after the route was removed.
   */
  fail(err: Error): void;
}

/** Handles MESSAGE frames of one program (keepalive, events). Runs in the read path: it must not block. */
export type MessageRoute = (frame: Frame) => void;

/** Remembers serials abandoned by timeout, abort or a finished stream, so their late frames are dropped quietly. */
const ABANDONED_LIMIT = 65536;

/** A call waiting for its reply. */
class PendingCall<R> implements SerialRoute {
  readonly proc: ProcedureInfo;
  readonly holdsClose = true;
  readonly #client: RpcClient;
  readonly #serial: number;
  readonly #resolve: (v: R) => void;
  readonly #reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  tracer: CallTracer | null = null;
  trace: CallTrace | null = null;
  t0 = 0;
  /** Turns the decoded reply into the call's result (see RpcClient.call). */
  map: ((reply: unknown) => unknown) | null = null;

  constructor(client: RpcClient, serial: number, proc: ProcedureInfo, resolve: (v: R) => void, reject: (e: Error) => void) {
    this.#client = client;
    this.#serial = serial;
    this.proc = proc;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  receive(f: Frame): void {
    const h = f.header;
    const proc = this.proc;
    if (h.type !== MessageType.VIR_NET_REPLY) {
      throw new ProtocolError(`${typeName(h.type)} frame for serial ${h.serial}, which is the call ${proc.name} (not a stream)`);
    }
    if (h.status !== MessageStatus.VIR_NET_OK && h.status !== MessageStatus.VIR_NET_ERROR) {
      // Thrown while the call is still routed, so closing the connection rejects it too.
      throw new ProtocolError(`reply to ${proc.name} has status ${h.status}`);
    }
    this.#client.unroute(this.#serial, this);
    this.#clear();
    if (h.status === MessageStatus.VIR_NET_OK) {
      let value: R;
      try {
        value = decodePayload(proc.ret, f.payload, `${proc.name} reply`) as R;
      } catch (e) {
        this.#rejectWith(e as Error);
        throw new ProtocolError(`undecodable reply to ${proc.name}: ${(e as Error).message}`, { cause: e });
      }
      if (this.map !== null) {
        try {
          value = this.map(value) as R;
        } catch (e) {
          this.#rejectWith(e instanceof Error ? e : new Error(String(e)));
          return;
        }
      }
      if (this.tracer) this.tracer.end({ ...this.trace!, durationMs: now() - this.t0, replyBytes: f.payload.length });
      this.#resolve(value);
    } else {
      let err: Error;
      try {
        err = remoteErrorFrom(f.payload, proc.name);
      } catch (e) {
        this.#rejectWith(e as Error);
        throw new ProtocolError(`undecodable error reply to ${proc.name}: ${(e as Error).message}`, { cause: e });
      }
      const explain = this.#client.explainUnsupported;
      if (explain !== null && err instanceof UnsupportedProcedureError) {
        if (this.tracer) this.tracer.error({ ...this.trace!, durationMs: now() - this.t0, error: err });
        // The call's promise takes on the explained rejection (resolving with a promise adopts its outcome).
        this.#resolve(explain(err) as R);
        return;
      }
      this.#rejectWith(err);
    }
  }

  fail(err: Error): void {
    this.#clear();
    this.#rejectWith(err);
  }

  #rejectWith(err: Error): void {
    if (this.tracer) this.tracer.error({ ...this.trace!, durationMs: now() - this.t0, error: err });
    this.#reject(err);
  }

  /** Gives up on the reply: timeout or abort. */
  abandon(err: Error): void {
    if (!this.#client.unroute(this.#serial, this, true)) return;
    this.fail(err);
  }

  #clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onAbort) this.signal!.removeEventListener('abort', this.onAbort);
  }
}

export class RpcClient {
  /** Process-unique number of this connection, for traces and debug lines. */
  readonly id = newConnectionId();
  readonly #transport: Transport;
  readonly #decoder: FrameDecoder;
  /** serial -> whatever waits for frames with it (one dispatch for calls and streams). */
  readonly #routes = new SerialTable<SerialRoute>();
  /** Routes a graceful close waits for. */
  #holding = 0;
  readonly #abandoned = new Set<number>();
  readonly #programs = new Map<number, ProgramId>();
  /** program number -> route of its MESSAGE frames. */
  readonly #messageRoutes = new Map<number, MessageRoute>();
  readonly #callTimeout: number;
  readonly #readPausers = new Set<object>();
  #serial = 0;
  #closing = false;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (c: CloseInfo) => void;
  /** Frames waiting for the transport to drain. */
  #queue: Uint8Array[] = [];
  /** Callbacks of queued frames sent with sendFrame (see there), by frame. */
  readonly #written = new Map<Uint8Array, () => void>();
  #flushing = false;
  /** Called for every frame received (keepalive uses it to note liveness). */
  onActivity: (() => void) | null = null;
  /**
   * Turns a call's UnsupportedProcedureError into the error it rejects with (RemoteConnection adds the daemon's
   * version, which takes a call of its own). Set here rather than wrapped around every call's promise, which
   * would cost a promise and a microtask on each call.
   */
  explainUnsupported: ((err: UnsupportedProcedureError) => Promise<never>) | null = null;
  /** Resolves once, when the connection has closed, with the reason. Never rejects. */
  readonly closed: Promise<CloseInfo>;

  constructor(transport: Transport, programs: readonly ProgramId[], options: RpcClientOptions = {}) {
    this.#callTimeout = options.callTimeout === undefined ? 0 : checkTimeout(options.callTimeout, 'callTimeout', true);
    this.#transport = transport;
    for (const p of programs) this.addProgram(p);
    this.closed = new Promise((r) => (this.#resolveClosed = r));
    this.#decoder = new FrameDecoder((f) => this.#onFrame(f));
    transport.attach({
      data: (chunk) => {
        if (this.#closeInfo) return;
        try {
          this.#decoder.push(chunk);
        } catch (e) {
          this.#fail(e instanceof LibvirtRpcError ? e : new ProtocolError('undecodable data from the daemon', { cause: e }));
        }
      },
      closed: (err) => this.#onTransportClosed(err),
    });
  }

  /** The transport's description (never secrets), e.g. `unix:/run/user/1000/libvirt/libvirt-sock`. */
  get description(): string {
    return this.#transport.description;
  }

  /** Accepts frames of a program (its number and version are checked on every frame). */
  addProgram(p: ProgramId): void {
    this.#programs.set(p.program, p);
  }

  /**
   * Routes MESSAGE frames of `program` (events, keepalive) to `route`; replaces an earlier route. Returns a
   * function that removes it. MESSAGE frames of a program with no route are dropped.
   */
  setMessageRoute(program: ProgramId, route: MessageRoute): () => void {
    this.addProgram(program);
    this.#messageRoutes.set(program.program, route);
    return () => {
      if (this.#messageRoutes.get(program.program) === route) this.#messageRoutes.delete(program.program);
    };
  }

  /** True until the connection closes or starts closing. */
  get isOpen(): boolean {
    return this.#closeInfo === null && !this.#closing;
  }

  /** Why the connection closed, once it has. */
  get closeInfo(): CloseInfo | null {
    return this.#closeInfo;
  }

  /** Calls (and streams) in flight. */
  get pendingCalls(): number {
    return this.#routes.size;
  }

  /**
   * Calls a procedure and resolves with its decoded reply (undefined for an empty one), or with `map(reply)`
   * when `map` is given: the object layer picks its result out of the reply there rather than in a promise
   * chained to the call, which would cost a promise and a microtask per call. `map` runs in the read path and
   * must not block; if it throws, the call rejects with what it threw. `timeout` (ms, 0 for none; default the
   * client's `callTimeout`) is checked like every bound: a bad one rejects at once with InvalidArgumentError and
   * nothing is sent.
   */
  call<A, R, T = R>(proc: ProcedureInfo<A, R, unknown>, args: A, options: CallOptions = NO_OPTIONS, map?: (reply: R) => T): Promise<T> {
    let timeout = this.#callTimeout;
    if (options.timeout !== undefined) {
      try {
        timeout = checkTimeout(options.timeout, 'timeout', true);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const refused = this.#refuse(proc, options.signal);
    if (refused) return Promise.reject(refused);
    const serial = this.#nextSerial();
    let frame: Uint8Array;
    try {
      frame = this.#encodeCall(proc as ProcedureInfo, serial, args);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      const p = new PendingCall<T>(this, serial, proc as ProcedureInfo, resolve, reject);
      if (map !== undefined) p.map = map as (reply: unknown) => unknown;
      if (timeout > 0) {
        p.timer = setTimeout(() => p.abandon(new TimeoutError(`${proc.name} did not complete within ${timeout} ms`)), timeout);
      }
      const { signal } = options;
      if (signal) {
        p.signal = signal;
        p.onAbort = () => p.abandon(new AbortError(`${proc.name} was aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      const tracer = activeTracer();
      if (tracer) {
        p.tracer = tracer;
        p.trace = { connectionId: this.id, program: proc.program.name, procedure: proc.name, serial, requestBytes: frame.length };
        p.t0 = now();
        tracer.start(p.trace);
      }
      this.#route(serial, p);
      this.#send(frame);
    });
  }

  /**
   * Sends a CALL whose serial stays routed to `route` (streams: the route receives the call's REPLY, then the
   * stream's packets). Returns the serial. Throws when the connection is closed or the arguments do not encode.
   */
  startCall<A>(proc: ProcedureInfo<A, unknown, unknown>, args: A, route: SerialRoute): number {
    const refused = this.#refuse(proc, undefined);
    if (refused) throw refused;
    const serial = this.#nextSerial();
    const frame = this.#encodeCall(proc as ProcedureInfo, serial, args);
    this.#route(serial, route);
    this.#send(frame);
    return serial;
  }

  /**
   * Removes the route of `serial` if it is `route`. With `abandoned`, later frames for the serial are dropped
   * quietly (a call that timed out, a stream that ended on our side). Returns whether it was routed.
   */
  unroute(serial: number, route: SerialRoute, abandoned = false): boolean {
    if (this.#routes.get(serial) !== route) return false;
    this.#routes.delete(serial);
    if (route.holdsClose && --this.#holding === 0 && this.#idle.size) this.#wakeIdle();
    if (abandoned) {
      this.#abandoned.add(serial);
      if (this.#abandoned.size > ABANDONED_LIMIT) this.#abandoned.delete(this.#abandoned.values().next().value!);
    }
    return true;
  }

  /**
   * Sends a message with this header and an already-encoded payload (stream packets, keepalive). The payload
   * is copied into the frame; the caller may reuse it.
   */
  sendPacket(header: FrameHeader, payload?: Uint8Array): void {
    if (this.#closeInfo) throw new ConnectionClosedError('the connection is closed', { cause: this.#closeInfo.error });
    const w = new XdrWriter(28 + (payload?.length ?? 0));
    const at = beginFrame(w, header);
    if (payload && payload.length) {
      w.ensure(payload.length);
      w.buf.set(payload, w.pos);
      w.pos += payload.length;
    }
    this.#send(endFrame(w, at));
  }

  /**
   * Sends a complete frame the caller built (length word, header, payload; at most libvirt's maximum). `written`
   * runs once the transport has written it out, after which the caller may reuse its bytes (a stream recycles
   * its packet buffers, so a large upload makes no garbage); it never runs if the connection fails first.
   */
  sendFrame(frame: Uint8Array, written?: () => void): void {
    if (this.#closeInfo) throw new ConnectionClosedError('the connection is closed', { cause: this.#closeInfo.error });
    this.#send(frame, written);
  }

  /** Sends a MESSAGE frame with an empty payload (keepalive PING/PONG). */
  sendMessage(program: ProgramId, proc: number): void {
    this.sendPacket({ prog: program.program, vers: program.version, proc, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK });
  }

  /** Whether the transport's buffer is below its high-water mark (a writer may go on). */
  get writable(): boolean {
    return !this.#flushing && this.#queue.length === 0;
  }

  /** Resolves when queued frames have gone to the transport and it can take more; rejects once closed. */
  async whenWritable(): Promise<void> {
    while (!this.writable) {
      if (this.#closeInfo) throw new ConnectionClosedError('the connection is closed', { cause: this.#closeInfo.error });
      await this.#transport.whenWritable();
      // Let the drain loop move queued frames before looking again.
      await Promise.resolve();
    }
    if (this.#closeInfo) throw new ConnectionClosedError('the connection is closed', { cause: this.#closeInfo.error });
  }

  /**
   * Pauses (or resumes) reading from the transport on behalf of `key` (a stream whose reader is slow): while
   * any key pauses, nothing is read, so the daemon is held back by the transport's own flow control.
   * Transports that cannot pause ignore it; their bytes are then bounded by the stream's queue.
   */
  setReadPaused(key: object, paused: boolean): void {
    const before = this.#readPausers.size > 0;
    if (paused) this.#readPausers.add(key);
    else this.#readPausers.delete(key);
    const after = this.#readPausers.size > 0;
    if (before === after || this.#closeInfo) return;
    if (after) this.#transport.pause?.();
    else this.#transport.resume?.();
  }

  /** Whether some stream holds reading paused (its reader is slow): silence from the daemon is then ours. */
  get readPaused(): boolean {
    return this.#readPausers.size > 0;
  }

  #refuse(proc: ProcedureInfo<unknown, unknown, unknown>, signal: AbortSignal | undefined): Error | null {
    if (this.#closeInfo || this.#closing) {
      return new ConnectionClosedError(`cannot call ${proc.name}: the connection is ${this.#closeInfo ? 'closed' : 'closing'}`, { cause: this.#closeInfo?.error });
    }
    if (signal?.aborted) return new AbortError(`${proc.name} was aborted before it was sent`, { cause: signal.reason });
    if (!this.#programs.has(proc.program.program)) this.addProgram(proc.program);
    return null;
  }

  #route(serial: number, route: SerialRoute): void {
    this.#routes.set(serial, route);
    if (route.holdsClose) this.#holding++;
  }

  #nextSerial(): number {
    this.#serial = (this.#serial + 1) >>> 0;
    if (this.#serial === 0) this.#serial = 1;
    return this.#serial;
  }

  #encodeCall(proc: ProcedureInfo, serial: number, args: unknown): Uint8Array {
    // Encoding is synchronous, so one scratch writer serves every call; the frame is then copied out at its
    // exact size. A small copy lives on V8's heap, where a fresh 256-byte writer per call would allocate an
    // off-heap backing store each time, and the garbage collector's work on those showed as latency spikes.
    const w = scratchWriter();
    const program = proc.program;
    const at = beginFrame(w, { prog: program.program, vers: program.version, proc: proc.number, type: MessageType.VIR_NET_CALL, serial, status: MessageStatus.VIR_NET_OK });
    if (proc.args) {
      try {
        proc.args.encode(w, args);
      } catch (e) {
        throw xdrWithin(e, proc.args.name).within(`${proc.name} `);
      }
    } else if (args !== undefined && args !== null) {
      throw new XdrError(`${proc.name} takes no arguments`);
    }
    sealFrame(w, at);
    // One copy at the exact size (the scratch writer is a plain Uint8Array, so slice copies).
    const frame = w.buf.slice(0, w.pos);
    if (w.buf.length > SCRATCH_KEEP) scratch = null; // do not hold on to the buffer of one huge call
    return frame;
  }

  #send(frame: Uint8Array, written?: () => void): void {
    if (this.#queue.length || this.#flushing) {
      this.#queue.push(frame);
      if (written) this.#written.set(frame, written);
      return;
    }
    if (!this.#transport.write(frame, written)) {
      this.#flushing = true;
      void this.#drain();
    }
  }

  /** Waits for the transport to drain, then writes queued frames, respecting backpressure throughout. */
  async #drain(): Promise<void> {
    try {
      for (;;) {
        await this.#transport.whenWritable();
        let blocked = false;
        while (this.#queue.length && !blocked) {
          const frame = this.#queue.shift()!;
          const written = this.#written.get(frame);
          if (written) this.#written.delete(frame);
          blocked = !this.#transport.write(frame, written);
        }
        if (!blocked) break;
      }
    } catch (e) {
      this.#fail(e instanceof Error ? e : new ConnectionClosedError(String(e)));
    } finally {
      this.#flushing = false;
    }
  }

  #onFrame(f: Frame): void {
    this.onActivity?.();
    const h = f.header;
    const prog = this.#programs.get(h.prog);
    if (!prog) throw new ProtocolError(`message for unknown program 0x${h.prog.toString(16)}`);
    if (h.vers !== prog.version) throw new ProtocolError(`${prog.name} message with version ${h.vers}, expected ${prog.version}`);
    switch (h.type) {
      case MessageType.VIR_NET_REPLY:
      case MessageType.VIR_NET_STREAM:
      case MessageType.VIR_NET_STREAM_HOLE: {
        const route = this.#routes.get(h.serial);
        if (route) {
          if (route.proc.program.program !== h.prog || route.proc.number !== h.proc) {
            throw new ProtocolError(`${typeName(h.type)} for serial ${h.serial} is for ${prog.name} procedure ${h.proc}, but the serial belongs to ${route.proc.name}`);
          }
          return route.receive(f);
        }
        if (h.type === MessageType.VIR_NET_REPLY) {
          if (this.#abandoned.delete(h.serial)) return; // late reply to a call that timed out or was aborted
          throw new ProtocolError(`reply for serial ${h.serial}, which no call is waiting for`);
        }
        // Packets of a stream that ended on our side (abort, finish) may still be on the wire; libvirt's client
        // drops them too. Packets of a serial we never opened are a broken peer.
        if (this.#abandoned.has(h.serial)) return;
        throw new ProtocolError(`${typeName(h.type)} for serial ${h.serial}, which no stream is waiting for`);
      }
      case MessageType.VIR_NET_MESSAGE: {
        const route = this.#messageRoutes.get(h.prog);
        if (route) route(f);
        return;
      }
      case MessageType.VIR_NET_REPLY_WITH_FDS: {
        // libvirt passes file descriptors only over local unix sockets (SCM_RIGHTS), and only in replies to the
        // few procedures that return one (DOMAIN_OPEN_GRAPHICS_FD, ...). The payload starts with their count
        // (virNetMessageEncodeNumFDs in src/rpc/virnetmessage.c), and each descriptor follows the frame with one
        // zero byte of data (virNetSocketSendFD): those bytes are dropped, so frame sync is kept. This client
        // cannot receive descriptors (the kernel closes what it is sent unread): the call that asked fails,
        // and the connection stays usable.
        const nfds = f.payload.length >= 4 ? new DataView(f.payload.buffer, f.payload.byteOffset, 4).getUint32(0) : -1;
        if (nfds < 0 || nfds > VIR_NET_MESSAGE_NUM_FDS_MAX) {
          throw new ProtocolError(`REPLY_WITH_FDS for serial ${h.serial} announces ${nfds < 0 ? 'no' : nfds} file descriptors (at most ${VIR_NET_MESSAGE_NUM_FDS_MAX})`);
        }
        this.#decoder.skipBytes(nfds);
        const err = new ProtocolError(`the daemon answered serial ${h.serial} with file descriptors (REPLY_WITH_FDS); descriptor passing is not supported`);
        const route = this.#routes.get(h.serial);
        if (!route) {
          if (this.#abandoned.delete(h.serial)) return; // late reply to a call that timed out or was aborted
          throw err;
        }
        this.unroute(h.serial, route);
        route.fail(err);
        return;
      }
      case MessageType.VIR_NET_CALL_WITH_FDS:
        throw new ProtocolError(`the daemon sent a CALL with file descriptors (${prog.name} procedure ${h.proc}); clients do not serve calls`);
      case MessageType.VIR_NET_CALL:
        throw new ProtocolError(`the daemon sent a CALL (${prog.name} procedure ${h.proc}); clients do not serve calls`);
      default:
        throw new ProtocolError(`unknown message type ${h.type}`);
    }
  }

  /** Waiters for "nothing holds the close" (drain, close). */
  readonly #idle = new Set<() => void>();

  #wakeIdle(): void {
    const waiters = [...this.#idle];
    this.#idle.clear();
    for (const w of waiters) w();
  }

  /**
   * Graceful close, bounded as a whole by `timeout` ms: waits for pending calls, then ends the transport and
   * waits for it to close. When the bound runs out first, the transport is destroyed (never left open), pending
   * calls reject, and the result is `destroyed` with a TimeoutError. Protocol-level goodbyes (CONNECT_CLOSE) are
   * the caller's to send first; a caller that already spent part of its bound passes its `deadline`
   * (a `Date.now()` time) so that the message still names the bound it was given.
   */
  async close(timeout = DEFAULT_CLOSE_TIMEOUT_MS, deadline?: number): Promise<CloseInfo> {
    checkTimeout(timeout, 'timeout');
    const end = deadline ?? Date.now() + timeout;
    if (this.#closeInfo) return this.#closeInfo;
    this.#closing = true;
    await this.#drainUntil(end);
    if (!this.#closeInfo) {
      this.#endReason = 'closed';
      this.#transport.end();
      // The transport reports its closing through the sink; wait for that only as long as the bound allows.
      await this.#waitUntil(this.closed, end);
    }
    if (!this.#closeInfo) {
      const err = new TimeoutError(`closing the connection did not finish within ${timeout} ms; the transport was destroyed`);
      this.#finish({ reason: 'destroyed', error: err });
      this.#transport.destroy();
    }
    return this.#closeInfo!;
  }

  #endReason: 'closed' | null = null;

  /**
   * Announces that the peer will hang up (after CONNECT_CLOSE): an end of file from now on is a clean close,
   * reported as `closed`, not `eof`.
   */
  expectEnd(): void {
    this.#endReason = 'closed';
  }

  /** Waits (at most `timeout` ms, 1 to 2^31-1) until no call is pending. */
  async drain(timeout = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    checkTimeout(timeout, 'timeout');
    await this.#drainUntil(Date.now() + timeout);
  }

  /** Waits until no call is pending, or until `deadline` (a Date.now() time). */
  #drainUntil(deadline: number): Promise<void> {
    if (this.#holding === 0) return Promise.resolve();
    let done!: () => void;
    const idle = new Promise<void>((resolve) => {
      done = resolve;
      this.#idle.add(done);
    });
    return this.#waitUntil(idle, deadline).finally(() => this.#idle.delete(done));
  }

  /** Waits for `p`, or until `deadline` (a Date.now() time), whichever comes first. */
  async #waitUntil(p: Promise<unknown>, deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
    clearTimeout(timer);
  }

  /**
   * Closes at once after a protocol-level goodbye (CONNECT_CLOSE acknowledged): pending calls, if any, reject;
   * the transport is ended and released without waiting for the peer's EOF.
   */
  release(): CloseInfo {
    if (!this.#closeInfo) {
      this.#finish({ reason: 'closed' });
      this.#transport.end();
      this.#transport.destroy();
    }
    return this.#closeInfo!;
  }

  /** Closes now: every pending call rejects with `err` (or ConnectionClosedError). */
  destroy(err?: Error): void {
    if (this.#closeInfo) return;
    this.#finish({ reason: err ? 'error' : 'destroyed', error: err });
    this.#transport.destroy(err);
  }

  #fail(err: Error): void {
    if (this.#closeInfo) return;
    this.#finish({ reason: 'error', error: err });
    this.#transport.destroy(err);
  }

  #onTransportClosed(err?: Error): void {
    if (this.#closeInfo) return;
    if (err) this.#finish({ reason: 'error', error: err });
    else if (this.#endReason) this.#finish({ reason: this.#endReason });
    else this.#finish({ reason: 'eof', error: new ConnectionClosedError('the daemon closed the connection') });
  }

  #finish(info: CloseInfo): void {
    if (this.#closeInfo) return;
    this.#closeInfo = info;
    this.#queue = [];
    this.#written.clear();
    const why = info.error ? `: ${info.error.message}` : '';
    const routes = this.#routes.values();
    this.#routes.clear();
    this.#holding = 0;
    for (const r of routes) {
      r.fail(new ConnectionClosedError(`${r.proc.name} failed: the connection closed (${info.reason})${why}`, { cause: info.error }));
    }
    this.#wakeIdle();
    this.#resolveClosed(info);
  }
}

function typeName(type: number): string {
  switch (type) {
    case MessageType.VIR_NET_REPLY:
      return 'REPLY';
    case MessageType.VIR_NET_STREAM:
      return 'STREAM';
    case MessageType.VIR_NET_STREAM_HOLE:
      return 'STREAM_HOLE';
    default:
      return `type ${type}`;
  }
}

const NO_OPTIONS: CallOptions = /* @__PURE__ */ Object.freeze({});
const SCRATCH_KEEP = 1 << 20;
let scratch: XdrWriter | null = null;

function scratchWriter(): XdrWriter {
  if (!scratch) scratch = new XdrWriter(64 * 1024);
  scratch.pos = 0;
  return scratch;
}

/** Decodes a whole payload with `codec` (null: the payload must be empty). Errors name the type and field. */
export function decodePayload(codec: ProcedureInfo['ret'], payload: Uint8Array, what: string): unknown {
  if (!codec) {
    if (payload.length) throw new XdrError(`${what}: expected no payload, got ${payload.length} bytes`);
    return undefined;
  }
  const r = new XdrReader(payload);
  try {
    const v = codec.decode(r);
    r.done();
    return v;
  } catch (e) {
    throw xdrWithin(e, codec.name);
  }
}
