/**
 * The scheduler's safety rules against an in-memory domain and store, with the clock the test drives:
 * a parent that cannot be looked up fails the pass instead of thinning the chain; a lease taken over stops the
 * holder before its next change; losing a slot to another scheduler (the daemon refusing a second snapshot of one
 * name) is not a failure and leaves no record behind; durations of any length are validated and slept in steps.
 */
import { ConnectionClosedError, InvalidArgumentError } from '../../src/errors';
import { validateScheduleConfig } from '../../src/scheduler/config';
import { DomainScheduler, type SchedulerEvent } from '../../src/scheduler/scheduler';
import { fakeDomain } from '../helpers/fake-domain';
import { MemoryStore } from '../helpers/memory-store';

const T0 = Date.UTC(2026, 0, 1);
const WEEK = 604_800_000;

function make(extra: Partial<ConstructorParameters<typeof DomainScheduler>[1]> & { domain?: ReturnType<typeof fakeDomain> } = {}) {
  const fake = extra.domain ?? fakeDomain();
  const store = (extra.store as MemoryStore | undefined) ?? new MemoryStore();
  const clock = { t: T0 };
  const events: SchedulerEvent[] = [];
  const s = new DomainScheduler(fake.domain, {
    policy: { baseMs: 1000, levels: 0, slots: 1, keepLast: 1 },
    owner: 'a',
    store,
    now: () => clock.t,
    sleep: async () => undefined,
    lockSettleMs: 0,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  return { s, fake, store, clock, events };
}

test('a failed parent lookup fails the pass: nothing is pruned until a later pass finds the parent', async () => {
  let parentFails = false;
  const fake = fakeDomain({ failParent: () => (parentFails ? new ConnectionClosedError('the daemon went away') : null) });
  const { s, store, clock } = make({ domain: fake, kind: 'disk-only' });
  expect((await s.runOnce()).created?.name).toBe('lvrpc-20260101T000000.000Z');
  clock.t += 1000;
  parentFails = true;
  const second = await s.runOnce();
  expect(second.created?.name).toBe('lvrpc-20260101T000001.000Z');
  expect(second.errors).toEqual([{ step: 'parent of lvrpc-20260101T000001.000Z', error: 'the daemon went away', transient: true }]);
  // keepLast 1 would delete the first one, the disk-only snapshot the second one builds on: not with its parent unknown.
  expect(second.deleted).toEqual([]);
  expect(fake.snaps.map((x) => x.name)).toEqual(['lvrpc-20260101T000000.000Z', 'lvrpc-20260101T000001.000Z']);
  expect((await store.records()).snapshots[1]).toMatchObject({ parent: null, parentUnknown: true });
  parentFails = false;
  clock.t += 400;
  const third = await s.runOnce();
  expect(third.errors).toEqual([]);
  expect(third.deleted).toEqual([]);
  expect(third.kept.map((k) => [k.id, k.reasons.map((r) => r.kind)])).toEqual([
    ['lvrpc-20260101T000000.000Z', ['chain']],
    ['lvrpc-20260101T000001.000Z', ['newest', 'keep-last']],
  ]);
  expect((await store.records()).snapshots[1]).toMatchObject({ parent: 'lvrpc-20260101T000000.000Z' });
  expect((await store.records()).snapshots[1].parentUnknown).toBeUndefined();
});

test('a lease taken over while the holder works stops it before its next change', async () => {
  const store = new MemoryStore();
  const { s, fake, clock } = make({ store });
  await s.runOnce();
  clock.t += 1000;
  // Another scheduler takes the lease (its write landed late) right after this one records its new snapshot.
  const put = store.putRecord.bind(store);
  store.putRecord = async (writer, record) => {
    await put(writer, record);
    if (record.completed !== null) store.lock = { owner: 'b', token: 99, expires: clock.t + 60_000 };
  };
  const r = await s.runOnce();
  expect(r.created).not.toBeNull();
  expect(r.errors).toEqual([{ step: 'lease', error: expect.stringMatching(/taken over by b; stopped before the next change/), transient: true }]);
  // keepLast 1 would have deleted the older snapshot: the holder stopped first.
  expect(r.deleted).toEqual([]);
  expect(fake.snaps).toHaveLength(2);
  // Nor did it remove the other scheduler's lease on its way out.
  expect(store.lock).toMatchObject({ owner: 'b', token: 99 });
});

test('losing a slot to another scheduler is not a failure, and leaves no record of the attempt', async () => {
  const name = 'lvrpc-20260101T000000.000Z';
  let fake: ReturnType<typeof fakeDomain> | null = null;
  fake = fakeDomain({
    failCreate: (n) => {
      // Scheduler b made this slot's snapshot between a's look and a's creation.
      fake!.snaps.push({ name: n, parent: null, description: 'made by the libvirt-rpc scheduler (owner b)' });
      return new Error(`operation failed: domain moment ${n} already exists`);
    },
  });
  const store = new MemoryStore();
  // b recorded its attempt first (as every scheduler does), and is making the snapshot.
  await store.putRecord('b', { name, kind: 'internal', started: T0, completed: null, quiesced: false, pinned: false, parent: null });
  const { s, events } = make({ domain: fake, store });
  const r = await s.runOnce();
  expect(r).toMatchObject({ skipped: 'taken', created: null, errors: [], paused: null });
  expect(events).toContainEqual({ type: 'taken', name, by: 'b' });
  expect((await store.records()).state).toMatchObject({ failures: 0, nextAttempt: 0 });
  expect([...store.elements.values()].map((e) => e.writer)).toEqual(['b']);
  expect(store.writes).toContain(`record ${name} by a`);
});

test('every duration is validated: beyond 2^48 ms, negative, NaN or Infinity is an InvalidArgumentError', async () => {
  const policy = { baseMs: 1000, levels: 1, slots: 1, keepLast: 1 };
  for (const every of [1e308, Infinity, -1, NaN, 0]) {
    expect(() => validateScheduleConfig({ policy, every })).toThrow(InvalidArgumentError);
    expect(() => make({ everyMs: every })).toThrow(/everyMs/);
  }
  expect(validateScheduleConfig({ policy, every: '4w' }).everyMs).toBe(4 * WEEK);
  expect(() => validateScheduleConfig({ policy, backoff: { maxMs: 1e308 } })).toThrow(/backoff\.maxMs/);
  expect(() => make({ backoff: { maxMs: 1e308 } })).toThrow(/backoff\.maxMs/);
  expect(() => make({ lockTtlMs: 2 ** 31 })).toThrow(/lockTtlMs/);
  expect(() => make({ callTimeoutMs: Infinity })).toThrow(/callTimeoutMs/);
  const { s } = make();
  for (const timeout of [2 ** 31, Infinity, -5, NaN]) {
    await expect(s.runOnce({ timeout })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.plan({ timeout })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.resume({ timeout })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.cleanup({ timeout })).rejects.toBeInstanceOf(InvalidArgumentError);
  }
  await expect(s.runDaemon({ timeout: 1e308 })).rejects.toBeInstanceOf(InvalidArgumentError);
});

test('every 4 weeks: one pass, then a wait in steps (a single timer would fire after 1 ms and run a pass per ms)', async () => {
  const fake = fakeDomain();
  const events: SchedulerEvent[] = [];
  const s = new DomainScheduler(fake.domain, { policy: { baseMs: 1000, levels: 1, slots: 1, keepLast: 1 }, everyMs: 4 * WEEK, owner: 'a', store: new MemoryStore(), lockSettleMs: 0, onProgress: (e) => events.push(e) });
  const ctl = new AbortController();
  const running = s.runDaemon(ctl.signal);
  await new Promise((r) => setTimeout(r, 300));
  ctl.abort();
  await running;
  expect(events.filter((e) => e.type === 'waiting')).toHaveLength(1);
  expect(fake.snaps).toHaveLength(1);
});

test('runDaemon({ timeout: 4 weeks }) runs until aborted, not for 1 ms; { timeout } ends it', async () => {
  const fake = fakeDomain();
  const s = new DomainScheduler(fake.domain, { policy: { baseMs: 1000, levels: 1, slots: 1, keepLast: 1 }, everyMs: 100, owner: 'a', store: new MemoryStore(), lockSettleMs: 0 });
  const ctl = new AbortController();
  let done = false;
  const running = s.runDaemon({ signal: ctl.signal, timeout: 4 * WEEK }).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 400));
  expect(done).toBe(false);
  ctl.abort();
  await running;
  const t0 = Date.now();
  await s.runDaemon({ timeout: 300 });
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  expect(Date.now() - t0).toBeLessThan(10_000);
});

test('runDaemon bounds the caller\'s reconnect: it gets { signal, timeout }, and a hanging one times out', async () => {
  const fake = fakeDomain();
  (fake.domain as unknown as { getConnect: () => unknown }).getConnect = () => ({ isAlive: () => false });
  const seen: { signal: AbortSignal; timeout: number }[] = [];
  const events: SchedulerEvent[] = [];
  const s = new DomainScheduler(fake.domain, {
    policy: { baseMs: 1000, levels: 1, slots: 1, keepLast: 1 },
    owner: 'a',
    store: new MemoryStore(),
    callTimeoutMs: 200,
    backoff: { minMs: 100, maxMs: 100 },
    onProgress: (e) => events.push(e),
    reconnect: (o) => {
      seen.push(o);
      return new Promise(() => undefined); // never connects
    },
  });
  const ctl = new AbortController();
  const running = s.runDaemon({ signal: ctl.signal });
  for (const end = Date.now() + 10_000; !events.some((e) => e.type === 'failed'); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('no failed reconnect within 10 s');
  }
  ctl.abort();
  await running;
  expect(events.find((e) => e.type === 'failed')).toMatchObject({ step: 'reconnect', error: 'reconnecting took longer than 200 ms', transient: true });
  expect(seen[0].timeout).toBe(200);
  expect(seen[0].signal.aborted).toBe(true);
});
