/**
 * The stream protocol against a scripted fake daemon: what goes on the wire for data, holes, finish and abort
 * (libvirt's virnetclientstream.c / remote_daemon_stream.c), what each answer of the daemon does, and the
 * bounded queue that pauses the transport. Every failure is a typed error; nothing hangs.
 */
import {
  AbortError, ConnectionClosedError, ProtocolError, RemoteError, StreamClosedError, StreamError, StreamOverflowError, TimeoutError,
} from '../../src/errors';
import { encodeFrame, Frame, FrameHeader, MessageStatus, MessageType } from '../../src/protocol/frame';
import { RpcClient } from '../../src/protocol/rpc-client';
import { Stream, STREAM_PACKET_MAX, type StreamOpenOptions } from '../../src/protocol/stream';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import { remote, virnet } from '../../generated';
import * as R from '../../generated/remote-procedures';
import { failOnUnhandledRejections, FakePeer, replyFrame, until } from '../helpers/fake-peer';

const VOL = { pool: 'p', name: 'v', key: '/p/v' };
const DOM = { name: 'd', uuid: new Uint8Array(16), id: 1 };
const HOSTNAME = R.connectGetHostname;

failOnUnhandledRejections();

function setup() {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R.remote_program_id]);
  return { peer, client };
}

/** A STREAM or STREAM_HOLE frame from the daemon for the call `h`. */
function packet(h: FrameHeader, status: number, payload?: Uint8Array, type: number = MessageType.VIR_NET_STREAM): Uint8Array {
  return encodeFrame({ ...h, type, status }, payload);
}

const data = (h: FrameHeader, bytes: Uint8Array) => packet(h, MessageStatus.VIR_NET_CONTINUE, bytes);
const eof = (h: FrameHeader) => packet(h, MessageStatus.VIR_NET_CONTINUE);
const ok = (h: FrameHeader) => packet(h, MessageStatus.VIR_NET_OK);
const hole = (h: FrameHeader, length: number, flags = 0) =>
  packet(h, MessageStatus.VIR_NET_CONTINUE, xdrEncode(virnet.xdr_virNetStreamHole, { length: BigInt(length), flags }), MessageType.VIR_NET_STREAM_HOLE);
const error = (h: FrameHeader, message: string, code = 38) =>
  packet(h, MessageStatus.VIR_NET_ERROR, xdrEncode(virnet.xdr_virNetMessageError, {
    code, domain: 18, message, level: 2, dom: null, str1: message, str2: null, str3: null, int1: 0, int2: 0, net: null,
  }));

/** Opens a download stream; the fake daemon accepts the call. Returns the stream and the call's header. */
async function openDownload(peer: FakePeer, client: RpcClient, opts: StreamOpenOptions = {}, flags = 0) {
  const p = Stream.open(client, R.storageVolDownload, { vol: VOL, offset: 0n, length: 0n, flags }, opts);
  const call = peer.received[peer.received.length - 1].header;
  peer.deliver(replyFrame(call, null));
  return { st: await p, call };
}

/** Frames the client sent after the opening call, as [type, status, payload length]. */
function sent(peer: FakePeer, from = 1): [number, number, number][] {
  return peer.received.slice(from).map((f) => [f.header.type, f.header.status, f.payload.length]);
}

const { VIR_NET_STREAM: STREAM, VIR_NET_STREAM_HOLE: HOLE } = MessageType;
const { VIR_NET_CONTINUE: CONTINUE, VIR_NET_OK: OK, VIR_NET_ERROR: ERROR } = MessageStatus;

describe('opening', () => {
  test('the call goes out as a CALL; the stream opens with its reply, which it keeps', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.domainScreenshot, { dom: DOM, screen: 0, flags: 0 });
    const call = peer.received[0].header;
    expect(call).toMatchObject({ type: MessageType.VIR_NET_CALL, proc: R.domainScreenshot.number, status: OK });
    peer.deliver(replyFrame(call, remote.xdr_remote_domain_screenshot_ret, { mime: 'image/png' }));
    const st = await p;
    expect(st.reply).toEqual({ mime: 'image/png' });
    expect(st.serial).toBe(call.serial);
    expect(st.state).toBe('open');
  });

  test('an error reply rejects the open with the daemon\'s error; the serial is free again', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolDownload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    const call = peer.received[0].header;
    peer.deliver(encodeFrame({ ...call, type: MessageType.VIR_NET_REPLY, status: ERROR }, xdrEncode(virnet.xdr_virNetMessageError, {
      code: 50, domain: 18, message: 'Storage volume not found', level: 2, dom: null, str1: null, str2: null, str3: null, int1: 0, int2: 0, net: null,
    })));
    const err = (await p.catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.remote.codeName).toBe('VIR_ERR_NO_STORAGE_VOL');
    expect(client.pendingCalls).toBe(0);
  });

  test('data that arrives before the reply is kept, as libvirt registers the stream before calling', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolDownload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    const call = peer.received[0].header;
    peer.deliver(data(call, new Uint8Array([1, 2, 3])));
    peer.deliver(replyFrame(call, null));
    const st = await p;
    expect(await st.receive()).toEqual(new Uint8Array([1, 2, 3]));
  });

  test('an open that times out is aborted as soon as the daemon accepts it after all', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolDownload, { vol: VOL, offset: 0n, length: 0n, flags: 0 }, { timeout: 20 });
    await expect(p).rejects.toBeInstanceOf(TimeoutError);
    const call = peer.received[0].header;
    peer.deliver(data(call, new Uint8Array(10))); // dropped: nobody reads it
    peer.deliver(replyFrame(call, null));
    expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
    peer.deliver(data(call, new Uint8Array(10)));
    peer.deliver(ok(call));
    expect(client.pendingCalls).toBe(0);
    expect(client.isOpen).toBe(true);
  });
});

describe('receiving', () => {
  test('packets come out in order; the empty CONTINUE is the end, seen by every later receive', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    peer.deliver(data(call, new Uint8Array([1])));
    peer.deliver(data(call, new Uint8Array([2, 2])));
    peer.deliver(eof(call));
    expect(await st.receive()).toEqual(new Uint8Array([1]));
    expect(await st.receive()).toEqual(new Uint8Array([2, 2]));
    expect(await st.receive()).toBeNull();
    expect(await st.receive()).toBeNull();
    expect(st.bytesReceived).toBe(3);
  });

  test('finish sends the final empty OK packet and resolves on the daemon\'s empty OK; then the stream is closed', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    peer.deliver(eof(call));
    expect(await st.receive()).toBeNull();
    const fin = st.finish();
    await until(() => sent(peer).length > 0);
    expect(sent(peer)).toEqual([[STREAM, OK, 0]]);
    expect(peer.received[1].header).toMatchObject({ serial: call.serial, proc: call.proc, prog: call.prog });
    peer.deliver(ok(call));
    await fin;
    expect(st.state).toBe('finished');
    await expect(st.receive()).rejects.toBeInstanceOf(StreamClosedError);
    await expect(st.send(new Uint8Array(1))).rejects.toBeInstanceOf(StreamClosedError);
    await expect(st.finish()).rejects.toBeInstanceOf(StreamClosedError);
    await expect(st.abort()).resolves.toBeUndefined();
    expect(client.pendingCalls).toBe(0);
  });

  test('a receive waits, and gives up on its timeout or signal while the stream stays usable', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    await expect(st.receive({ timeout: 10 })).rejects.toBeInstanceOf(TimeoutError);
    const ctl = new AbortController();
    const r = st.receive({ signal: ctl.signal });
    ctl.abort();
    await expect(r).rejects.toBeInstanceOf(AbortError);
    peer.deliver(data(call, new Uint8Array([9])));
    expect(await st.receive()).toEqual(new Uint8Array([9]));
  });

  test('holes of a sparse stream come out as holes, adjacent ones merged', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client, { sparse: true }, 1);
    peer.deliver(hole(call, 4096));
    peer.deliver(hole(call, 2 ** 40));
    peer.deliver(data(call, new Uint8Array([7])));
    peer.deliver(eof(call));
    expect(await st.receive()).toEqual({ hole: 4096 + 2 ** 40 });
    expect(await st.receive()).toEqual(new Uint8Array([7]));
    expect(await st.receive()).toBeNull();
  });

  test('a hole on a stream that is not sparse fails the stream (not the connection) and aborts it', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    peer.deliver(hole(call, 4096));
    await expect(st.receive()).rejects.toBeInstanceOf(StreamError);
    expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
    peer.deliver(ok(call));
    await st.abort();
    expect(client.isOpen).toBe(true);
  });

  test('the daemon\'s STREAM ERROR is raised by the next operation, before data still queued; abort then sends nothing', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    peer.deliver(data(call, new Uint8Array([1])));
    peer.deliver(error(call, 'cannot read volume'));
    const err = (await st.receive().catch((e: unknown) => e)) as RemoteError;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.message).toContain('cannot read volume');
    expect(err.procedure).toBe('REMOTE_PROC_STORAGE_VOL_DOWNLOAD');
    await expect(st.finish()).rejects.toBe(err);
    await st.abort();
    expect(sent(peer)).toEqual([]);
    expect(client.isOpen).toBe(true);
  });

  test('an OK the client did not ask for breaks the protocol, as it does for libvirt\'s client', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    const r = st.receive();
    peer.deliver(ok(call));
    const info = await client.closed;
    expect(info.error).toBeInstanceOf(ProtocolError);
    await expect(r).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  test('the connection closing fails waiting operations with ConnectionClosedError', async () => {
    const { peer, client } = setup();
    const { st } = await openDownload(peer, client);
    const r = st.receive();
    peer.hangUp();
    await expect(r).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(st.send(new Uint8Array(1))).rejects.toBeInstanceOf(ConnectionClosedError);
    await expect(st.abort()).resolves.toBeUndefined();
  });
});

describe('backpressure on receive', () => {
  test('above the high-water mark the transport is paused; reading below half of it resumes', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client, { highWaterMark: 1000 });
    for (let i = 0; i < 4; i++) peer.deliver(data(call, new Uint8Array(300)));
    expect(peer.paused).toBe(true);
    expect(client.readPaused).toBe(true);
    expect(st.queuedBytes).toBe(1200);
    await st.receive();
    await st.receive();
    expect(peer.paused).toBe(true); // 600 bytes left: above half the mark
    await st.receive();
    expect(peer.paused).toBe(false);
    expect(client.readPaused).toBe(false);
  });

  test('abort while paused resumes reading and drops the queue', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client, { highWaterMark: 100 });
    peer.deliver(data(call, new Uint8Array(300)));
    expect(peer.paused).toBe(true);
    const a = st.abort();
    expect(peer.paused).toBe(false);
    expect(st.queuedBytes).toBe(0);
    peer.deliver(data(call, new Uint8Array(300))); // still in flight: dropped
    peer.deliver(ok(call));
    await a;
    expect(st.state).toBe('aborted');
  });

  test('a transport that cannot pause overflows the hard bound: StreamOverflowError, the stream aborted, the connection kept', async () => {
    const { peer, client } = setup();
    (peer as { pause?: unknown }).pause = undefined;
    const { st, call } = await openDownload(peer, client, { highWaterMark: 1024 });
    const packet = data(call, new Uint8Array(STREAM_PACKET_MAX));
    for (let i = 0; i < 6; i++) peer.deliver(packet);
    await expect(st.receive()).rejects.toBeInstanceOf(StreamOverflowError);
    expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
    peer.deliver(ok(call));
    await st.abort();
    const h = client.call(HOSTNAME, undefined);
    peer.deliver(replyFrame(peer.received[peer.received.length - 1].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'x' }));
    await expect(h).resolves.toEqual({ hostname: 'x' });
  });
});

describe('sending', () => {
  test('data goes out in CONTINUE packets of at most VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX bytes', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    peer.deliver(replyFrame(peer.received[0].header, null));
    const st = await p;
    const bytes = new Uint8Array(2 * STREAM_PACKET_MAX + 5).map((_, i) => i & 255);
    await st.send(bytes);
    expect(STREAM_PACKET_MAX).toBe(262120);
    expect(sent(peer)).toEqual([[STREAM, CONTINUE, STREAM_PACKET_MAX], [STREAM, CONTINUE, STREAM_PACKET_MAX], [STREAM, CONTINUE, 5]]);
    const got = Buffer.concat(peer.received.slice(1).map((f) => f.payload));
    expect(got.equals(Buffer.from(bytes))).toBe(true);
    expect(st.bytesSent).toBe(bytes.length);
  });

  test('a sender waits for the socket to drain before each packet, bounded by its timeout; frames are reused', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    peer.deliver(replyFrame(peer.received[0].header, null));
    const st = await p;
    const buffers: ArrayBufferLike[] = [];
    const write = peer.write.bind(peer);
    peer.write = (chunk, written) => {
      buffers.push(chunk.buffer);
      return write(chunk, written);
    };
    await st.send(new Uint8Array(100_000).fill(1));
    await st.send(new Uint8Array(100_000).fill(2));
    // The fake daemon copies what it gets and says so: the second packet went out in the first one's frame.
    expect(buffers.length).toBe(2);
    expect(buffers[1]).toBe(buffers[0]);
    expect(peer.writes[1].length).toBe(100_028);
    expect(peer.received[2].payload.every((b) => b === 2)).toBe(true);
    peer.blocked = true;
    await st.send(new Uint8Array(10)); // the packet is handed over, then the socket is full
    await expect(st.send(new Uint8Array(10), { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    const s = st.send(new Uint8Array(10));
    let done = false;
    void s.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    peer.release();
    await s;
    expect(sent(peer).length).toBe(4);
  });

  test('holes: refused locally on a stream that is not sparse; a virNetStreamHole on a sparse one', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    peer.deliver(replyFrame(peer.received[0].header, null));
    const plain = await p;
    await expect(plain.sendHole(4096)).rejects.toBeInstanceOf(StreamError);
    expect(sent(peer)).toEqual([]);

    const q = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 1 }, { sparse: true });
    const call = peer.received[peer.received.length - 1].header;
    peer.deliver(replyFrame(call, null));
    const sparse = await q;
    await sparse.sendHole(2 ** 33 + 7);
    const f: Frame = peer.received[peer.received.length - 1];
    expect(f.header).toMatchObject({ type: HOLE, status: CONTINUE, serial: call.serial });
    expect(xdrDecode(virnet.xdr_virNetStreamHole, f.payload)).toEqual({ length: 2n ** 33n + 7n, flags: 0 });
    await expect(sparse.sendHole(-1)).rejects.toBeInstanceOf(StreamError);
    await expect(sparse.sendHole(10, 1)).rejects.toBeInstanceOf(StreamError);
  });

  test('the daemon\'s error during an upload is raised by the next send; finish rejects with it and sends nothing', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    const call = peer.received[0].header;
    peer.deliver(replyFrame(call, null));
    const st = await p;
    await st.send(new Uint8Array(5));
    peer.deliver(error(call, 'cannot write to stream: No space left on device'));
    await expect(st.send(new Uint8Array(5))).rejects.toBeInstanceOf(RemoteError);
    await expect(st.finish()).rejects.toBeInstanceOf(RemoteError);
    expect(sent(peer)).toEqual([[STREAM, CONTINUE, 5]]);
  });

  test('finish answered with an ERROR rejects with the daemon\'s reason', async () => {
    const { peer, client } = setup();
    const p = Stream.open(client, R.storageVolUpload, { vol: VOL, offset: 0n, length: 0n, flags: 0 });
    const call = peer.received[0].header;
    peer.deliver(replyFrame(call, null));
    const st = await p;
    const fin = st.finish();
    await until(() => sent(peer).length > 0);
    peer.deliver(error(call, 'I/O error'));
    await expect(fin).rejects.toThrow('I/O error');
    expect(st.state).toBe('failed');
  });
});

describe('aborting', () => {
  test('abort sends an empty ERROR packet, drops data in flight and resolves on the daemon\'s OK; later calls work', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    peer.deliver(data(call, new Uint8Array(5)));
    const r = st.receive({ timeout: 1000 });
    await r;
    const pendingReceive = st.receive();
    const a = st.abort();
    await expect(pendingReceive).rejects.toBeInstanceOf(StreamClosedError);
    expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
    peer.deliver(data(call, new Uint8Array(5)));
    peer.deliver(ok(call));
    await a;
    expect(st.state).toBe('aborted');
    const err = await st.receive().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StreamClosedError);
    expect((err as Error).message).toContain('stream is closed');
    peer.deliver(data(call, new Uint8Array(5))); // late packet of an ended stream: dropped quietly
    const h = client.call(HOSTNAME, undefined);
    peer.deliver(replyFrame(peer.received[peer.received.length - 1].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'x' }));
    await expect(h).resolves.toEqual({ hostname: 'x' });
  });

  test('an abort the daemon answers with an ERROR rejects with it (virStreamAbort fails then)', async () => {
    const { peer, client } = setup();
    const { st, call } = await openDownload(peer, client);
    const a = st.abort();
    peer.deliver(error(call, 'abort failed'));
    await expect(a).rejects.toThrow('abort failed');
  });

  test('an abort the daemon never confirms gives up after its timeout', async () => {
    const { peer, client } = setup();
    const { st } = await openDownload(peer, client);
    await expect(st.abort({ timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    expect(st.state).toBe('failed');
    expect(client.pendingCalls).toBe(0);
  });

  test('two streams and a call share one connection, each packet to its own serial', async () => {
    const { peer, client } = setup();
    const a = await openDownload(peer, client);
    const b = await openDownload(peer, client);
    const h = client.call(HOSTNAME, undefined);
    const hcall = peer.received[peer.received.length - 1].header;
    peer.deliver(data(b.call, new Uint8Array([2])));
    peer.deliver(data(a.call, new Uint8Array([1])));
    peer.deliver(replyFrame(hcall, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' }));
    expect(await a.st.receive()).toEqual(new Uint8Array([1]));
    expect(await b.st.receive()).toEqual(new Uint8Array([2]));
    await expect(h).resolves.toEqual({ hostname: 'h' });
  });
});

test('keepalive does not give up on the daemon while a stream holds reading paused, and still sends PINGs', async () => {
  const { KeepaliveSender } = await import('../../src/protocol/keepalive');
  const { peer, client } = setup();
  const { call } = await openDownload(peer, client, { highWaterMark: 10 });
  const ka = new KeepaliveSender(client, { interval: 20, count: 1 });
  ka.start();
  peer.deliver(data(call, new Uint8Array(100)));
  expect(client.readPaused).toBe(true);
  await new Promise((r) => setTimeout(r, 200));
  expect(client.isOpen).toBe(true);
  const pings = peer.received.filter((f) => f.header.type === MessageType.VIR_NET_MESSAGE);
  expect(pings.length).toBeGreaterThan(1);
  ka.stop();
  await until(() => true);
});
