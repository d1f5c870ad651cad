/**
 * 100,000 events at slow consumers through a scripted daemon. The bound: a subscription never holds more than
 * `highWaterMark` events (1000 here), each one decoded message; overflow policies hold exactly (every event is
 * either delivered or counted as lost), and calls on the same connection complete while the flood goes on.
 */
import * as R from '../../generated/remote-procedures';
import { Connect } from '../../src/index';
import { EventOverflowError } from '../../src/events/index';
import { EventPeer, fakeDomain } from '../helpers/event-peer';

const TOTAL = 100_000;
const HWM = 1000;
const CHUNK = 500;

test('100,000 events: queues stay within highWaterMark, nothing is unaccounted for, calls still complete', async () => {
  const peer = new EventPeer();
  const conn = await Connect.openWith(peer, { keepalive: false });
  const dropping = conn.events.domain('lifecycle', { highWaterMark: HWM, overflow: 'drop-oldest' });
  const failing = conn.events.domain('lifecycle', { highWaterMark: HWM });
  await Promise.all([dropping.ready, failing.ready]);
  expect(peer.registrations.size).toBe(1); // both share one daemon registration
  const { callbackID } = peer.registrationOf('REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY', 0);
  const dom = fakeDomain();

  // A slow consumer: it yields to the event loop after every event, so the flood outruns it.
  let delivered = 0;
  let lost = 0;
  let last = -1;
  let ordered = true;
  const consumer = (async () => {
    for await (const ev of dropping) {
      if (ev.type === 'gap') {
        lost += ev.lost!;
      } else {
        const seq = ev.detailCode;
        if (seq <= last) ordered = false;
        last = seq;
        delivered++;
        if (seq === TOTAL - 1) break;
      }
      await new Promise((r) => setImmediate(r));
    }
  })();

  let maxQueued = 0;
  const calls: Promise<number>[] = [];
  for (let sent = 0; sent < TOTAL; sent += CHUNK) {
    const frames = [];
    for (let i = sent; i < sent + CHUNK; i++) frames.push(peer.frameOf(R.domainEventCallbackLifecycle, { callbackID, msg: { dom, event: 4, detail: i } }));
    const chunk = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      chunk.set(f, at);
      at += f.length;
    }
    peer.deliver(chunk);
    maxQueued = Math.max(maxQueued, dropping.queued, failing.queued);
    if ((sent / CHUNK) % 20 === 0) calls.push(conn.getLibVersion());
    await new Promise((r) => setImmediate(r));
  }
  expect(await Promise.all(calls)).toEqual(calls.map(() => 9000000));
  await consumer;

  expect(maxQueued).toBeLessThanOrEqual(HWM);
  expect(ordered).toBe(true);
  expect(delivered + lost).toBe(TOTAL);
  expect(lost).toBe(dropping.dropped);
  expect(delivered).toBeGreaterThanOrEqual(HWM);

  // The subscription with the 'error' policy was never read: its first 1000 events, then the error counting the rest.
  let read = 0;
  const err = await (async () => {
    try {
      for await (const ev of failing) if (ev.type === 'lifecycle' && ev.detailCode === read) read++;
    } catch (e) {
      return e;
    }
  })();
  expect(read).toBe(HWM);
  expect(err).toBeInstanceOf(EventOverflowError);
  expect((err as EventOverflowError).lost).toBe(TOTAL - HWM);
  expect(peer.registrations.size).toBe(0);
  await conn.close();
}, 60_000);
