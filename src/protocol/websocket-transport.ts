/**
 * A {@link Transport} over the standard WebSocket API: a browser's `WebSocket`, Node 22's global one, or the
 * `ws` package's class (Node 20 has none of its own). libvirtd has no WebSocket listener, so the peer is a
 * bridge: `libvirt-rpc ws-bridge` or websockify in front of the daemon's socket.
 *
 * libvirt's frames travel as the bytes of binary messages, and a bridge may cut or join them anywhere
 * (websockify forwards whatever one socket read gave it): the engine's frame decoder reassembles them, so
 * message boundaries mean nothing here. No `node:` imports: this file is part of the browser-safe core.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError, TransportError, brandError } from '../errors.js';
import { checkTimeout } from './durations.js';
import { concatBytes } from './xdr.js';
import type { Transport, TransportSink } from './transport.js';

/** The members of the standard WebSocket API this transport uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  /** The subprotocol the server chose ('' for none). */
  readonly protocol: string;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
  /** Not in the standard API: the `ws` package's, used by {@link WebSocketTransport.pause} when present. */
  pause?(): void;
  resume?(): void;
}

/** A WebSocket class with the standard constructor (`new WebSocket(url, protocols)`). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What went wrong with a WebSocket; `code` says which. */
export type WebSocketErrorCode =
  | 'ERR_WEBSOCKET_HANDSHAKE' // the connection could not be opened (refused, unreachable, HTTP error)
  | 'ERR_WEBSOCKET_REFUSED' // the bridge accepted the socket, then refused it with a 44xx close code
  | 'ERR_WEBSOCKET_CLOSED' // the socket closed abnormally (not 1000) after it was open
  | 'ERR_WEBSOCKET_MESSAGE'; // a message that cannot carry libvirt frames (text, or binaryType not honoured)

/** A WebSocket failure; `closeCode` and `closeReason` are the peer's when it closed the socket. */
export class WebSocketError extends TransportError {
  static {
    brandError(this, 'WebSocketError');
  }

  override readonly code: WebSocketErrorCode;
  /** The close code (1006 when the connection dropped without a close frame), or null. */
  readonly closeCode: number | null;
  /** The close reason the peer gave ('' when none). */
  readonly closeReason: string;

  constructor(code: WebSocketErrorCode, message: string, options: { cause?: unknown; closeCode?: number; closeReason?: string } = {}) {
    super(message, options);
    this.code = code;
    this.closeCode = options.closeCode ?? null;
    this.closeReason = options.closeReason ?? '';
  }
}

/** Close codes `libvirt-rpc ws-bridge` refuses with (4000 + the HTTP status that means the same). */
export const BRIDGE_CLOSE = {
  /** The bearer token is missing or wrong. */
  UNAUTHORIZED: 4401,
  /** The Origin is not allowed, or a read-write CONNECT_OPEN reached a read-only bridge. */
  FORBIDDEN: 4403,
  /** The bridge is at its connection limit. */
  TOO_MANY: 4429,
  /** The bridge could not reach the daemon. */
  BAD_GATEWAY: 4502,
} as const;

/** Options of {@link openWebSocketTransport}. */
export interface WebSocketTransportOptions {
  /** The WebSocket class to use; default `globalThis.WebSocket` (browsers, Node 22). */
  WebSocket?: WebSocketConstructor;
  /** A bearer token, offered as the subprotocol `bearer.<token>` (browsers cannot set headers). Never logged. */
  token?: string;
  /** Subprotocols offered before the token's; default `['binary']`, which websockify and ws-bridge select. */
  protocols?: readonly string[];
  /** Bound on the opening handshake, in ms (default 30 000). */
  timeout?: number;
  signal?: AbortSignal;
  /** `write()` reports a full buffer above this many bytes of `bufferedAmount` (default 1 MiB). */
  highWaterMark?: number;
}

/** Default bound on opening a WebSocket, in ms. */
export const DEFAULT_WEBSOCKET_TIMEOUT_MS = 30_000;
/** Default high-water mark of `bufferedAmount`, in bytes. */
export const DEFAULT_WEBSOCKET_HIGH_WATER_MARK = 1024 * 1024;

const CONNECTING = 0;
const OPEN = 1;
/** A subprotocol is an HTTP token (RFC 6455 4.1, RFC 7230 tchar); so must a token offered in one be. */
const TCHARS = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Opens a WebSocket to `target` (a `ws:`/`wss:` URL, or a WebSocket the caller created, open or still
 * connecting) and resolves to a {@link WebSocketTransport} once it is open. Rejects with
 * {@link WebSocketError} (`ERR_WEBSOCKET_HANDSHAKE`), {@link TimeoutError}, {@link AbortError} or
 * {@link InvalidArgumentError}. The handshake is bounded by `timeout`; on failure the socket is closed.
 */
export function openWebSocketTransport(target: string | URL | WebSocketLike, options: WebSocketTransportOptions = {}): Promise<WebSocketTransport> {
  const timeout = checkTimeout(options.timeout ?? DEFAULT_WEBSOCKET_TIMEOUT_MS, 'the WebSocket timeout');
  const hwm = options.highWaterMark ?? DEFAULT_WEBSOCKET_HIGH_WATER_MARK;
  if (!Number.isSafeInteger(hwm) || hwm < 1) throw new InvalidArgumentError(`highWaterMark must be a positive integer, not ${String(hwm)}`);
  let socket: WebSocketLike;
  let description: string;
  if (typeof target === 'string' || target instanceof URL) {
    const url = checkUrl(target);
    description = `websocket:${url.protocol}//${url.host}${url.pathname}`;
    const protocols = [...(options.protocols ?? ['binary'])];
    if (options.token !== undefined) {
      if (!isBearerToken(options.token)) throw new InvalidArgumentError('the bearer token must be a non-empty HTTP token (letters, digits and !#$%&\'*+.^_`|~-) to travel as a subprotocol');
      protocols.push(`bearer.${options.token}`);
    }
    const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (typeof Ctor !== 'function') {
      throw new InvalidArgumentError('no WebSocket class: this runtime has no global WebSocket (Node 20); pass options.WebSocket (e.g. the ws package\'s)');
    }
    if (options.signal?.aborted) return Promise.reject(new AbortError(`${description}: opening was aborted`, { cause: options.signal.reason }));
    try {
      socket = new Ctor(url.href, protocols);
    } catch (e) {
      return Promise.reject(new WebSocketError('ERR_WEBSOCKET_HANDSHAKE', `${description}: ${(e as Error).message}`, { cause: e }));
    }
  } else {
    socket = target;
    description = 'websocket:caller-supplied';
  }
  return waitOpen(socket, description, timeout, options.signal).then(() => new WebSocketTransport(socket, description, hwm));
}

function checkUrl(target: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(target));
  } catch {
    throw new InvalidArgumentError('the WebSocket URL cannot be parsed');
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new InvalidArgumentError(`a WebSocket URL starts with ws: or wss:, not ${url.protocol}`);
  if (url.username || url.password) throw new InvalidArgumentError('a WebSocket URL must not carry credentials: pass options.token');
  return url;
}

function waitOpen(socket: WebSocketLike, description: string, timeout: number, signal: AbortSignal | undefined): Promise<void> {
  socket.binaryType = 'arraybuffer';
  if (socket.readyState === OPEN) return Promise.resolve();
  if (socket.readyState !== CONNECTING) return Promise.reject(new WebSocketError('ERR_WEBSOCKET_HANDSHAKE', `${description}: the WebSocket is already closing or closed`));
  return new Promise((resolve, reject) => {
    let errorText = '';
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.removeEventListener('open', onOpen);
      socket.removeEventListener('error', onError);
      socket.removeEventListener('close', onClose);
      if (err === undefined) return resolve();
      if (socket.readyState <= OPEN) socket.close(1000);
      reject(err);
    };
    const onOpen = (): void => settle();
    // Browsers say nothing about why (an HTTP 401, a refused port); the ws package gives a message.
    const onError = (event: { message?: string; error?: unknown }): void => {
      errorText = event.message ?? (event.error instanceof Error ? event.error.message : '');
    };
    const onClose = (event: { code: number; reason: string }): void => {
      const why = errorText || event.reason || 'the connection failed (refused, unreachable, or not a WebSocket server)';
      settle(new WebSocketError('ERR_WEBSOCKET_HANDSHAKE', `${description}: the WebSocket handshake failed: ${why} (close code ${event.code})`, { closeCode: event.code, closeReason: event.reason }));
    };
    const onAbort = (): void => settle(new AbortError(`${description}: opening was aborted`, { cause: signal?.reason }));
    const timer = setTimeout(() => settle(new TimeoutError(`${description}: the WebSocket handshake did not finish within ${timeout} ms`)), timeout);
    socket.addEventListener('open', onOpen);
    socket.addEventListener('error', onError);
    socket.addEventListener('close', onClose);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A {@link Transport} over an open WebSocket (see {@link openWebSocketTransport}).
 *
 * - Every binary message's bytes go to the engine as they come; frames may be split or joined across messages.
 * - What `write()` is given in one task goes out as one binary message (at the end of the task); it returns
 *   false while `bufferedAmount` plus that is above the high-water mark, and `whenWritable()` watches
 *   `bufferedAmount` (the API has no drain event) until it is at or below the mark.
 * - A close with code 1000 (or no code) is an end of file; any other close is a {@link WebSocketError} that
 *   carries the code and reason (`ERR_WEBSOCKET_REFUSED` for a bridge's 44xx refusals).
 * - `pause()`/`resume()` hold the peer back only where the WebSocket can stop reading (the `ws` package);
 *   in a browser they do nothing, and the engine's bounded queues take over.
 */
export class WebSocketTransport implements Transport {
  readonly description: string;
  readonly #socket: WebSocketLike;
  readonly #hwm: number;
  #sink: TransportSink | null = null;
  #early: Uint8Array[] = [];
  #done = false;
  #error: Error | undefined;
  #closing = false;
  readonly #waiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  /** Frames written in this task, sent together by {@link #flush}. */
  #out: Uint8Array[] = [];
  #outBytes = 0;
  #poll: ReturnType<typeof setTimeout> | undefined;

  /** Wraps an open WebSocket; {@link openWebSocketTransport} is the usual way to get one. */
  constructor(socket: WebSocketLike, description: string, highWaterMark = DEFAULT_WEBSOCKET_HIGH_WATER_MARK) {
    this.description = description;
    this.#socket = socket;
    this.#hwm = highWaterMark;
    socket.binaryType = 'arraybuffer';
    socket.addEventListener('message', this.#onMessage);
    socket.addEventListener('close', this.#onClose);
    socket.addEventListener('error', this.#onError);
  }

  /** The subprotocol the server chose ('binary' from websockify and ws-bridge). */
  get protocol(): string {
    return this.#socket.protocol;
  }

  attach(sink: TransportSink): void {
    if (this.#sink !== null) throw new TransportError(`${this.description}: attach() called twice`);
    this.#sink = sink;
    for (const c of this.#early) sink.data(c);
    this.#early = [];
    if (this.#done) queueMicrotask(() => sink.closed(this.#error));
  }

  write(chunk: Uint8Array): boolean {
    if (this.#done || this.#closing || this.#socket.readyState !== OPEN) return false;
    // Frames written in one task go out as one message: 32 pipelined calls cost one WebSocket frame (and
    // one socket write on each side of a bridge) instead of 32. The peer reassembles frames across messages.
    this.#out.push(chunk);
    this.#outBytes += chunk.length;
    if (this.#out.length === 1) queueMicrotask(this.#flush);
    return this.#buffered() <= this.#hwm;
  }

  /** Bytes not yet on the network: what the WebSocket holds plus what waits for this task's flush. */
  #buffered(): number {
    return this.#socket.bufferedAmount + this.#outBytes;
  }

  readonly #flush = (): void => {
    const out = this.#out;
    if (out.length === 0) return;
    this.#out = [];
    this.#outBytes = 0;
    if (this.#done || this.#socket.readyState !== OPEN) return;
    this.#socket.send(out.length === 1 ? out[0] : concatBytes(out));
  };

  whenWritable(): Promise<void> {
    if (this.#done || this.#closing) return Promise.reject(this.#closedError());
    const open = this.#socket.readyState === OPEN;
    if (open && this.#buffered() <= this.#hwm) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.add({ resolve, reject });
      // A socket the peer is closing only waits for its close event, which rejects the waiters.
      if (open) this.#watch(1);
    });
  }

  end(): void {
    if (this.#done || this.#closing) return;
    this.#closing = true;
    // What this task wrote goes first; the close frame follows it, and the close event then reports the end.
    this.#flush();
    this.#socket.close(1000);
  }

  destroy(err?: Error): void {
    if (this.#done) return;
    this.#error ??= err;
    if (this.#socket.readyState <= OPEN) this.#socket.close(1000);
    // The API cannot drop what is buffered, and the peer may never answer the close frame: report now.
    this.#finish();
  }

  pause(): void {
    if (!this.#done) this.#socket.pause?.();
  }

  resume(): void {
    if (!this.#done) this.#socket.resume?.();
  }

  readonly #onMessage = (event: { data: unknown }): void => {
    if (this.#done) return;
    const data = event.data;
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      const what = typeof data === 'string' ? 'a text message' : 'a message that is not an ArrayBuffer';
      this.#fail(new WebSocketError('ERR_WEBSOCKET_MESSAGE', `${this.description}: ${what}: libvirt frames travel in binary messages (websockify needs the 'binary' subprotocol)`));
      return;
    }
    if (this.#sink === null) this.#early.push(bytes);
    else this.#sink.data(bytes);
  };

  readonly #onError = (): void => {
    // The close event follows with the code (browsers give no detail here). The listener itself matters: the
    // ws package raises an 'error' nobody listens to as an uncaught exception.
  };

  readonly #onClose = (event: { code: number; reason: string; wasClean?: boolean }): void => {
    if (this.#done) return;
    const { code, reason } = event;
    if (!(code === 1000 || code === 1005) || event.wasClean === false) {
      const refused = code >= 4400 && code < 4500;
      const said = reason ? `: ${reason}` : '';
      const message = refused
        ? `${this.description}: the bridge refused the connection (close code ${code})${said}`
        : `${this.description}: the WebSocket closed abnormally (close code ${code}${code === 1006 ? ', no close frame: the connection dropped' : ''})${said}`;
      this.#error ??= new WebSocketError(refused ? 'ERR_WEBSOCKET_REFUSED' : 'ERR_WEBSOCKET_CLOSED', message, { closeCode: code, closeReason: reason });
    }
    this.#finish();
  };

  #fail(err: Error): void {
    this.#error ??= err;
    if (this.#socket.readyState <= OPEN) this.#socket.close(1003, 'binary messages only');
    this.#finish();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#poll);
    this.#socket.removeEventListener('message', this.#onMessage);
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w.reject(this.#closedError());
    if (this.#sink !== null) {
      const sink = this.#sink;
      queueMicrotask(() => sink.closed(this.#error));
    }
  }

  /** Looks at bufferedAmount again after `delay` ms, backing off to 16 ms (a timer per transport at most). */
  #watch(delay: number): void {
    if (this.#poll !== undefined) return;
    this.#poll = setTimeout(() => {
      this.#poll = undefined;
      if (this.#done || this.#waiters.size === 0 || this.#socket.readyState !== OPEN) return;
      if (this.#buffered() <= this.#hwm) {
        const waiters = [...this.#waiters];
        this.#waiters.clear();
        for (const w of waiters) w.resolve();
        return;
      }
      this.#watch(Math.min(delay * 2, 16));
    }, delay);
  }

  #closedError(): Error {
    return this.#error ?? new ConnectionClosedError(`${this.description}: the connection is closed`);
  }
}

/** Whether `value` can travel as a bearer subprotocol (`bearer.<value>`): a non-empty HTTP token. */
export function isBearerToken(value: string): boolean {
  return TCHARS.test(value);
}

