/**
 * The scheduler's decisions against an in-memory domain and store, with a clock the test drives: no daemon,
 * exact timing.
 */
import { RemoteError } from '../../src/errors';
import type { Domain } from '../../src/objects/domain';
import { DomainScheduler } from '../../src/scheduler/scheduler';
import { MemoryStore } from '../helpers/memory-store';

function fakeDomain(opts: { failCreate?: () => Error | null } = {}) {
  const snaps: string[] = [];
  const handle = (name: string) => ({
    getName: () => name,
    getParent: async () => null,
    delete: async () => void snaps.splice(snaps.indexOf(name), 1),
  });
  const domain = {
    getName: () => 'vm',
    getConnect: () => ({ isAlive: () => true }),
    listAllSnapshots: async () => snaps.map(handle),
    getSnapshotByName: async (n: string) => handle(n),
    createSnapshot: async (spec: { name: string }) => {
      const err = opts.failCreate?.();
      if (err) throw err;
      snaps.push(spec.name);
      return handle(spec.name);
    },
  };
  return { domain: domain as unknown as Domain, snaps };
}

function memoryStore(): MemoryStore {
  return new MemoryStore();
}

const POLICY = { baseMs: 1000, levels: 2, slots: 2, keepLast: 1 };

test('the first snapshot is due at once even when the clock moves between readings', async () => {
  let t = Date.UTC(2026, 0, 1);
  const { domain, snaps } = fakeDomain();
  const s = new DomainScheduler(domain, { policy: POLICY, owner: 'a', store: memoryStore(), now: () => t++, sleep: async () => undefined, lockSettleMs: 0 });
  const r = await s.runOnce();
  expect(r.skipped).toBeNull();
  expect(r.created).not.toBeNull();
  expect(snaps).toHaveLength(1);
});

test('not due until everyMs after the newest complete snapshot', async () => {
  let t = Date.UTC(2026, 0, 1);
  const { domain, snaps } = fakeDomain();
  const s = new DomainScheduler(domain, { policy: POLICY, owner: 'a', store: memoryStore(), now: () => t, sleep: async () => undefined, lockSettleMs: 0 });
  await s.runOnce();
  t += 999;
  expect((await s.runOnce()).skipped).toBe('not-due');
  t += 1;
  expect((await s.runOnce()).created).not.toBeNull();
  expect(snaps).toHaveLength(2);
});

test('transient failures back off, pause after maxFailures, and stop pruning meanwhile', async () => {
  let t = Date.UTC(2026, 0, 1);
  let fail = false;
  const busy = new RemoteError({ code: 68, codeName: 'VIR_ERR_OPERATION_TIMEOUT', domain: 10, domainName: 'VIR_FROM_QEMU', message: 'cannot acquire state change lock', level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 }, 'X');
  const { domain, snaps } = fakeDomain({ failCreate: () => (fail ? busy : null) });
  const store = memoryStore();
  const s = new DomainScheduler(domain, { policy: POLICY, owner: 'a', store, now: () => t, sleep: async () => undefined, lockSettleMs: 0, maxFailures: 3, backoff: { minMs: 1000, maxMs: 8000, jitter: 0 } });
  for (let i = 0; i < 4; i++) {
    await s.runOnce();
    t += 1000;
  }
  const before = [...snaps];
  fail = true;
  const r1 = await s.runOnce();
  expect(r1.errors[0]).toMatchObject({ transient: true });
  expect(r1.deleted).toEqual([]);
  expect((await store.records()).state).toMatchObject({ failures: 1, nextAttempt: t + 1000, paused: null });
  expect((await s.runOnce()).skipped).toBe('backoff'); // no retry before the backoff ends
  t += 1000;
  await s.runOnce(); // failure 2, backoff 2 s
  expect((await store.records()).state.nextAttempt).toBe(t + 2000);
  t += 2000;
  const r3 = await s.runOnce(); // failure 3: paused
  expect(r3.paused).toMatch(/3 failures in a row; last: .*state change lock/);
  expect(snaps).toEqual(before); // nothing pruned while creation failed
  t += 60_000;
  expect((await s.runOnce()).skipped).toBe('paused');
  fail = false;
  await s.resume();
  expect((await s.runOnce()).created).not.toBeNull();
});

test('a permanent failure pauses at once', async () => {
  const t = Date.UTC(2026, 0, 1);
  const refused = new RemoteError({ code: 67, codeName: 'VIR_ERR_CONFIG_UNSUPPORTED', domain: 10, domainName: 'VIR_FROM_QEMU', message: 'internal snapshots need qcow2', level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 }, 'X');
  const { domain } = fakeDomain({ failCreate: () => refused });
  const s = new DomainScheduler(domain, { policy: POLICY, owner: 'a', store: memoryStore(), now: () => t, sleep: async () => undefined, lockSettleMs: 0 });
  expect((await s.runOnce()).paused).toMatch(/permanent failure: .*qcow2/);
});
