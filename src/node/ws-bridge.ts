/**
 * The WebSocket bridge behind `libvirt-rpc ws-bridge`: each accepted WebSocket is forwarded, byte for byte, to
 * a fresh daemon connection opened with this package's own transports (unix, TCP, TLS, SSH), so a browser can
 * reach a daemon that has no WebSocket listener of its own.
 *
 * Nothing reaches the daemon before a request passes every check (./ws-bridge-security.ts): Origin, bearer
 * token, connection limit; under `readOnly`, the daemon connection is opened only once the client's
 * CONNECT_OPEN is seen to carry VIR_CONNECT_RO (./ws-bridge-gate.ts). A refusal completes the WebSocket
 * handshake and closes with a 44xx code and a reason, because a browser hides the HTTP status of a refused
 * handshake from the page. The server is the `ws` package: Node 20 has a WebSocket client behind a flag and no
 * server at all.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { InvalidArgumentError } from '../errors.js';
import { checkTimeout } from '../protocol/durations.js';
import { MAX_FRAME, MIN_FRAME } from '../protocol/frame.js';
import type { Transport } from '../protocol/transport.js';
import { BRIDGE_CLOSE } from '../protocol/websocket-transport.js';
import { openTransport, type OpenTransportOptions } from '../transport/index.js';
import { ClientFrameGate, GateRefusal } from './ws-bridge-gate.js';
import { checkListen, checkRequest, normalizeOrigin, printable, type ListenAddress, type Refusal } from './ws-bridge-security.js';

/** Options of {@link WsBridge.start}. */
export interface WsBridgeOptions {
  listen: ListenAddress;
  /** Allows a non-loopback `listen` address (refused otherwise). */
  allowRemote?: boolean;
  /** The daemon URI every WebSocket is forwarded to (null: LIBVIRT_DEFAULT_URI, else the local daemon). */
  connect: string | null;
  /** The bearer token clients must present (header or `bearer.<token>` subprotocol). */
  token: string;
  /** Origins allowed to connect (browsers always send one); requests without an Origin are not browsers. */
  origins?: readonly string[];
  /** Serve wss: with this certificate chain and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Forward only connections that open read-only; the daemon connection also uses a read-only socket. */
  readOnly?: boolean;
  /** Connections forwarded at once (default 16); more are refused with 4429. */
  maxConnections?: number;
  /** Largest WebSocket message accepted from a client, in bytes (default 4 MiB); larger closes with 1009. */
  maxMessageBytes?: number;
  /** Bound on opening each daemon connection, in ms (default 30 000). */
  openTimeout?: number;
  /** Read-only: how long to wait for a CONNECT_OPEN before connecting anyway (default 2000 ms). */
  openGrace?: number;
  /** The access log: one line per accepted, refused and closed connection. Never tokens or headers. */
  log?: (line: string) => void;
  /** Passed to `openTransport` (env, SSH credentials). */
  transportOptions?: Omit<OpenTransportOptions, 'timeout' | 'signal' | 'readOnly' | 'transport'>;
  /** Opens the daemon side (tests); default `openTransport(connect, ...)`. */
  openDaemon?: (signal: AbortSignal) => Promise<Transport>;
}

/** Default connection limit. */
export const DEFAULT_MAX_CONNECTIONS = 16;
/** Default message size limit: libvirt's client calls stay far below it (stream chunks are 256 KiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** Above this many bytes queued towards a client, the daemon connection stops being read. */
const CLIENT_HIGH_WATER = 1024 * 1024;
/** Bytes a client may send before its daemon connection is open; beyond it the WebSocket stops being read. */
const PRE_OPEN_LIMIT = 256 * 1024;
/** How long a closing WebSocket or daemon connection may take before it is cut. */
const CLOSE_BOUND_MS = 5000;

type ResolvedOptions = WsBridgeOptions & Required<Pick<WsBridgeOptions, 'maxConnections' | 'openTimeout' | 'openGrace'>>;

/** A running bridge. */
export class WsBridge {
  readonly #server: http.Server;
  readonly #wss: WebSocketServer;
  readonly #options: ResolvedOptions;
  readonly #origins: ReadonlySet<string>;
  readonly #conns = new Set<BridgedConnection>();
  readonly #log: (line: string) => void;
  #nextId = 1;
  #closing = false;

  private constructor(options: WsBridgeOptions, server: http.Server) {
    this.#options = {
      ...options,
      maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      openTimeout: options.openTimeout ?? 30_000,
      openGrace: options.openGrace ?? 2000,
    };
    this.#origins = new Set((options.origins ?? []).map(normalizeOrigin));
    this.#log = options.log ?? (() => undefined);
    this.#server = server;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      // websockify's convention, which libvirt-rpc's WebSocketTransport offers: the bytes travel as they are.
      handleProtocols: (offered) => (offered.has('binary') ? 'binary' : false),
    });
    server.on('request', (_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end('libvirt-rpc ws-bridge: connect with a WebSocket\n');
    });
    server.on('upgrade', (req, socket, head) => this.#upgrade(req, socket, head));
    this.#wss.on('wsClientError', (err, socket, req) => {
      this.#log(`${stamp()} - ${peer(req)} refused: ${printable(err.message, 100)}`);
      socket.destroy();
    });
  }

  /** Validates the options, listens, and resolves once the bridge accepts connections. */
  static async start(options: WsBridgeOptions): Promise<WsBridge> {
    checkListen(options.listen, options.allowRemote ?? false);
    if (typeof options.token !== 'string' || options.token.length === 0) throw new InvalidArgumentError('the bridge needs a bearer token');
    checkTimeout(options.openTimeout ?? 30_000, 'openTimeout');
    checkTimeout(options.openGrace ?? 2000, 'openGrace');
    checkRange(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 'maxConnections', 1, 10_000);
    checkRange(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 'maxMessageBytes', MIN_FRAME, MAX_FRAME);
    const server = options.tls ? https.createServer({ cert: options.tls.cert, key: options.tls.key }) : http.createServer();
    // Slow or idle HTTP clients are cut off; an upgraded socket leaves these timers behind.
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    const bridge = new WsBridge(options, server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    return bridge;
  }

  /** The address it listens on (with the port chosen when 0 was asked). */
  get address(): ListenAddress {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** The URL clients connect to, e.g. `ws://127.0.0.1:8765/`. */
  get url(): string {
    const { host, port } = this.address;
    return `${this.#options.tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  /** Connections being forwarded now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Stops listening, closes every connection (1001), and resolves when all are gone (bounded). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const stopped = new Promise<void>((r) => this.#server.close(() => r()));
    await Promise.all([...this.#conns].map((c) => c.shutdown(1001, 'the bridge is shutting down')));
    this.#server.closeAllConnections?.();
    await stopped;
  }

  #upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    let refusal: Refusal | null = this.#closing ? { code: 1001, reason: 'the bridge is shutting down' } : checkRequest(req, { token: this.#options.token, origins: this.#origins });
    if (refusal === null && this.#conns.size >= this.#options.maxConnections) {
      refusal = { code: BRIDGE_CLOSE.TOO_MANY, reason: `too many connections (limit ${this.#options.maxConnections})` };
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const origin = req.headers.origin === undefined ? '' : ` origin=${printable(req.headers.origin, 60)}`;
      if (refusal !== null) {
        this.#log(`${stamp()} - ${peer(req)}${origin} refused: ${refusal.code} ${refusal.reason}`);
        ws.close(refusal.code, refusal.reason);
        setTimeout(() => ws.terminate(), CLOSE_BOUND_MS).unref();
        return;
      }
      const id = this.#nextId++;
      this.#log(`${stamp()} #${id} ${peer(req)}${origin} accepted${this.#options.readOnly ? ' (read-only)' : ''}`);
      const conn = new BridgedConnection(id, ws, this.#options, this.#log, () => this.#conns.delete(conn));
      this.#conns.add(conn);
    });
  }
}

/** One WebSocket and its daemon connection. */
class BridgedConnection {
  readonly #id: number;
  readonly #ws: WebSocket;
  readonly #options: ResolvedOptions;
  readonly #log: (line: string) => void;
  readonly #onGone: () => void;
  readonly #gate: ClientFrameGate;
  readonly #readOnly: boolean;
  readonly #abort = new AbortController();
  readonly #t0 = Date.now();
  #transport: Transport | null = null;
  #connecting = false;
  /** Frames that arrived before the daemon connection was open. */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #waitingForDaemon = false;
  #daemonPaused = false;
  #bytesIn = 0;
  #bytesOut = 0;
  #closed = false;
  #closeNote = '';
  readonly #gone: Promise<void>;

  constructor(id: number, ws: WebSocket, options: ResolvedOptions, log: (line: string) => void, onGone: () => void) {
    this.#id = id;
    this.#ws = ws;
    this.#options = options;
    this.#log = log;
    this.#onGone = onGone;
    this.#readOnly = options.readOnly ?? false;
    this.#gate = new ClientFrameGate(this.#readOnly);
    this.#gone = new Promise((resolve) => ws.once('close', (code: number, reason: Buffer) => {
      this.#onClose(code, reason.toString());
      resolve();
    }));
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('error', (err: Error) => (this.#closeNote ||= `client error: ${printable(err.message, 80)}`));
    if (!this.#readOnly) this.#connect();
    else this.#graceTimer = setTimeout(() => this.#connect(), options.openGrace);
  }

  /** Closes the WebSocket with `code` and ends the daemon connection; resolves when the socket is gone. */
  shutdown(code: number, reason: string): Promise<void> {
    this.#closeNote ||= reason;
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) this.#ws.close(code, reason);
    const cut = setTimeout(() => this.#ws.terminate(), CLOSE_BOUND_MS);
    return this.#gone.finally(() => clearTimeout(cut));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#closed) return;
    if (!isBinary) return void this.shutdown(1003, 'binary messages only');
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    this.#bytesIn += bytes.length;
    try {
      this.#gate.push(bytes, this.#onFrame);
    } catch (e) {
      if (!(e instanceof GateRefusal)) throw e;
      this.#closeNote = `refused: ${e.refusal.code} ${e.refusal.reason}`;
      return void this.shutdown(e.refusal.code, e.refusal.reason);
    }
    if (this.#transport === null) {
      if (this.#pendingBytes > PRE_OPEN_LIMIT) this.#ws.pause();
      if (!this.#readOnly || this.#gate.opened || this.#pendingBytes > PRE_OPEN_LIMIT) this.#connect();
    }
  }

  /** One whole frame from the client: to the daemon, or kept until its connection is open. */
  readonly #onFrame = (frame: Uint8Array): void => {
    if (this.#transport === null) {
      this.#pending.push(frame);
      this.#pendingBytes += frame.length;
    } else this.#forward(frame);
  };

  /** Writes one frame (one write per frame: see ./ws-bridge-gate.ts); a full daemon socket pauses the client. */
  #forward(frame: Uint8Array): void {
    const transport = this.#transport!;
    if (transport.write(frame) || this.#waitingForDaemon) return;
    this.#waitingForDaemon = true;
    this.#ws.pause();
    transport.whenWritable().then(
      () => {
        this.#waitingForDaemon = false;
        if (!this.#closed) this.#ws.resume();
      },
      () => undefined,
    );
  }

  #connect(): void {
    if (this.#connecting || this.#closed) return;
    this.#connecting = true;
    clearTimeout(this.#graceTimer);
    this.#ws.pause();
    const o = this.#options;
    const open = o.openDaemon
      ? o.openDaemon(this.#abort.signal)
      : openTransport(o.connect, { ...o.transportOptions, timeout: o.openTimeout, signal: this.#abort.signal, readOnly: o.readOnly ?? false });
    open.then(
      (transport) => this.#attach(transport),
      (err: Error) => {
        if (this.#closed) return;
        this.#closeNote = `cannot reach the daemon: ${printable(err.message, 200)}`;
        void this.shutdown(BRIDGE_CLOSE.BAD_GATEWAY, 'the bridge cannot reach the daemon');
      },
    );
  }

  #attach(transport: Transport): void {
    if (this.#closed) return void transport.destroy();
    this.#transport = transport;
    this.#log(`${stamp()} #${this.#id} forwarding to ${transport.description}`);
    transport.attach({
      data: (chunk) => this.#toClient(chunk),
      closed: (err) => {
        this.#closeNote ||= err ? `daemon connection failed: ${printable(err.message, 200)}` : 'the daemon closed the connection';
        void this.shutdown(err ? 1011 : 1000, err ? 'the daemon connection failed' : '');
      },
    });
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const p of pending) this.#forward(p);
    if (!this.#waitingForDaemon) this.#ws.resume();
  }

  #toClient(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#bytesOut += chunk.length;
    // A copy: unix and TCP transports read into one reused buffer, and ws may queue what it is given.
    this.#ws.send(Buffer.from(chunk), { binary: true }, () => {
      if (this.#daemonPaused && this.#ws.bufferedAmount <= CLIENT_HIGH_WATER / 2) {
        this.#daemonPaused = false;
        this.#transport?.resume?.();
      }
    });
    if (!this.#daemonPaused && this.#ws.bufferedAmount > CLIENT_HIGH_WATER) {
      this.#daemonPaused = true;
      this.#transport?.pause?.();
    }
  }

  #onClose(code: number, reason: string): void {
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#abort.abort();
    const transport = this.#transport;
    if (transport !== null) {
      // The daemon sees an end of file and drops the connection's state, as when a client exits.
      transport.end();
      setTimeout(() => transport.destroy(), CLOSE_BOUND_MS).unref();
    }
    const secs = ((Date.now() - this.#t0) / 1000).toFixed(1);
    const why = this.#closeNote ? `: ${this.#closeNote}` : '';
    this.#log(`${stamp()} #${this.#id} closed ${code}${reason ? ` (${printable(reason, 80)})` : ''} after ${secs} s, ${this.#bytesIn} B in, ${this.#bytesOut} B out${why}`);
    this.#onGone();
  }
}

function checkRange(n: number, what: string, min: number, max: number): void {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${what} must be an integer from ${min} to ${max}, not ${String(n)}`);
}

function stamp(): string {
  return new Date().toISOString();
}

function peer(req: http.IncomingMessage): string {
  const s = req.socket;
  return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
}
