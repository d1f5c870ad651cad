/**
 * `StoragePool`: a storage pool, in the shape of Sys::Virt::StoragePool: its state, its volumes, creating
 * volumes. A pool handle is (name, UUID) and travels with the object.
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import type { Connect } from './connect.js';
import { withConstants } from './constants.js';
import { STORAGE_POOL_CONSTANTS } from './storage-constants.js';
import { StorageVol } from './storage-vol.js';
import { checkFlags, checkName, uuidString, type CallOptions } from './support.js';

/** What `getInfo()` returns (virStoragePoolInfo): `state` is a `StoragePool.STATE_*` value, sizes in bytes. */
export interface StoragePoolInfo {
  state: number;
  capacity: number;
  allocation: number;
  available: number;
}

/** A storage pool. Constants: `STATE_*`, `BUILD_*`, `CREATE_*`, `DELETE_*`, `LIST_*`, `XML_INACTIVE`. */
export class StoragePool extends /* @__PURE__ */ withConstants(STORAGE_POOL_CONSTANTS) {
  readonly #connect: Connect;
  readonly #handle: remote.remote_nonnull_storage_pool;

  /** A handle for a pool the daemon named (made by lookups); no call is made. */
  constructor(connect: Connect, handle: remote.remote_nonnull_storage_pool) {
    super();
    this.#connect = connect;
    this.#handle = { name: handle.name, uuid: new Uint8Array(handle.uuid) };
  }

  /** The wire handle (name, UUID), for use with `connect.raw.remote`. */
  get handle(): remote.remote_nonnull_storage_pool {
    return this.#handle;
  }

  /** The connection the pool was reached through. */
  getConnect(): Connect {
    return this.#connect;
  }

  get #raw() {
    return this.#connect.raw;
  }

  /** The pool's name. */
  getName(): string {
    return this.#handle.name;
  }

  /** The pool's UUID as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  getUUIDString(): string {
    return uuidString(this.#handle.uuid);
  }

  /** State, capacity, allocation and free space (STORAGE_POOL_GET_INFO). */
  async getInfo(opts?: CallOptions): Promise<StoragePoolInfo> {
    const r = await this.#raw.call(R.storagePoolGetInfo, { pool: this.#handle }, opts);
    return { state: r.state, capacity: Number(r.capacity), allocation: Number(r.allocation), available: Number(r.available) };
  }

  /** The pool's XML; `StoragePool.XML_INACTIVE` (STORAGE_POOL_GET_XML_DESC). */
  async getXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.storagePoolGetXmlDesc, { pool: this.#handle, flags: checkFlags(flags) }, opts)).xml;
  }

  /** Whether the pool is running (STORAGE_POOL_IS_ACTIVE). */
  async isActive(opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.storagePoolIsActive, { pool: this.#handle }, opts)).active !== 0;
  }

  /** Whether the pool has a persistent definition (STORAGE_POOL_IS_PERSISTENT). */
  async isPersistent(opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.storagePoolIsPersistent, { pool: this.#handle }, opts)).persistent !== 0;
  }

  /** Builds the pool's storage (e.g. makes a directory pool's folder); `StoragePool.BUILD_*` (STORAGE_POOL_BUILD). */
  async build(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storagePoolBuild, { pool: this.#handle, flags: checkFlags(flags) }, opts);
  }

  /** Starts a defined pool; `StoragePool.CREATE_*` (STORAGE_POOL_CREATE). */
  async create(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storagePoolCreate, { pool: this.#handle, flags: checkFlags(flags) }, opts);
  }

  /** Stops the pool; its volumes stay (STORAGE_POOL_DESTROY). */
  async destroy(opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storagePoolDestroy, { pool: this.#handle }, opts);
  }

  /** Removes the persistent definition (STORAGE_POOL_UNDEFINE). */
  async undefine(opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storagePoolUndefine, { pool: this.#handle }, opts);
  }

  /** Rescans the pool's volumes (STORAGE_POOL_REFRESH). */
  async refresh(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storagePoolRefresh, { pool: this.#handle, flags: checkFlags(flags) }, opts);
  }

  /** Every volume of the pool (STORAGE_POOL_LIST_ALL_VOLUMES). */
  async listAllVolumes(flags = 0, opts?: CallOptions): Promise<StorageVol[]> {
    const r = await this.#raw.call(R.storagePoolListAllVolumes, { pool: this.#handle, need_results: 1, flags: checkFlags(flags) }, opts);
    return r.vols.map((v) => new StorageVol(this.#connect, v));
  }

  /** The volume named `name` in this pool; rejects with VIR_ERR_NO_STORAGE_VOL when there is none. */
  async getVolumeByName(name: string, opts?: CallOptions): Promise<StorageVol> {
    const r = await this.#raw.call(R.storageVolLookupByName, { pool: this.#handle, name: checkName(name, 'name') }, opts);
    return new StorageVol(this.#connect, r.vol);
  }

  /**
   * Creates a volume from `<volume>` XML (libvirt's virStorageVolCreateXML, STORAGE_VOL_CREATE_XML);
   * `StorageVol.CREATE_*` flags.
   */
  async createVolume(xml: string, flags = 0, opts?: CallOptions): Promise<StorageVol> {
    const r = await this.#raw.call(R.storageVolCreateXml, { pool: this.#handle, xml, flags: checkFlags(flags) }, opts);
    return new StorageVol(this.#connect, r.vol);
  }
}
