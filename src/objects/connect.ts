/**
 * `Connect`: a libvirt connection in the shape of Sys::Virt's top-level object, over the RPC engine.
 *
 * This module is browser-safe: `Connect.openWith(transport, options)` works anywhere. `Connect.open(uri)` needs
 * a way to turn a URI into a transport; the package's Node entry (src/index.ts) installs one with
 * {@link setUriOpener}, a browser bundle may install its own (a WebSocket pipe, say).
 */
// `Symbol.asyncDispose` below: the published declarations name the lib that types it, so a consumer without
// @types/node (a browser build) compiles them without adding it by hand (TypeScript 5.2 or later).
/// <reference lib="esnext.disposable" preserve="true" />
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { InvalidArgumentError, TimeoutError } from '../errors.js';
import type { ConnectEvents } from '../events/index.js';
import { RemoteConnection, type ConnectionOptions } from '../protocol/connection.js';
import { checkTimeout, timeoutOption } from '../protocol/durations.js';
import type { Transport } from '../protocol/transport.js';
import { Domain } from './domain.js';
import { ConnectionKeeper, type ConnectCloseInfo, type ConnectionLife, type ReconnectPolicy, type Reopener } from './reconnect.js';
import { StoragePool } from './storage-pool.js';
import { StorageVol } from './storage-vol.js';
import { checkFlags, checkName, uuidBytes, type CallOptions } from './support.js';

/** Options of {@link Connect.openWith}. */
export interface OpenWithOptions extends Omit<ConnectionOptions, 'name'> {
  /** The URI sent in CONNECT_OPEN (e.g. `qemu:///session`); null or left out lets the daemon choose. */
  name?: string | null;
  /** The URI as the caller names the connection, which {@link Connect.getURI} returns; left out, it asks the daemon. */
  uri?: string | null;
  /** Reopen the connection when it drops (needs a transport factory, not a transport, to open again). */
  reconnect?: ReconnectPolicy;
}

/** Options of {@link Connect.open} and `connect()`. */
export interface ConnectOptions extends Omit<ConnectionOptions, 'name'> {
  /** Environment for LIBVIRT_DEFAULT_URI, XDG_* and HOME (Node: defaults to the process's). */
  env?: Readonly<Record<string, string | undefined>>;
  /** A pipe the caller opened, used instead of what the URI names (CONNECT_OPEN still sends the URI). */
  transport?: Transport;
  /** Reopen the connection when it drops, by opening the URI again (see the README's Events section). */
  reconnect?: ReconnectPolicy;
}

/** A transport factory: how {@link Connect.openWith} opens (and, with a reconnect policy, reopens) its pipe. */
export type TransportFactory = (signal: AbortSignal) => Transport | Promise<Transport>;

/** How a Connect was opened, for reconnecting; made by {@link Connect.open} and {@link Connect.openWith}. */
export interface ConnectLifeOptions {
  /** Opens the connection again. */
  reopen?: Reopener | null;
  reconnect?: ReconnectPolicy;
  /** The default per-call timeout, which bounds calls waiting for a reconnection. */
  callTimeout?: number;
}

/** Builds `conn.events` (installed by the events module, which the Node entry imports). */
export type EventsFactory = (connect: Connect, life: ConnectionLife) => ConnectEvents;

let eventsFactory: EventsFactory | null = null;

/**
 * Installs `conn.events`. The events module (`libvirt-rpc/events`, imported by the Node entry) installs it, so a
 * browser bundle that never uses events carries none of their decoders.
 */
export function installEvents(factory: EventsFactory): void {
  eventsFactory = factory;
}

/**
 * Turns a URI into an open transport, the name to send in CONNECT_OPEN, and the URI {@link Connect.getURI}
 * reports (null: ask the daemon).
 */
export type UriOpener = (
  uri: string | null | undefined,
  options: ConnectOptions & { timeout: number },
) => Promise<{ transport: Transport; name: string | null; uri: string | null; auth?: UriAuth }>;

/**
 * What a URI says about authentication: its `auth` parameter, the host auth.conf is searched for, and how to
 * load auth.conf. Options the caller gives take precedence.
 */
export type UriAuth = Pick<ConnectionOptions, 'auth' | 'authHost' | 'authConfig'>;

let uriOpener: UriOpener | null = null;

/** Installs how {@link Connect.open} turns URIs into transports (the Node entry installs unix/TCP/TLS/SSH). */
export function setUriOpener(opener: UriOpener | null): void {
  uriOpener = opener;
}

/** Default bound on opening a connection (transport and handshake together), in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** An open connection to a libvirt daemon (Sys::Virt's `Sys::Virt` object). */
export class Connect {
  readonly #keeper: ConnectionKeeper;
  #uri: string | null;
  #events: ConnectEvents | null = null;

  /**
   * Wraps an open {@link RemoteConnection} (for code that opened one itself). `uri` is what {@link getURI}
   * returns; null makes it ask the daemon. `life` says how to reopen it for a reconnect policy.
   */
  constructor(raw: RemoteConnection, uri: string | null = null, life: ConnectLifeOptions = {}) {
    this.#keeper = new ConnectionKeeper(raw, life.reopen ?? null, life.reconnect, life.callTimeout);
    this.#uri = uri;
  }

  /**
   * Opens a connection over a transport the caller made, or over what a factory returns (a factory is called
   * again to reconnect). On failure the transport is destroyed.
   */
  static async openWith(transport: Transport | TransportFactory, options: OpenWithOptions = {}): Promise<Connect> {
    const { uri, reconnect, ...rest } = options;
    const opts = { ...rest, name: options.name ?? null };
    if (typeof transport !== 'function') {
      if (reconnect !== undefined) throw new InvalidArgumentError('a reconnect policy needs a transport factory (a function returning a new transport), not a transport');
      return new Connect(await RemoteConnection.open(transport, opts), uri ?? null, { callTimeout: options.callTimeout });
    }
    const factory = transport;
    const openOnce = async (signal?: AbortSignal) => RemoteConnection.open(await factory(signal ?? new AbortController().signal), { ...opts, signal });
    const raw = await openOnce(options.signal);
    return new Connect(raw, uri ?? null, { reopen: reconnect ? openOnce : null, reconnect, callTimeout: options.callTimeout });
  }

  /**
   * Opens a connection to `uri` (null or empty: `LIBVIRT_DEFAULT_URI`, else the local daemon's choice).
   * `timeout` (default 30 s) bounds opening the transport and the handshake together. With `reconnect`, a
   * dropped connection is opened again the same way.
   */
  static async open(uri?: string | null, options: ConnectOptions = {}): Promise<Connect> {
    const opener = uriOpener;
    if (opener === null) {
      throw new InvalidArgumentError('Connect.open needs a URI opener: import the package\'s Node entry, call setUriOpener(), or use Connect.openWith(transport)');
    }
    if (options.reconnect !== undefined && options.transport !== undefined) {
      throw new InvalidArgumentError('a reconnect policy cannot reopen a caller-supplied transport: use Connect.openWith(() => transport, { reconnect })');
    }
    const timeout = timeoutOption(options.timeout, DEFAULT_CONNECT_TIMEOUT_MS);
    const { env: _env, transport: _transport, reconnect, ...rest } = options;
    const openOnce = async (signal: AbortSignal | undefined) => {
      const start = Date.now();
      const opened = await opener(uri, { ...options, timeout, signal });
      // What is left of the bound goes to the handshake; at least 1 ms so that an exhausted bound still times out.
      const left = Math.max(1, timeout - (Date.now() - start));
      try {
        // SASL: the URI's auth= and auth.conf lookup, unless the caller's options say otherwise.
        const auth = opened.auth ?? {};
        const raw = await RemoteConnection.open(opened.transport, {
          ...rest,
          auth: rest.auth ?? auth.auth,
          authHost: rest.authHost !== undefined ? rest.authHost : auth.authHost,
          authConfig: rest.authConfig ?? auth.authConfig,
          name: opened.name,
          timeout: left,
          signal,
        });
        return { raw, uri: opened.uri };
      } catch (e) {
        // The handshake had only what was left of the caller's bound: report the bound the caller gave.
        if (e instanceof TimeoutError) throw new TimeoutError(`opening the connection took longer than ${timeout} ms`, { cause: e });
        throw e;
      }
    };
    const first = await openOnce(options.signal);
    const reopen: Reopener | null = reconnect ? async (signal) => (await openOnce(signal)).raw : null;
    return new Connect(first.raw, first.uri, { reopen, reconnect, callTimeout: options.callTimeout });
  }

  /**
   * The low-level connection: every REMOTE/QEMU/LXC procedure as a typed method (`raw.remote.*`). With a
   * reconnect policy this is the current connection (while reconnecting, the last one, whose calls wait for or
   * fail fast to the next one as the policy says).
   */
  get raw(): RemoteConnection {
    return this.#keeper.raw;
  }

  /**
   * Resolves when the connection has closed for good, with the reason (with a reconnect policy: after close(),
   * or when the policy gives up). Never rejects.
   */
  get closed(): Promise<ConnectCloseInfo> {
    return this.#keeper.closed;
  }

  /** `open`, `reconnecting` (a reconnect policy is at work) or `closed`. */
  get state(): 'open' | 'reconnecting' | 'closed' {
    return this.#keeper.state;
  }

  /**
   * Resolves once the connection is open: at once when it is, else when its reconnect policy has opened it
   * again. Rejects with ConnectionClosedError once it is closed for good (the policy gave up, or close()), and
   * with TimeoutError or AbortError by `timeout` (default none) and `signal`.
   */
  async whenOpen(opts: CallOptions = {}): Promise<void> {
    await this.#keeper.whenOpen(opts.timeout === undefined ? 0 : checkTimeout(opts.timeout, 'timeout', true), opts.signal);
  }

  /**
   * Every event family as bounded async iterables (`conn.events.domain('lifecycle')`), made on first use. Needs
   * the events module: the Node entry imports it; a browser bundle imports `libvirt-rpc/events`.
   */
  get events(): ConnectEvents {
    if (this.#events !== null) return this.#events;
    if (eventsFactory === null) throw new InvalidArgumentError("conn.events needs the events module: import 'libvirt-rpc/events' once (the Node entry does)");
    return (this.#events = eventsFactory(this, this.#keeper));
  }

  /**
   * Whether the connection is open. Like libvirt's remote driver (remoteConnectIsAlive asks the client
   * socket, not the daemon), this does not call the daemon, so it is synchronous.
   */
  isAlive(): boolean {
    return this.#keeper.state === 'open' && this.#keeper.raw.isOpen;
  }

  /** Graceful close: pending calls finish, CONNECT_CLOSE, end; stops reconnecting. `timeout` (default 30 s) bounds it. */
  async close(opts: { timeout?: number } = {}): Promise<void> {
    await this.#keeper.close(opts);
  }

  /** Closes now; pending calls reject (with `err` as the cause when given). */
  destroy(err?: Error): void {
    this.#keeper.destroy(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // The calls below pick their result out of the reply inside the engine (RemoteConnection.call's `map`):
  // no async wrapper, so no extra promise and microtask per call.

  /** The daemon's libvirt version, major * 1,000,000 + minor * 1,000 + micro (CONNECT_GET_LIB_VERSION). */
  getLibVersion(opts?: CallOptions): Promise<number> {
    return this.#keeper.raw.call(R.connectGetLibVersion, undefined, opts, libVersionOf);
  }

  /** The hypervisor's version, encoded like {@link getLibVersion} (CONNECT_GET_VERSION). */
  getVersion(opts?: CallOptions): Promise<number> {
    return this.#keeper.raw.call(R.connectGetVersion, undefined, opts, hvVersionOf);
  }

  /** The driver's name, e.g. `QEMU` or `TEST` (CONNECT_GET_TYPE). */
  async getType(opts?: CallOptions): Promise<string> {
    return (await this.#keeper.raw.call(R.connectGetType, undefined, opts)).type;
  }

  /** The daemon host's name (CONNECT_GET_HOSTNAME). */
  async getHostname(opts?: CallOptions): Promise<string> {
    return (await this.#keeper.raw.call(R.connectGetHostname, undefined, opts)).hostname;
  }

  /**
   * The connection's URI. Like libvirt's virConnectGetURI this is the URI the client opened (e.g.
   * `qemu+unix:///session?socket=...`), not asked of the daemon; only when that is unknown (the daemon chose the
   * driver, or openWith was given no `uri`) does it ask, with CONNECT_GET_URI, as libvirt's remote driver does
   * after opening without a URI (doRemoteOpen). The answer is kept.
   */
  async getURI(opts?: CallOptions): Promise<string> {
    this.#uri ??= (await this.#keeper.raw.call(R.connectGetUri, undefined, opts)).uri;
    return this.#uri;
  }

  /** The domain named `name`; rejects with the daemon's VIR_ERR_NO_DOMAIN when there is none. */
  async getDomainByName(name: string, opts?: CallOptions): Promise<Domain> {
    const r = await this.#keeper.raw.call(R.domainLookupByName, { name: checkName(name, 'name') }, opts);
    return new Domain(this, r.dom);
  }

  /** The domain with this UUID (a string like `6695eb01-f6a4-...` or 16 bytes). */
  async getDomainByUUID(uuid: string | Uint8Array, opts?: CallOptions): Promise<Domain> {
    const r = await this.#keeper.raw.call(R.domainLookupByUuid, { uuid: uuidBytes(uuid) }, opts);
    return new Domain(this, r.dom);
  }

  /** The running domain with this id. */
  async getDomainByID(id: number, opts?: CallOptions): Promise<Domain> {
    if (!Number.isInteger(id)) throw new InvalidArgumentError(`a domain id is an integer, not ${String(id)}`);
    const r = await this.#keeper.raw.call(R.domainLookupById, { id }, opts);
    return new Domain(this, r.dom);
  }

  /** Every domain, filtered by `Domain.LIST_*` flags (CONNECT_LIST_ALL_DOMAINS). */
  async listAllDomains(flags = 0, opts?: CallOptions): Promise<Domain[]> {
    const r = await this.#keeper.raw.call(R.connectListAllDomains, { need_results: 1, flags: checkFlags(flags) }, opts);
    return r.domains.map((d) => new Domain(this, d));
  }

  /** Defines a persistent domain from XML (DOMAIN_DEFINE_XML_FLAGS). */
  async defineDomain(xml: string, flags = 0, opts?: CallOptions): Promise<Domain> {
    const r = await this.#keeper.raw.call(R.domainDefineXmlFlags, { xml, flags: checkFlags(flags) }, opts);
    return new Domain(this, r.dom);
  }

  // ---- storage ----

  /** The storage pool named `name`; rejects with VIR_ERR_NO_STORAGE_POOL when there is none. */
  async getStoragePoolByName(name: string, opts?: CallOptions): Promise<StoragePool> {
    const r = await this.raw.call(R.storagePoolLookupByName, { name: checkName(name, 'name') }, opts);
    return new StoragePool(this, r.pool);
  }

  /** The storage pool with this UUID (a string or 16 bytes). */
  async getStoragePoolByUUID(uuid: string | Uint8Array, opts?: CallOptions): Promise<StoragePool> {
    const r = await this.raw.call(R.storagePoolLookupByUuid, { uuid: uuidBytes(uuid) }, opts);
    return new StoragePool(this, r.pool);
  }

  /** Every storage pool, filtered by `StoragePool.LIST_*` flags (CONNECT_LIST_ALL_STORAGE_POOLS). */
  async listAllStoragePools(flags = 0, opts?: CallOptions): Promise<StoragePool[]> {
    const r = await this.raw.call(R.connectListAllStoragePools, { need_results: 1, flags: checkFlags(flags) }, opts);
    return r.pools.map((p) => new StoragePool(this, p));
  }

  /** Defines a persistent storage pool from `<pool>` XML (STORAGE_POOL_DEFINE_XML); start it with `create()`. */
  async defineStoragePool(xml: string, flags = 0, opts?: CallOptions): Promise<StoragePool> {
    const r = await this.raw.call(R.storagePoolDefineXml, { xml, flags: checkFlags(flags) }, opts);
    return new StoragePool(this, r.pool);
  }

  /** Creates and starts a transient storage pool from `<pool>` XML (STORAGE_POOL_CREATE_XML). */
  async createStoragePool(xml: string, flags = 0, opts?: CallOptions): Promise<StoragePool> {
    const r = await this.raw.call(R.storagePoolCreateXml, { xml, flags: checkFlags(flags) }, opts);
    return new StoragePool(this, r.pool);
  }

  /** The volume at `path` on the host; rejects with VIR_ERR_NO_STORAGE_VOL when no pool has it. */
  async getStorageVolumeByPath(path: string, opts?: CallOptions): Promise<StorageVol> {
    const r = await this.raw.call(R.storageVolLookupByPath, { path: checkName(path, 'path') }, opts);
    return new StorageVol(this, r.vol);
  }

  /** The volume with this key (for file volumes, usually the path). */
  async getStorageVolumeByKey(key: string, opts?: CallOptions): Promise<StorageVol> {
    const r = await this.raw.call(R.storageVolLookupByKey, { key: checkName(key, 'key') }, opts);
    return new StorageVol(this, r.vol);
  }
}

const libVersionOf = (r: { lib_ver: bigint }): number => Number(r.lib_ver);
const hvVersionOf = (r: { hv_ver: bigint }): number => Number(r.hv_ver);

/** The wire form of a domain handle (name, UUID, id), for code mixing this layer with `raw.remote`. */
export type DomainHandle = remote.remote_nonnull_domain;
