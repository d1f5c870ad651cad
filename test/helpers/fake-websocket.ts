/**
 * A scripted WebSocket with the standard API's shape (what a browser gives a page), whose far end is the test:
 * it records what the client sends and lets the test open it, deliver messages, close it with a code, or hold
 * `bufferedAmount` up. {@link fakeDaemon} puts a small libvirtd behind it that answers the open sequence and
 * getLibVersion, and hands its reply bytes to a "chopper" that decides how they are cut into messages.
 */
import { encodeFrame, Frame, FrameDecoder, MessageStatus, MessageType } from '../../src/protocol/frame';
import type { WebSocketLike } from '../../src/protocol/websocket-transport';
import { concatBytes, xdrEncode } from '../../src/protocol/xdr';
import * as gen from '../../generated';

type Listener = (event: never) => void;

export class FakeWebSocket implements WebSocketLike {
  /** Every socket constructed through the class, newest last. */
  static readonly instances: FakeWebSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  bufferedAmount = 0;
  protocol = '';
  readonly url: string;
  readonly protocols: string[];
  /** Messages the client sent, copied. */
  readonly sent: Uint8Array[] = [];
  /** close() calls by the client. */
  readonly closeCalls: { code?: number; reason?: string }[] = [];
  /** When true, send() adds to bufferedAmount (the test drains it with {@link drain}). */
  holdBuffer = false;
  /** Called with each message the client sends. */
  onSend: ((bytes: Uint8Array) => void) | null = null;
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(url = 'ws://fake/', protocols: string | string[] = []) {
    this.url = url;
    this.protocols = typeof protocols === 'string' ? [protocols] : [...protocols];
    FakeWebSocket.instances.push(this);
  }

  send(data: Uint8Array): void {
    if (this.readyState === 0) throw new Error('InvalidStateError: still CONNECTING');
    const copy = data.slice();
    this.sent.push(copy);
    if (this.holdBuffer) this.bufferedAmount += copy.length;
    this.onSend?.(copy);
  }

  close(code?: number, reason?: string): void {
    this.closeCalls.push({ code, reason });
    if (this.readyState >= 2) return;
    this.readyState = 2;
    // The peer answers the close frame (a real server does); the event comes asynchronously, as in browsers.
    setTimeout(() => this.serverClose(code ?? 1005, reason ?? '', true), 0);
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }

  listenerCount(type: string): number {
    return this.#listeners.get(type)?.size ?? 0;
  }

  #emit(type: string, event: object): void {
    for (const l of [...(this.#listeners.get(type) ?? [])]) (l as (e: object) => void)(event);
  }

  /** The server accepts the handshake. */
  serverOpen(protocol = 'binary'): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.#emit('open', {});
  }

  /** The server sends one message (binary unless a string is given). */
  serverMessage(data: Uint8Array | ArrayBuffer | string): void {
    if (this.readyState !== 1) return;
    // A browser with binaryType 'arraybuffer' hands over a fresh ArrayBuffer per message.
    const payload = data instanceof Uint8Array ? data.slice().buffer : data;
    this.#emit('message', { data: payload });
  }

  /** The server closes (or the connection drops: code 1006, wasClean false). */
  serverClose(code: number, reason = '', wasClean = code !== 1006): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.#emit('close', { code, reason, wasClean });
  }

  /** An error event, as browsers fire before an abnormal close (with a message, as the ws package does). */
  serverError(message?: string): void {
    this.#emit('error', message === undefined ? {} : { message });
  }

  /** The network took the buffered bytes. */
  drain(): void {
    this.bufferedAmount = 0;
  }
}

const R = gen.remote_program;
const procName = (f: Frame) => R.procedures.find((p) => p.number === f.header.proc)?.name;

/** Cuts the bytes of one batch of replies into the messages the client receives. */
export type Chopper = (bytes: Uint8Array) => Uint8Array[];

/** Every byte its own message. */
export const everyByte: Chopper = (b) => Array.from(b, (x) => Uint8Array.of(x));
/** The whole batch in one message (frames merged). */
export const merged: Chopper = (b) => [b];
/** Two messages, cut at `at`. */
export const cutAt = (at: number): Chopper => (b) => [b.subarray(0, at), b.subarray(at)].filter((p) => p.length > 0);
/** Pieces of random sizes (1..max bytes), from a seeded generator so a failure can be replayed. */
export function randomCuts(seed: number, max: number): Chopper {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return (b) => {
    const out: Uint8Array[] = [];
    for (let at = 0; at < b.length; ) {
      const n = 1 + Math.floor(next() * max);
      out.push(b.subarray(at, at + n));
      at += n;
    }
    return out;
  };
}

/**
 * Plays libvirtd behind `ws`: answers AUTH_LIST (no auth), CONNECT_SUPPORTS_FEATURE, CONNECT_OPEN,
 * CONNECT_GET_LIB_VERSION (9.0.0) and CONNECT_CLOSE. Replies are collected until `batch` calls are answered
 * (or the current task ends), joined, and delivered as the messages `chop` makes of them.
 */
export function fakeDaemon(ws: FakeWebSocket, chop: Chopper, batch = 1): { calls: Frame[] } {
  const calls: Frame[] = [];
  let pending: Uint8Array[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const all = concatBytes(pending);
    pending = [];
    for (const m of chop(all)) ws.serverMessage(m);
  };
  const decoder = new FrameDecoder((f) => {
    const frame: Frame = { header: f.header, payload: f.payload.slice() };
    calls.push(frame);
    const reply = (payload?: Uint8Array) =>
      encodeFrame({ ...frame.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_OK }, payload);
    let out: Uint8Array | null = null;
    switch (procName(frame)) {
      case 'REMOTE_PROC_AUTH_LIST':
        out = reply(xdrEncode(gen.remote.xdr_remote_auth_list_ret, { types: [gen.remote.remote_auth_type.REMOTE_AUTH_NONE] }));
        break;
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE':
        out = reply(xdrEncode(gen.remote.xdr_remote_connect_supports_feature_ret, { supported: 0 }));
        break;
      case 'REMOTE_PROC_CONNECT_GET_LIB_VERSION':
        out = reply(xdrEncode(gen.remote.xdr_remote_connect_get_lib_version_ret, { lib_ver: 9000000n }));
        break;
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE':
        out = reply();
        break;
    }
    if (out === null) return;
    pending.push(out);
    if (pending.length >= batch) flush();
    else if (!scheduled) {
      scheduled = true;
      // Whatever the client sent in this task is answered together.
      setTimeout(flush, 0);
    }
  });
  ws.onSend = (bytes) => decoder.push(bytes);
  return { calls };
}

