/**
 * The Duplex → Transport adapter, over real TCP sockets on loopback (and a bare Duplex for the odd cases).
 */

import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { ConnectionClosedError, TransportError } from '../../src/errors';
import type { TransportSink } from '../../src/protocol/transport';
import { DuplexTransport, fromDuplex } from '../../src/transport/node-stream';

interface Pair {
  client: net.Socket;
  server: net.Socket;
  close(): Promise<void>;
}

async function socketPair(): Promise<Pair> {
  const server = net.createServer({ allowHalfOpen: true }); // so the peer may answer after our EOF
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const peer = await accepted;
  return {
    client,
    server: peer,
    close: async () => {
      client.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A sink that records everything, with a promise for the close. */
function recorder() {
  const chunks: Buffer[] = [];
  const closes: (Error | undefined)[] = [];
  let onClose: (err?: Error) => void = () => undefined;
  const closed = new Promise<Error | undefined>((resolve) => (onClose = resolve));
  const sink: TransportSink = {
    data: (chunk) => chunks.push(Buffer.from(chunk)),
    closed: (err) => {
      closes.push(err);
      onClose(err);
    },
  };
  return { sink, chunks, closes, closed, text: () => Buffer.concat(chunks).toString() };
}

const tick = (ms = 20): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let pair: Pair;
beforeEach(async () => {
  pair = await socketPair();
});
afterEach(async () => {
  await pair.close();
});

describe('DuplexTransport over a TCP socket pair', () => {
  it('carries bytes both ways', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    expect(t.description).toBe('tcp:test');
    pair.server.write('hello');
    const got = new Promise<Buffer>((resolve) => pair.server.once('data', resolve));
    expect(t.write(new TextEncoder().encode('ping'))).toBe(true);
    expect((await got).toString()).toBe('ping');
    await tick();
    expect(r.text()).toBe('hello');
  });

  it('reports backpressure and resolves whenWritable() on drain', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    t.attach(recorder().sink);
    pair.server.pause(); // the peer stops reading, so the kernel buffers fill up
    const chunk = new Uint8Array(1 << 20);
    let writes = 0;
    while (t.write(chunk)) {
      writes++;
      if (writes > 1000) throw new Error('write() never returned false');
    }
    let drained = false;
    const writable = t.whenWritable().then(() => (drained = true));
    await tick(50);
    expect(drained).toBe(false);
    pair.server.resume();
    await writable;
    expect(drained).toBe(true);
    // Once drained, whenWritable() resolves at once.
    await expect(t.whenWritable()).resolves.toBeUndefined();
  });

  it('calls closed() once with undefined when the peer ends cleanly, and then refuses writes', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    pair.server.end('bye');
    expect(await r.closed).toBeUndefined();
    await tick();
    expect(r.text()).toBe('bye');
    expect(r.closes).toEqual([undefined]);
    expect(t.write(new Uint8Array([1]))).toBe(false);
    await expect(t.whenWritable()).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('wraps a stream error in a TransportError with the cause', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    pair.server.resetAndDestroy(); // the peer sends RST: the client sees ECONNRESET
    const err = await r.closed;
    expect(err).toBeInstanceOf(TransportError);
    expect(err!.message).toMatch(/^tcp:test: .*ECONNRESET/);
    expect((err as TransportError).cause).toMatchObject({ code: 'ECONNRESET' });
    await tick();
    expect(r.closes).toHaveLength(1);
  });

  it('rejects a pending whenWritable() when the pipe closes', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    t.attach(recorder().sink);
    pair.server.pause();
    while (t.write(new Uint8Array(1 << 20))) { /* fill */ }
    const pending = t.whenWritable();
    pair.server.resetAndDestroy();
    await expect(pending).rejects.toBeInstanceOf(TransportError);
  });

  it('passes the error given to destroy(err) through as is', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    const mine = new Error('protocol broke');
    t.destroy(mine);
    expect(await r.closed).toBe(mine);
    expect(pair.client.destroyed).toBe(true);
    await expect(t.whenWritable()).rejects.toBe(mine);
    t.destroy(new Error('again')); // harmless, and closed() is not called again
    await tick();
    expect(r.closes).toEqual([mine]);
  });

  it('destroy() without an error closes cleanly', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    t.destroy();
    expect(await r.closed).toBeUndefined();
  });

  it('end() half-closes: the peer sees EOF and can still answer before closing', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    const r = recorder();
    t.attach(r.sink);
    const peerEnded = new Promise<void>((resolve) => pair.server.once('end', resolve));
    pair.server.resume();
    t.write(new TextEncoder().encode('last words'));
    t.end();
    await peerEnded;
    expect(r.closes).toEqual([]);
    pair.server.end('reply after EOF');
    expect(await r.closed).toBeUndefined();
    expect(r.text()).toBe('reply after EOF');
  });

  it('reports a close that happened before attach()', async () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    pair.client.destroy();
    await tick();
    const r = recorder();
    t.attach(r.sink);
    expect(await r.closed).toBeUndefined();
    expect(r.closes).toHaveLength(1);
  });

  it('refuses a second attach()', () => {
    const t = new DuplexTransport(pair.client, 'tcp:test');
    t.attach(recorder().sink);
    expect(() => t.attach(recorder().sink)).toThrow(/attach\(\) called twice/);
  });
});

describe('fromDuplex with a caller-built stream', () => {
  it('serves any Duplex, and a stream that never emits close still reports closed once both sides end', async () => {
    const written: Buffer[] = [];
    const stream = new Duplex({
      emitClose: false,
      autoDestroy: false,
      read() { /* pushed below */ },
      write(chunk: Buffer, _enc, cb) {
        written.push(chunk);
        cb();
      },
    });
    const t = fromDuplex(stream, 'pipe:test');
    expect(t.description).toBe('pipe:test');
    const r = recorder();
    t.attach(r.sink);
    stream.push(Buffer.from('abc'));
    t.write(new Uint8Array([1, 2, 3]));
    stream.push(null);
    expect(await r.closed).toBeUndefined();
    expect(r.text()).toBe('abc');
    expect(Buffer.concat(written)).toEqual(Buffer.from([1, 2, 3]));
    expect(stream.writableEnded).toBe(true); // EOF from the peer ended our side too
    expect(r.closes).toHaveLength(1);
  });

  it('reports a destroyed-with-error stream once, wrapped', async () => {
    const stream = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
    const r = recorder();
    fromDuplex(stream).attach(r.sink);
    stream.destroy(new Error('channel failed'));
    const err = await r.closed;
    expect(err).toBeInstanceOf(TransportError);
    expect(err!.message).toBe('caller-supplied stream: channel failed');
    await tick();
    expect(r.closes).toHaveLength(1);
  });
});
