/**
 * The scheduler against the sandbox's real QEMU guest with a seconds-scale base unit: real snapshots made and
 * thinned, the lock between two schedulers, crashes (SIGKILL) at every step, and a daemon that goes away.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { connect, Connect } from '../../src';
import { ScheduleLockedError } from '../../src/scheduler/store';
import { DomainScheduler, SchedulerEvent } from '../../src/scheduler/scheduler';
import { isComplete } from '../../src/scheduler/records';
import { computeRetention } from '../../src/scheduler/retention';
import { useGuest } from '../helpers/guest';
import { sandbox } from '../helpers/sandbox';
import { startProxy } from '../helpers/tcp-proxy';

jest.setTimeout(240_000);
const sb = sandbox();
const g = useGuest('sched');
const GUEST = g.name;
const POLICY = { kind: 'aligned' as const, baseMs: 1000, levels: 3, slots: 2, keepLast: 2 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const names = async () => new Set((await g.dom.listAllSnapshots()).map((s) => s.getName()));

function scheduler(owner: string, extra: Partial<ConstructorParameters<typeof DomainScheduler>[1]> = {}): DomainScheduler {
  return new DomainScheduler(g.dom, { policy: POLICY, owner, lockSettleMs: 50, lockTtlMs: 5000, ...extra });
}

test('runs over real snapshots: creates when due, thins by the policy, records every lifecycle', async () => {
  const s = scheduler('t1');
  const created: string[] = [];
  const deleted: string[] = [];
  const t0 = Date.now();
  while (Date.now() - t0 < 9000) {
    const r = await s.runOnce();
    expect(r.errors).toEqual([]);
    if (r.created) created.push(r.created.name);
    deleted.push(...r.deleted);
    await sleep(250);
  }
  expect(created.length).toBeGreaterThanOrEqual(4);
  expect(deleted.length).toBeGreaterThan(0);
  const records = await s.records();
  const existing = await names();
  // Every record is a real snapshot and complete; every deleted one is gone from libvirt.
  for (const rec of records.snapshots) {
    expect(existing.has(rec.name)).toBe(true);
    expect(isComplete(rec)).toBe(true);
    expect(rec.kind).toBe('internal');
  }
  for (const d of deleted) expect(existing.has(d)).toBe(false);
  // The kept count respects the bound N + c*L (no keepWithin here), and the newest is kept.
  expect(records.snapshots.length).toBeLessThanOrEqual(POLICY.keepLast + POLICY.slots * POLICY.levels);
  expect(records.snapshots.map((x) => x.name)).toContain(created[created.length - 1]);
  expect(records.lock).toBeNull();
  // The libvirt snapshots carry the scheduler's name prefix; only those are the scheduler's.
  for (const n of existing) expect(n.startsWith('lvrpc-')).toBe(true);
});

test('two schedulers at once: one runs, the other refuses with the holder named', async () => {
  await sleep(1100); // make a snapshot due
  const results = await Promise.allSettled([scheduler('alpha').runOnce(), scheduler('beta').runOnce()]);
  const ok = results.filter((r) => r.status === 'fulfilled');
  const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  expect(ok).toHaveLength(1);
  expect(refused).toHaveLength(1);
  expect(refused[0].reason).toBeInstanceOf(ScheduleLockedError);
  expect(refused[0].reason.message).toMatch(/held by (alpha|beta)/);
});

test('snapshots it did not make are never touched', async () => {
  const mine = await g.dom.createSnapshot({ name: 'hand-made', description: 'not the scheduler\'s' });
  await sleep(1100);
  for (let i = 0; i < 3; i++) {
    await scheduler('t2').runOnce();
    await sleep(600);
  }
  expect((await names()).has('hand-made')).toBe(true);
  await mine.delete();
});

describe('killed with SIGKILL at each step, then run again', () => {
  const child = (crashAt: string) =>
    new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => {
      const p = execFile(
        process.execPath,
        [path.resolve(__dirname, '../../scripts/ts-run.cjs'), path.resolve(__dirname, '../helpers/scheduler-child.ts'), sb.unixUri, GUEST, crashAt, JSON.stringify(POLICY)],
        { timeout: 60000 },
        (_e, stdout, stderr) => resolve({ code: p.exitCode, signal: p.signalCode, out: stdout + stderr }),
      );
    });

  test.each(['creating', 'creating+150', 'created', 'deleting', 'deleted'])('at %s', async (crashAt) => {
    // Make sure there is something to create and, for the deletion steps, something to delete.
    await sleep(1100);
    const beforeRecords = await scheduler('pre').records();
    const beforeComplete = new Set(beforeRecords.snapshots.filter(isComplete).map((s) => s.name));
    const res = await child(crashAt);
    if (res.signal !== 'SIGKILL') {
      // The pass had nothing to delete this time; that is not a crash test.
      expect(res.out).toContain('completed without reaching the crash point');
      return;
    }
    // What the dead child could legitimately delete: what the policy deletes given every record there was.
    const atCrash = await scheduler('crash-view').records();
    const union = new Map([...beforeRecords.snapshots, ...atCrash.snapshots].map((x) => [x.name, x]));
    const policyKeeps = new Set(
      computeRetention([...union.values()].map((x) => ({ id: x.name, created: x.started, completed: x.completed, kind: x.kind })), POLICY, { now: Date.now() }).keep.map((k) => k.id),
    );
    await sleep(2100); // the dead child's lease lapses
    const report = await scheduler('after').runOnce();
    const records = await scheduler('check').records();
    const existing = await names();
    // No snapshot the policy keeps is lost: each complete one from before that the policy still keeps exists,
    // unless the rerun itself deleted it by the policy.
    for (const n of beforeComplete) if (policyKeeps.has(n) && !report.deleted.includes(n)) expect(existing.has(n)).toBe(true);
    // And whatever is gone was the policy's to delete.
    for (const n of beforeComplete) if (!existing.has(n)) expect(policyKeeps.has(n) && !report.deleted.includes(n)).toBe(false);
    // Nothing half-made is counted: incomplete records of snapshots libvirt has are reported, never kept. (The
    // record of a creation killed before libvirt made anything is not counted either; it is dropped once its
    // slot is long over, or by cleanup.)
    const incomplete = records.snapshots.filter((s) => !isComplete(s) && existing.has(s.name)).map((s) => s.name);
    for (const n of incomplete) {
      expect(report.incomplete).toContain(n);
      expect(report.kept.map((k) => k.id)).not.toContain(n);
    }
    for (const rec of records.snapshots.filter((s) => !existing.has(s.name))) expect(isComplete(rec)).toBe(false);
    // Every scheduler snapshot in libvirt has a record.
    const recorded = new Set(records.snapshots.map((r) => r.name));
    for (const n of existing) if (n.startsWith('lvrpc-') && !recorded.has(n)) throw new Error(`${n} exists with no record`);
    expect(records.lock).toBeNull();
  });

  test('cleanup deletes the incomplete snapshots a crash left, and only those', async () => {
    const s = scheduler('cleaner');
    const before = await s.records();
    const incomplete = before.snapshots.filter((x) => !isComplete(x)).map((x) => x.name);
    const removed = await s.cleanup();
    expect(removed.sort()).toEqual(incomplete.sort());
    const after = await s.records();
    expect(after.snapshots.every(isComplete)).toBe(true);
    expect(after.snapshots.length).toBe(before.snapshots.length - incomplete.length);
  });
});

test('the daemon going away mid-run: bounded retries with backoff, then the schedule resumes', async () => {
  const proxy = await startProxy(sb.tcpPort);
  const uri = `qemu+tcp://127.0.0.1:${proxy.port}/session`;
  const viaProxy = await connect(uri);
  const opened: Connect[] = [viaProxy];
  const events: (SchedulerEvent & { at: number })[] = [];
  const ctl = new AbortController();
  const s = new DomainScheduler(await viaProxy.getDomainByName(GUEST), {
    policy: POLICY,
    owner: 'daemon-test',
    lockSettleMs: 50,
    lockTtlMs: 5000,
    backoff: { minMs: 400, maxMs: 4000 },
    onProgress: (e) => events.push({ ...e, at: Date.now() }),
    reconnect: async () => {
      const c = await connect(uri, { timeout: 2000 });
      opened.push(c);
      return c.getDomainByName(GUEST);
    },
  });
  const running = s.runDaemon(ctl.signal);
  await sleep(2500);
  const downAt = Date.now();
  proxy.down();
  await sleep(4000);
  const failuresWhileDown = events.filter((e) => e.type === 'failed' && e.at >= downAt);
  proxy.up();
  const upAt = Date.now();
  await sleep(5000);
  ctl.abort();
  await running;
  // Backoff: 400 ms doubling with jitter gives at most about 5 attempts in 4 s; a busy loop would give hundreds.
  expect(failuresWhileDown.length).toBeGreaterThan(0);
  expect(failuresWhileDown.length).toBeLessThanOrEqual(6);
  // It resumed: a snapshot was created after the daemon came back.
  expect(events.some((e) => e.type === 'created' && e.at > upAt)).toBe(true);
  for (const c of opened) c.destroy();
  await proxy.close();
});
