/**
 * Types of the procedure tables that `scripts/xdrgen` generates for every libvirt RPC program. One hand-written
 * engine serves every procedure by looking it up here.
 */
import type { XdrCodec } from './xdr.js';

/** Options every call (and every public async method) takes last. */
export interface CallOptions {
  /** Cancels the call: it rejects with `AbortError`; a late reply is dropped. */
  signal?: AbortSignal;
  /** Milliseconds before the call rejects with `TimeoutError`. Defaults to the connection's call timeout. */
  timeout?: number;
}

/** An RPC program's identity on the wire: what the engine needs to frame and route its messages. */
export interface ProgramId {
  /** Short name, e.g. `REMOTE`. */
  readonly name: string;
  /** Program number on the wire (e.g. 0x20008086). */
  readonly program: number;
  /** Protocol version on the wire. */
  readonly version: number;
}

/**
 * One procedure of a program, from its `.x` enum member and annotations. The generator emits one such
 * descriptor per procedure (`generated/<prog>-procedures.ts`); `A`, `R` and `M` are the argument, reply and
 * message (event) types, `void` where the procedure has none.
 */
export interface ProcedureInfo<A = unknown, R = unknown, M = unknown> {
  /** The program the procedure belongs to. */
  readonly program: ProgramId;
  /** The procedure number on the wire. */
  readonly number: number;
  /** The enum member, e.g. `REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_ALL_SNAPSHOTS`. */
  readonly name: string;
  /** The method name on the typed API, e.g. `domainSnapshotListAllSnapshots`. */
  readonly method: string;
  /** Codec of `<prog>_<proc>_args`, or null when the call takes none. */
  readonly args: XdrCodec<A> | null;
  /** Codec of `<prog>_<proc>_ret`, or null when the reply is empty. */
  readonly ret: XdrCodec<R> | null;
  /** Codec of `<prog>_<proc>_msg` for messages the server sends unasked (events), else null. */
  readonly message: XdrCodec<M> | null;
  /** `@priority`: high-priority calls may run while low ones wait on the hypervisor. Default low. */
  readonly priority: 'high' | 'low';
  /** `@readstream` (daemon to client) or `@writestream` (client to daemon), else null. */
  readonly stream: 'read' | 'write' | null;
  /** The `@sparseflag` constant that enables sparse streams (holes), else null. */
  readonly sparseFlag: string | null;
  /** `@generate`: none, client, server or both. */
  readonly generate: string | null;
  /** `@acl` entries. */
  readonly acl: readonly string[];
  /** `@aclfilter` entries. */
  readonly aclFilter: readonly string[];
}

/** One RPC program with its whole procedure table: REMOTE, QEMU, LXC, ADMIN or KEEPALIVE. */
export interface ProgramInfo extends ProgramId {
  /** Every procedure, by ascending number. */
  readonly procedures: readonly ProcedureInfo[];
}
