/** A loopback TCP proxy a test can tell to stop forwarding, to play a peer that goes silent. */
import * as net from 'node:net';

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

export async function startProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
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
    client.on('data', (d) => {
      if (mode !== 'blackhole') upstream.write(d);
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
