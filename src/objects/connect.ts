/**
 * `Connect`: a libvirt connection in the shape of Sys::Virt's top-level object, over the RPC engine.
 *
 * This module is browser-safe: `Connect.openWith(transport, options)` works anywhere. `Connect.open(uri)` needs
 * a way to turn a URI into a transport; the package's Node entry (src/index.ts) installs one with
 * {@link setUriOpener}, a browser bundle may install its own (a WebSocket pipe, say).
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { InvalidArgumentError, TimeoutError } from '../errors.js';
import { RemoteConnection, type ConnectionOptions } from '../protocol/connection.js';
import type { CloseInfo } from '../protocol/rpc-client.js';
import type { Transport } from '../protocol/transport.js';
import { Domain } from './domain.js';
import { checkFlags, checkName, uuidBytes, type CallOptions } from './support.js';

/** Options of {@link Connect.openWith}. */
export interface OpenWithOptions extends Omit<ConnectionOptions, 'name'> {
  /** The URI sent in CONNECT_OPEN (e.g. `qemu:///session`); null or left out lets the daemon choose. */
  name?: string | null;
  /** The URI as the caller names the connection, which {@link Connect.getURI} returns; left out, it asks the daemon. */
  uri?: string | null;
}

/** Options of {@link Connect.open} and `connect()`. */
export interface ConnectOptions extends Omit<ConnectionOptions, 'name'> {
  /** Environment for LIBVIRT_DEFAULT_URI, XDG_* and HOME (Node: defaults to the process's). */
  env?: Readonly<Record<string, string | undefined>>;
  /** A pipe the caller opened, used instead of what the URI names (CONNECT_OPEN still sends the URI). */
  transport?: Transport;
}

/**
 * Turns a URI into an open transport, the name to send in CONNECT_OPEN, and the URI {@link Connect.getURI}
 * reports (null: ask the daemon).
 */
export type UriOpener = (
  uri: string | null | undefined,
  options: ConnectOptions & { timeout: number },
) => Promise<{ transport: Transport; name: string | null; uri: string | null }>;

let uriOpener: UriOpener | null = null;

/** Installs how {@link Connect.open} turns URIs into transports (the Node entry installs unix/TCP/TLS/SSH). */
export function setUriOpener(opener: UriOpener | null): void {
  uriOpener = opener;
}

/** Default bound on opening a connection (transport and handshake together), in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;

/** An open connection to a libvirt daemon (Sys::Virt's `Sys::Virt` object). */
export class Connect {
  readonly #raw: RemoteConnection;
  #uri: string | null;

  /**
   * Wraps an open {@link RemoteConnection} (for code that opened one itself). `uri` is what {@link getURI}
   * returns; null makes it ask the daemon.
   */
  constructor(raw: RemoteConnection, uri: string | null = null) {
    this.#raw = raw;
    this.#uri = uri;
  }

  /** Opens a connection over a transport the caller made. On failure the transport is destroyed. */
  static async openWith(transport: Transport, options: OpenWithOptions = {}): Promise<Connect> {
    const { uri, ...rest } = options;
    const raw = await RemoteConnection.open(transport, { ...rest, name: options.name ?? null });
    return new Connect(raw, uri ?? null);
  }

  /**
   * Opens a connection to `uri` (null or empty: `LIBVIRT_DEFAULT_URI`, else the local daemon's choice).
   * `timeout` (default 30 s) bounds opening the transport and the handshake together.
   */
  static async open(uri?: string | null, options: ConnectOptions = {}): Promise<Connect> {
    if (uriOpener === null) {
      throw new InvalidArgumentError('Connect.open needs a URI opener: import the package\'s Node entry, call setUriOpener(), or use Connect.openWith(transport)');
    }
    const timeout = options.timeout ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const start = Date.now();
    const opened = await uriOpener(uri, { ...options, timeout });
    // What is left of the bound goes to the handshake; at least 1 ms so that an exhausted bound still times out.
    const left = Math.max(1, timeout - (Date.now() - start));
    const { env: _env, transport: _transport, ...rest } = options;
    try {
      return await Connect.openWith(opened.transport, { ...rest, name: opened.name, uri: opened.uri, timeout: left });
    } catch (e) {
      // The handshake had only what was left of the caller's bound: report the bound the caller gave.
      if (e instanceof TimeoutError) throw new TimeoutError(`opening the connection took longer than ${timeout} ms`, { cause: e });
      throw e;
    }
  }

  /** The low-level connection: every REMOTE/QEMU/LXC procedure as a typed method (`raw.remote.*`). */
  get raw(): RemoteConnection {
    return this.#raw;
  }

  /** Resolves when the connection has closed, with the reason. Never rejects. */
  get closed(): Promise<CloseInfo> {
    return this.#raw.closed;
  }

  /**
   * Whether the connection is open. Like libvirt's remote driver (remoteConnectIsAlive asks the client
   * socket, not the daemon), this does not call the daemon, so it is synchronous.
   */
  isAlive(): boolean {
    return this.#raw.isOpen;
  }

  /** Graceful close: pending calls finish, CONNECT_CLOSE, end. `timeout` (default 30 s) bounds it. */
  async close(opts: { timeout?: number } = {}): Promise<void> {
    await this.#raw.close(opts);
  }

  /** Closes now; pending calls reject (with `err` as the cause when given). */
  destroy(err?: Error): void {
    this.#raw.destroy(err);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // The calls below pick their result out of the reply inside the engine (RemoteConnection.call's `map`):
  // no async wrapper, so no extra promise and microtask per call.

  /** The daemon's libvirt version, major * 1,000,000 + minor * 1,000 + micro (CONNECT_GET_LIB_VERSION). */
  getLibVersion(opts?: CallOptions): Promise<number> {
    return this.#raw.call(R.connectGetLibVersion, undefined, opts, libVersionOf);
  }

  /** The hypervisor's version, encoded like {@link getLibVersion} (CONNECT_GET_VERSION). */
  getVersion(opts?: CallOptions): Promise<number> {
    return this.#raw.call(R.connectGetVersion, undefined, opts, hvVersionOf);
  }

  /** The driver's name, e.g. `QEMU` or `TEST` (CONNECT_GET_TYPE). */
  async getType(opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.connectGetType, undefined, opts)).type;
  }

  /** The daemon host's name (CONNECT_GET_HOSTNAME). */
  async getHostname(opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.connectGetHostname, undefined, opts)).hostname;
  }

  /**
   * The connection's URI. Like libvirt's virConnectGetURI this is the URI the client opened (e.g.
   * `qemu+unix:///session?socket=...`), not asked of the daemon; only when that is unknown (the daemon chose the
   * driver, or openWith was given no `uri`) does it ask, with CONNECT_GET_URI, as libvirt's remote driver does
   * after opening without a URI (doRemoteOpen). The answer is kept.
   */
  async getURI(opts?: CallOptions): Promise<string> {
    this.#uri ??= (await this.#raw.call(R.connectGetUri, undefined, opts)).uri;
    return this.#uri;
  }

  /** The domain named `name`; rejects with the daemon's VIR_ERR_NO_DOMAIN when there is none. */
  async getDomainByName(name: string, opts?: CallOptions): Promise<Domain> {
    const r = await this.#raw.call(R.domainLookupByName, { name: checkName(name, 'name') }, opts);
    return new Domain(this, r.dom);
  }

  /** The domain with this UUID (a string like `6695eb01-f6a4-...` or 16 bytes). */
  async getDomainByUUID(uuid: string | Uint8Array, opts?: CallOptions): Promise<Domain> {
    const r = await this.#raw.call(R.domainLookupByUuid, { uuid: uuidBytes(uuid) }, opts);
    return new Domain(this, r.dom);
  }

  /** The running domain with this id. */
  async getDomainByID(id: number, opts?: CallOptions): Promise<Domain> {
    if (!Number.isInteger(id)) throw new InvalidArgumentError(`a domain id is an integer, not ${String(id)}`);
    const r = await this.#raw.call(R.domainLookupById, { id }, opts);
    return new Domain(this, r.dom);
  }

  /** Every domain, filtered by `Domain.LIST_*` flags (CONNECT_LIST_ALL_DOMAINS). */
  async listAllDomains(flags = 0, opts?: CallOptions): Promise<Domain[]> {
    const r = await this.#raw.call(R.connectListAllDomains, { need_results: 1, flags: checkFlags(flags) }, opts);
    return r.domains.map((d) => new Domain(this, d));
  }

  /** Defines a persistent domain from XML (DOMAIN_DEFINE_XML_FLAGS). */
  async defineDomain(xml: string, flags = 0, opts?: CallOptions): Promise<Domain> {
    const r = await this.#raw.call(R.domainDefineXmlFlags, { xml, flags: checkFlags(flags) }, opts);
    return new Domain(this, r.dom);
  }
}

const libVersionOf = (r: { lib_ver: bigint }): number => Number(r.lib_ver);
const hvVersionOf = (r: { hv_ver: bigint }): number => Number(r.hv_ver);

/** The wire form of a domain handle (name, UUID, id), for code mixing this layer with `raw.remote`. */
export type DomainHandle = remote.remote_nonnull_domain;
