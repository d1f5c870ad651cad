/**
 * A scripted fake daemon: a Transport whose other end is the test. It records every frame the client writes,
 * lets the test inject bytes (whole frames, cut frames, garbage), apply backpressure, or close the pipe.
 */
import { encodeFrame, Frame, FrameDecoder, FrameHeader, MessageStatus, MessageType } from '../../src/protocol/frame';
import type { ProcedureInfo, ProgramInfo } from '../../src/protocol/program';
import type { Transport, TransportSink } from '../../src/protocol/transport';
import { xdrEncode, XdrCodec } from '../../src/protocol/xdr';

export class FakePeer implements Transport {
  readonly description = 'fake-peer';
  sink: TransportSink | null = null;
  /** Frames the client sent, decoded. */
  readonly received: Frame[] = [];
  /** Raw chunks the client wrote. */
  readonly writes: Uint8Array[] = [];
  /** When true, write() reports a full buffer until release() is called. */
  blocked = false;
  ended = false;
  destroyed: Error | undefined | null = null;
  #waiters: (() => void)[] = [];
  #onFrame: ((f: Frame) => void) | null = null;
  #decoder = new FrameDecoder((f) => {
    const copy: Frame = { header: f.header, payload: f.payload.slice() };
    this.received.push(copy);
    this.#onFrame?.(copy);
  });

  attach(sink: TransportSink): void {
    this.sink = sink;
  }

  write(chunk: Uint8Array, written?: () => void): boolean {
    const copy = chunk.slice();
    this.writes.push(copy);
    this.#decoder.push(copy);
    written?.(); // copied: the client may reuse its bytes
    return !this.blocked;
  }

  whenWritable(): Promise<void> {
    if (!this.blocked) return Promise.resolve();
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Whether the client asked the transport to stop reading (a stream's reader is slow), and how often. */
  paused = false;
  pauses = 0;

  pause(): void {
    this.paused = true;
    this.pauses++;
  }

  resume(): void {
    this.paused = false;
  }

  /** Lifts backpressure. */
  release(): void {
    this.blocked = false;
    for (const w of this.#waiters.splice(0)) w();
  }

  end(): void {
    this.ended = true;
    queueMicrotask(() => this.sink?.closed());
  }

  destroy(err?: Error): void {
    this.destroyed = err ?? undefined;
    queueMicrotask(() => this.sink?.closed(err));
  }

  /** Answers every CALL automatically. */
  autoReply(fn: (f: Frame) => Uint8Array | Uint8Array[] | null): void {
    this.#onFrame = (f) => {
      if (f.header.type !== MessageType.VIR_NET_CALL) return;
      const out = fn(f);
      if (out === null) return;
      for (const b of Array.isArray(out) ? out : [out]) this.deliver(b);
    };
  }

  /** Sends bytes to the client. */
  deliver(bytes: Uint8Array): void {
    this.sink!.data(bytes);
  }

  /** The peer hangs up. */
  hangUp(err?: Error): void {
    this.sink!.closed(err);
  }
}

/** A reply frame for a call. */
export function replyFrame<T>(call: FrameHeader, codec: XdrCodec<T> | null, value?: T, over: Partial<FrameHeader> = {}): Uint8Array {
  const payload = codec ? xdrEncode(codec, value as T) : undefined;
  return encodeFrame({ ...call, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_OK, ...over }, payload);
}

/** A frame the server sends unasked (event or keepalive). */
export function messageFrame(program: ProgramInfo, proc: ProcedureInfo | number, payload?: Uint8Array): Uint8Array {
  const number = typeof proc === 'number' ? proc : proc.number;
  return encodeFrame({ prog: program.program, vers: program.version, proc: number, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK }, payload);
}

/** Waits until `cond` holds (bounded). */
export async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Registers jest hooks that fail each test of the file during which a promise was rejected with nobody to catch
 * it (checked a few milliseconds after the test, so late rejections count too).
 */
export function failOnUnhandledRejections(): void {
  let unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  beforeAll(() => process.on('unhandledRejection', onUnhandled));
  afterAll(() => process.off('unhandledRejection', onUnhandled));
  beforeEach(() => (unhandled = []));
  afterEach(async () => {
    await new Promise((r) => setTimeout(r, 5));
    expect(unhandled).toEqual([]);
  });
}
