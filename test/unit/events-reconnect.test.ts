/**
 * The reconnect policy against scripted daemons: a dropped connection is reopened through the transport
 * factory with exponential backoff, every live subscription is registered again on the new daemon and sees a
 * gap marker, calls made meanwhile wait (bounded by their timeout) or fail fast, and the policy's signal,
 * maxAttempts and close() end it for good.
 */
import * as R from '../../generated/remote-procedures';
import * as Q from '../../generated/qemu-procedures';
import { AbortError, Connect, ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../../src/index';
import type { EventGap } from '../../src/events/index';
import type { Transport } from '../../src/protocol/transport';
import { until } from '../helpers/fake-peer';
import { EventPeer, fakeDomain } from '../helpers/event-peer';

const DOM = fakeDomain();
const REG = 'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY';

/** A transport factory over fresh scripted daemons; `refuse` makes the next attempts fail. */
function daemons() {
  const peers: EventPeer[] = [];
  const attempts: number[] = [];
  let refuse = 0;
  let gate: Promise<void> | null = null;
  const factory = async (): Promise<Transport> => {
    attempts.push(Date.now());
    if (gate) await gate;
    if (refuse > 0) {
      refuse--;
      throw new Error('connection refused');
    }
    const p = new EventPeer();
    peers.push(p);
    return p;
  };
  return {
    peers, attempts, factory,
    refuse: (n: number) => void (refuse = n),
    hold: () => {
      let open!: () => void;
      gate = new Promise((r) => (open = r));
      return () => {
        gate = null;
        open();
      };
    },
  };
}

test('a dropped connection is reopened: subscriptions are registered again, see a gap, then new events', async () => {
  const d = daemons();
  const reconnects: unknown[] = [];
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 5, maxDelay: 20, onReconnect: (i) => reconnects.push(i) } });
  const life = conn.events.domain('lifecycle');
  const mine = conn.events.domain('lifecycle', { domain: DOM });
  const qmp = conn.events.qemuMonitor({ event: 'STOP' });
  await Promise.all([life.ready, mine.ready, qmp.ready]);
  expect(d.peers[0].registrations.size).toBe(3);

  d.peers[0].hangUp();
  await until(() => d.peers.length === 2 && d.peers[1].registrations.size === 3, 5000);
  expect(conn.state).toBe('open');
  expect(conn.events.registrations).toBe(3);
  const regs = [...d.peers[1].registrations.values()].map((r) => r.proc).sort();
  expect(regs).toEqual(['QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER', REG, REG]);

  const p1 = d.peers[1];
  const all = [...p1.registrations.values()].find((r) => r.proc === REG && r.args.dom === null)!;
  p1.emit(R.domainEventCallbackLifecycle, { callbackID: all.callbackID, msg: { dom: DOM, event: 2, detail: 0 } });
  const gap = (await life.next()).value as EventGap;
  expect(gap).toMatchObject({ type: 'gap', code: 'EVENT_GAP', reason: 'reconnect', lost: null, closeReason: 'eof' });
  expect(gap.since).toBeInstanceOf(Date);
  expect((await life.next()).value).toMatchObject({ type: 'lifecycle', event: 'started', detail: 'booted' });
  expect((await mine.next()).value).toMatchObject({ type: 'gap' });
  const q = p1.registrationOf('QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER');
  p1.emit(Q.domainMonitorEvent, { callbackID: q.callbackID, dom: DOM, event: 'STOP', seconds: 1n, micros: 2, details: null });
  expect((await qmp.next()).value).toMatchObject({ type: 'gap' });
  expect((await qmp.next()).value).toMatchObject({ event: 'STOP', details: null });
  await until(() => reconnects.length === 1);
  expect(reconnects[0]).toMatchObject({ attempts: 1 });

  await Promise.all([life.close(), mine.close(), qmp.close()]);
  expect(p1.registrations.size).toBe(0);
  await conn.close();
  expect(await conn.closed).toEqual({ reason: 'closed' });
});

test('a subscription made in the same millisecond as the drop gets no gap either (drops are counted, not timed)', async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 5 } });
  const old = conn.events.domain('lifecycle');
  await old.ready;
  const release = d.hold();
  const dropMs = Date.now();
  d.peers[0].hangUp();
  await until(() => conn.state === 'reconnecting');
  // The clock still reads the drop's millisecond while the new subscription is made.
  const clock = jest.spyOn(Date, 'now').mockReturnValue(dropMs);
  let fresh;
  try {
    fresh = conn.events.domain('lifecycle');
  } finally {
    clock.mockRestore();
  }
  release();
  await fresh.ready;
  const p1 = d.peers[1];
  p1.emit(R.domainEventCallbackLifecycle, { callbackID: p1.registrationOf(REG, 0).callbackID, msg: { dom: DOM, event: 0, detail: 0 } });
  expect((await old.next()).value).toMatchObject({ type: 'gap' });
  expect((await fresh.next()).value).toMatchObject({ type: 'lifecycle', event: 'defined' });
  await conn.close();
});

test('a subscription made while reconnecting is registered on the new connection, with no gap of its own', async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 5 } });
  const old = conn.events.domain('lifecycle');
  await old.ready;
  const release = d.hold();
  d.peers[0].hangUp();
  await until(() => conn.state === 'reconnecting');
  const fresh = conn.events.domain('lifecycle');
  release();
  await fresh.ready;
  const p1 = d.peers[1];
  expect(p1.registrations.size).toBe(1);
  p1.emit(R.domainEventCallbackLifecycle, { callbackID: p1.registrationOf(REG, 0).callbackID, msg: { dom: DOM, event: 0, detail: 0 } });
  expect((await old.next()).value).toMatchObject({ type: 'gap' });
  expect((await old.next()).value).toMatchObject({ type: 'lifecycle', event: 'defined' });
  expect((await fresh.next()).value).toMatchObject({ type: 'lifecycle', event: 'defined' });
  await conn.close();
});

test('backoff grows by the factor up to the cap; calls made meanwhile wait for the new connection', async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 20, factor: 2, maxDelay: 50 } });
  d.refuse(3);
  d.peers[0].hangUp();
  await until(() => conn.state === 'reconnecting');
  const call = conn.getLibVersion(); // waits: no timeout of its own and none on the connection
  await until(() => conn.state === 'open', 10000);
  expect(await call).toBe(9000000);
  // attempts[0] is the first open; then 4 reopens, 3 of them refused. Timers never fire early: each wait
  // between reopens is at least its delay (20 before the first, then 40, 50, 50: the cap).
  expect(d.attempts).toHaveLength(5);
  const gaps = d.attempts.slice(2).map((t, i) => t - d.attempts[i + 1]);
  expect(gaps[0]).toBeGreaterThanOrEqual(38);
  expect(gaps[1]).toBeGreaterThanOrEqual(48);
  expect(gaps[2]).toBeGreaterThanOrEqual(48);
  await conn.close();
});

test("a call waiting for the reconnection is bounded by its timeout; with calls: 'fail' it fails fast", async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 5 } });
  const release = d.hold();
  d.peers[0].hangUp();
  await until(() => conn.state === 'reconnecting');
  await expect(conn.getLibVersion({ timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
  const ctl = new AbortController();
  const aborted = conn.getLibVersion({ signal: ctl.signal });
  ctl.abort();
  await expect(aborted).rejects.toBeInstanceOf(AbortError);
  release();
  await until(() => conn.state === 'open');
  await conn.close();

  const f = daemons();
  const fast = await Connect.openWith(f.factory, { keepalive: false, reconnect: { initialDelay: 5, calls: 'fail' } });
  const releaseFast = f.hold();
  f.peers[0].hangUp();
  await until(() => fast.state === 'reconnecting');
  await expect(fast.getLibVersion()).rejects.toMatchObject({ code: 'ERR_RECONNECTING' });
  await expect(fast.raw.remote.connectGetLibVersion()).rejects.toMatchObject({ code: 'ERR_RECONNECTING' });
  releaseFast();
  await until(() => fast.state === 'open');
  expect(await fast.getLibVersion()).toBe(9000000);
  await fast.close();
});

test('the policy gives up after maxAttempts, or when its signal aborts: closed for good, iterators end', async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 5, maxAttempts: 2 } });
  const sub = conn.events.domain('lifecycle');
  await sub.ready;
  d.refuse(10);
  d.peers[0].hangUp();
  const info = await conn.closed;
  expect(info.reason).toBe('eof');
  expect(info.error).toMatchObject({ code: 'ERR_RECONNECT_FAILED', attempts: 2 });
  expect((info.error as Error).message).toBe('the connection was lost (eof) and reconnecting stopped: 2 attempt(s) failed');
  expect((info.error as Error).cause).toMatchObject({ message: 'connection refused' });
  await expect(sub.next()).rejects.toBeInstanceOf(ConnectionClosedError);
  expect(conn.state).toBe('closed');

  const e = daemons();
  const ctl = new AbortController();
  const stopped = await Connect.openWith(e.factory, { keepalive: false, reconnect: { initialDelay: 10_000, signal: ctl.signal } });
  e.peers[0].hangUp();
  await until(() => stopped.state === 'reconnecting');
  const waiting = stopped.getLibVersion();
  ctl.abort();
  expect((await stopped.closed).error).toMatchObject({ code: 'ERR_RECONNECT_FAILED', attempts: 0 });
  await expect(waiting).rejects.toBeInstanceOf(ConnectionClosedError);
});

test('close() while reconnecting stops it; a reconnect policy needs a way to reopen', async () => {
  const d = daemons();
  const conn = await Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 10_000 } });
  const sub = conn.events.domain('lifecycle');
  await sub.ready;
  d.peers[0].hangUp();
  await until(() => conn.state === 'reconnecting');
  await conn.close();
  expect(await conn.closed).toEqual({ reason: 'closed' });
  expect(await sub.next()).toEqual({ done: true, value: undefined });
  expect(d.attempts).toHaveLength(1);

  await expect(Connect.openWith(new EventPeer(), { reconnect: {} })).rejects.toThrow(InvalidArgumentError);
  await expect(Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 0 } })).rejects.toThrow(/reconnect.initialDelay must be a number of ms between 1 and/);
  await expect(Connect.openWith(d.factory, { keepalive: false, reconnect: { initialDelay: 100, maxDelay: 10 } })).rejects.toThrow(/maxDelay \(10\) is below/);
  await expect(Connect.openWith(d.factory, { keepalive: false, reconnect: { factor: 0.5 } })).rejects.toThrow(/factor must be a number between 1 and 16/);
  await expect(Connect.open('qemu:///session', { transport: new EventPeer(), reconnect: {} })).rejects.toThrow(/cannot reopen a caller-supplied transport/);
});
