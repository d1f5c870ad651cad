/**
 * The one transport interface of libvirt-rpc: a duplex byte pipe.
 *
 * The RPC engine neither knows nor cares what carries its bytes: a unix socket, TCP, TLS, an SSH channel, a
 * WebSocket in a browser, or a pipe the caller built. `src/transport` turns URIs into transports; a caller
 * may hand in its own. This file has no `node:` imports so the engine bundles for browsers.
 */

/** What a transport delivers to its one consumer (the RPC engine). */
export interface TransportSink {
  /** Bytes arrived. The chunk is only valid during the call unless the consumer copies it or owns it. */
  data(chunk: Uint8Array): void;
  /** The pipe closed: cleanly (`err` undefined) or because of `err`. Called at most once. */
  closed(err?: Error): void;
}

/** A duplex byte pipe to a libvirt daemon. */
export interface Transport {
  /** Human description for errors and logs, e.g. `unix:/run/user/1000/libvirt/libvirt-sock`. Never secrets. */
  readonly description: string;
  /**
   * Whether the pipe itself keeps what is sent secret and reaches the intended peer: true for TLS, a local unix
   * socket and an SSH channel; false or absent for plain TCP and pipes of unknown kind. SASL relies on it:
   * libvirt treats TLS and unix sockets as secure (priv->is_secure in src/remote/remote_driver.c) and demands
   * a SASL security layer everywhere else, so mechanisms without one (SCRAM, PLAIN) are used only when this is
   * true. Set it on a pipe of your own (a WebSocket over wss:, say) only when that holds.
   */
  readonly confidential?: boolean;
  /** Starts delivering bytes to `sink`. Called once, before any write. */
  attach(sink: TransportSink): void;
  /**
   * Queues bytes for sending. Returns false when the pipe's buffer is above its high-water mark; the caller
   * should then await {@link whenWritable} before writing more (backpressure). The pipe keeps `chunk` until it
   * is written out; `written`, when given, is called then (a stream reuses its packet buffers after it), and
   * never if the pipe fails first. A pipe that cannot tell may never call it.
   */
  write(chunk: Uint8Array, written?: () => void): boolean;
  /** Resolves when the pipe can take more bytes, or rejects if it closed first. */
  whenWritable(): Promise<void>;
  /** Flushes what was written and closes the sending side; the sink's `closed` follows. */
  end(): void;
  /** Closes now, dropping unsent bytes; the sink's `closed` follows with `err`. */
  destroy(err?: Error): void;
  /**
   * Stops delivering bytes until {@link resume} (a stream's reader is slow): the peer is then held back by
   * the pipe's own flow control. Optional; a transport without it keeps delivering.
   */
  pause?(): void;
  /** Delivers bytes again after {@link pause}. */
  resume?(): void;
}
