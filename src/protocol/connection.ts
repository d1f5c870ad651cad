/**
 * A libvirt connection over any transport, opened the way libvirt's remote driver opens one (doRemoteOpen in
 * src/remote/remote_driver.c): authenticate (AUTH_LIST, then the first offered type), ask whether the daemon
 * speaks keepalive (CONNECT_SUPPORTS_FEATURE), then CONNECT_OPEN with the URI's name and flags.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError, TransportError, UnsupportedProcedureError } from '../errors.js';
import { VIR_CONNECT_RO } from '../../generated/libvirt-headers.js';
import { authList as AUTH_LIST, connectClose, connectGetLibVersion, connectOpen, connectSupportsFeature, remote_program_id } from '../../generated/remote-procedures.js';
import { qemu_program_id } from '../../generated/qemu-procedures.js';
import { lxc_program_id } from '../../generated/lxc-procedures.js';
import type { LxcProcedures } from '../../generated/lxc-table.js';
import type { QemuProcedures } from '../../generated/qemu-table.js';
import type { RemoteProcedures } from '../../generated/remote-table.js';
import { authenticate, authName, needsAuth } from './auth.js';
import { answerPings, DEFAULT_KEEPALIVE, KeepaliveOptions, KeepaliveSender } from './keepalive.js';
import { debug } from './observe.js';
import type { CallOptions, ProcedureInfo } from './program.js';
import { CloseInfo, RpcClient } from './rpc-client.js';
import type { Transport } from './transport.js';

/** libvirt's internal feature number for "the peer speaks the keepalive program" (src/libvirt_internal.h). */
export const VIR_DRV_FEATURE_PROGRAM_KEEPALIVE = 10;
/** libvirt's internal feature number for server-side event callback ids (src/libvirt_internal.h). */
export const VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK = 14;

/** How to open a connection over a transport. */
export interface ConnectionOptions {
  /** The name sent in CONNECT_OPEN (e.g. `qemu:///session`); null lets the daemon choose (libvirt's default URI). */
  name: string | null;
  /** Open read-only (VIR_CONNECT_RO). */
  readOnly?: boolean;
  /** The auth type to use when the daemon offers several (`none`, `polkit`, `sasl`); default the first offered. */
  auth?: 'none' | 'polkit' | 'sasl';
  /** Keepalive PINGs (libvirt's defaults: 5 s, 5 PINGs), or false to only answer the daemon's. */
  keepalive?: KeepaliveOptions | false;
  /** Default per-call timeout in ms (0 = none). */
  callTimeout?: number;
  /** Bounds the whole open sequence. Default 30 s. */
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

/** An open libvirt connection: calls any procedure by its descriptor; typed access to every procedure with `raw`. */
export class RemoteConnection {
  readonly rpc: RpcClient;
  /** Whether the daemon speaks keepalive. */
  readonly keepaliveSupported: boolean;
  #libVersion: bigint | null = null;
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

  /** Opens a connection over `transport`. On failure the transport is destroyed. */
  static async open(transport: Transport, options: ConnectionOptions): Promise<RemoteConnection> {
    const rpc = new RpcClient(transport, [remote_program_id, qemu_program_id, lxc_program_id], { callTimeout: options.callTimeout });
    answerPings(rpc);
    const limit = options.timeout ?? 30000;
    // The bound and the caller's signal cut the open short by destroying the engine, which fails every call of
    // the open at once. (An AbortSignal per open, and a listener on it per call, cost more CPU than the rest of
    // the open sequence; a signal is made only for authentication, which may wait on more than calls.)
    let stopped: { reason: unknown } | null = null;
    let ctl: AbortController | null = null;
    const stop = (reason: unknown): void => {
      if (stopped) return;
      stopped = { reason };
      ctl?.abort(reason);
      rpc.destroy();
    };
    const signalled = (): CallOptions => {
      ctl ??= new AbortController();
      if (stopped) ctl.abort(stopped.reason);
      return { signal: ctl.signal };
    };
    const onOuterAbort = () => stop(options.signal!.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    if (options.signal?.aborted) stop(options.signal.reason);
    const timer = setTimeout(() => stop(new TimeoutError(`opening the connection took longer than ${limit} ms`)), limit);
    const id = rpc.id;
    debug(() => `connection ${id}: opening over ${transport.description} as ${options.name ?? '(the daemon\'s default URI)'}${options.readOnly ? ', read-only' : ''}`);
    const supportsFeature = () => rpc.call(connectSupportsFeature, { feature: VIR_DRV_FEATURE_PROGRAM_KEEPALIVE });
    const open = () => rpc.call(connectOpen, { name: options.name, flags: options.readOnly ? VIR_CONNECT_RO : 0 });
    try {
      // The frames go out in libvirt's order (AUTH_LIST, SUPPORTS_FEATURE, CONNECT_OPEN), but pipelined: with
      // no authentication to do (the common case) the open takes one round trip instead of three. When the
      // daemon does want authentication, the two early calls fail with "authentication required" and are
      // sent again once it is done.
      const authP = rpc.call(AUTH_LIST, undefined);
      const early = options.auth === undefined || options.auth === 'none' ? ([supportsFeature(), open()] as const) : null;
      early?.forEach((p) => p.catch(() => undefined));
      const offered = (await authP).types;
      debug(() => `connection ${id}: the daemon offers authentication ${offered.length ? offered.map(authName).join(', ') : '(none)'}`);
      let feature: { supported: number };
      if (early && !needsAuth(offered)) {
        feature = await early[0];
        await early[1];
      } else {
        if (early) await Promise.allSettled(early);
        await authenticate(rpc, offered, options, signalled());
        feature = await supportsFeature();
        await open();
      }
      const conn = new RemoteConnection(rpc, feature.supported !== 0);
      if (conn.keepaliveSupported && options.keepalive !== false) {
        conn.#keepalive = new KeepaliveSender(rpc, options.keepalive ?? DEFAULT_KEEPALIVE);
        conn.#keepalive.start();
      }
      debug(() => `connection ${id}: open (keepalive ${conn.keepaliveSupported ? 'supported' : 'not supported'} by the daemon)`);
      void rpc.closed.then((info) => debug(() => `connection ${id}: closed (${info.reason}${info.error ? `: ${info.error.message}` : ''})`));
      return conn;
    } catch (e) {
      rpc.destroy();
      debug(() => `connection ${id}: open failed: ${e instanceof Error ? e.message : String(e)}`);
      // A transport that failed with its own typed reason (an SSH remote command's stderr, a TLS refusal)
      // says more than "the connection closed".
      if (e instanceof ConnectionClosedError && e.cause instanceof TransportError) throw e.cause;
      const cut = stopped as { reason: unknown } | null;
      if (cut) {
        if (cut.reason instanceof TimeoutError) throw cut.reason;
        throw new AbortError('opening the connection was aborted', { cause: cut.reason });
      }
      throw e;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
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
    // The engine's own promise, with nothing chained to it: every call is on the hot path, and each extra
    // promise or async/await hop showed in CPU per call (npm run bench). Unknown procedures are explained
    // through rpc.explainUnsupported (set in the constructor).
    return this.rpc.call(proc, args, opts, map);
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

  /** Graceful close: waits for pending calls, sends CONNECT_CLOSE, ends the transport. */
  async close(opts: { timeout?: number } = {}): Promise<CloseInfo> {
    const timeout = opts.timeout ?? 30000;
    this.#keepalive?.stop();
    if (this.rpc.isOpen) {
      try {
        await this.rpc.drain(timeout);
        // The daemon closes its side once CONNECT_CLOSE is done, and a relay (virt-ssh-helper) may hang up
        // before the reply arrives: either way that end of file is the close we asked for.
        this.rpc.expectEnd();
        await this.rpc.call(connectClose, undefined, { timeout });
        // CONNECT_CLOSE is acknowledged and nothing else is in flight: release the socket now rather than wait
        // for the daemon's EOF, as libvirt's client does (virNetClientClose).
        return this.rpc.release();
      } catch {
        // The daemon may already be gone; closing goes on.
      }
    }
    return this.rpc.close(timeout);
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

