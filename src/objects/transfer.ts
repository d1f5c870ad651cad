/**
 * Moving bytes through a {@link Stream}: the loops behind `StorageVol.upload`/`download` (libvirt's
 * virStreamSendAll / virStreamSparseSendAll / virStreamSparseRecvAll in src/libvirt-stream.c), what they read
 * from and write to, and how a sparse upload finds holes.
 *
 * Finding holes: libvirt's client asks the file system where data is (virFileInData, lseek SEEK_DATA /
 * SEEK_HOLE). JavaScript has no such call, so a sparse upload looks at the bytes instead: it cuts the source
 * into 4 KiB blocks aligned to the start of the upload and sends every run of all-zero blocks as a hole (a
 * zero tail shorter than a block, at the very end, too). The volume ends up with holes wherever the source
 * had holes, and also where it had allocated zeros: the bytes are the same, the destination may be sparser
 * than the source. A hole reads as zeros, so the source is read up to its last data: a {@link SparseSource}
 * (Node's file source) scans ahead in parallel and stops where the file system's allocation says no data is
 * left (src/objects/sparse-scan.ts); any other source goes through {@link HoleFinder}. A sparse upload saves
 * the network and the daemon's writes, and local reads only after the last data. Browser-safe.
 */
import { AbortError, InvalidArgumentError } from '../errors.js';
import type { CallOptions } from '../protocol/program.js';
import { isHole, STREAM_PACKET_MAX, type Stream, type StreamHole } from '../protocol/stream.js';

/** Granularity of hole detection in sparse uploads: a file system block. */
export const HOLE_BLOCK = 4096;

/** Packets a download hands to a sink's `writev` at once, when they are already queued. */
const WRITE_BATCH = 16;

/** Where a download writes. Data arrives in order; with `hole`, a sparse download's holes are skipped. */
export interface DownloadSink {
  /** Writes `data` at the current position (the sink may keep `data`, unless it says `releasesData`). */
  write(data: Uint8Array): void | Promise<void>;
  /** Writes several packets in order, as `write` each would (a file sink makes it one system call). Optional. */
  writev?(data: Uint8Array[]): void | Promise<void>;
  /**
   * True when `write` is done with `data` once it returns or its promise resolves: the transfer then reuses
   * the buffer for later packets (Stream.recycle), so a large download makes no garbage.
   */
  readonly releasesData?: boolean;
  /** Skips `length` bytes that read as zeros (a hole). Without it, holes are written as zeros. */
  hole?(length: number): void | Promise<void>;
  /** Everything arrived and the daemon confirmed it: flush and close (e.g. set a file's final size). */
  close?(): void | Promise<void>;
  /** The transfer failed with `reason`: release what the sink holds (e.g. remove a file it created). */
  abort?(reason: unknown): void | Promise<void>;
}

/**
 * What an upload reads: bytes, a WHATWG ReadableStream, or any (async) iterable of chunks and holes. An
 * iterable with a `recycle(chunk)` method gets each chunk back once it was sent, to read into it again (a
 * file source then reads a whole file into a couple of buffers); one with an `allZero` method (a
 * {@link ZeroCheck}) lends it to a sparse upload's hole finding.
 */
export type UploadSource =
  | Uint8Array
  | ReadableStream<Uint8Array>
  | Iterable<Uint8Array | StreamHole>
  | AsyncIterable<Uint8Array | StreamHole>;

/**
 * A source that finds its own holes for a sparse upload, exactly as {@link HoleFinder} would (Node's
 * `fileSource` is one: parallel reads ahead of the sending, and an early stop at the file's allocation).
 */
export interface SparseSource {
  /** The source as data runs and holes; data items are valid until the next item is taken. */
  sparseItems(opts: { signal?: AbortSignal }): AsyncIterable<Uint8Array | StreamHole>;
}

/** Progress of a transfer, in bytes of the volume (holes included). */
export interface TransferProgress {
  /** Bytes moved so far: data plus holes. */
  bytes: number;
  /** Of those, data that travelled. */
  dataBytes: number;
  /** Of those, holes (zeros that did not travel). */
  holeBytes: number;
}

/** Options of `StorageVol.upload` and `StorageVol.download`. */
export interface TransferOptions extends CallOptions {
  /** Where in the volume to start, in bytes (default 0). */
  offset?: number;
  /** How many bytes of the volume (default 0: up to its end). An upload longer than this fails in the daemon. */
  length?: number;
  /** Move holes as holes (STREAM_HOLE) instead of zeros: VIR_STORAGE_VOL_{UPLOAD,DOWNLOAD}_SPARSE_STREAM. */
  sparse?: boolean;
  /** Called after every packet with the bytes moved so far. */
  onProgress?: (progress: TransferProgress) => void;
}

/**
 * Splits a byte stream into data and holes: every run of whole all-zero {@link HOLE_BLOCK}-byte blocks (aligned
 * to the start) becomes a hole; at the end, a partial block of zeros is a hole too (virFileInData reports the
 * tail of a file as a hole up to its end). Data items are views of the pushed chunks, or of an internal block
 * buffer that is reused once the caller asks for more: consume each item before taking the next.
 */
export class HoleFinder {
  readonly #block = new Uint8Array(HOLE_BLOCK);
  readonly #allZero: ZeroCheck;
  #blockLen = 0;
  #zeros = 0;

  /** @param zeroCheck a faster all-zero test where the platform has one (Node: memcmp); default {@link allZero}. */
  constructor(zeroCheck: ZeroCheck = allZero) {
    this.#allZero = zeroCheck;
  }

  /** The items of `chunk` that are certain: data runs and holes that the next bytes cannot change. */
  *push(chunk: Uint8Array): Generator<Uint8Array | StreamHole> {
    let i = 0;
    const n = chunk.length;
    if (this.#blockLen > 0) {
      const take = Math.min(HOLE_BLOCK - this.#blockLen, n);
      this.#block.set(chunk.subarray(0, take), this.#blockLen);
      this.#blockLen += take;
      i = take;
      if (this.#blockLen < HOLE_BLOCK) return;
      this.#blockLen = 0;
      if (this.#allZero(this.#block, 0, HOLE_BLOCK)) this.#zeros += HOLE_BLOCK;
      else {
        if (this.#zeros > 0) yield this.#takeHole();
        yield this.#block;
      }
    }
    // Whole chunks of zeros (the holes of a sparse file read as zeros) are one check, not one per block.
    const whole = i + Math.floor((n - i) / HOLE_BLOCK) * HOLE_BLOCK;
    if (whole - i > HOLE_BLOCK && this.#allZero(chunk, i, whole)) {
      this.#zeros += whole - i;
      i = whole;
    }
    let dataStart = -1;
    for (; i + HOLE_BLOCK <= n; i += HOLE_BLOCK) {
      if (this.#allZero(chunk, i, i + HOLE_BLOCK)) {
        if (dataStart >= 0) {
          yield chunk.subarray(dataStart, i);
          dataStart = -1;
        }
        this.#zeros += HOLE_BLOCK;
      } else if (dataStart < 0) {
        if (this.#zeros > 0) yield this.#takeHole();
        dataStart = i;
      }
    }
    if (dataStart >= 0) yield chunk.subarray(dataStart, i);
    if (i < n) {
      this.#block.set(chunk.subarray(i), 0);
      this.#blockLen = n - i;
    }
  }

  /** The rest once the source ended: the last partial block and any hole not yet given out. */
  *end(): Generator<Uint8Array | StreamHole> {
    if (this.#blockLen > 0) {
      const len = this.#blockLen;
      this.#blockLen = 0;
      if (this.#allZero(this.#block, 0, len)) this.#zeros += len;
      else {
        if (this.#zeros > 0) yield this.#takeHole();
        yield this.#block.subarray(0, len);
      }
    }
    if (this.#zeros > 0) yield this.#takeHole();
  }

  #takeHole(): StreamHole {
    const hole = { hole: this.#zeros };
    this.#zeros = 0;
    return hole;
  }
}

/** Tells whether bytes [start, end) of `b` are all zero. */
export type ZeroCheck = (b: Uint8Array, start: number, end: number) => boolean;

/** Whether bytes [start, end) of `b` are all zero: 32-bit words where aligned, bytes at the edges. */
export function allZero(b: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end && ((b.byteOffset + i) & 3) !== 0) if (b[i++] !== 0) return false;
  const words = (end - i) >> 2;
  if (words > 0) {
    const w = new Int32Array(b.buffer, b.byteOffset + i, words);
    let k = 0;
    for (; k + 8 <= words; k += 8) {
      if ((w[k] | w[k + 1] | w[k + 2] | w[k + 3] | w[k + 4] | w[k + 5] | w[k + 6] | w[k + 7]) !== 0) return false;
    }
    for (; k < words; k++) if (w[k] !== 0) return false;
    i += words << 2;
  }
  while (i < end) if (b[i++] !== 0) return false;
  return true;
}

/** The source as an async iterable of chunks and holes. */
export function sourceItems(source: UploadSource): AsyncIterable<Uint8Array | StreamHole> | Iterable<Uint8Array | StreamHole> {
  if (source instanceof Uint8Array) return [source];
  if (typeof (source as unknown as ReadableStream<Uint8Array>).getReader === 'function' && !(Symbol.asyncIterator in source)) {
    const stream = source as unknown as ReadableStream<Uint8Array>;
    return {
      async *[Symbol.asyncIterator]() {
        const reader = stream.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) return;
            yield value;
          }
        } finally {
          reader.releaseLock();
        }
      },
    };
  }
  if (Symbol.asyncIterator in source || Symbol.iterator in source) return source as AsyncIterable<Uint8Array | StreamHole>;
  throw new InvalidArgumentError('an upload source is a Uint8Array, a ReadableStream or an (async) iterable of Uint8Array chunks');
}

/** A WHATWG WritableStream as a {@link DownloadSink} (holes arrive as zeros). */
export function writableSink(ws: WritableStream<Uint8Array>): DownloadSink {
  const writer = ws.getWriter();
  return {
    write: (data) => writer.write(data),
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  };
}

function checkAbort(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} was aborted`, { cause: signal.reason });
}

/**
 * Sends `source` through `st` (an upload stream) without finishing it. With `sparse`, zero blocks go as holes
 * (see {@link HoleFinder}); holes the source yields itself go as holes too (as zeros on a stream that is not
 * sparse). On any failure the stream is aborted. `timeout` bounds each wait for the daemon.
 */
export async function sendItems(st: Stream, source: UploadSource, opts: TransferOptions = {}): Promise<TransferProgress> {
  const progress: TransferProgress = { bytes: 0, dataBytes: 0, holeBytes: 0 };
  const callOpts: CallOptions = { signal: opts.signal, timeout: opts.timeout };
  // A source may bring a faster all-zero test than the portable one (fileSource in Node compares with memcmp).
  const zeroCheck = (source as { allZero?: ZeroCheck }).allZero;
  const finder = opts.sparse ? new HoleFinder(typeof zeroCheck === 'function' ? zeroCheck : allZero) : null;
  const what = `uploading to ${st.proc.name}`;
  const put = async (item: Uint8Array | StreamHole): Promise<void> => {
    if (isHole(item)) {
      if (st.sparse) await st.sendHole(item.hole, 0, callOpts);
      else for (let left = item.hole; left > 0; left -= STREAM_PACKET_MAX) await st.send(new Uint8Array(Math.min(left, STREAM_PACKET_MAX)), callOpts);
      progress.holeBytes += item.hole;
      progress.bytes += item.hole;
    } else {
      await st.send(item, callOpts);
      progress.dataBytes += item.length;
      progress.bytes += item.length;
    }
    opts.onProgress?.(progress);
  };
  const recycle = (source as { recycle?: unknown }).recycle;
  const scanning = opts.sparse === true && typeof (source as Partial<SparseSource>).sparseItems === 'function';
  try {
    if (scanning) {
      // The source finds its holes itself (the same ones HoleFinder would), reading ahead of the sending.
      for await (const item of (source as unknown as SparseSource).sparseItems({ signal: opts.signal })) {
        checkAbort(opts.signal, what);
        await put(item);
      }
      checkAbort(opts.signal, what);
      return progress;
    }
    for await (const item of sourceItems(source)) {
      checkAbort(opts.signal, what);
      if (!isHole(item) && !(item instanceof Uint8Array)) throw new InvalidArgumentError('an upload source yielded something that is neither a Uint8Array nor a hole');
      if (finder && !isHole(item)) for (const part of finder.push(item)) await put(part);
      else {
        if (finder) for (const part of finder.end()) await put(part);
        await put(item);
      }
      // Sent (copied into packets) and not kept by the hole finder: the source may read into it again.
      if (typeof recycle === 'function' && item instanceof Uint8Array) recycle.call(source, item);
    }
    if (finder) for (const part of finder.end()) await put(part);
    checkAbort(opts.signal, what);
  } catch (e) {
    await st.abort().catch(() => undefined);
    throw e;
  }
  return progress;
}

/** {@link sendItems}, then finishes the stream: the daemon confirms the data is written. */
export async function sendAll(st: Stream, source: UploadSource, opts: TransferOptions = {}): Promise<TransferProgress> {
  const progress = await sendItems(st, source, opts);
  await st.finish({ signal: opts.signal, timeout: opts.timeout });
  return progress;
}

/**
 * Receives everything from `st` (a download stream) into `sink` up to the end of the daemon's data, without
 * finishing the stream or closing the sink. On any failure the stream is aborted and the sink's `abort` is
 * called. `timeout` bounds each wait for the daemon.
 */
export async function receiveItems(st: Stream, sink: DownloadSink, opts: TransferOptions = {}): Promise<TransferProgress> {
  const progress: TransferProgress = { bytes: 0, dataBytes: 0, holeBytes: 0 };
  const callOpts: CallOptions = { signal: opts.signal, timeout: opts.timeout };
  const batch: Uint8Array[] = [];
  try {
    for (;;) {
      const item = await st.receive(callOpts);
      if (item === null) break;
      if (item instanceof Uint8Array) {
        // Packets already queued behind this one go out with it, in one writev when the sink has it.
        batch.push(item);
        let bytes = item.length;
        let next: Uint8Array | undefined;
        while (sink.writev && batch.length < WRITE_BATCH && (next = st.receiveQueuedData()) !== undefined) {
          batch.push(next);
          bytes += next.length;
        }
        if (batch.length === 1) await sink.write(item);
        else await sink.writev!(batch);
        progress.dataBytes += bytes;
        progress.bytes += bytes;
        if (sink.releasesData === true) for (const b of batch) st.recycle(b);
        batch.length = 0;
      } else {
        if (sink.hole) await sink.hole(item.hole);
        else for (let left = item.hole; left > 0; left -= STREAM_PACKET_MAX) await sink.write(new Uint8Array(Math.min(left, STREAM_PACKET_MAX)));
        progress.holeBytes += item.hole;
        progress.bytes += item.hole;
      }
      opts.onProgress?.(progress);
    }
  } catch (e) {
    await failSink(st, sink, e);
    throw e;
  }
  return progress;
}

async function failSink(st: Stream, sink: DownloadSink, e: unknown): Promise<void> {
  await st.abort().catch(() => undefined);
  await Promise.resolve(sink.abort?.(e)).catch(() => undefined);
}

/**
 * {@link receiveItems}, then finishes the stream (the daemon confirms the end) and closes the sink; a failure
 * of either aborts the stream and the sink.
 */
export async function receiveAll(st: Stream, sink: DownloadSink, opts: TransferOptions = {}): Promise<TransferProgress> {
  const progress = await receiveItems(st, sink, opts);
  try {
    await st.finish({ signal: opts.signal, timeout: opts.timeout });
    await sink.close?.();
  } catch (e) {
    await failSink(st, sink, e);
    throw e;
  }
  return progress;
}
