/**
 * Messages written in one event-loop turn share a write on unix and TCP (src/transport/write-coalescer.ts):
 * the first after a read goes out at once, the rest in one buffer at the turn's end, in order, with
 * backpressure kept. Without `coalesce` (TLS) every message is its own write.
 */
import { Duplex } from 'node:stream';
import { DuplexTransport } from '../../src/transport/node-stream';
import type { TransportSink } from '../../src/protocol/transport';

/** A duplex whose writable side records every write() call; `hold` keeps callbacks back (a full socket). */
function recordingDuplex(highWaterMark = 16 * 1024) {
  const writes: Buffer[] = [];
  const raw: Buffer[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  const d = new Duplex({
    highWaterMark,
    read() { /* nothing to read */ },
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk);
      writes.push(Buffer.from(chunk));
      if (hold) held.push(cb);
      else cb();
    },
  });
  return {
    d,
    writes,
    raw,
    hold: (on: boolean) => {
      hold = on;
      if (!on) for (const cb of held.splice(0)) cb();
    },
  };
}

const sink: TransportSink = { data: () => undefined, closed: () => undefined };
const bytes = (...xs: number[]) => new Uint8Array(xs);
/** Lets the current turn's microtasks (and the end-of-turn flush) run. */
const endOfTurn = () => new Promise((r) => setImmediate(r));

function transport(coalesce: boolean, highWaterMark?: number) {
  const r = recordingDuplex(highWaterMark);
  const t = new DuplexTransport(r.d, 'test', { coalesce });
  t.attach(sink);
  /** The peer sends a byte (a reply), which the transport reads. */
  const reply = async (): Promise<void> => {
    const got = new Promise((resolve) => r.d.once('data', resolve));
    r.d.push(Buffer.from([0]));
    await got;
  };
  return { t, reply, ...r };
}

test('the first message after a read is written at once, the rest of the turn together at its end, in order', async () => {
  const { t, writes, reply } = transport(true);
  await reply();
  expect(t.write(bytes(1, 1))).toBe(true);
  expect(writes).toHaveLength(1); // not waiting for the end of the turn
  expect(t.write(bytes(2))).toBe(true);
  expect(t.write(bytes(3, 3, 3))).toBe(true);
  expect(writes).toHaveLength(1);
  await endOfTurn();
  expect(writes.map((w) => [...w])).toEqual([[1, 1], [2, 3, 3, 3]]);
});

test('callers woken in the same turn (promise continuations) share one write', async () => {
  const { t, writes, reply } = transport(true);
  t.write(bytes(99)); // the first call, then the reply that wakes everyone
  await endOfTurn();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  // 32 callers waiting on one event, each sending its next message when woken, some after an extra hop.
  const callers = Array.from({ length: 32 }, async (_, i) => {
    await gate;
    if (i % 2) await Promise.resolve();
    t.write(bytes(i));
  });
  await reply();
  release();
  await Promise.all(callers);
  await endOfTurn();
  expect(writes).toHaveLength(3);
  expect([...Buffer.concat(writes.slice(1))].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i));
});

test('one call at a time (a message after each reply) is written straight away every time', async () => {
  const { t, writes, reply } = transport(true);
  await reply();
  for (let i = 0; i < 5; i++) {
    t.write(bytes(i));
    expect(writes).toHaveLength(i + 1);
    await reply();
  }
  expect(writes).toHaveLength(5);
});

test('messages with no read between them are held only until the end of the turn', async () => {
  const { t, writes } = transport(true);
  t.write(bytes(1));
  await endOfTurn();
  t.write(bytes(2));
  expect(writes).toHaveLength(1);
  await endOfTurn();
  expect(writes.map((w) => [...w])).toEqual([[1], [2]]);
});

test('the messages a connection opens with leave in one write', async () => {
  const { t, writes } = transport(true);
  t.write(bytes(1));
  t.write(bytes(2));
  t.write(bytes(3));
  expect(writes).toHaveLength(0);
  await endOfTurn();
  expect(writes.map((w) => [...w])).toEqual([[1, 2, 3]]);
});

test('held bytes count against the high-water mark, and whenWritable() hands them over first', async () => {
  const { t, d, writes, hold, reply } = transport(true, 100);
  await reply();
  hold(true); // the peer is not reading
  expect(t.write(new Uint8Array(60))).toBe(true);
  expect(t.write(new Uint8Array(30))).toBe(true); // 60 in the stream + 30 held < 100
  expect(t.write(new Uint8Array(30))).toBe(false); // 60 + 60 held
  let writable = false;
  const w = t.whenWritable().then(() => (writable = true));
  expect(d.writableLength).toBe(120); // the held messages went to the stream (which queues them)
  await endOfTurn();
  expect(writable).toBe(false);
  hold(false);
  await w;
  expect(writes.map((x) => x.length)).toEqual([60, 60]);
});

test('end() writes held messages before ending; destroy() drops them', async () => {
  const a = transport(true);
  a.t.write(bytes(1));
  a.t.write(bytes(2));
  a.t.end();
  await endOfTurn();
  expect(Buffer.concat(a.writes)).toEqual(Buffer.from([1, 2]));

  const b = transport(true);
  await b.reply();
  b.t.write(bytes(1));
  b.t.write(bytes(2));
  b.t.destroy();
  await endOfTurn();
  expect(Buffer.concat(b.writes)).toEqual(Buffer.from([1]));
});

test('without coalescing (the TLS transport) every message is its own write', async () => {
  const { t, writes } = transport(false);
  t.write(bytes(1));
  t.write(bytes(2));
  t.write(bytes(3));
  await endOfTurn();
  expect(writes.map((w) => [...w])).toEqual([[1], [2], [3]]);
});

test('a caller\'s small Uint8Array reaches the stream as a Buffer copy, a large one as a view', async () => {
  const { t, raw } = transport(false);
  const small = bytes(9, 8, 7);
  const large = new Uint8Array(8192).fill(5);
  t.write(small);
  t.write(large);
  small[0] = 0; // the transport kept its own copy of the small one
  await endOfTurn();
  expect(Buffer.isBuffer(raw[0]) && [...raw[0]]).toEqual([9, 8, 7]);
  expect(raw[1].buffer).toBe(large.buffer);
  expect(raw[1].length).toBe(8192);
});

test('a held message\'s `written` runs once the shared write is done, in order, and never after destroy()', async () => {
  const { t, writes, hold, reply } = transport(true);
  await reply();
  hold(true); // the peer is not reading: nothing is written out yet
  const done: number[] = [];
  t.write(bytes(1), () => done.push(1)); // straight out
  t.write(bytes(2), () => done.push(2)); // held for the end of the turn
  t.write(bytes(3)); // no callback
  t.write(bytes(4), () => done.push(4));
  await endOfTurn();
  expect(done).toEqual([]); // handed to the stream (2, 3 and 4 as one write), not yet written out
  hold(false);
  await endOfTurn();
  hold(false);
  await endOfTurn();
  expect(writes.map((w) => [...w])).toEqual([[1], [2, 3, 4]]);
  expect(done).toEqual([1, 2, 4]);

  const b = transport(true);
  let called = false;
  b.t.write(bytes(1), () => (called = true));
  b.t.destroy();
  await endOfTurn();
  expect(b.writes).toHaveLength(0);
  expect(called).toBe(false);
});

test('a large message (a stream packet) is never copied into a batch: what is held goes first, then the packet itself', async () => {
  const { t, raw, writes } = transport(true, 1 << 20);
  t.write(bytes(7)); // held (no read yet)
  const packet = new Uint8Array(256 * 1024).fill(3);
  let written = false;
  t.write(packet, () => (written = true));
  expect(writes.map((w) => w.length)).toEqual([1, packet.length]); // in order, without waiting for the turn's end
  expect(raw[1].buffer).toBe(packet.buffer); // the packet's own bytes, not a copy
  await endOfTurn();
  expect(written).toBe(true);
});
