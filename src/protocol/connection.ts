/**
 * A libvirt connection over any transport, opened the way libvirt's remote driver opens one (doRemoteOpen in
 * src/remote/remote_driver.c): authenticate (AUTH_LIST, then the first offered type), ask whether the daemon
 * speaks keepalive (CONNECT_SUPPORTS_FEATURE), then CONNECT_OPEN with the URI's name and flags.
 */
import { AbortError, AuthError, ConnectionClosedError, TimeoutError, TransportError, UnsupportedProcedureError } from '../errors';
import { headers, lxc, qemu, remote } from '../../generated';
import { answerPings, DEFAULT_KEEPALIVE, KeepaliveOptions, KeepaliveSender } from './keepalive';
import type { CallOptions, ProcedureInfo, ProgramInfo } from './program';
import { CloseInfo, RpcClient, RpcMessage } from './rpc-client';
import type { Transport } from './transport';

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

type Api<P> = P;

type CallFn = (prog: ProgramInfo, proc: ProcedureInfo, args: unknown, opts?: CallOptions) => Promise<unknown>;
const CALL = Symbol('call');
/** One prototype per program, holding a method per callable procedure; connections only add their call function. */
const API_PROTOTYPES = new WeakMap<ProgramInfo, object>();

function apiPrototype(program: ProgramInfo): object {
  let proto = API_PROTOTYPES.get(program);
  if (proto) return proto;
  const methods: Record<string, unknown> = {};
  for (const p of program.procedures) {
    if (p.message) continue;
    methods[p.method] = p.args
      ? function (this: { [CALL]: CallFn }, args: unknown, opts?: CallOptions) {
          return this[CALL](program, p, args, opts);
        }
      : function (this: { [CALL]: CallFn }, opts?: CallOptions) {
          return this[CALL](program, p, undefined, opts);
        };
  }
  proto = Object.freeze(methods);
  API_PROTOTYPES.set(program, proto);
  return proto;
}

/**
 * A typed API object for a procedure table: one method per callable procedure. The methods live on a prototype
 * built once per program, so opening a connection does not build hundreds of closures.
 */
export function procedureApi<P>(call: CallFn, program: ProgramInfo): Api<P> {
  return Object.freeze(Object.create(apiPrototype(program), { [CALL]: { value: call } })) as Api<P>;
}

const AUTH = remote.remote_auth_type;
const AUTH_NAMES: Record<number, string> = { [AUTH.REMOTE_AUTH_NONE]: 'none', [AUTH.REMOTE_AUTH_SASL]: 'sasl', [AUTH.REMOTE_AUTH_POLKIT]: 'polkit' };

/** An open libvirt connection: typed access to every procedure of the REMOTE, QEMU and LXC programs. */
export class RemoteConnection {
  readonly rpc: RpcClient;
  /** Every REMOTE procedure as a typed method, e.g. `remote.domainSnapshotListAllSnapshots({ dom, need_results, flags })`. */
  readonly remote: remote.RemoteProcedures;
  /** Every QEMU procedure (monitor commands, QEMU events). */
  readonly qemu: qemu.QemuProcedures;
  /** Every LXC procedure. */
  readonly lxc: lxc.LxcProcedures;
  /** Whether the daemon speaks keepalive. */
  readonly keepaliveSupported: boolean;
  #libVersion: bigint | null = null;
  #keepalive: KeepaliveSender | null = null;

  private constructor(rpc: RpcClient, keepaliveSupported: boolean) {
    this.rpc = rpc;
    this.keepaliveSupported = keepaliveSupported;
    const call = (prog: ProgramInfo, proc: ProcedureInfo, args: unknown, opts?: CallOptions) => this.call(prog, proc, args, opts);
    this.remote = procedureApi<remote.RemoteProcedures>(call, remote.remote_program);
    this.qemu = procedureApi<qemu.QemuProcedures>(call, qemu.qemu_program);
    this.lxc = procedureApi<lxc.LxcProcedures>(call, lxc.lxc_program);
  }

  /** Opens a connection over `transport`. On failure the transport is destroyed. */
  static async open(transport: Transport, options: ConnectionOptions): Promise<RemoteConnection> {
    const rpc = new RpcClient(transport, [remote.remote_program, qemu.qemu_program, lxc.lxc_program], { callTimeout: options.callTimeout });
    answerPings(rpc);
    const limit = options.timeout ?? 30000;
    const ctl = new AbortController();
    const onOuterAbort = () => ctl.abort(options.signal!.reason);
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = setTimeout(() => ctl.abort(new TimeoutError(`opening the connection took longer than ${limit} ms`)), limit);
    const opts: CallOptions = { signal: ctl.signal };
    const P = remote.remote_procedures;
    const byName = (n: string) => P.find((p) => p.name === n)!;
    const supportsFeature = () =>
      rpc.call<remote.remote_connect_supports_feature_ret>(remote.remote_program, byName('REMOTE_PROC_CONNECT_SUPPORTS_FEATURE'), { feature: VIR_DRV_FEATURE_PROGRAM_KEEPALIVE }, opts);
    const connectOpen = () =>
      rpc.call(remote.remote_program, byName('REMOTE_PROC_CONNECT_OPEN'), { name: options.name, flags: options.readOnly ? headers.VIR_CONNECT_RO : 0 }, opts);
    try {
      // The frames go out in libvirt's order (AUTH_LIST, SUPPORTS_FEATURE, CONNECT_OPEN), but pipelined: with
      // no authentication to do (the common case) the open takes one round trip instead of three. When the
      // daemon does want authentication, the two early calls fail with "authentication required" and are
      // sent again once it is done.
      const authP = rpc.call<remote.remote_auth_list_ret>(remote.remote_program, byName('REMOTE_PROC_AUTH_LIST'), undefined, opts);
      const early = options.auth === undefined || options.auth === 'none' ? [supportsFeature(), connectOpen()] as const : null;
      early?.forEach((p) => p.catch(() => undefined));
      const authList = (await authP).types;
      let feature: remote.remote_connect_supports_feature_ret;
      if (early && !needsAuth(authList)) {
        feature = await early[0];
        await early[1];
      } else {
        if (early) await Promise.allSettled(early);
        await authenticate(rpc, authList, options.auth, opts);
        feature = await supportsFeature();
        await connectOpen();
      }
      const conn = new RemoteConnection(rpc, feature.supported !== 0);
      if (conn.keepaliveSupported && options.keepalive !== false) {
        conn.#keepalive = new KeepaliveSender(rpc, options.keepalive ?? DEFAULT_KEEPALIVE);
        conn.#keepalive.start();
      }
      return conn;
    } catch (e) {
      rpc.destroy();
      // A transport that failed with its own typed reason (an SSH remote command's stderr, a TLS refusal)
      // says more than "the connection closed".
      if (e instanceof ConnectionClosedError && e.cause instanceof TransportError) throw e.cause;
      if (ctl.signal.aborted) {
        const reason: unknown = ctl.signal.reason;
        if (reason instanceof TimeoutError) throw reason;
        throw new AbortError('opening the connection was aborted', { cause: reason });
      }
      throw e;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
  }

  /** Calls any procedure; an unknown-procedure error names the daemon's libvirt version. */
  call<R = unknown>(prog: ProgramInfo, proc: ProcedureInfo, args: unknown, opts?: CallOptions): Promise<R> {
    // A plain promise chain, not an async function: every call is on the hot path, and the extra microtask
    // hops of async/await showed in sequential latency (bench:rpc).
    return this.rpc.call<R>(prog, proc, args, opts).catch((e: unknown) => this.#explain(e));
  }

  async #explain(e: unknown): Promise<never> {
    if (e instanceof UnsupportedProcedureError && e.daemonVersion === null) {
      const v = await this.libVersion().catch(() => null);
      throw new UnsupportedProcedureError(e.remote, e.procedure, v === null ? null : formatVersion(v));
    }
    throw e;
  }

  /** The daemon's libvirt version (CONNECT_GET_LIB_VERSION), cached. */
  async libVersion(opts?: CallOptions): Promise<bigint> {
    if (this.#libVersion === null) this.#libVersion = (await this.remote.connectGetLibVersion(opts)).lib_ver;
    return this.#libVersion;
  }

  /** Server-sent messages (events) of every program. */
  onMessage(listener: (m: RpcMessage) => void): () => void {
    return this.rpc.onMessage(listener);
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
        await this.remote.connectClose({ timeout });
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

/** remoteAuthenticate does nothing when the daemon offers no types or offers `none` first. */
function needsAuth(offered: number[]): boolean {
  return offered.length > 0 && offered[0] !== AUTH.REMOTE_AUTH_NONE;
}

async function authenticate(rpc: RpcClient, offered: number[], wanted: ConnectionOptions['auth'], opts: CallOptions): Promise<void> {
  // remoteAuthenticate: no list or an empty one means no authentication; otherwise the wanted type if the
  // daemon offers it, else the first one offered.
  if (offered.length === 0) return;
  let type = offered[0];
  if (wanted) {
    const want = Object.entries(AUTH_NAMES).find(([, n]) => n === wanted)?.[0];
    if (want === undefined || !offered.includes(Number(want))) {
      throw new AuthError(`the daemon does not offer ${wanted} authentication (it offers ${offered.map((t) => AUTH_NAMES[t] ?? t).join(', ')})`);
    }
    type = Number(want);
  }
  switch (type) {
    case AUTH.REMOTE_AUTH_NONE:
      return;
    case AUTH.REMOTE_AUTH_POLKIT: {
      const proc = remote.remote_procedures.find((p) => p.name === 'REMOTE_PROC_AUTH_POLKIT')!;
      await rpc.call(remote.remote_program, proc, undefined, opts);
      return;
    }
    case AUTH.REMOTE_AUTH_SASL:
      throw new AuthError('the daemon requires SASL authentication, which is not supported yet');
    default:
      throw new AuthError(`the daemon requires an unknown authentication type ${type}`);
  }
}
