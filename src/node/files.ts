/**
 * Files as the source of a volume upload and the sink of a download, the way virsh's vol-upload and
 * vol-download use them (tools/virsh-volume.c, virshStreamSource / virshStreamSink / virshStreamSkip).
 *
 * A sparse download recreates holes: data is written at its position with positional writes, a hole only
 * moves the position, and the file is truncated to its final size at the end, so the skipped ranges are
 * never allocated (virsh does lseek + ftruncate). Node has no SEEK_DATA/SEEK_HOLE, so an upload cannot ask
 * the file system where its holes are; a sparse upload finds them by looking for zero blocks instead, with
 * several reads in flight ahead of the sending, and stops reading where the file system's allocation says no
 * data is left (see src/objects/sparse-scan.ts).
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { SparseScan, type SparseReader, type SparseScanOptions, type SparseScanStats } from '../objects/sparse-scan.js';
import type { StreamHole } from '../protocol/stream.js';
import type { DownloadSink, SparseSource } from '../objects/transfer.js';

/** Bytes read per call by {@link fileSource}. */
export const FILE_READ_SIZE = 2 * 1024 * 1024;

/**
 * A sparse upload's reads: this many bytes each, this many in flight (4 MiB of buffers). Each read costs the
 * main thread tens of microseconds in Node, so fewer, larger reads scan holes faster; 256 KiB to 2 MiB reads
 * measured the same within noise here.
 */
const SCAN_READ_SIZE = 1024 * 1024;
const SCAN_DEPTH = 4;

/** An upload source over a file: its chunks, and its size for progress. */
export interface FileSource extends AsyncIterable<Uint8Array>, SparseSource {
  /** The file's size in bytes when opened. */
  readonly size: number;
  /** Gives a chunk back once its consumer is done with it: a later read goes into it (StorageVol.upload does). */
  recycle(chunk: Uint8Array): void;
  /** A fast all-zero test (memcmp against zeros) for a sparse upload's hole finding. */
  allZero(b: Uint8Array, start: number, end: number): boolean;
  /**
   * The file as data runs and holes for a sparse upload (StorageVol.upload uses it): parallel reads ahead of
   * the sending, and no reads past the last data where the file system's allocation tells (ext2/3/4, XFS,
   * tmpfs). `stats` says, once the iteration ended, how much was read and whether the scan stopped early.
   */
  sparseItems(opts?: Pick<SparseScanOptions, 'signal'>): AsyncIterable<Uint8Array | StreamHole> & { readonly stats: SparseScanStats };
}

const ZEROS = /* @__PURE__ */ Buffer.alloc(64 * 1024);

/**
 * File systems (statfs f_type) where the blocks allocated to a file hold its data as written: no compression,
 * no data inlined in metadata beyond the first block, no sharing that stat leaves out: ext2/3/4, XFS, tmpfs.
 * There the data a sparse upload has seen can be held against stat's block count to stop reading early. (btrfs
 * and ZFS compress, so a file can hold more data than it has blocks; network and FUSE file systems report what
 * they like.)
 */
const PLAIN_ALLOCATION = /* @__PURE__ */ new Set([0xef53, 0x58465342, 0x01021994]);

/** The early stop's numbers for the open file `fh` at `path`, when its file system's can be trusted. */
async function allocationOf(fh: fs.promises.FileHandle, path: string): Promise<{ size: number; allocation?: { bytes: number; unit: number } }> {
  const st = await fh.stat();
  if (!st.isFile()) return { size: st.size };
  const sfs = await fs.promises.statfs(path).catch(() => null);
  if (sfs === null || !PLAIN_ALLOCATION.has(Number(sfs.type)) || !(sfs.bsize > 0)) return { size: st.size };
  return { size: st.size, allocation: { bytes: st.blocks * 512, unit: sfs.bsize } };
}

/** Whether bytes [start, end) of `b` are zero, compared natively against a block of zeros. */
export function allZeroNative(b: Uint8Array, start: number, end: number): boolean {
  for (let at = start; at < end; at += ZEROS.length) {
    const n = Math.min(ZEROS.length, end - at);
    if (ZEROS.compare(b, at, at + n, 0, n) !== 0) return false;
  }
  return true;
}

/**
 * Reads the file at `path` from its start, in chunks of {@link FILE_READ_SIZE} bytes, one read ahead of the
 * consumer. Each chunk is a fresh buffer unless the consumer handed earlier ones back with `recycle` (then two
 * buffers serve the whole file). The file is opened when iteration starts and closed when it ends, also on
 * failure.
 */
export async function fileSource(path: string): Promise<FileSource> {
  const st = await fs.promises.stat(path);
  if (st.isDirectory()) throw new InvalidArgumentError(`${path} is a directory`);
  const spares: Buffer[] = [];
  const mine = new WeakSet<ArrayBufferLike>();
  const take = (): Buffer => {
    const buf = spares.pop() ?? Buffer.allocUnsafeSlow(FILE_READ_SIZE);
    mine.add(buf.buffer);
    return buf;
  };
  return {
    size: st.size,
    allZero: allZeroNative,
    recycle(chunk: Uint8Array): void {
      if (!mine.has(chunk.buffer) || spares.length >= 2) return;
      mine.delete(chunk.buffer);
      spares.push(Buffer.from(chunk.buffer, 0, FILE_READ_SIZE));
    },
    sparseItems(opts: Pick<SparseScanOptions, 'signal'> = {}) {
      const stats: SparseScanStats = { bytesRead: 0, stoppedEarly: false };
      return {
        stats,
        async *[Symbol.asyncIterator]() {
          const fh = await fs.promises.open(path, 'r');
          let scan: SparseScan | null = null;
          try {
            const reader: SparseReader = {
              ...(await allocationOf(fh, path)),
              read: async (buf, position) => (await fh.read(buf, 0, buf.length, position)).bytesRead,
            };
            scan = new SparseScan(reader, { chunkSize: SCAN_READ_SIZE, depth: SCAN_DEPTH, zeroCheck: allZeroNative, signal: opts.signal });
            yield* scan;
          } finally {
            if (scan !== null) Object.assign(stats, scan.stats);
            await fh.close();
          }
        },
      };
    },
    async *[Symbol.asyncIterator]() {
      const fh = await fs.promises.open(path, 'r');
      let ahead: Promise<{ buf: Buffer; n: number }> | null = null;
      const read = (buf: Buffer) => fh.read(buf, 0, buf.length, null).then((r) => ({ buf, n: r.bytesRead }));
      try {
        ahead = read(take());
        for (;;) {
          const { buf, n } = await ahead;
          ahead = null;
          if (n === 0) return;
          // Sequential reads (position null): the next one starts before this chunk is consumed.
          ahead = read(take());
          yield n === buf.length ? buf : buf.subarray(0, n);
        }
      } finally {
        await ahead?.catch(() => undefined);
        await fh.close();
      }
    },
  };
}

/**
 * `fs.write` on the descriptor of an open FileHandle: the same system call as `FileHandle.write` with a quarter
 * of its garbage (no result object, no handle bookkeeping), which a download makes thousands of times per GiB
 * (measured: 39 -> 29 MB allocated per GiB downloaded).
 */
function writeFd(fd: number, data: Uint8Array, at: number, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, data, at, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

/** Options of {@link fileSink}. */
export interface FileSinkOptions {
  /** File mode when the file is created (default 0o666, less the umask, as virsh). */
  mode?: number;
}

/** A download sink over a file: the file handle is opened by {@link fileSink}. */
export interface FileSink extends DownloadSink {
  /** Bytes of the file so far (data and holes). */
  readonly position: number;
  close(): Promise<void>;
  abort(reason?: unknown): Promise<void>;
}

/**
 * Writes a download into the file at `path`, as virsh vol-download does: created if missing, else truncated;
 * removed again if the download fails and this call created it. In a regular file holes are skipped
 * (positional writes, and a truncate for a hole at the end, leave them unallocated); a device or pipe gets
 * zeros. The file is open until `close` or `abort`.
 */
export async function fileSink(path: string, options: FileSinkOptions = {}): Promise<FileSink> {
  let created = true;
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, options.mode ?? 0o666);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    created = false;
    fh = await fs.promises.open(path, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
  }
  // Holes are skipped in a regular file; anything else (a block device, /dev/null, a pipe) gets zeros
  // written, as virsh writes zeros to block devices (virshStreamSkip).
  const regular = (await fh.stat()).isFile();
  let position = 0;
  let dataEnd = 0;
  let open = true;
  const closeOnce = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await fh.close();
  };
  const writeAt = async (data: Uint8Array): Promise<void> => {
    let at = 0;
    while (at < data.length) {
      const bytesWritten = await writeFd(fh.fd, data, at, data.length - at, regular ? position : null);
      at += bytesWritten;
      position += bytesWritten;
    }
    dataEnd = position;
  };
  return {
    releasesData: true,
    get position() {
      return position;
    },
    write: writeAt,
    async writev(data: Uint8Array[]): Promise<void> {
      if (!regular) {
        for (const d of data) await writeAt(d);
        return;
      }
      let total = 0;
      for (const d of data) total += d.length;
      let bytesWritten = await new Promise<number>((resolve, reject) => fs.writev(fh.fd, data, position, (e, n) => (e ? reject(e) : resolve(n))));
      position += bytesWritten;
      // A short write (rare: a full disk, a signal): the rest one buffer at a time.
      for (let i = 0, seen = 0; bytesWritten < total && i < data.length; seen += data[i].length, i++) {
        const end = seen + data[i].length;
        if (end <= bytesWritten) continue;
        const rest = data[i].subarray(Math.max(0, bytesWritten - seen));
        await writeAt(rest);
        bytesWritten = end;
      }
      dataEnd = position;
    },
    async hole(length: number): Promise<void> {
      if (regular) {
        position += length;
        return;
      }
      const zeros = new Uint8Array(Math.min(length, 1024 * 1024));
      for (let left = length; left > 0; left -= zeros.length) await writeAt(left >= zeros.length ? zeros : zeros.subarray(0, left));
    },
    async close(): Promise<void> {
      try {
        // A hole at the end was not written: the size comes from here (virshStreamSkip's ftruncate).
        if (regular && position > dataEnd) await fh.truncate(position);
      } finally {
        await closeOnce();
      }
    },
    async abort(): Promise<void> {
      await closeOnce().catch(() => undefined);
      if (created) await fs.promises.rm(path, { force: true }).catch(() => undefined);
    },
  };
}
