/**
 * Files as the source of a volume upload and the sink of a download, the way virsh's vol-upload and
 * vol-download use them (tools/virsh-volume.c, virshStreamSource / virshStreamSink / virshStreamSkip).
 *
 * A sparse download recreates holes: data is written at its position with positional writes, a hole only
 * moves the position, and the file is truncated to its final size at the end, so the skipped ranges are
 * never allocated (virsh does lseek + ftruncate). Node has no SEEK_DATA/SEEK_HOLE, so an upload cannot ask
 * the file system where its holes are; a sparse upload finds them by looking for zero blocks instead (see
 * HoleFinder in src/objects/transfer.ts).
 */
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import type { DownloadSink } from '../objects/transfer.js';

/** Bytes read per call by {@link fileSource}. */
export const FILE_READ_SIZE = 1024 * 1024;

/** An upload source over a file: its chunks, and its size for progress. */
export interface FileSource extends AsyncIterable<Uint8Array> {
  /** The file's size in bytes when opened. */
  readonly size: number;
}

/**
 * Reads the file at `path` from its start, in chunks of {@link FILE_READ_SIZE} bytes (each a fresh buffer).
 * The file is opened when iteration starts and closed when it ends, also on failure.
 */
export async function fileSource(path: string): Promise<FileSource> {
  const st = await fs.promises.stat(path);
  if (st.isDirectory()) throw new InvalidArgumentError(`${path} is a directory`);
  return {
    size: st.size,
    async *[Symbol.asyncIterator]() {
      const fh = await fs.promises.open(path, 'r');
      try {
        for (;;) {
          const buf = Buffer.allocUnsafe(FILE_READ_SIZE);
          const { bytesRead } = await fh.read(buf, 0, buf.length, null);
          if (bytesRead === 0) return;
          yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
        }
      } finally {
        await fh.close();
      }
    },
  };
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
 * removed again if the download fails and this call created it. Holes are skipped (positional writes and a
 * final truncate leave them unallocated). The file is open until `close` or `abort`.
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
  let position = 0;
  let open = true;
  const closeOnce = async (): Promise<void> => {
    if (!open) return;
    open = false;
    await fh.close();
  };
  return {
    get position() {
      return position;
    },
    async write(data: Uint8Array): Promise<void> {
      let at = 0;
      while (at < data.length) {
        const { bytesWritten } = await fh.write(data, at, data.length - at, position);
        at += bytesWritten;
        position += bytesWritten;
      }
    },
    hole(length: number): void {
      position += length;
    },
    async close(): Promise<void> {
      try {
        // Holes at the end are not written: the size comes from here (virshStreamSkip's ftruncate).
        await fh.truncate(position);
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
