/**
 * WebSocketTransport against a scripted WebSocket with the standard API (as a browser has it): libvirt frames
 * split at every byte and merged across messages, backpressure through bufferedAmount, close codes, the
 * handshake bound and its typed errors.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../../src/errors';
import { Connect } from '../../src/objects/connect';
import { RemoteConnection } from '../../src/protocol/connection';
import { connectGetLibVersion } from '../../generated/remote-procedures';
import {
  openWebSocketTransport,
  WebSocketConstructor,
  WebSocketError,
  WebSocketTransport,
} from '../../src/protocol/websocket-transport';
import { cutAt, everyByte, fakeDaemon, FakeWebSocket, merged, randomCuts, type Chopper } from '../helpers/fake-websocket';

const Fake = FakeWebSocket as unknown as WebSocketConstructor;

/** Opens a transport over a fresh fake socket that the server accepts at once. */
async function openFake(options: Parameters<typeof openWebSocketTransport>[1] = {}): Promise<{ ws: FakeWebSocket; transport: WebSocketTransport }> {
  const p = openWebSocketTransport('ws://127.0.0.1:9/libvirt?token=secret', { WebSocket: Fake, ...options });
  const ws = FakeWebSocket.instances.at(-1)!;
  ws.serverOpen();
  return { ws, transport: await p };
}

/** Opens a whole libvirt connection through a fake daemon whose reply batches are cut by `chop`. */
async function openThrough(chop: Chopper, batch: number): Promise<{ ws: FakeWebSocket; conn: Connect; calls: ReturnType<typeof fakeDaemon>['calls'] }> {
  const { ws, transport } = await openFake();
  const { calls } = fakeDaemon(ws, chop, batch);
  const conn = await Connect.openWith(transport, { name: 'qemu:///session', keepalive: false });
  return { ws, conn, calls };
}

describe('frames cut anywhere across WebSocket messages', () => {
  test('every byte of every reply in its own message', async () => {
    const { conn, calls } = await openThrough(everyByte, 1);
    await expect(conn.getLibVersion()).resolves.toBe(9000000);
    expect(calls.map((f) => f.header.proc)).toEqual([66, 60, 1, 157]);
    conn.destroy();
  });

  test('the three replies of the open sequence merged into one message, then cut at every byte position', async () => {
    const whole = await openThrough(merged, 3);
    whole.conn.destroy();
    // The same three replies as one byte string: cut it at each position into two messages.
    let length = 0;
    {
      const { ws, transport } = await openFake();
      const lengths: number[] = [];
      fakeDaemon(ws, (b) => (lengths.push(b.length), [b]), 3);
      (await Connect.openWith(transport, { name: null, keepalive: false })).destroy();
      length = lengths[0];
    }
    expect(length).toBeGreaterThan(3 * 28);
    for (let at = 1; at < length; at++) {
      const { conn } = await openThrough(cutAt(at), 3);
      expect(conn.isAlive()).toBe(true);
      conn.destroy();
    }
  });

  test('32 calls in flight, replies merged and re-cut at random sizes, each call gets its own answer', async () => {
    for (const seed of [1, 2, 3]) {
      const { conn } = await openThrough(randomCuts(seed, 97), 8);
      const versions = await Promise.all(Array.from({ length: 32 }, () => conn.getLibVersion()));
      expect(versions).toEqual(Array(32).fill(9000000));
      conn.destroy();
    }
  });
});

describe('opening', () => {
  test('offers the binary subprotocol and the token as bearer.<token>; the description carries neither query nor token', async () => {
    const { ws, transport } = await openFake({ token: 'abc-DEF_123' });
    expect(ws.protocols).toEqual(['binary', 'bearer.abc-DEF_123']);
    expect(ws.binaryType).toBe('arraybuffer');
    expect(transport.description).toBe('websocket:ws://127.0.0.1:9/libvirt');
    expect(transport.protocol).toBe('binary');
  });

  test('a token that cannot be a subprotocol, credentials in the URL, other schemes: InvalidArgumentError', () => {
    expect(() => openWebSocketTransport('ws://h/', { WebSocket: Fake, token: 'has space' })).toThrow(InvalidArgumentError);
    expect(() => openWebSocketTransport('ws://u:p@h/', { WebSocket: Fake })).toThrow(/must not carry credentials/);
    expect(() => openWebSocketTransport('http://h/', { WebSocket: Fake })).toThrow(/ws: or wss:/);
    expect(() => openWebSocketTransport('ws://h/', { WebSocket: Fake, timeout: -1 })).toThrow(InvalidArgumentError);
  });

  test('no WebSocket class (Node 20 has no global one) is a clear error', () => {
    const had = (globalThis as { WebSocket?: unknown }).WebSocket;
    delete (globalThis as { WebSocket?: unknown }).WebSocket;
    try {
      expect(() => openWebSocketTransport('ws://h/')).toThrow(/pass options.WebSocket/);
    } finally {
      if (had !== undefined) (globalThis as { WebSocket?: unknown }).WebSocket = had;
    }
  });

  test('a handshake that never finishes is bounded by the timeout, and the socket is closed', async () => {
    const p = openWebSocketTransport('ws://h/', { WebSocket: Fake, timeout: 30 });
    const ws = FakeWebSocket.instances.at(-1)!;
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    expect(ws.closeCalls.length).toBe(1);
    expect(ws.listenerCount('open')).toBe(0);
  });

  test('a refused handshake is ERR_WEBSOCKET_HANDSHAKE with what the WebSocket said', async () => {
    const p = openWebSocketTransport('ws://h/', { WebSocket: Fake });
    const ws = FakeWebSocket.instances.at(-1)!;
    ws.serverError('Unexpected server response: 401');
    ws.serverClose(1006);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebSocketError);
    expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE', closeCode: 1006 });
    expect((err as Error).message).toMatch(/handshake failed: Unexpected server response: 401/);
  });

  test('an abort signal ends the handshake with AbortError', async () => {
    const ctl = new AbortController();
    const p = openWebSocketTransport('ws://h/', { WebSocket: Fake, signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });

  test('a WebSocket the caller made: open already, or still connecting', async () => {
    const open = new FakeWebSocket();
    open.serverOpen();
    const t1 = await openWebSocketTransport(open);
    expect(t1.description).toBe('websocket:caller-supplied');
    const connecting = new FakeWebSocket();
    const p = openWebSocketTransport(connecting);
    connecting.serverOpen();
    await expect(p).resolves.toBeInstanceOf(WebSocketTransport);
    const closed = new FakeWebSocket();
    closed.readyState = 3;
    await expect(openWebSocketTransport(closed)).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE' });
  });
});

describe('backpressure', () => {
  test('write() is false above the high-water mark; whenWritable() waits until bufferedAmount falls', async () => {
    const { ws, transport } = await openFake({ highWaterMark: 100 });
    ws.holdBuffer = true;
    expect(transport.write(new Uint8Array(60))).toBe(true);
    expect(transport.write(new Uint8Array(60))).toBe(false);
    let writable = false;
    const w = transport.whenWritable().then(() => (writable = true));
    await new Promise((r) => setTimeout(r, 40));
    expect(writable).toBe(false);
    ws.drain();
    await w;
    expect(writable).toBe(true);
    expect(ws.sent.map((s) => s.length)).toEqual([120]);
  });

  test('frames written in one task go out as one message; frames of later tasks in messages of their own', async () => {
    const { ws, transport } = await openFake();
    transport.write(Uint8Array.of(1, 2));
    transport.write(Uint8Array.of(3));
    expect(ws.sent).toEqual([]);
    await Promise.resolve();
    transport.write(Uint8Array.of(4));
    await new Promise((r) => setTimeout(r, 0));
    expect(ws.sent).toEqual([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    transport.write(Uint8Array.of(5));
    transport.end(); // flushes what this task wrote before the close frame
    expect(ws.sent.at(-1)).toEqual(Uint8Array.of(5));
    expect(ws.closeCalls).toEqual([{ code: 1000, reason: undefined }]);
  });

  test('calls queued behind a full buffer go out once it drains', async () => {
    const { ws, transport } = await openFake({ highWaterMark: 16 });
    fakeDaemon(ws, merged, 1);
    const conn = await RemoteConnection.open(transport, { name: null, keepalive: false });
    ws.holdBuffer = true;
    const first = conn.libVersion(); // fills the buffer: later frames wait in the engine's queue
    await new Promise((r) => setTimeout(r, 10));
    const calls = Array.from({ length: 10 }, () => conn.rpc.call(connectGetLibVersion, undefined).then((r) => Number(r.lib_ver)));
    await new Promise((r) => setTimeout(r, 30));
    const sentWhileFull = ws.sent.length;
    ws.holdBuffer = false;
    ws.drain();
    await expect(first).resolves.toBe(9000000n);
    await expect(Promise.all(calls)).resolves.toEqual(Array(10).fill(9000000));
    expect(ws.sent.length).toBeGreaterThan(sentWhileFull);
    conn.destroy();
  });

  test('a waiter is rejected when the socket closes', async () => {
    const { ws, transport } = await openFake({ highWaterMark: 1 });
    transport.attach({ data: () => undefined, closed: () => undefined });
    ws.holdBuffer = true;
    transport.write(new Uint8Array(10));
    const w = transport.whenWritable();
    ws.serverClose(1006);
    await expect(w).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED', closeCode: 1006 });
  });
});

describe('closing', () => {
  async function closedWith(code: number, reason: string, wasClean?: boolean): Promise<Error | undefined> {
    const { ws, transport } = await openFake();
    const closed = new Promise<Error | undefined>((resolve) => transport.attach({ data: () => undefined, closed: resolve }));
    ws.serverClose(code, reason, wasClean);
    return closed;
  }

  test('a close with 1000 is an end of file', async () => {
    await expect(closedWith(1000, '')).resolves.toBeUndefined();
  });

  test('a bridge refusal (44xx) is ERR_WEBSOCKET_REFUSED with its code and reason', async () => {
    const err = await closedWith(4401, 'bearer token missing or wrong');
    expect(err).toBeInstanceOf(WebSocketError);
    expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_REFUSED', closeCode: 4401, closeReason: 'bearer token missing or wrong' });
    expect(err!.message).toBe('websocket:ws://127.0.0.1:9/libvirt: the bridge refused the connection (close code 4401): bearer token missing or wrong');
  });

  test('a dropped connection (1006) is ERR_WEBSOCKET_CLOSED', async () => {
    const err = await closedWith(1006, '', false);
    expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED', closeCode: 1006 });
    expect(err!.message).toMatch(/connection dropped/);
  });

  test('the open sequence refused by the bridge surfaces the bridge\'s reason, not just "closed"', async () => {
    const { ws, transport } = await openFake();
    ws.onSend = () => ws.serverClose(4403, 'read-only bridge: CONNECT_OPEN without VIR_CONNECT_RO');
    const err = await RemoteConnection.open(transport, { name: null }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_REFUSED', closeCode: 4403 });
    expect((err as Error).message).toMatch(/read-only bridge/);
  });

  test('pending calls are rejected when the socket drops', async () => {
    const { ws, transport } = await openFake();
    fakeDaemon(ws, merged, 1);
    const conn = await RemoteConnection.open(transport, { name: null, keepalive: false });
    ws.onSend = null; // the daemon stops answering
    const call = conn.libVersion();
    ws.serverClose(1006);
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionClosedError);
    expect((err as Error).cause).toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED' });
  });

  test('close() sends CONNECT_CLOSE and a 1000 close frame; destroy() reports at once', async () => {
    const { ws, transport } = await openFake();
    fakeDaemon(ws, merged, 1);
    const conn = await RemoteConnection.open(transport, { name: null, keepalive: false });
    const info = await conn.close();
    expect(info.reason).toBe('closed');
    expect(ws.closeCalls[0]).toEqual({ code: 1000, reason: undefined });
    const other = await openFake();
    let reported: Error | undefined | null = null;
    other.transport.attach({ data: () => undefined, closed: (e) => (reported = e) });
    other.transport.destroy(new Error('bye'));
    await Promise.resolve();
    expect(reported).toEqual(new Error('bye'));
  });

  test('a text message is not libvirt data: ERR_WEBSOCKET_MESSAGE, and the socket is closed with 1003', async () => {
    const { ws, transport } = await openFake();
    const closed = new Promise<Error | undefined>((resolve) => transport.attach({ data: () => undefined, closed: resolve }));
    ws.serverMessage('AAAA');
    await expect(closed).resolves.toMatchObject({ code: 'ERR_WEBSOCKET_MESSAGE' });
    expect(ws.closeCalls[0].code).toBe(1003);
  });
});
