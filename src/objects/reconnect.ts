/**
 * The life of a `Connect` across connections: why it closed, and (with a reconnect policy) opening it again the
 * way it was first opened, with exponential backoff. Parts that outlive one connection (the event hub) listen
 * here to move their routes and registrations to the new connection.
 *
 * libvirt's own client never reconnects (a closed virConnect stays closed, and the application opens a new one
 * from its close callback); this does what such an application would do, and tells event consumers with a gap
 * marker that events may have been missed in between.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError, brandError } from '../errors.js';
import type { CallRedirect, RemoteConnection } from '../protocol/connection.js';
import { checkTimeout, sleep } from '../protocol/durations.js';
import { KeepaliveTimeoutError } from '../protocol/keepalive.js';
import { debug } from '../protocol/observe.js';
import type { CallOptions, ProcedureInfo } from '../protocol/program.js';
import type { CloseInfo } from '../protocol/rpc-client.js';

/** The daemon's virConnectCloseReason names (REMOTE_PROC_CONNECT_EVENT_CONNECTION_CLOSED). */
export const DAEMON_CLOSE_REASONS = ['error', 'eof', 'keepalive', 'client'] as const;
/** Why the daemon said its side of the connection closed. */
export type DaemonCloseReason = (typeof DAEMON_CLOSE_REASONS)[number] | 'unknown';

/**
 * The daemon reported that its connection to the hypervisor driver closed (CONNECT_EVENT_CONNECTION_CLOSED,
 * sent by libvirtd's remoteRelayConnectionClosedEvent): nothing more can be done on this connection.
 */
export class DaemonClosedError extends ConnectionClosedError {
  static {
    brandError(this, 'DaemonClosedError');
  }

  override readonly code: string = 'ERR_DAEMON_CLOSED';
  /** The daemon's reason. */
  readonly daemonReason: DaemonCloseReason;

  constructor(reason: number) {
    const name = DAEMON_CLOSE_REASONS[reason] ?? 'unknown';
    super(`the daemon closed its connection to the hypervisor driver (reason: ${name})`);
    this.daemonReason = name;
  }
}

/** A call was made while the connection is being reopened, and the policy says to fail fast. */
export class ReconnectingError extends ConnectionClosedError {
  static {
    brandError(this, 'ReconnectingError');
  }

  override readonly code: string = 'ERR_RECONNECTING';
}

/** The reconnect policy gave up (attempts exhausted or its signal aborted); `cause` is the last attempt's error. */
export class ReconnectFailedError extends ConnectionClosedError {
  static {
    brandError(this, 'ReconnectFailedError');
  }

  override readonly code: string = 'ERR_RECONNECT_FAILED';
  /** Attempts made. */
  readonly attempts: number;

  constructor(message: string, attempts: number, cause?: unknown) {
    super(message, { cause });
    this.attempts = attempts;
  }
}

/** Why a `Connect` closed for good (`conn.closed`). */
export interface ConnectCloseInfo {
  /**
   * `closed` after close(), `destroyed` after destroy(), `eof` when the daemon hung up, `keepalive` when it
   * stopped answering keepalive PINGs, `daemon` when it reported CONNECT_EVENT_CONNECTION_CLOSED, `error` on
   * any other failure. With a reconnect policy, the reason of the last disconnection before it gave up.
   */
  reason: 'closed' | 'destroyed' | 'eof' | 'keepalive' | 'error' | 'daemon';
  error?: Error;
  /** With reason `daemon`: the daemon's virConnectCloseReason. */
  daemonReason?: DaemonCloseReason;
}

/** Reopening a closed connection: exponential backoff with a cap, a signal to stop. */
export interface ReconnectPolicy {
  /** Milliseconds before the first attempt (default 250). */
  initialDelay?: number;
  /** Cap on the delay between attempts in ms (default 30000). */
  maxDelay?: number;
  /** Growth of the delay after each failed attempt (default 2, between 1 and 16). */
  factor?: number;
  /** Attempts before giving up (default 0: until the signal aborts or close() is called). */
  maxAttempts?: number;
  /** Stops reconnecting (an attempt in flight is abandoned); the connection is then closed for good. */
  signal?: AbortSignal;
  /**
   * Calls made while reconnecting: `wait` (default) for the new connection, bounded by their own timeout (or
   * the connection's callTimeout), or `fail` at once with ReconnectingError. Calls in flight when the
   * connection dropped always fail with ConnectionClosedError: the daemon may or may not have done them.
   */
  calls?: 'wait' | 'fail';
  /** Called (outside the read path) when the connection drops and reconnecting starts. */
  onDisconnect?: (info: ConnectCloseInfo) => void;
  /** Called when a new connection is up (subscriptions are being registered on it). */
  onReconnect?: (info: { attempts: number; downtimeMs: number }) => void;
}

interface Policy {
  initialDelay: number;
  maxDelay: number;
  factor: number;
  maxAttempts: number;
  signal?: AbortSignal;
  calls: 'wait' | 'fail';
  onDisconnect?: ReconnectPolicy['onDisconnect'];
  onReconnect?: ReconnectPolicy['onReconnect'];
}

/** Checks a policy once; throws InvalidArgumentError naming the bad field. */
export function checkReconnectPolicy(p: ReconnectPolicy): Policy {
  if (typeof p !== 'object' || p === null) throw new InvalidArgumentError('reconnect must be an object (a reconnect policy)');
  const initialDelay = checkTimeout(p.initialDelay ?? 250, 'reconnect.initialDelay');
  const maxDelay = checkTimeout(p.maxDelay ?? 30_000, 'reconnect.maxDelay');
  if (maxDelay < initialDelay) throw new InvalidArgumentError(`reconnect.maxDelay (${maxDelay}) is below reconnect.initialDelay (${initialDelay})`);
  const factor = p.factor ?? 2;
  if (typeof factor !== 'number' || !(factor >= 1 && factor <= 16)) throw new InvalidArgumentError(`reconnect.factor must be a number between 1 and 16, not ${String(factor)}`);
  const maxAttempts = p.maxAttempts ?? 0;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 0) throw new InvalidArgumentError(`reconnect.maxAttempts must be a non-negative integer, not ${String(maxAttempts)}`);
  if (p.calls !== undefined && p.calls !== 'wait' && p.calls !== 'fail') throw new InvalidArgumentError(`reconnect.calls must be 'wait' or 'fail', not ${String(p.calls)}`);
  return { initialDelay, maxDelay, factor, maxAttempts, signal: p.signal, calls: p.calls ?? 'wait', onDisconnect: p.onDisconnect, onReconnect: p.onReconnect };
}

/** Opens the connection again, the way it was opened first (URI opener or transport factory). */
export type Reopener = (signal: AbortSignal) => Promise<RemoteConnection>;

/** Parts that outlive one connection (the event hub) hear about each connection here. */
export interface ConnectionListener {
  /** A connection is up: the first one (`reconnected` false, when the listener is added) or a new one. */
  attached?(raw: RemoteConnection, reconnected: boolean): void;
  /** The connection went down; `final` when no other will follow. */
  detached?(info: ConnectCloseInfo, final: boolean): void;
}

/** What a `Connect` hands to the parts that live across its connections. */
export interface ConnectionLife {
  /** The open connection, or null while reconnecting and once closed. */
  readonly current: RemoteConnection | null;
  /** Why the connection closed for good, once it has. */
  readonly finalInfo: ConnectCloseInfo | null;
  /** Adds a listener; if a connection is up, `attached(raw, false)` is called at once. Returns its removal. */
  listen(listener: ConnectionListener): () => void;
  /** The daemon reported CONNECT_EVENT_CONNECTION_CLOSED on `raw`: that connection is over. */
  daemonClosed(raw: RemoteConnection, reason: number): void;
}

/** Maps the engine's close info to a Connect's. */
export function connectCloseInfo(info: CloseInfo): ConnectCloseInfo {
  const e = info.error;
  if (e instanceof DaemonClosedError) return { reason: 'daemon', error: e, daemonReason: e.daemonReason };
  if (e instanceof KeepaliveTimeoutError) return { reason: 'keepalive', error: e };
  return info.error === undefined ? { reason: info.reason } : { reason: info.reason, error: info.error };
}

interface Waiter {
  resolve(): void;
  reject(e: Error): void;
}

/** Keeps a Connect's connection: watches it, reconnects by policy, and holds calls made in between. */
export class ConnectionKeeper implements ConnectionLife {
  #raw: RemoteConnection;
  readonly #reopen: Reopener | null;
  readonly #policy: Policy | null;
  readonly #callTimeout: number;
  #state: 'open' | 'reconnecting' | 'closed' = 'open';
  #closing = false;
  readonly #listeners = new Set<ConnectionListener>();
  readonly #waiters = new Set<Waiter>();
  #resolveFinal!: (info: ConnectCloseInfo) => void;
  #finalInfo: ConnectCloseInfo | null = null;
  #loopAbort: AbortController | null = null;
  /** Resolves once, when the connection is closed for good. */
  readonly closed: Promise<ConnectCloseInfo>;

  constructor(raw: RemoteConnection, reopen: Reopener | null, policy: ReconnectPolicy | undefined, callTimeout = 0) {
    this.#policy = policy === undefined ? null : checkReconnectPolicy(policy);
    if (this.#policy !== null && reopen === null) {
      throw new InvalidArgumentError('a reconnect policy needs a way to open the connection again: Connect.open(uri) or Connect.openWith(() => transport)');
    }
    this.#reopen = reopen;
    this.#callTimeout = callTimeout;
    this.#raw = raw;
    this.closed = new Promise((r) => (this.#resolveFinal = r));
    this.#watch(raw);
  }

  /** The connection calls go to: the open one, or the last one while reconnecting. */
  get raw(): RemoteConnection {
    return this.#raw;
  }

  get current(): RemoteConnection | null {
    return this.#state === 'open' ? this.#raw : null;
  }

  get finalInfo(): ConnectCloseInfo | null {
    return this.#finalInfo;
  }

  /** `open`, `reconnecting` or `closed`. */
  get state(): 'open' | 'reconnecting' | 'closed' {
    return this.#state;
  }

  listen(listener: ConnectionListener): () => void {
    this.#listeners.add(listener);
    if (this.#state === 'open') listener.attached?.(this.#raw, false);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Resolves when a connection is open (at once if one is); rejects with ConnectionClosedError once closed for
   * good, TimeoutError after `timeout` ms (0: none), AbortError when `signal` aborts.
   */
  whenOpen(timeout: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#state === 'open') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(new ConnectionClosedError(`the connection is closed (${this.#finalInfo?.reason ?? 'closed'})`, { cause: this.#finalInfo?.error }));
    return this.#whenOpen('waiting for the connection', timeout, signal);
  }

  daemonClosed(raw: RemoteConnection, reason: number): void {
    if (raw !== this.#raw) return;
    debug(() => `connection ${raw.rpc.id}: the daemon reported CONNECTION_CLOSED (reason ${reason})`);
    raw.destroy(new DaemonClosedError(reason));
  }

  /** Graceful close: no more reconnecting; the open connection (if any) closes gracefully. */
  async close(opts: { timeout?: number } = {}): Promise<void> {
    this.#closing = true;
    this.#loopAbort?.abort();
    if (this.#state === 'open') await this.#raw.close(opts);
    this.#finish({ reason: 'closed' });
  }

  /** Closes now. */
  destroy(err?: Error): void {
    this.#closing = true;
    this.#loopAbort?.abort();
    this.#raw.destroy(err);
    this.#finish(err ? { reason: 'error', error: err } : { reason: 'destroyed' });
  }

  #watch(raw: RemoteConnection): void {
    if (this.#policy !== null) raw.setCallRedirect(this.#redirect);
    void raw.closed.then((info) => this.#onClosed(raw, connectCloseInfo(info)));
  }

  #onClosed(raw: RemoteConnection, info: ConnectCloseInfo): void {
    if (raw !== this.#raw || this.#state !== 'open') return;
    const policy = this.#policy;
    if (this.#closing || policy === null || info.reason === 'closed' || info.reason === 'destroyed' || policy.signal?.aborted) {
      this.#finish(info);
      return;
    }
    this.#state = 'reconnecting';
    debug(() => `connection ${raw.rpc.id}: lost (${info.reason}); reconnecting`);
    for (const l of [...this.#listeners]) l.detached?.(info, false);
    if (policy.onDisconnect) queueMicrotask(() => policy.onDisconnect!(info));
    void this.#reconnect(policy, info);
  }

  async #reconnect(policy: Policy, lost: ConnectCloseInfo): Promise<void> {
    const ctl = new AbortController();
    this.#loopAbort = ctl;
    const onPolicyAbort = () => ctl.abort(policy.signal!.reason);
    policy.signal?.addEventListener('abort', onPolicyAbort, { once: true });
    const t0 = Date.now();
    let delay = policy.initialDelay;
    let attempts = 0;
    let lastError: unknown = lost.error;
    try {
      while (policy.maxAttempts === 0 || attempts < policy.maxAttempts) {
        await sleep(delay, ctl.signal);
        attempts++;
        try {
          const raw = await this.#reopen!(ctl.signal);
          if (ctl.signal.aborted) {
            raw.destroy();
            break;
          }
          this.#raw = raw;
          this.#state = 'open';
          this.#watch(raw);
          debug(() => `connection ${raw.rpc.id}: reconnected after ${attempts} attempt(s), ${Date.now() - t0} ms`);
          for (const l of [...this.#listeners]) l.attached?.(raw, true);
          for (const w of [...this.#waiters]) w.resolve();
          if (policy.onReconnect) queueMicrotask(() => policy.onReconnect!({ attempts, downtimeMs: Date.now() - t0 }));
          return;
        } catch (e) {
          lastError = e;
          if (ctl.signal.aborted) break;
          debug(() => `reconnect attempt ${attempts} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
        delay = Math.min(policy.maxDelay, Math.round(delay * policy.factor));
      }
    } catch {
      // the sleep was aborted: the policy's signal, or close()/destroy()
    } finally {
      policy.signal?.removeEventListener('abort', onPolicyAbort);
      if (this.#loopAbort === ctl) this.#loopAbort = null;
    }
    if (this.#closing) return; // close()/destroy() finish with their own reason
    const why = ctl.signal.aborted ? 'its signal aborted' : `${attempts} attempt(s) failed`;
    const err = new ReconnectFailedError(`the connection was lost (${lost.reason}) and reconnecting stopped: ${why}`, attempts, lastError);
    this.#finish({ ...lost, error: err });
  }

  #finish(info: ConnectCloseInfo): void {
    if (this.#finalInfo !== null) return;
    this.#finalInfo = info;
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#raw.setCallRedirect(null);
    for (const l of [...this.#listeners]) l.detached?.(info, true);
    const err = new ConnectionClosedError(`the connection is closed (${info.reason})`, { cause: info.error });
    for (const w of [...this.#waiters]) w.reject(err);
    if (!wasOpen) debug(() => `connection closed for good (${info.reason})`);
    this.#resolveFinal(info);
  }

  /** Calls made on a closed connection while a policy is in force. */
  readonly #redirect: CallRedirect = <A, R>(proc: ProcedureInfo<A, R, unknown>, args: A, opts?: CallOptions): Promise<R> => {
    if (this.#state === 'open' && this.#raw.rpc.isOpen) return this.#raw.call(proc, args, opts);
    if (this.#state === 'closed') return Promise.reject(new ConnectionClosedError(`cannot call ${proc.name}: the connection is closed`));
    if (this.#policy!.calls === 'fail') return Promise.reject(new ReconnectingError(`cannot call ${proc.name}: the connection is being reopened`));
    const timeout = opts?.timeout ?? this.#callTimeout;
    const start = Date.now();
    return this.#whenOpen(proc.name, timeout, opts?.signal).then(() => {
      const left = timeout > 0 ? Math.max(1, timeout - (Date.now() - start)) : timeout;
      return this.#raw.call(proc, args, { ...opts, timeout: left });
    });
  };

  #whenOpen(what: string, timeout: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AbortError(`${what} was aborted`, { cause: signal.reason }));
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        this.#waiters.delete(w);
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const w: Waiter = {
        resolve: () => (done(), resolve()),
        reject: (e) => (done(), reject(e)),
      };
      const onAbort = () => w.reject(new AbortError(`${what} was aborted while the connection was being reopened`, { cause: signal!.reason }));
      if (timeout > 0) timer = setTimeout(() => w.reject(new TimeoutError(`${what} did not complete within ${timeout} ms: the connection was being reopened`)), timeout);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(w);
    });
  }
}

