/**
 * WHATWG stream adapters for libvirt streams (browsers, Deno, Node's global ReadableStream/WritableStream).
 * Pull-based: the readable asks the libvirt stream for one packet when its consumer wants more, so a consumer
 * that stops reading holds the daemon back (see ./stream.ts). Cancelling or aborting aborts the libvirt stream.
 */
import { STREAM_PACKET_MAX, type Stream } from './stream.js';

/**
 * The bytes a stream receives, as a ReadableStream; holes read as zeros. At the end of the daemon's data the
 * libvirt stream is finished, then the ReadableStream closes; `cancel()` aborts the libvirt stream.
 */
export function toReadableStream(st: Stream): ReadableStream<Uint8Array> {
  let holeLeft = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (holeLeft > 0) {
          const n = Math.min(holeLeft, STREAM_PACKET_MAX);
          holeLeft -= n;
          controller.enqueue(new Uint8Array(n));
          return;
        }
        const item = await st.receive();
        if (item === null) {
          await st.finish();
          controller.close();
        } else if (item instanceof Uint8Array) {
          controller.enqueue(item);
        } else {
          holeLeft = item.hole - Math.min(item.hole, STREAM_PACKET_MAX);
          controller.enqueue(new Uint8Array(Math.min(item.hole, STREAM_PACKET_MAX)));
        }
      },
      async cancel() {
        await st.abort();
      },
    },
    { highWaterMark: 0 },
  );
}

/** A WritableStream into a stream: `close()` finishes the libvirt stream, `abort()` aborts it. */
export function toWritableStream(st: Stream): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>(
    {
      write: (chunk) => st.send(chunk),
      close: () => st.finish(),
      abort: () => st.abort(),
    },
    { highWaterMark: 1 },
  );
}
