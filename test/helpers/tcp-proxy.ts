/**
 * A loopback TCP proxy a test can tell to stop forwarding, to play a peer that goes silent, or that holds some of
 * the client's libvirt RPC calls back for a while (each connection's bytes stay in order).
 */
import * as net from 'node:net';

/** The header of a libvirt RPC frame the client sent. */
export interface FrameHeader {
  prog: number;
  proc: number;
  serial: number;
}

/** Options of {@link startProxy}. */
export interface ProxyOptions {
  /**
   * How long to hold a client frame (and everything after it on that connection) before passing it on, in ms;
   * 0 passes it at once.
   */
  delayUpstream?: (frame: FrameHeader) => number;
}

export interface TcpProxy {
  port: number;
  /** Stops forwarding in both directions (bytes are swallowed; sockets stay open). */
  blackhole(): void;
  /** Holds daemon-to-client bytes until release(). */
  hold(): void;
  release(): void;
  /** Drops every connection and refuses new ones, like a daemon that died. */
  down(): void;
  /** Accepts connections again. */
  up(): void;
  close(): Promise<void>;
}

export async function startProxy(targetPort: number, targetHost = '127.0.0.1', options: ProxyOptions = {}): Promise<TcpProxy> {
  let mode: 'pass' | 'hold' | 'blackhole' = 'pass';
  let isDown = false;
  const held: { sock: net.Socket; data: Buffer }[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client).add(upstream);
    const forward = options.delayUpstream ? delayedForwarder(upstream, options.delayUpstream) : (d: Buffer) => upstream.write(d);
    client.on('data', (d) => {
      if (mode !== 'blackhole') forward(d);
    });
    upstream.on('data', (d) => {
      if (mode === 'pass') client.write(d);
      else if (mode === 'hold') held.push({ sock: client, data: d });
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    blackhole: () => void (mode = 'blackhole'),
    hold: () => void (mode = 'hold'),
    release: () => {
      mode = 'pass';
      for (const h of held.splice(0)) h.sock.write(h.data);
    },
    down: () => {
      isDown = true;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    up: () => void (isDown = false),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * Cuts the client's bytes into RPC frames (a 4-byte length first, then prog, vers, proc, type, serial, status)
 * and passes them on in order, waiting `delay(header)` ms before each.
 */
function delayedForwarder(upstream: net.Socket, delay: (f: FrameHeader) => number): (d: Buffer) => void {
  let buffered = Buffer.alloc(0);
  let chain = Promise.resolve();
  return (d) => {
    buffered = Buffer.concat([buffered, d]);
    while (buffered.length >= 28) {
      const length = buffered.readUInt32BE(0);
      if (buffered.length < length) break;
      const frame = buffered.subarray(0, length);
      buffered = buffered.subarray(length);
      const ms = delay({ prog: frame.readUInt32BE(4), proc: frame.readUInt32BE(12), serial: frame.readUInt32BE(20) });
      chain = chain.then(async () => {
        if (ms > 0) await new Promise((r) => setTimeout(r, ms));
        if (!upstream.destroyed) upstream.write(frame);
      });
    }
  };
}
