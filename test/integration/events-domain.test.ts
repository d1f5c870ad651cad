/**
 * Domain and QEMU monitor events from the sandbox's real daemon and a real guest, compared with what libvirt's C
 * client (python3-libvirt's event loop) receives for the same actions in the same run: lifecycle (undefine,
 * define, start, suspend, resume, destroy), metadata-change, reboot through the QEMU monitor, a hot-plugged SCSI
 * disk added and removed, a block pull (block-job and block-job-2), a push backup (job-completed), and the QMP
 * events STOP, RESUME and RESET.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as H from '../../generated/libvirt-headers';
import * as Q from '../../generated/qemu-procedures';
import * as R from '../../generated/remote-procedures';
import { connect, type Connect, type Domain } from '../../src/index';
import type { DomainEvent, EventSubscription, EventGap, QemuMonitorEvent } from '../../src/events/index';
import { createGuest, removeGuest, sandbox, type GuestInfo } from '../helpers/sandbox';
import { asCEvent, CEventListener, type CEvent } from '../helpers/py-events';
import { guestName } from '../helpers/guest';

const name = guestName('events-dom');
let guest: GuestInfo;
let conn: Connect;
let dom: Domain;
const long = { timeout: 60_000 };

beforeAll(async () => {
  guest = await createGuest(name, { start: false });
  conn = await connect(sandbox().unixUri);
  dom = await conn.getDomainByName(name);
}, 120_000);

afterAll(async () => {
  await conn?.close();
  await removeGuest(name);
}, 120_000);

/** Collects a subscription's events (as the C callbacks' arguments) until it ends. */
function collect<T extends DomainEvent | QemuMonitorEvent>(sub: EventSubscription<T>): { got: CEvent[]; until(pred: (e: CEvent) => boolean, ms?: number): Promise<void> } {
  const got: CEvent[] = [];
  const done = (async () => {
    for await (const ev of sub as EventSubscription<T | EventGap>) got.push(asCEvent(ev as DomainEvent));
  })();
  done.catch(() => undefined);
  return {
    got,
    async until(pred, ms = 60_000) {
      const end = Date.now() + ms;
      while (!got.some(pred)) {
        if (Date.now() > end) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

const is = (type: string, ...args: unknown[]) => (e: CEvent) => e.type === type && args.every((a, i) => e.args[i] === a);

test('every domain and QMP event matches what python3-libvirt receives for the same actions', async () => {
  const sb = sandbox();
  const py = await CEventListener.start(sb.unixUri, { domain: name, qemu: name });
  try {
    const events = conn.events.domain('*', { domain: dom });
    const qmp = conn.events.qemuMonitor({ domain: dom });
    await Promise.all([events.ready, qmp.ready]);
    expect(events.skipped).toEqual(['nic-mac-change']); // 11.2.0's event, unknown to the 9.0 daemon
    const ours = collect(events);
    const oursQmp = collect(qmp);

    // Redefine with a virtio-scsi controller (SCSI disks unplug without the guest's help) and its UUID.
    const xml = fs.readFileSync(path.join(guest.dir, 'domain.xml'), 'utf8')
      .replace('</name>', `</name>\n  <uuid>${guest.uuid}</uuid>`)
      .replace('<devices>', "<devices>\n    <controller type='scsi' model='virtio-scsi'/>");
    await dom.undefine();
    dom = await conn.defineDomain(xml);
    await dom.create(0, long);
    await dom.suspend();
    await dom.resume();
    await conn.raw.call(R.domainSetMetadata, { dom: dom.handle, type: H.VIR_DOMAIN_METADATA_TITLE, metadata: 'events test', key: null, uri: null, flags: 0 });
    await conn.raw.call(Q.domainMonitorCommand, { dom: dom.handle, cmd: '{"execute":"system_reset"}', flags: 0 });
    await ours.until(is('reboot'));

    const hot = path.join(guest.dir, 'hot.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', hot, '16M']);
    fs.chownSync(hot, sb.uid, sb.gid);
    const disk = `<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${hot}'/><target dev='sda' bus='scsi'/></disk>`;
    await conn.raw.call(R.domainAttachDeviceFlags, { dom: dom.handle, xml: disk, flags: H.VIR_DOMAIN_AFFECT_LIVE });
    await ours.until(is('device-added'));
    await conn.raw.call(R.domainDetachDeviceFlags, { dom: dom.handle, xml: disk, flags: H.VIR_DOMAIN_AFFECT_LIVE }, long);
    await ours.until(is('device-removed'));

    const overlay = path.join(guest.dir, 'overlay.qcow2');
    const snap = `<domainsnapshot><disks><disk name='vda' snapshot='external'><source file='${overlay}'/></disk></disks></domainsnapshot>`;
    await dom.createSnapshot(snap, H.VIR_DOMAIN_SNAPSHOT_CREATE_DISK_ONLY | H.VIR_DOMAIN_SNAPSHOT_CREATE_NO_METADATA, long);
    await conn.raw.call(R.domainBlockPull, { dom: dom.handle, path: 'vda', bandwidth: 0n, flags: 0 });
    await ours.until(is('block-job-2', 'vda', H.VIR_DOMAIN_BLOCK_JOB_TYPE_PULL, H.VIR_DOMAIN_BLOCK_JOB_COMPLETED));

    await dom.backupBegin({ disks: [{ name: 'vda', type: 'file', target: path.join(guest.dir, 'backup.qcow2'), format: 'qcow2' }] }, null, 0, long);
    await ours.until(is('job-completed'));
    await dom.destroy(0, long);
    await dom.undefine();
    await ours.until(is('lifecycle', H.VIR_DOMAIN_EVENT_UNDEFINED, H.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED), 30_000);
    await py.waitFor((e) => e.family === 'domain' && is('lifecycle', H.VIR_DOMAIN_EVENT_UNDEFINED, H.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED)(e) && py.events.filter((x) => x.type === 'lifecycle' && x.args[0] === H.VIR_DOMAIN_EVENT_UNDEFINED).length === 2);
    await oursQmp.until((e) => e.args[0] === 'RESET');
    await py.waitFor((e) => e.family === 'qemu' && e.args[0] === 'RESET');

    // The same events, in the same order, with the same arguments, as libvirt's C client.
    expect(ours.got).toEqual(py.events.filter((e) => e.family === 'domain'));
    const qmpNames = (l: CEvent[]) => l.map((e) => e.args[0]);
    const pyQmp = py.events.filter((e) => e.family === 'qemu');
    // QMP events keep arriving while the guest runs; compare up to the guest's end (SHUTDOWN from the destroy).
    const upTo = (l: CEvent[]) => l.slice(0, l.findIndex((e) => e.args[0] === 'SHUTDOWN') + 1);
    await oursQmp.until((e) => e.args[0] === 'SHUTDOWN');
    await py.waitFor((e) => e.family === 'qemu' && e.args[0] === 'SHUTDOWN');
    expect(upTo(oursQmp.got)).toEqual(upTo(pyQmp));

    // And the test is not vacuous: the actions' events are all there, in order.
    const wanted: [string, ...unknown[]][] = [
      ['lifecycle', H.VIR_DOMAIN_EVENT_UNDEFINED, H.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED],
      ['lifecycle', H.VIR_DOMAIN_EVENT_DEFINED, H.VIR_DOMAIN_EVENT_DEFINED_ADDED],
      ['lifecycle', H.VIR_DOMAIN_EVENT_STARTED, H.VIR_DOMAIN_EVENT_STARTED_BOOTED],
      ['lifecycle', H.VIR_DOMAIN_EVENT_SUSPENDED, H.VIR_DOMAIN_EVENT_SUSPENDED_PAUSED],
      ['lifecycle', H.VIR_DOMAIN_EVENT_RESUMED, H.VIR_DOMAIN_EVENT_RESUMED_UNPAUSED],
      ['metadata-change', H.VIR_DOMAIN_METADATA_TITLE, null],
      ['reboot'],
      ['device-added', 'scsi0-0-0-0'],
      ['device-removed', 'scsi0-0-0-0'],
      ['block-job', overlay, H.VIR_DOMAIN_BLOCK_JOB_TYPE_PULL, H.VIR_DOMAIN_BLOCK_JOB_COMPLETED],
      ['job-completed'],
      ['lifecycle', H.VIR_DOMAIN_EVENT_STOPPED, H.VIR_DOMAIN_EVENT_STOPPED_DESTROYED],
      ['lifecycle', H.VIR_DOMAIN_EVENT_UNDEFINED, H.VIR_DOMAIN_EVENT_UNDEFINED_REMOVED],
    ];
    let at = 0;
    for (const [type, ...args] of wanted) {
      const i = ours.got.findIndex((e, j) => j >= at && is(type, ...args)(e));
      expect([type, ...args, i >= 0]).toEqual([type, ...args, true]);
      at = i + 1;
    }
    const completed = ours.got.find(is('job-completed'))!.args[0] as Record<string, unknown>;
    expect(completed).toMatchObject({ operation: H.VIR_DOMAIN_JOB_OPERATION_BACKUP, success: true });
    expect(qmpNames(upTo(oursQmp.got))).toEqual(expect.arrayContaining(['STOP', 'RESUME', 'RESET', 'SHUTDOWN']));
    await Promise.all([events.close(), qmp.close()]);
    expect(conn.events.registrations).toBe(0);
  } finally {
    await py.stop();
  }
}, 240_000);
