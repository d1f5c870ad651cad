/**
 * Node stream adapters for libvirt streams: a download as a `Readable`, an upload as a `Writable`, a console
 * or channel as a `Duplex`, all usable with `stream.pipeline`. Backpressure carries through: a Readable that
 * nobody reads stops receiving, so the stream's queue fills and the connection stops reading (the daemon is
 * held back); a Writable's callbacks wait for the socket.
 *
 * Destroying an adapter (pipeline does on any failure) aborts the stream; ending a Writable or Duplex finishes
 * it, and a Readable finishes the stream when the daemon's data ends, before it ends itself.
 */
import { once } from 'node:events';
import { Duplex, Readable, Writable } from 'node:stream';
import { StreamClosedError } from '../errors.js';
import { STREAM_PACKET_MAX, type Stream } from '../protocol/stream.js';
import type { DownloadSink } from '../objects/transfer.js';

type Callback = (err?: Error | null) => void;

/** The reading half: one receive per `_read`, holes as zero chunks of at most one packet. */
class Reader {
  #holeLeft = 0;
  #ended = false;

  constructor(readonly st: Stream) {}

  /** Pushes the next chunk (or the end) into `r`; errors destroy it. */
  read(r: Readable): void {
    if (this.#holeLeft > 0) {
      const n = Math.min(this.#holeLeft, STREAM_PACKET_MAX);
      this.#holeLeft -= n;
      r.push(new Uint8Array(n));
      return;
    }
    this.st.receive().then(
      async (item) => {
        if (item === null) {
          await this.st.finish();
          this.end(r);
        } else if (item instanceof Uint8Array) {
          r.push(item);
        } else {
          this.#holeLeft = item.hole;
          this.read(r);
        }
      },
    ).catch((e: Error) => {
      // Finished or aborted on this side (a Duplex's end()): reading just ends.
      if (e instanceof StreamClosedError) this.end(r);
      else r.destroy(e);
    });
  }

  /** Ends the readable side once. */
  end(r: Readable): void {
    if (this.#ended) return;
    this.#ended = true;
    r.push(null);
  }

  get ended(): boolean {
    return this.#ended;
  }
}

/** Aborts `st` unless it already ended, then calls back with `err`. */
function abortThen(st: Stream, err: Error | null, cb: Callback): void {
  if (st.state !== 'open') {
    cb(err);
    return;
  }
  st.abort().then(() => cb(err), () => cb(err));
}

/** A download (or any stream the daemon sends on) as a Node Readable of its bytes; holes read as zeros. */
export function toNodeReadable(st: Stream): Readable {
  const reader = new Reader(st);
  return new Readable({
    read() {
      reader.read(this);
    },
    destroy(err, cb) {
      abortThen(st, err, cb);
    },
  });
}

/** An upload (or any stream one sends on) as a Node Writable; `end()` finishes the stream. */
export function toNodeWritable(st: Stream): Writable {
  return new Writable({
    highWaterMark: STREAM_PACKET_MAX,
    write(chunk: Uint8Array, _enc, cb: Callback) {
      st.send(chunk).then(() => cb(), cb);
    },
    final(cb: Callback) {
      st.finish().then(() => cb(), cb);
    },
    destroy(err, cb) {
      abortThen(st, err, cb);
    },
  });
}

/**
 * A console or channel as a Node Duplex: what is written goes to the guest, what the guest writes is read.
 * `end()` finishes the stream (libvirt has no half-close); the readable side ends when the daemon ends its
 * data (the guest went away).
 */
export function toNodeDuplex(st: Stream): Duplex {
  const reader = new Reader(st);
  return new Duplex({
    allowHalfOpen: false,
    read() {
      reader.read(this);
    },
    write(chunk: Uint8Array, _enc, cb: Callback) {
      st.send(chunk).then(() => cb(), cb);
    },
    final(cb: Callback) {
      if (reader.ended || st.state !== 'open') {
        cb();
        return;
      }
      st.finish().then(() => {
        reader.end(this);
        cb();
      }, cb);
    },
    destroy(err, cb) {
      abortThen(st, err, cb);
    },
  });
}

/**
 * A Node Writable (e.g. `fs.createWriteStream`, `process.stdout`) as the sink of `StorageVol.download`: waits
 * for 'drain' when it is full, ends it when the download is complete, destroys it when the download failed.
 * Holes arrive as zeros.
 */
export function nodeWritableSink(w: Writable): DownloadSink {
  return {
    async write(data: Uint8Array): Promise<void> {
      if (w.destroyed) throw w.errored ?? new Error('the writable was destroyed');
      if (!w.write(data)) await once(w, 'drain');
    },
    async close(): Promise<void> {
      w.end();
      await once(w, 'finish');
    },
    abort(reason: unknown): void {
      w.destroy(reason instanceof Error ? reason : undefined);
    },
  };
}
