/**
 * Two schedulers on one domain at once, each over its own connection through a proxy that holds every metadata
 * write (DOMAIN_SET_METADATA) back for a random time, up to well past the lease's settle wait: the lease alone
 * cannot keep them apart then. Whatever the timing, no slot gets two snapshots, and no record is lost: every
 * scheduler snapshot libvirt has is recorded, and every one either scheduler reported created is recorded
 * complete. The guest is shut off (its internal snapshots take a fraction of a second each). And records of the
 * first format (one element all schedulers shared) are moved to the per-writer one.
 */
import { connect, type Connect } from '../../src/index';
import * as R from '../../generated/remote-procedures';
import * as headers from '../../generated/libvirt-headers';
import { emptyRecords, isComplete, recordsToXml, SCHEDULER_NS, SCHEDULER_PREFIX } from '../../src/scheduler/records';
import { DomainScheduler } from '../../src/scheduler/scheduler';
import { recordKey, ScheduleLockedError } from '../../src/scheduler/store';
import { useGuest } from '../helpers/guest';
import { sandbox } from '../helpers/sandbox';
import { startProxy } from '../helpers/tcp-proxy';

jest.setTimeout(120_000);
const g = useGuest('sched-race', { start: false });
const EVERY = 1000;
const POLICY = { kind: 'aligned' as const, baseMs: EVERY, levels: 2, slots: 2, keepLast: 2 };
const RUN_MS = 14_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The time in a scheduler snapshot's name (`lvrpc-YYYYMMDDTHHMMSS.mmmZ`), ms since the epoch. */
function nameTime(name: string): number {
  const m = /^lvrpc-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(name);
  if (!m) throw new Error(`not a scheduler snapshot name: ${name}`);
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number);
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

test('metadata writes delayed at random: never two creations for one slot, never a lost record', async () => {
  const proxy = await startProxy(sandbox().tcpPort, '127.0.0.1', {
    delayUpstream: (f) => (f.proc === R.domainSetMetadata.number ? Math.floor(Math.random() * 400) : 0),
  });
  const uri = `qemu+tcp://127.0.0.1:${proxy.port}/session`;
  const opened: Connect[] = [];
  const created: { name: string; by: string }[] = [];
  const failures: string[] = [];
  let locked = 0;
  let fenced = 0;
  let taken = 0;
  const end = Date.now() + RUN_MS;
  const racer = async (owner: string) => {
    const conn = await connect(uri, { timeout: 30_000 });
    opened.push(conn);
    const s = new DomainScheduler(await conn.getDomainByName(g.name), {
      policy: POLICY,
      owner,
      everyMs: EVERY,
      lockSettleMs: 50,
      lockTtlMs: 5000,
      onProgress: (e) => void (e.type === 'created' && created.push({ name: e.name, by: owner })),
    });
    while (Date.now() < end) {
      try {
        const report = await s.runOnce();
        // A lease taken over mid-pass (the fencing check stopping this scheduler) is the design working.
        for (const e of report.errors) if (e.step === 'lease') fenced++;
        else failures.push(`${owner}: ${e.step}: ${e.error}`);
        if (report.skipped === 'taken') taken++;
      } catch (e) {
        if (e instanceof ScheduleLockedError) locked++;
        else failures.push(`${owner}: ${(e as Error).message}`);
      }
      await sleep(Math.floor(Math.random() * 200));
    }
  };
  try {
    await Promise.all([racer('racer-a'), racer('racer-b')]);
  } finally {
    for (const c of opened) c.destroy();
    await proxy.close();
  }

  // The run did something: snapshots were made, and the schedulers met (one refused by the lease, stopped by
  // its fencing check, or beaten to a slot by the daemon's refusal of a second snapshot of one name).
  expect(created.length).toBeGreaterThanOrEqual(4);
  expect(locked + fenced + taken).toBeGreaterThan(0);
  // Never two creations for one slot.
  const bySlot = new Map<number, string[]>();
  for (const c of created) {
    const slot = Math.floor(nameTime(c.name) / EVERY);
    bySlot.set(slot, [...(bySlot.get(slot) ?? []), `${c.name} by ${c.by}`]);
  }
  expect([...bySlot.values()].filter((v) => v.length > 1)).toEqual([]);
  // Never a lost record.
  const records = await new DomainScheduler(g.dom, { policy: POLICY, owner: 'checker' }).records();
  const recorded = new Map(records.snapshots.map((r) => [r.name, r]));
  const existing = new Set((await g.dom.listAllSnapshots()).map((s) => s.getName()));
  expect([...existing].filter((n) => !recorded.has(n))).toEqual([]);
  expect(created.filter((c) => existing.has(c.name) && !isComplete(recorded.get(c.name)!)).map((c) => c.name)).toEqual([]);
  expect(failures).toEqual([]);
});

test('records of format 1 (one shared element) are read, and moved to format 2 by the first lease holder', async () => {
  const legacyName = 'lvrpc-20200101T000000.000Z';
  await g.dom.createSnapshot({ name: legacyName }, 0, { timeout: 60_000 });
  const legacy = emptyRecords();
  legacy.snapshots.push({ name: legacyName, kind: 'internal', started: Date.UTC(2020, 0, 1), completed: Date.UTC(2020, 0, 1, 0, 0, 1), quiesced: false, pinned: true, parent: null });
  const raw = g.conn.raw;
  const flags = headers.VIR_DOMAIN_AFFECT_CONFIG;
  await raw.call(R.domainSetMetadata, { dom: g.dom.handle, type: headers.VIR_DOMAIN_METADATA_ELEMENT, metadata: recordsToXml(legacy), key: SCHEDULER_PREFIX, uri: SCHEDULER_NS, flags });
  const s = new DomainScheduler(g.dom, { policy: POLICY, owner: 'migrator', everyMs: EVERY, lockSettleMs: 0 });
  expect((await s.records()).snapshots.find((r) => r.name === legacyName)).toMatchObject({ pinned: true, completed: Date.UTC(2020, 0, 1, 0, 0, 1) });
  await s.runOnce();
  const xml = await g.dom.getXMLDescription();
  expect(xml).not.toContain(SCHEDULER_NS + '"');
  expect(xml).toContain(recordKey(legacyName, 'migrator'));
  // Pinned: the policy keeps it, and its record survived the move.
  expect((await s.records()).snapshots.find((r) => r.name === legacyName)).toMatchObject({ pinned: true });
  expect((await g.dom.listAllSnapshots()).map((x) => x.getName())).toContain(legacyName);
});
