/**
 * `StorageVol`: a storage volume, in the shape of Sys::Virt::StorageVol, with libvirt's volume upload and
 * download streams (virStorageVolUpload / virStorageVolDownload). A volume handle is (pool, name, key) and
 * travels with the object: `getName()` and `getKey()` need no call.
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM } from '../../generated/libvirt-headers.js';
import { InvalidArgumentError } from '../errors.js';
import { Stream } from '../protocol/stream.js';
import type { Connect } from './connect.js';
import { STORAGE_VOL_CONSTANTS } from './storage-constants.js';
import { StoragePool } from './storage-pool.js';
import { checkFlags, type CallOptions } from './support.js';
import { withConstants } from './constants.js';
import { receiveAll, sendAll, writableSink, type DownloadSink, type TransferOptions, type TransferProgress, type UploadSource } from './transfer.js';

/** What `getInfo()` returns (virStorageVolInfo): `type` is a `StorageVol.TYPE_*` value, sizes in bytes. */
export interface StorageVolInfo {
  type: number;
  capacity: number;
  allocation: number;
}

/** A byte count for the wire (`unsigned hyper`): a non-negative safe integer. */
function u64(value: number | undefined, what: string): bigint {
  const v = value ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer of bytes, not ${String(value)}`);
  return BigInt(v);
}

/**
 * A storage volume. Constants are libvirt's under Sys::Virt's names: `TYPE_*`, `CREATE_*`, `DELETE_*`,
 * `WIPE_ALG_*`, `RESIZE_*`, `VOL_UPLOAD_SPARSE_STREAM`, `VOL_DOWNLOAD_SPARSE_STREAM`.
 */
export class StorageVol extends /* @__PURE__ */ withConstants(STORAGE_VOL_CONSTANTS) {
  readonly #connect: Connect;
  readonly #handle: remote.remote_nonnull_storage_vol;

  /** A handle for a volume the daemon named (made by lookups); no call is made. */
  constructor(connect: Connect, handle: remote.remote_nonnull_storage_vol) {
    super();
    this.#connect = connect;
    this.#handle = { pool: handle.pool, name: handle.name, key: handle.key };
  }

  /** The wire handle (pool, name, key), for use with `connect.raw.remote`. */
  get handle(): remote.remote_nonnull_storage_vol {
    return this.#handle;
  }

  /** The connection the volume was reached through. */
  getConnect(): Connect {
    return this.#connect;
  }

  get #raw() {
    return this.#connect.raw;
  }

  /** The volume's name within its pool. */
  getName(): string {
    return this.#handle.name;
  }

  /** The volume's key: unique on the host (for file volumes, usually the path). */
  getKey(): string {
    return this.#handle.key;
  }

  /** The name of the pool the volume belongs to. */
  getPoolName(): string {
    return this.#handle.pool;
  }

  /** The pool the volume belongs to (STORAGE_POOL_LOOKUP_BY_VOLUME). */
  async getPool(opts?: CallOptions): Promise<StoragePool> {
    const r = await this.#raw.call(R.storagePoolLookupByVolume, { vol: this.#handle }, opts);
    return new StoragePool(this.#connect, r.pool);
  }

  /** The volume's path on the host (STORAGE_VOL_GET_PATH). */
  async getPath(opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.storageVolGetPath, { vol: this.#handle }, opts)).name;
  }

  /** Type, capacity and allocation (STORAGE_VOL_GET_INFO_FLAGS with flags, else STORAGE_VOL_GET_INFO). */
  async getInfo(flags = 0, opts?: CallOptions): Promise<StorageVolInfo> {
    const r = checkFlags(flags) === 0
      ? await this.#raw.call(R.storageVolGetInfo, { vol: this.#handle }, opts)
      : await this.#raw.call(R.storageVolGetInfoFlags, { vol: this.#handle, flags }, opts);
    return { type: r.type, capacity: Number(r.capacity), allocation: Number(r.allocation) };
  }

  /** The volume's XML (STORAGE_VOL_GET_XML_DESC). */
  async getXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.storageVolGetXmlDesc, { vol: this.#handle, flags: checkFlags(flags) }, opts)).xml;
  }

  /** Deletes the volume and its data; `StorageVol.DELETE_*` flags (STORAGE_VOL_DELETE). */
  async delete(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storageVolDelete, { vol: this.#handle, flags: checkFlags(flags) }, opts);
  }

  /**
   * Overwrites the volume's data: with zeros (STORAGE_VOL_WIPE), or with a `StorageVol.WIPE_ALG_*` pattern
   * (STORAGE_VOL_WIPE_PATTERN).
   */
  async wipe(algorithm: number | null = null, flags = 0, opts?: CallOptions): Promise<void> {
    if (algorithm === null) await this.#raw.call(R.storageVolWipe, { vol: this.#handle, flags: checkFlags(flags) }, opts);
    else await this.#raw.call(R.storageVolWipePattern, { vol: this.#handle, algorithm: checkFlags(algorithm, 'algorithm'), flags: checkFlags(flags) }, opts);
  }

  /** Changes the volume's capacity to `capacity` bytes; `StorageVol.RESIZE_*` flags (STORAGE_VOL_RESIZE). */
  async resize(capacity: number, flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.storageVolResize, { vol: this.#handle, capacity: u64(capacity, 'capacity'), flags: checkFlags(flags) }, opts);
  }

  /**
   * Opens an upload stream into the volume (STORAGE_VOL_UPLOAD) and returns it, for callers that send
   * themselves; {@link upload} does the whole transfer. `flags` may hold `StorageVol.VOL_UPLOAD_SPARSE_STREAM`.
   */
  openUpload(offset = 0, length = 0, flags = 0, opts?: CallOptions): Promise<Stream<void>> {
    const args = { vol: this.#handle, offset: u64(offset, 'offset'), length: u64(length, 'length'), flags: checkFlags(flags) };
    return Stream.open(this.#raw.rpc, R.storageVolUpload, args, { ...opts, sparse: (flags & VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) !== 0 });
  }

  /** Opens a download stream from the volume (STORAGE_VOL_DOWNLOAD); {@link download} does the whole transfer. */
  openDownload(offset = 0, length = 0, flags = 0, opts?: CallOptions): Promise<Stream<void>> {
    const args = { vol: this.#handle, offset: u64(offset, 'offset'), length: u64(length, 'length'), flags: checkFlags(flags) };
    return Stream.open(this.#raw.rpc, R.storageVolDownload, args, { ...opts, sparse: (flags & VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) !== 0 });
  }

  /**
   * Uploads `source` into the volume at `offset` (virStorageVolUpload, then virStreamSendAll or, with
   * `sparse`, virStreamSparseSendAll): the whole source is sent, then the stream is finished and the daemon
   * confirms the data is written. With `sparse`, runs of zero blocks travel as holes (see HoleFinder in
   * ./transfer). Resolves with the bytes moved. On failure (the daemon's error, `signal`, no progress within
   * `timeout`) the stream is aborted.
   */
  async upload(source: UploadSource, opts: TransferOptions = {}): Promise<TransferProgress> {
    const flags = opts.sparse ? VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM : 0;
    const st = await this.openUpload(opts.offset, opts.length, flags, { signal: opts.signal, timeout: opts.timeout });
    return sendAll(st, source, opts);
  }

  /**
   * Downloads the volume from `offset` (`length` bytes, default to its end) into `sink`: a {@link DownloadSink}
   * or a WHATWG WritableStream (virStorageVolDownload, then virStreamRecvAll or, with `sparse`,
   * virStreamSparseRecvAll). With `sparse`, the daemon sends holes, which the sink skips (or writes as zeros
   * when it has no `hole`). Resolves with the bytes moved, after the daemon confirmed the end and the sink closed.
   */
  async download(sink: DownloadSink | WritableStream<Uint8Array>, opts: TransferOptions = {}): Promise<TransferProgress> {
    const target = typeof (sink as WritableStream<Uint8Array>).getWriter === 'function' ? writableSink(sink as WritableStream<Uint8Array>) : (sink as DownloadSink);
    if (typeof target.write !== 'function') throw new InvalidArgumentError('a download sink has a write(data) method or is a WritableStream');
    const flags = opts.sparse ? VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM : 0;
    const st = await this.openDownload(opts.offset, opts.length, flags, { signal: opts.signal, timeout: opts.timeout });
    return receiveAll(st, target, opts);
  }
}
