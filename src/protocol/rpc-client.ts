/**
 * The RPC engine: many calls in flight on one transport, matched to replies by serial, as libvirt's
 * virNetClient does. One hand-written `call()` serves every procedure of every program through the generated
 * procedure tables. No `node:` imports: it runs over any {@link Transport}.
 */
import { AbortError, ConnectionClosedError, LibvirtRpcError, ProtocolError, TimeoutError, XdrError } from '../errors';
import { beginFrame, endFrame, encodeFrame, Frame, FrameDecoder, MessageStatus, MessageType } from './frame';
import type { CallOptions, ProcedureInfo, ProgramInfo } from './program';
import { remoteErrorFrom } from './remote-error';
import type { Transport } from './transport';
import { copyBytes, XdrReader, XdrWriter, xdrWithin } from './xdr';

/** Options of an {@link RpcClient}. */
export interface RpcClientOptions {
  /** Default per-call timeout in ms (0 = none). Default 0, like libvirt; keepalive detects dead peers. */
  callTimeout?: number;
}

/** A server-sent message (event) delivered to subscribers. */
export interface RpcMessage {
  program: ProgramInfo;
  procedure: ProcedureInfo;
  payload: unknown;
}

/** Why the connection closed. */
export interface CloseInfo {
  /** `closed` after close(), `destroyed` after destroy(), `eof` when the peer ended, `error` on a failure. */
  reason: 'closed' | 'destroyed' | 'eof' | 'error';
  error?: Error;
}

interface Pending {
  prog: ProgramInfo;
  proc: ProcedureInfo;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** Handles frames of a program the engine does not route itself (keepalive, streams). */
export type FrameHook = (frame: Frame) => void;

/** Remembers serials of calls abandoned by timeout or abort, so their late replies are dropped quietly. */
const ABANDONED_LIMIT = 65536;

export class RpcClient {
  readonly #transport: Transport;
  readonly #decoder: FrameDecoder;
  readonly #pending = new Map<number, Pending>();
  readonly #abandoned = new Set<number>();
  readonly #programs = new Map<number, ProgramInfo>();
  readonly #byNumber = new Map<ProgramInfo, Map<number, ProcedureInfo>>();
  readonly #hooks = new Map<number, FrameHook>();
  readonly #messageListeners = new Set<(m: RpcMessage) => void>();
  readonly #callTimeout: number;
  #serial = 0;
  #closing = false;
  #closeInfo: CloseInfo | null = null;
  #resolveClosed!: (c: CloseInfo) => void;
  /** Frames waiting for the transport to drain. */
  #queue: Uint8Array[] = [];
  #flushing = false;
  /** Called for every frame received (keepalive uses it to note liveness). */
  onActivity: (() => void) | null = null;
  /** Resolves once, when the connection has closed, with the reason. Never rejects. */
  readonly closed: Promise<CloseInfo>;

  constructor(transport: Transport, programs: readonly ProgramInfo[], options: RpcClientOptions = {}) {
    this.#transport = transport;
    this.#callTimeout = options.callTimeout ?? 0;
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

  /** Makes a program's procedures callable and its messages routable. */
  addProgram(p: ProgramInfo): void {
    this.#programs.set(p.program, p);
    this.#byNumber.set(p, proceduresByNumber(p));
  }

  /** Routes every frame of a program number to `hook` instead of the call machinery (keepalive, streams). */
  setFrameHook(program: number, hook: FrameHook): void {
    this.#hooks.set(program, hook);
  }

  /** Subscribes to server-sent messages (events). The listener runs synchronously; it must not block. */
  onMessage(listener: (m: RpcMessage) => void): () => void {
    this.#messageListeners.add(listener);
    return () => this.#messageListeners.delete(listener);
  }

  /** True until the connection closes or starts closing. */
  get isOpen(): boolean {
    return this.#closeInfo === null && !this.#closing;
  }

  /** Calls in flight. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /** The procedure of `program` with this method name or number. */
  procedure(program: ProgramInfo, which: string | number): ProcedureInfo {
    const table = this.#byNumber.get(program);
    if (!table) throw new LibvirtRpcError(`program ${program.name} is not registered on this connection`);
    const p = typeof which === 'number' ? table.get(which) : program.procedures.find((x) => x.method === which || x.name === which);
    if (!p) throw new LibvirtRpcError(`${program.name} has no procedure ${which}`);
    return p;
  }

  /** Calls a procedure and resolves with its decoded reply (undefined for an empty one). */
  call<R = unknown>(program: ProgramInfo, proc: ProcedureInfo, args: unknown, options: CallOptions = {}): Promise<R> {
    if (this.#closeInfo || this.#closing) {
      return Promise.reject(new ConnectionClosedError(`cannot call ${proc.name}: the connection is ${this.#closeInfo ? 'closed' : 'closing'}`, { cause: this.#closeInfo?.error }));
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(new AbortError(`${proc.name} was aborted before it was sent`, { cause: signal.reason }));
    let frame: Uint8Array;
    const serial = this.#nextSerial();
    try {
      frame = this.#encodeCall(program, proc, serial, args);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<R>((resolve, reject) => {
      const p: Pending = { prog: program, proc, resolve: resolve as (v: unknown) => void, reject, timer: undefined, signal, onAbort: undefined };
      const timeout = options.timeout ?? this.#callTimeout;
      if (timeout > 0) {
        p.timer = setTimeout(() => this.#abandon(serial, new TimeoutError(`${proc.name} did not complete within ${timeout} ms`)), timeout);
      }
      if (signal) {
        p.onAbort = () => this.#abandon(serial, new AbortError(`${proc.name} was aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', p.onAbort, { once: true });
      }
      this.#pending.set(serial, p);
      this.#send(frame);
    });
  }

  /** Sends a frame with no reply expected (keepalive, stream data). */
  sendRaw(frame: Uint8Array): void {
    if (this.#closeInfo) throw new ConnectionClosedError('the connection is closed');
    this.#send(frame);
  }

  /** Sends a message-type frame with an empty payload (keepalive PING/PONG). */
  sendMessage(program: ProgramInfo, proc: number): void {
    this.sendRaw(encodeFrame({ prog: program.program, vers: program.version, proc, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK }));
  }

  #nextSerial(): number {
    this.#serial = (this.#serial + 1) >>> 0;
    if (this.#serial === 0) this.#serial = 1;
    return this.#serial;
  }

  #encodeCall(program: ProgramInfo, proc: ProcedureInfo, serial: number, args: unknown): Uint8Array {
    // Encoding is synchronous, so one scratch writer serves every call; the frame is then copied out at its
    // exact size. A small copy lives on V8's heap, where a fresh 256-byte writer per call would allocate an
    // off-heap backing store each time, and the garbage collector's work on those showed as latency spikes.
    const w = scratchWriter();
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
    const frame = copyBytes(endFrame(w, at), 0, w.pos);
    if (w.buf.length > SCRATCH_KEEP) scratch = null; // do not hold on to the buffer of one huge call
    return frame;
  }

  #send(frame: Uint8Array): void {
    if (this.#queue.length || this.#flushing) {
      this.#queue.push(frame);
      return;
    }
    if (!this.#transport.write(frame)) {
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
        while (this.#queue.length && !blocked) blocked = !this.#transport.write(this.#queue.shift()!);
        if (!blocked) break;
      }
    } catch (e) {
      this.#fail(e instanceof Error ? e : new ConnectionClosedError(String(e)));
    } finally {
      this.#flushing = false;
    }
  }

  #abandon(serial: number, err: Error): void {
    const p = this.#pending.get(serial);
    if (!p) return;
    this.#settle(serial, p);
    this.#abandoned.add(serial);
    if (this.#abandoned.size > ABANDONED_LIMIT) this.#abandoned.delete(this.#abandoned.values().next().value!);
    p.reject(err);
  }

  #settle(serial: number, p: Pending): void {
    this.#pending.delete(serial);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort) p.signal!.removeEventListener('abort', p.onAbort);
    if (this.#pending.size === 0 && this.#idle.size) this.#wakeIdle();
  }

  #onFrame(f: Frame): void {
    this.onActivity?.();
    const h = f.header;
    const hook = this.#hooks.get(h.prog);
    if (hook) return hook(f);
    const prog = this.#programs.get(h.prog);
    if (!prog) throw new ProtocolError(`message for unknown program 0x${h.prog.toString(16)}`);
    if (h.vers !== prog.version) throw new ProtocolError(`${prog.name} message with version ${h.vers}, expected ${prog.version}`);
    switch (h.type) {
      case MessageType.VIR_NET_REPLY:
        return this.#onReply(prog, f);
      case MessageType.VIR_NET_MESSAGE:
        return this.#onMessageFrame(prog, f);
      case MessageType.VIR_NET_REPLY_WITH_FDS:
      case MessageType.VIR_NET_CALL_WITH_FDS: {
        // libvirt passes file descriptors only over local unix sockets (SCM_RIGHTS); this client never asks
        // for them, so a message carrying them cannot be handled.
        const p = this.#pending.get(h.serial);
        const err = new ProtocolError(`the daemon sent a message with file descriptors (type ${h.type}) for serial ${h.serial}; descriptor passing is not supported`);
        if (p && h.type === MessageType.VIR_NET_REPLY_WITH_FDS) {
          this.#settle(h.serial, p);
          p.reject(err);
          return;
        }
        throw err;
      }
      case MessageType.VIR_NET_STREAM:
      case MessageType.VIR_NET_STREAM_HOLE:
        // Stream data for a stream this client did not open (streams attach through setFrameHook later).
        return;
      case MessageType.VIR_NET_CALL:
        throw new ProtocolError(`the daemon sent a CALL (${prog.name} procedure ${h.proc}); clients do not serve calls`);
      default:
        throw new ProtocolError(`unknown message type ${h.type}`);
    }
  }

  #onReply(prog: ProgramInfo, f: Frame): void {
    const h = f.header;
    const p = this.#pending.get(h.serial);
    if (!p) {
      if (this.#abandoned.delete(h.serial)) return; // late reply to a call that timed out or was aborted
      throw new ProtocolError(`reply for serial ${h.serial}, which no call is waiting for`);
    }
    if (p.prog !== prog || p.proc.number !== h.proc) {
      throw new ProtocolError(`reply for serial ${h.serial} is for ${prog.name} procedure ${h.proc}, but the call was ${p.proc.name}`);
    }
    if (h.status !== MessageStatus.VIR_NET_OK && h.status !== MessageStatus.VIR_NET_ERROR) {
      // Thrown while the call is still pending, so closing the connection rejects it too.
      throw new ProtocolError(`reply to ${p.proc.name} has status ${h.status}`);
    }
    this.#settle(h.serial, p);
    if (h.status === MessageStatus.VIR_NET_OK) {
      let value: unknown;
      try {
        value = decodePayload(p.proc.ret, f.payload, `${p.proc.name} reply`);
      } catch (e) {
        p.reject(e as Error);
        throw new ProtocolError(`undecodable reply to ${p.proc.name}: ${(e as Error).message}`, { cause: e });
      }
      p.resolve(value);
    } else {
      let err: Error;
      try {
        err = remoteErrorFrom(f.payload, p.proc.name);
      } catch (e) {
        p.reject(e as Error);
        throw new ProtocolError(`undecodable error reply to ${p.proc.name}: ${(e as Error).message}`, { cause: e });
      }
      p.reject(err);
    }
  }

  #onMessageFrame(prog: ProgramInfo, f: Frame): void {
    const proc = this.#byNumber.get(prog)!.get(f.header.proc);
    if (!proc || !proc.message) throw new ProtocolError(`${prog.name} message for procedure ${f.header.proc}, which is not an event`);
    const payload = decodePayload(proc.message, f.payload, `${proc.name} message`);
    for (const l of this.#messageListeners) {
      try {
        l({ program: prog, procedure: proc, payload });
      } catch {
        // A listener's failure is its own; the frame router goes on.
      }
    }
  }

  /** Waiters for "no call pending" (drain, close). */
  readonly #idle = new Set<() => void>();

  #wakeIdle(): void {
    const waiters = [...this.#idle];
    this.#idle.clear();
    for (const w of waiters) w();
  }

  /**
   * Waits for pending calls (at most `timeout` ms), then ends the transport. Protocol-level goodbyes
   * (CONNECT_CLOSE) are the caller's to send first.
   */
  async close(timeout = 30000): Promise<CloseInfo> {
    if (this.#closeInfo) return this.#closeInfo;
    this.#closing = true;
    await this.drain(timeout);
    if (!this.#closeInfo) {
      this.#endReason = 'closed';
      this.#transport.end();
      // The transport reports closure through its sink; bound the wait in case it never does.
      const t = setTimeout(() => this.#finish({ reason: 'closed' }), 5000);
      await this.closed;
      clearTimeout(t);
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

  /** Waits (at most `timeout` ms) until no call is pending. */
  async drain(timeout = 30000): Promise<void> {
    if (this.#pending.size === 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      const t = setTimeout(() => {
        this.#idle.delete(done);
        resolve();
      }, timeout);
      this.#idle.add(done);
    });
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
    const why = info.error ? `: ${info.error.message}` : '';
    for (const [serial, p] of this.#pending) {
      this.#settle(serial, p);
      p.reject(new ConnectionClosedError(`${p.proc.name} failed: the connection closed (${info.reason})${why}`, { cause: info.error }));
    }
    this.#wakeIdle();
    this.#resolveClosed(info);
  }
}

/** Procedure number -> procedure, built once per program rather than once per connection. */
const BY_NUMBER = new WeakMap<ProgramInfo, Map<number, ProcedureInfo>>();

function proceduresByNumber(p: ProgramInfo): Map<number, ProcedureInfo> {
  let m = BY_NUMBER.get(p);
  if (!m) BY_NUMBER.set(p, (m = new Map(p.procedures.map((x) => [x.number, x]))));
  return m;
}

const SCRATCH_KEEP = 1 << 20;
let scratch: XdrWriter | null = null;

function scratchWriter(): XdrWriter {
  if (!scratch) scratch = new XdrWriter(64 * 1024);
  scratch.pos = 0;
  return scratch;
}

function decodePayload(codec: ProcedureInfo['ret'], payload: Uint8Array, what: string): unknown {
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
