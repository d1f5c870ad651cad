/**
 * The stream adapters against a scripted daemon: WHATWG ReadableStream/WritableStream (core) and Node
 * Readable/Writable/Duplex with stream.pipeline (Node entry). Holes read as zeros; the end of the daemon's data
 * finishes the libvirt stream; a failure or a destroy aborts it.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodeFrame, FrameHeader, MessageStatus, MessageType } from '../../src/protocol/frame';
import { RpcClient } from '../../src/protocol/rpc-client';
import { Stream } from '../../src/protocol/stream';
import { toReadableStream, toWritableStream } from '../../src/protocol/stream-web';
import { xdrEncode } from '../../src/protocol/xdr';
import { nodeWritableSink, toNodeDuplex, toNodeReadable, toNodeWritable } from '../../src/node/streams';
import { receiveAll, sendAll } from '../../src/objects/transfer';
import { virnet } from '../../generated';
import * as R from '../../generated/remote-procedures';
import { FakePeer, replyFrame, until } from '../helpers/fake-peer';

const VOL = { pool: 'p', name: 'v', key: '/p/v' };
const { VIR_NET_STREAM: STREAM, VIR_NET_STREAM_HOLE: HOLE } = MessageType;
const { VIR_NET_CONTINUE: CONTINUE, VIR_NET_OK: OK, VIR_NET_ERROR: ERROR } = MessageStatus;

const pkt = (h: FrameHeader, status: number, payload?: Uint8Array, type: number = STREAM) => encodeFrame({ ...h, type, status }, payload);
const holePkt = (h: FrameHeader, n: number) => pkt(h, CONTINUE, xdrEncode(virnet.xdr_virNetStreamHole, { length: BigInt(n), flags: 0 }), HOLE);

/** A fake daemon that answers the opening call, then plays `script` (frames for the call's header). */
async function open(proc: typeof R.storageVolDownload | typeof R.storageVolUpload | typeof R.domainOpenConsole, sparse = false) {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R.remote_program_id]);
  const args = proc === R.domainOpenConsole
    ? { dom: { name: 'd', uuid: new Uint8Array(16), id: 1 }, dev_name: null, flags: 0 }
    : { vol: VOL, offset: 0n, length: 0n, flags: sparse ? 1 : 0 };
  const p = Stream.open(client, proc as typeof R.storageVolDownload, args as never, { sparse });
  const call = peer.received[0].header;
  peer.deliver(replyFrame(call, null));
  const st = await p;
  // Confirm the client's finish or abort the way the daemon does.
  const confirm = () => {
    const last = peer.received[peer.received.length - 1];
    if (last.header.type === STREAM && last.header.status !== CONTINUE) peer.deliver(pkt(call, OK));
  };
  return { peer, client, st, call, confirm };
}

/** Frames the client sent after the opening call. */
const sent = (peer: FakePeer) => peer.received.slice(1).map((f) => [f.header.type, f.header.status, f.payload.length]);

async function autoConfirm(peer: FakePeer, confirm: () => void, count: number) {
  await until(() => peer.received.length > count, 2000);
  confirm();
}

test('toReadableStream: data, holes as zeros, then the stream is finished and the readable closes', async () => {
  const { peer, st, call, confirm } = await open(R.storageVolDownload, true);
  peer.deliver(pkt(call, CONTINUE, new Uint8Array([1, 2])));
  peer.deliver(holePkt(call, 300000));
  peer.deliver(pkt(call, CONTINUE, new Uint8Array([3])));
  peer.deliver(pkt(call, CONTINUE));
  const confirming = autoConfirm(peer, confirm, 1);
  const chunks: Uint8Array[] = [];
  for await (const c of toReadableStream(st) as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
  await confirming;
  const all = Buffer.concat(chunks);
  expect(all.length).toBe(300003);
  expect([...all.subarray(0, 2)]).toEqual([1, 2]);
  expect(all.subarray(2, 300002).every((b) => b === 0)).toBe(true);
  expect(all[300002]).toBe(3);
  expect(st.state).toBe('finished');
  expect(sent(peer)).toEqual([[STREAM, OK, 0]]);
});

test('toReadableStream: cancel aborts the libvirt stream', async () => {
  const { peer, st, confirm } = await open(R.storageVolDownload);
  const r = toReadableStream(st);
  const cancelling = r.cancel();
  await autoConfirm(peer, confirm, 1);
  await cancelling;
  expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
  expect(st.state).toBe('aborted');
});

test('toWritableStream: writes become CONTINUE packets, close finishes', async () => {
  const { peer, st, confirm } = await open(R.storageVolUpload);
  const w = toWritableStream(st).getWriter();
  await w.write(new Uint8Array(10));
  await w.write(new Uint8Array(20));
  const closing = w.close();
  await autoConfirm(peer, confirm, 3);
  await closing;
  expect(sent(peer)).toEqual([[STREAM, CONTINUE, 10], [STREAM, CONTINUE, 20], [STREAM, OK, 0]]);
});

test('toNodeReadable with stream.pipeline into a Writable, holes as zeros', async () => {
  const { peer, st, call, confirm } = await open(R.storageVolDownload, true);
  peer.deliver(holePkt(call, 5));
  peer.deliver(pkt(call, CONTINUE, new Uint8Array([9, 9])));
  peer.deliver(pkt(call, CONTINUE));
  const got: Buffer[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { got.push(c); cb(); } });
  const confirming = autoConfirm(peer, confirm, 1);
  await pipeline(toNodeReadable(st), sink);
  await confirming;
  expect([...Buffer.concat(got)]).toEqual([0, 0, 0, 0, 0, 9, 9]);
  expect(st.state).toBe('finished');
});

test('a pipeline that fails downstream aborts the download', async () => {
  const { peer, st, call, confirm } = await open(R.storageVolDownload);
  peer.deliver(pkt(call, CONTINUE, new Uint8Array([1])));
  const failing = new Writable({ write(_c, _e, cb) { cb(new Error('disk full')); } });
  const confirming = autoConfirm(peer, confirm, 1);
  await expect(pipeline(toNodeReadable(st), failing)).rejects.toThrow('disk full');
  await confirming;
  await until(() => st.state === 'aborted');
  expect(sent(peer)).toEqual([[STREAM, ERROR, 0]]);
});

test('toNodeWritable with stream.pipeline from a Readable: packets, then finish', async () => {
  const { peer, st, confirm } = await open(R.storageVolUpload);
  const confirming = autoConfirm(peer, confirm, 3);
  await pipeline(Readable.from([Buffer.alloc(3, 1), Buffer.alloc(4, 2)]), toNodeWritable(st));
  await confirming;
  expect(sent(peer)).toEqual([[STREAM, CONTINUE, 3], [STREAM, CONTINUE, 4], [STREAM, OK, 0]]);
  expect(st.state).toBe('finished');
});

test('toNodeDuplex: a console both ways; end() finishes the stream', async () => {
  const { peer, st, call, confirm } = await open(R.domainOpenConsole);
  const d = toNodeDuplex(st);
  const out = new PassThrough();
  d.pipe(out);
  d.write(Buffer.from('ls\r'));
  peer.deliver(pkt(call, CONTINUE, Buffer.from('login: ')));
  await until(() => out.readableLength >= 7);
  expect(out.read().toString()).toBe('login: ');
  await until(() => sent(peer).length === 1);
  expect(Buffer.from(peer.received[1].payload).toString()).toBe('ls\r');
  const ended = new Promise((r) => d.on('finish', r));
  d.end();
  await autoConfirm(peer, confirm, 2);
  await ended;
  expect(st.state).toBe('finished');
});

test('sendAll/receiveAll with a Node Writable sink and a sparse upload of zero blocks', async () => {
  const up = await open(R.storageVolUpload, true);
  const source = Buffer.alloc(3 * 4096 + 10);
  source.fill(7, 4096, 8192);
  const confirming = autoConfirm(up.peer, up.confirm, 4);
  const progress = await sendAll(up.st, [source], { sparse: true });
  await confirming;
  expect(progress).toEqual({ bytes: source.length, dataBytes: 4096, holeBytes: source.length - 4096 });
  expect(sent(up.peer)).toEqual([[HOLE, CONTINUE, 12], [STREAM, CONTINUE, 4096], [HOLE, CONTINUE, 12], [STREAM, OK, 0]]);

  const down = await open(R.storageVolDownload, true);
  down.peer.deliver(holePkt(down.call, 3));
  down.peer.deliver(pkt(down.call, CONTINUE, new Uint8Array([5])));
  down.peer.deliver(pkt(down.call, CONTINUE));
  const chunks: Buffer[] = [];
  const w = new Writable({ write(c: Buffer, _e, cb) { chunks.push(c); cb(); } });
  const confirming2 = autoConfirm(down.peer, down.confirm, 1);
  await receiveAll(down.st, nodeWritableSink(w));
  await confirming2;
  expect([...Buffer.concat(chunks)]).toEqual([0, 0, 0, 5]);
  expect(w.writableFinished).toBe(true);
});

test('receiveAll hands queued packets to writev together, holes in their place, and recycles what the sink releases', async () => {
  const { peer, st, call, confirm } = await open(R.storageVolDownload, true);
  const big = (n: number) => new Uint8Array(100_000).fill(n);
  peer.deliver(pkt(call, CONTINUE, big(1)));
  peer.deliver(pkt(call, CONTINUE, big(2)));
  peer.deliver(pkt(call, CONTINUE, big(3)));
  peer.deliver(holePkt(call, 7));
  peer.deliver(pkt(call, CONTINUE, big(4)));
  peer.deliver(pkt(call, CONTINUE));
  const calls: string[] = [];
  const seen: number[] = [];
  const confirming = autoConfirm(peer, confirm, 1);
  const progress = await receiveAll(st, {
    releasesData: true,
    write: (d) => void (calls.push(`write ${d[0]}`), seen.push(...d.subarray(0, 1))),
    writev: (ds) => void calls.push(`writev ${ds.map((d) => d[0]).join(',')}`),
    hole: (n) => void calls.push(`hole ${n}`),
  });
  await confirming;
  expect(calls).toEqual(['writev 1,2,3', 'hole 7', 'write 4']);
  expect(progress).toEqual({ bytes: 400_007, dataBytes: 400_000, holeBytes: 7 });
});
