/**
 * A libvirt connection over any transport, opened the way libvirt's remote driver opens one (doRemoteOpen in
 * src/remote/remote_driver.c): authenticate (AUTH_LIST, then the first offered type), ask whether the daemon
 * speaks keepalive (CONNECT_SUPPORTS_FEATURE), then CONNECT_OPEN with the URI's name and flags.
 */
// `Symbol.asyncDispose` below: the published declarations name the lib that types it, so a consumer without
// @types/node (a browser build) compiles them without adding it by hand (TypeScript 5.2 or later).
/// <reference lib="esnext.disposable" preserve="true" />
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError, TransportError, UnsupportedProcedureError } from '../errors.js';
import { VIR_CONNECT_RO } from '../../generated/libvirt-headers.js';
import { authList as AUTH_LIST, connectClose, connectGetLibVersion, connectOpen, connectSupportsFeature, remote_program_id } from '../../generated/remote-procedures.js';
import { qemu_program_id } from '../../generated/qemu-procedures.js';
import { lxc_program_id } from '../../generated/lxc-procedures.js';
import type { LxcProcedures } from '../../generated/lxc-table.js';
import type { QemuProcedures } from '../../generated/qemu-table.js';
import type { RemoteProcedures } from '../../generated/remote-table.js';
import { authenticate, authName, needsAuth, startAuth } from './auth.js';
import { bounded } from './bounded.js';
import { timeoutOption } from './durations.js';
import { answerPings, checkKeepalive, DEFAULT_KEEPALIVE, KeepaliveOptions, KeepaliveSender } from './keepalive.js';
import { debug } from './observe.js';
import type { CallOptions, ProcedureInfo } from './program.js';
import { CloseInfo, DEFAULT_CLOSE_TIMEOUT_MS, RpcClient } from './rpc-client.js';
import type { Transport } from './transport.js';
import type { SaslConnectOptions } from './sasl/credentials.js';

/** libvirt's internal feature number for "the peer speaks the keepalive program" (src/libvirt_internal.h). */
export const VIR_DRV_FEATURE_PROGRAM_KEEPALIVE = 10;
/** libvirt's internal feature number for server-side event callback ids (src/libvirt_internal.h). */
export const VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK = 14;

/** How to open a connection over a transport. SASL credentials: see {@link SaslConnectOptions}. */
export interface ConnectionOptions extends SaslConnectOptions {
  /** The name sent in CONNECT_OPEN (e.g. `qemu:///session`); null lets the daemon choose (libvirt's default URI). */
  name: string | null;
  /** Open read-only (VIR_CONNECT_RO). */
  readOnly?: boolean;
  /**
   * The auth type to use, as the URI's `auth` parameter gives it: `sasl`, `sasl.MECHANISM` (e.g.
   * `sasl.SCRAM-SHA-256`), `polkit` or `none`; default the first the daemon offers.
   */
  auth?: string;
  /** Keepalive PINGs (libvirt's defaults: 5 s, 5 PINGs), or false to only answer the daemon's. */
  keepalive?: KeepaliveOptions | false;
  /** Default per-call timeout in ms: 1 to 2^31-1, or 0 for none (the default). */
  callTimeout?: number;
  /** Bounds the whole open sequence, in ms (1 to 2^31-1). Default 30 s. */
  timeout?: number;
  signal?: AbortSignal;
}

/** The typed procedure API of one program on one connection (`conn.remote`, `conn.qemu`, `conn.lxc`). */
export type TypedApiFactory = (conn: RemoteConnection, program: 'remote' | 'qemu' | 'lxc') => object;

let typedApiFactory: TypedApiFactory | null = null;

/**
 * Installs the typed procedure API (`conn.remote.*`, `conn.qemu.*`, `conn.lxc.*`). The module that holds every
 * procedure table (`libvirt-rpc/raw`, which the Node entry imports) installs it; a browser bundle that never
 * imports it carries no table.
 */
export function installTypedApi(factory: TypedApiFactory): void {
  typedApiFactory = factory;
}

/**
 * Where calls made on a closed connection go instead of failing (see {@link RemoteConnection.setCallRedirect}).
 */
export type CallRedirect = <A, R>(proc: ProcedureInfo<A, R, unknown>, args: A, opts?: CallOptions) => Promise<R>;

/** An open libvirt connection: calls any procedure by its descriptor; typed access to every procedure with `raw`. */
export class RemoteConnection {
  readonly rpc: RpcClient;
  /** Whether the daemon speaks keepalive. */
  readonly keepaliveSupported: boolean;
  #libVersion: bigint | null = null;
  #redirect: CallRedirect | null = null;
  #keepalive: KeepaliveSender | null = null;
  #apis: Partial<Record<'remote' | 'qemu' | 'lxc', object>> = {};

  private constructor(rpc: RpcClient, keepaliveSupported: boolean) {
    this.rpc = rpc;
    this.keepaliveSupported = keepaliveSupported;
    rpc.explainUnsupported = (e) => this.#explain(e);
  }

  /** Every REMOTE procedure as a typed method, e.g. `remote.domainSnapshotListAllSnapshots({ dom, need_results, flags })`. */
  get remote(): RemoteProcedures {
    return this.#api('remote') as RemoteProcedures;
  }

  /** Every QEMU procedure (monitor commands, QEMU events). */
  get qemu(): QemuProcedures {
    return this.#api('qemu') as QemuProcedures;
  }

  /** Every LXC procedure. */
  get lxc(): LxcProcedures {
    return this.#api('lxc') as LxcProcedures;
  }

  #api(program: 'remote' | 'qemu' | 'lxc'): object {
    const have = this.#apis[program];
    if (have) return have;
    if (typedApiFactory === null) {
      throw new InvalidArgumentError(
        `the typed procedure API (conn.raw.${program}) holds every procedure table: import 'libvirt-rpc/raw' once (the Node entry does), or call single procedures with conn.raw.call(descriptor, args)`,
      );
    }
    return (this.#apis[program] = typedApiFactory(this, program));
  }

  /**
   * Opens a connection over `transport`. On failure the transport is destroyed. Bad options (a timeout out of
   * range, bad keepalive settings) are refused with InvalidArgumentError before anything is sent.
   */
  static async open(transport: Transport, options: ConnectionOptions): Promise<RemoteConnection> {
    let rpc: RpcClient;
    let limit: number;
    try {
      limit = timeoutOption(options.timeout, 30000);
      if (options.keepalive) checkKeepalive(options.keepalive);
      rpc = new RpcClient(transport, [remote_program_id, qemu_program_id, lxc_program_id], { callTimeout: options.callTimeout });
    } catch (e) {
      transport.destroy();
      throw e;
    }
    answerPings(rpc);
    const id = rpc.id;
    debug(() => `connection ${id}: opening over ${transport.description} as ${options.name ?? '(the daemon\'s default URI)'}${options.readOnly ? ', read-only' : ''}`);
    // The bound and the caller's signal cut the open short by destroying the engine, which fails every call of
    // the open at once: the calls themselves carry no signal (an AbortSignal per open, and a listener on it per
    // call, cost more CPU than the rest of the open sequence). A signal that fires when the open fails is made
    // only for authentication, which may wait on more than calls (a credentials callback, auth.conf).
    let failed: Error | null = null;
    let ctl: AbortController | null = null;
    const authSignal = (): CallOptions => {
      ctl ??= new AbortController();
      if (failed !== null) ctl.abort(failed);
      return { signal: ctl.signal };
    };
    try {
      const conn = await bounded<RemoteConnection>({
        timeout: limit,
        signal: options.signal,
        onTimeout: () => new TimeoutError(`opening the connection took longer than ${limit} ms`),
        onAbort: (reason) => new AbortError('opening the connection was aborted', { cause: reason }),
      }, (settle) => {
        settle.finally((err) => {
          if (err === null) return;
          failed = err;
          ctl?.abort(err);
          rpc.destroy();
        });
        return RemoteConnection.#openSteps(rpc, transport, options, authSignal);
      });
      if (conn.keepaliveSupported && options.keepalive !== false) {
        conn.#keepalive = new KeepaliveSender(rpc, options.keepalive ?? DEFAULT_KEEPALIVE);
        conn.#keepalive.start();
      }
      debug(() => `connection ${id}: open (keepalive ${conn.keepaliveSupported ? 'supported' : 'not supported'} by the daemon)`);
      void rpc.closed.then((info) => debug(() => `connection ${id}: closed (${info.reason}${info.error ? `: ${info.error.message}` : ''})`));
      return conn;
    } catch (e) {
      debug(() => `connection ${id}: open failed: ${e instanceof Error ? e.message : String(e)}`);
      // A transport that failed with its own typed reason (an SSH remote command's stderr, a TLS refusal)
      // says more than "the connection closed".
      if (e instanceof ConnectionClosedError && e.cause instanceof TransportError) throw e.cause;
      throw e;
    }
  }

  /**
   * The open sequence's calls: authentication, the keepalive feature check, CONNECT_OPEN. `authSignal` gives
   * the options for authentication's waits (a signal that fires when the open fails).
   */
  static async #openSteps(rpc: RpcClient, transport: Transport, options: ConnectionOptions, authSignal: () => CallOptions): Promise<RemoteConnection> {
    const id = rpc.id;
    const supportsFeature = () => rpc.call(connectSupportsFeature, { feature: VIR_DRV_FEATURE_PROGRAM_KEEPALIVE });
    const open = () => rpc.call(connectOpen, { name: options.name, flags: options.readOnly ? VIR_CONNECT_RO : 0 });
    // The frames go out in libvirt's order (AUTH_LIST, SUPPORTS_FEATURE, CONNECT_OPEN), but pipelined: with
    // no authentication to do (the common case) the open takes one round trip instead of three. When the
    // daemon does want authentication, the two early calls fail with "authentication required" and are
    // sent again once it is done.
    const authP = rpc.call(AUTH_LIST, undefined);
    const early = options.auth === undefined || options.auth === 'none' ? ([supportsFeature(), open()] as const) : null;
    early?.forEach((p) => p.catch(() => undefined));
    const ahead = early ? {} : startAuth(rpc, options, authSignal()); // auth=sasl...: SASL_INIT right behind
    const offered = (await authP).types;
    debug(() => `connection ${id}: the daemon offers authentication ${offered.length ? offered.map(authName).join(', ') : '(none)'}`);
    let feature: { supported: number };
    if (early && !needsAuth(offered)) {
      feature = await early[0];
      await early[1];
    } else {
      if (early) await Promise.allSettled(early);
      await authenticate(rpc, offered, options, authSignal(), transport, ahead);
      // Both go out together, as on the no-authentication path.
      [feature] = await Promise.all([supportsFeature(), open()]);
    }
    return new RemoteConnection(rpc, feature.supported !== 0);
  }

  /**
   * Calls one procedure by its generated descriptor, e.g.
   * `call(remoteProcedures.domainLookupByName, { name: 'vm1' })`. An unknown-procedure error names the daemon's
   * libvirt version.
   */
  call<A, R>(proc: ProcedureInfo<A, R, unknown>, args: A, opts?: CallOptions): Promise<R>;
  /** The same, resolving with `map(reply)` (see RpcClient.call: the object layer's results without an extra hop). */
  call<A, R, T>(proc: ProcedureInfo<A, R, unknown>, args: A, opts: CallOptions | undefined, map: (reply: R) => T): Promise<T>;
  call<A, R, T>(proc: ProcedureInfo<A, R, unknown>, args: A, opts?: CallOptions, map?: (reply: R) => T): Promise<T | R> {
    if (this.#redirect !== null && !this.rpc.isOpen) {
      const redirected = this.#redirect(proc, args, opts);
      return map === undefined ? redirected : redirected.then(map);
    }
    // The engine's own promise, with nothing chained to it: every call is on the hot path, and each extra
    // promise or async/await hop showed in CPU per call (npm run bench). Unknown procedures are explained
    // through rpc.explainUnsupported (set in the constructor).
    return this.rpc.call(proc, args, opts, map);
  }

  /**
   * Sends calls made after this connection closed to `redirect` instead of failing them (a `Connect` that
   * reconnects sets it: they wait for the new connection, or fail fast). Null restores failing.
   */
  setCallRedirect(redirect: CallRedirect | null): void {
    this.#redirect = redirect;
  }

  async #explain(e: UnsupportedProcedureError): Promise<never> {
    if (e.daemonVersion !== null) throw e;
    const v = await this.libVersion().catch(() => null);
    throw new UnsupportedProcedureError(e.remote, e.procedure, v === null ? null : formatVersion(v));
  }

  /** The daemon's libvirt version (CONNECT_GET_LIB_VERSION), cached. */
  async libVersion(opts?: CallOptions): Promise<bigint> {
    if (this.#libVersion === null) this.#libVersion = (await this.rpc.call(connectGetLibVersion, undefined, opts)).lib_ver;
    return this.#libVersion;
  }

  /** Resolves when the connection has closed, with the reason. */
  get closed(): Promise<CloseInfo> {
    return this.rpc.closed;
  }

  get isOpen(): boolean {
    return this.rpc.isOpen;
  }

  /**
   * Graceful close, bounded as a whole by `timeout` ms (default 30 s): pending calls finish, CONNECT_CLOSE is
   * sent and answered, the transport is released. What does not happen within the bound is cut short: the
   * transport is destroyed and the result is `destroyed` with a TimeoutError. A bad timeout is refused with
   * InvalidArgumentError and the connection stays open.
   */
  async close(opts: { timeout?: number } = {}): Promise<CloseInfo> {
    const timeout = timeoutOption(opts.timeout, DEFAULT_CLOSE_TIMEOUT_MS);
    const deadline = Date.now() + timeout;
    this.#keepalive?.stop();
    if (this.rpc.isOpen) {
      try {
        await this.rpc.drain(timeout);
        const left = deadline - Date.now();
        // A call still pending used the whole bound: no goodbye behind its back, the close below cuts it short.
        if (this.rpc.pendingCalls === 0 && left >= 1) {
          // The daemon closes its side once CONNECT_CLOSE is done, and a relay (virt-ssh-helper) may hang up
          // before the reply arrives: either way that end of file is the close we asked for.
          this.rpc.expectEnd();
          await this.rpc.call(connectClose, undefined, { timeout: left });
          // CONNECT_CLOSE is acknowledged and nothing else is in flight: release the socket now rather than
          // wait for the daemon's EOF, as libvirt's client does (virNetClientClose).
          return this.rpc.release();
        }
      } catch {
        // The daemon may already be gone, or did not answer in time; closing goes on within what is left.
      }
    }
    return this.rpc.close(timeout, deadline);
  }

  /** Closes now; pending calls reject. */
  destroy(err?: Error): void {
    this.#keepalive?.stop();
    this.rpc.destroy(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** `9000000n` -> `9.0.0` (libvirt encodes major * 1,000,000 + minor * 1,000 + micro). */
export function formatVersion(v: bigint | number): string {
  const n = Number(v);
  return `${Math.floor(n / 1e6)}.${Math.floor((n % 1e6) / 1e3)}.${n % 1e3}`;
}

