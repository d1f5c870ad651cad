/**
 * `runDaemon` on a connection with a reconnect policy: while the policy reopens the connection no pass runs (the
 * daemon waits on `whenOpen`, it does not poll with passes that can only fail), it says so, and it runs a pass
 * as soon as the connection is back; once the connection is closed for good it stops with
 * ConnectionClosedError; its signal ends a wait for the connection at once. The store here is in memory, so a
 * pass touches the connection only through the domain's snapshot calls, which fail while it is down.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError, TimeoutError } from '../../src/errors';
import { ReconnectingError } from '../../src/objects/reconnect';
import { Connect } from '../../src/objects/connect';
import type { Transport } from '../../src/protocol/transport';
import { EventPeer } from '../helpers/event-peer';
import { until as settled } from '../helpers/fake-peer';
import { schedulerBackoff } from '../../src/scheduler/failures';
import { DomainScheduler, type SchedulerEvent } from '../../src/scheduler/scheduler';
import { daemonReconnectPolicy } from '../../src/cli/schedule';
import { validateScheduleConfig } from '../../src/scheduler/config';
import { fakeDomain } from '../helpers/fake-domain';
import { MemoryStore } from '../helpers/memory-store';

/** A connection whose state the test drives, with `whenOpen` as Connect has it. */
function fakeConnection() {
  let state: 'open' | 'reconnecting' | 'closed' = 'open';
  let waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  const conn = {
    get state() {
      return state;
    },
    isAlive: () => state === 'open',
    whenOpen(opts: { signal?: AbortSignal } = {}): Promise<void> {
      if (state === 'open') return Promise.resolve();
      if (state === 'closed') return Promise.reject(new ConnectionClosedError('the connection is closed (eof)'));
      return new Promise((resolve, reject) => {
        const w = { resolve, reject };
        waiters.push(w);
        opts.signal?.addEventListener('abort', () => reject(new AbortError('aborted')), { once: true });
      });
    },
  };
  const set = (s: typeof state) => {
    state = s;
    const ws = waiters;
    waiters = [];
    if (s === 'open') for (const w of ws) w.resolve();
    if (s === 'closed') for (const w of ws) w.reject(new ConnectionClosedError('the connection is closed (eof)'));
  };
  return { conn, set, waiting: () => waiters.length };
}

function setup(backoff = { minMs: 20, maxMs: 40 }) {
  const net = fakeConnection();
  let calls = 0;
  const drop = { next: false };
  const fake = fakeDomain();
  const d = fake.domain as unknown as Record<string, unknown>;
  d.getConnect = () => net.conn;
  // Every daemon call of a pass fails at once while the connection is not open (a policy with calls: 'fail').
  for (const m of ['listAllSnapshots', 'createSnapshot', 'getSnapshotByName']) {
    const inner = d[m] as (...a: unknown[]) => Promise<unknown>;
    d[m] = (...a: unknown[]) => {
      calls++;
      if (drop.next) {
        // The connection drops under this call: it fails, the policy starts reopening.
        drop.next = false;
        net.set('reconnecting');
        return Promise.reject(new ConnectionClosedError('the connection was closed (eof)'));
      }
      return net.conn.state === 'open' ? inner(...a) : Promise.reject(new ReconnectingError('the connection is being reopened'));
    };
  }
  const events: (SchedulerEvent & { at: number })[] = [];
  const s = new DomainScheduler(fake.domain, {
    policy: { baseMs: 100, levels: 1, slots: 1, keepLast: 1 },
    everyMs: 100,
    backoff,
    owner: 'a',
    store: new MemoryStore(),
    lockSettleMs: 0,
    onProgress: (e) => events.push({ ...e, at: Date.now() }),
  });
  return { s, net, fake, events, drop, calls: () => calls };
}

const until = async (what: string, ok: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

test('while the connection is being reopened no pass runs; a pass runs as soon as it is back', async () => {
  const { s, net, fake, events, calls } = setup();
  const ctl = new AbortController();
  const running = s.runDaemon({ signal: ctl.signal });
  await until('a first snapshot', () => fake.snaps.length >= 1);
  net.set('reconnecting');
  await until('the daemon to wait for the connection', () => net.waiting() > 0);
  const createdWhileDown = events.filter((e) => e.type === 'created').length;
  const callsWhileDown = calls();
  // Five slots go by with the connection down: no pass, so no call, and no busy loop.
  await new Promise((r) => setTimeout(r, 500));
  expect(calls()).toBe(callsWhileDown);
  expect(net.waiting()).toBe(1);
  expect(events.filter((e) => e.type === 'failed' && e.step === 'connection')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'created')).toHaveLength(createdWhileDown);
  const upAt = Date.now();
  net.set('open');
  await until('a snapshot after the reconnection', () => events.some((e) => e.type === 'created' && e.at >= upAt));
  ctl.abort();
  await running;
  const back = events.find((e) => e.type === 'reconnected');
  expect(back).toMatchObject({ type: 'reconnected' });
  expect((back as { downtimeMs: number }).downtimeMs).toBeGreaterThanOrEqual(400);
  expect(events.some((e) => e.type === 'created' && e.at >= upAt)).toBe(true);
});

test('a connection lost in the middle of a pass: the next round waits for it, not for a backoff timer', async () => {
  // A backoff of 5 s: a daemon that slept it would not be waiting for the connection within the bound below.
  const { s, net, events, drop } = setup({ minMs: 5000, maxMs: 5000 });
  const ctl = new AbortController();
  drop.next = true;
  const running = s.runDaemon({ signal: ctl.signal });
  await until('the daemon to wait for the connection', () => net.waiting() > 0, 3000);
  const failed = events.find((e) => e.type === 'failed' && e.step === 'pass');
  expect(failed).toMatchObject({ transient: true, nextAttempt: null });
  const upAt = Date.now();
  net.set('open');
  await until('a snapshot after the reconnection', () => events.some((e) => e.type === 'created' && e.at >= upAt), 3000);
  ctl.abort();
  await running;
});

test('closed for good (the policy gave up): runDaemon rejects with ConnectionClosedError', async () => {
  const { s, net, fake } = setup();
  const running = s.runDaemon({});
  await until('a first snapshot', () => fake.snaps.length >= 1);
  net.set('reconnecting');
  await until('the daemon to wait for the connection', () => net.waiting() > 0);
  net.set('closed');
  await expect(running).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(running).rejects.toThrow(/the scheduler stops: the connection is closed/);
});

test('its signal ends a wait for the connection at once, and runDaemon returns', async () => {
  const { s, net, fake } = setup();
  const ctl = new AbortController();
  const running = s.runDaemon({ signal: ctl.signal });
  await until('a first snapshot', () => fake.snaps.length >= 1);
  net.set('reconnecting');
  await until('the daemon to wait for the connection', () => net.waiting() > 0);
  const t0 = Date.now();
  ctl.abort();
  await running;
  expect(Date.now() - t0).toBeLessThan(5_000);
});

test('schedule daemon\'s reconnect policy: the scheduler\'s backoff bounds, its signal, calls failing fast', () => {
  const signal = new AbortController().signal;
  const cfg = validateScheduleConfig({ domain: 'vm', policy: { baseMs: '1h', levels: 4, slots: 2, keepLast: 1 } }, 'options');
  const b = schedulerBackoff(3_600_000);
  expect(daemonReconnectPolicy(cfg, signal)).toEqual({ initialDelay: b.minMs, maxDelay: b.maxMs, factor: 2, signal, calls: 'fail' });
  expect(b).toMatchObject({ minMs: 900_000, maxMs: 3_600_000 });
  const fast = validateScheduleConfig({ domain: 'vm', every: '2s', backoff: { minMs: '1s', maxMs: '3s' }, policy: { baseMs: '1s', levels: 2, slots: 1, keepLast: 1 } }, 'options');
  expect(daemonReconnectPolicy(fast, signal)).toMatchObject({ initialDelay: 1000, maxDelay: 3000 });
  // Spans beyond one timer are capped to what a timer can wait.
  const slow = validateScheduleConfig({ domain: 'vm', every: '52w', backoff: { minMs: '30d', maxMs: '40d' }, policy: { baseMs: '52w', levels: 1, slots: 1, keepLast: 1 } }, 'options');
  expect(daemonReconnectPolicy(slow, signal)).toMatchObject({ initialDelay: 0x7fffffff, maxDelay: 0x7fffffff });
});

test('Connect.whenOpen: at once when open, when the policy reopened it, rejects once closed for good or by its bounds', async () => {
  const peers: EventPeer[] = [];
  let refuse = false;
  const factory = async (): Promise<Transport> => {
    if (refuse) throw new Error('connection refused');
    const p = new EventPeer();
    peers.push(p);
    return p;
  };
  const ctl = new AbortController();
  const conn = await Connect.openWith(factory, { keepalive: false, reconnect: { initialDelay: 50, maxDelay: 50, signal: ctl.signal } });
  await conn.whenOpen();
  refuse = true;
  peers[0].hangUp();
  await settled(() => conn.state === 'reconnecting', 5000);
  await expect(conn.whenOpen({ timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
  const ac = new AbortController();
  const aborted = conn.whenOpen({ signal: ac.signal });
  ac.abort();
  await expect(aborted).rejects.toBeInstanceOf(AbortError);
  const back = conn.whenOpen();
  refuse = false;
  await back;
  expect(conn.state).toBe('open');
  expect(peers).toHaveLength(2);
  // The policy's signal ends it for good: a waiter then learns the connection is closed.
  refuse = true;
  peers[1].hangUp();
  await settled(() => conn.state === 'reconnecting', 5000);
  const never = conn.whenOpen();
  ctl.abort();
  await expect(never).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(conn.whenOpen()).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(conn.whenOpen({ timeout: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
});
