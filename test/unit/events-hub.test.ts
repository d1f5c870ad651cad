/**
 * The event hub against a scripted daemon: registrations shared per event and filter as libvirt's remote driver
 * shares them, routing by callback id, typed payloads of every family, unsupported events named with the
 * daemon's version, the two overflow policies, leaving (break, return, signal), and the end of the connection.
 */
import * as R from '../../generated/remote-procedures';
import * as Q from '../../generated/qemu-procedures';
import { AbortError, ConnectionClosedError, Connect, ProtocolError } from '../../src/index';
import { EventOverflowError, UnsupportedEventError, type EventGap } from '../../src/events/index';
import { messageFrame, until } from '../helpers/fake-peer';
import { EventPeer, fakeDomain } from '../helpers/event-peer';
import * as gen from '../../generated';

const DOM = fakeDomain('vm1', 0xab);
const OTHER = fakeDomain('vm2', 0xcd, 4);
const REG = 'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY';

async function open() {
  const peer = new EventPeer();
  const conn = await Connect.openWith(peer, { name: 'qemu:///session', keepalive: false });
  return { peer, conn };
}

const lifecycle = (callbackID: number, dom = DOM, event = 5, detail = 1) => ({ callbackID, msg: { dom, event, detail } });

test('subscriptions to one event and filter share one daemon registration; the last to leave deregisters it', async () => {
  const { peer, conn } = await open();
  const a = conn.events.domain('lifecycle');
  const b = conn.events.domain('lifecycle');
  const c = conn.events.domain('lifecycle', { domain: DOM });
  await Promise.all([a.ready, b.ready, c.ready]);
  const regs = [...peer.registrations.values()];
  expect(regs.map((r) => [r.proc, r.args.eventID, (r.args.dom as { name: string } | null)?.name ?? null])).toEqual([
    [REG, 0, null],
    [REG, 0, 'vm1'],
  ]);
  expect(conn.events.registrations).toBe(2);
  const [all, one] = regs;
  peer.emit(R.domainEventCallbackLifecycle, lifecycle(all.callbackID, OTHER));
  peer.emit(R.domainEventCallbackLifecycle, lifecycle(one.callbackID, DOM));
  const first = await a.next();
  expect(first.value).toMatchObject({ family: 'domain', type: 'lifecycle', event: 'stopped', detail: 'destroyed', eventCode: 5, detailCode: 1 });
  expect((await b.next()).value).toMatchObject({ domain: expect.objectContaining({}) });
  const own = (await c.next()).value as { domain: { getName(): string } };
  expect(own.domain.getName()).toBe('vm1');
  expect(c.queued).toBe(0); // the all-domains event did not reach the filtered subscription
  await a.return();
  expect(peer.registrations.size).toBe(2);
  await b.close();
  expect(peer.registrations.size).toBe(1);
  expect(peer.calls.filter((n) => n === 'REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY')).toHaveLength(1);
  await c.close();
  expect(peer.registrations.size).toBe(0);
  expect(conn.events.registrations).toBe(0);
  await conn.close();
});

test('breaking out of for-await deregisters before the loop statement completes', async () => {
  const { peer, conn } = await open();
  const sub = conn.events.domain(['lifecycle', 'reboot']);
  await sub.ready;
  expect(peer.registrations.size).toBe(2);
  const reboot = peer.registrationOf(REG, 1);
  peer.emit(R.domainEventCallbackReboot, { callbackID: reboot.callbackID, msg: { dom: DOM } });
  for await (const ev of sub) {
    expect(ev).toMatchObject({ type: 'reboot' });
    break;
  }
  expect(peer.registrations.size).toBe(0);
  await conn.close();
});

test('typed payloads: enums by name, typed params with their types, handles of every family, QMP details parsed', async () => {
  const { peer, conn } = await open();
  const d = conn.events.domain(['job-completed', 'graphics', 'block-job-2', 'memory-failure', 'metadata-change', 'tray-change', 'pm-suspend', 'agent-lifecycle']);
  const net = conn.events.network('lifecycle');
  const pool = conn.events.storagePool('*');
  const dev = conn.events.nodeDevice(['lifecycle', 'update']);
  const sec = conn.events.secret('*');
  const qmp = conn.events.qemuMonitor({ event: 'STOP', nocase: true });
  await Promise.all([d.ready, net.ready, pool.ready, dev.ready, sec.ready, qmp.ready]);
  const id = (proc: string, eventID?: number) => peer.registrationOf(proc, eventID).callbackID;
  const params = [
    { field: 'operation', value: { type: 1, i: 5 } },
    { field: 'disk_total', value: { type: 4, ul: 67108864n } },
    { field: 'ratio', value: { type: 5, d: 0.5 } },
    { field: 'ok', value: { type: 6, b: 1 } },
  ];
  peer.emit(R.domainEventCallbackJobCompleted, { callbackID: id(REG, 21), dom: DOM, params } as never);
  const addr = (family: number, node: string) => ({ family, node, service: '5900' });
  peer.emit(R.domainEventCallbackGraphics, { callbackID: id(REG, 5), msg: { dom: DOM, phase: 2, local: addr(0, '127.0.0.1'), remote: addr(1, '::1'), authScheme: 'vnc', subject: [{ type: 'x509dname', name: 'CN=a' }] } });
  peer.emit(R.domainEventBlockJob2, { callbackID: id(REG, 16), dom: DOM, dst: 'vda', type: 4, status: 3 });
  peer.emit(R.domainEventMemoryFailure, { callbackID: id(REG, 25), dom: DOM, recipient: 1, action: 2, flags: 3 });
  peer.emit(R.domainEventCallbackMetadataChange, { callbackID: id(REG, 23), dom: DOM, type: 2, nsuri: 'http://x/' });
  peer.emit(R.domainEventCallbackTrayChange, { callbackID: id(REG, 10), msg: { dom: DOM, devAlias: 'ide0-0-0', reason: 0 } });
  peer.emit(R.domainEventCallbackPmsuspend, { callbackID: id(REG, 12), reason: 0, msg: { dom: DOM } });
  peer.emit(R.domainEventCallbackAgentLifecycle, { callbackID: id(REG, 18), dom: DOM, state: 1, reason: 2 });
  const got = [];
  for (let i = 0; i < 8; i++) got.push((await d.next()).value as Record<string, unknown>);
  expect(got[0]).toMatchObject({
    type: 'job-completed',
    params: { operation: 5, disk_total: 67108864, ratio: 0.5, ok: true },
    typedParams: [
      { field: 'operation', type: 'int', value: 5 },
      { field: 'disk_total', type: 'ullong', value: 67108864 },
      { field: 'ratio', type: 'double', value: 0.5 },
      { field: 'ok', type: 'boolean', value: true },
    ],
  });
  expect(got[1]).toMatchObject({
    type: 'graphics', phase: 'disconnect', authScheme: 'vnc',
    local: { family: 'ipv4', node: '127.0.0.1', service: '5900' }, remote: { family: 'ipv6', node: '::1' },
    subject: [{ type: 'x509dname', name: 'CN=a' }],
  });
  expect(got[2]).toMatchObject({ type: 'block-job-2', disk: 'vda', jobType: 'active-commit', status: 'ready' });
  expect(got[3]).toMatchObject({ type: 'memory-failure', recipient: 'guest', action: 'fatal', actionRequired: true, recursive: true });
  expect(got[4]).toMatchObject({ type: 'metadata-change', metadataType: 'element', nsuri: 'http://x/' });
  expect(got[5]).toMatchObject({ type: 'tray-change', devAlias: 'ide0-0-0', reason: 'open' });
  expect(got[6]).toMatchObject({ type: 'pm-suspend', reason: 0 });
  expect(got[7]).toMatchObject({ type: 'agent-lifecycle', state: 'connected', reason: 'channel' });

  const uuid = new Uint8Array(16).fill(0x11);
  peer.emit(R.networkEventLifecycle, { callbackID: id('REMOTE_PROC_CONNECT_NETWORK_EVENT_REGISTER_ANY', 0), net: { name: 'default', uuid }, event: 2, detail: 0 });
  expect((await net.next()).value).toEqual({ family: 'network', type: 'lifecycle', network: { name: 'default', uuid: '11111111-1111-1111-1111-111111111111' }, event: 'started', eventCode: 2, detail: 0 });
  peer.emit(R.storagePoolEventRefresh, { callbackID: id('REMOTE_PROC_CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY', 1), pool: { name: 'p', uuid } });
  expect((await pool.next()).value).toMatchObject({ family: 'storage-pool', type: 'refresh', pool: { name: 'p' } });
  peer.emit(R.nodeDeviceEventLifecycle, { callbackID: id('REMOTE_PROC_CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY', 0), dev: { name: 'mdev_x' }, event: 3, detail: 0 });
  expect((await dev.next()).value).toMatchObject({ family: 'node-device', type: 'lifecycle', device: { name: 'mdev_x' }, event: 'undefined' });
  peer.emit(R.secretEventValueChanged, { callbackID: id('REMOTE_PROC_CONNECT_SECRET_EVENT_REGISTER_ANY', 1), secret: { uuid, usageType: 1, usageID: '/img' } });
  expect((await sec.next()).value).toMatchObject({ family: 'secret', type: 'value-changed', secret: { usageType: 'volume', usageID: '/img' } });

  const q = peer.registrationOf('QEMU_PROC_CONNECT_DOMAIN_MONITOR_EVENT_REGISTER');
  expect(q.args).toEqual({ dom: null, event: 'STOP', flags: 2 });
  const details = '{"a":1,"__proto__":{"polluted":true},"big":18446744073709551615}';
  peer.emit(Q.domainMonitorEvent, { callbackID: q.callbackID, dom: DOM, event: 'STOP', seconds: 1796158656n, micros: 633054, details });
  const m = (await qmp.next()).value as { details: Record<string, unknown>; detailsJson: string; seconds: number; micros: number };
  expect(m).toMatchObject({ family: 'qemu', type: 'monitor-event', event: 'STOP', seconds: 1796158656, micros: 633054, detailsJson: details });
  expect(m.details.a).toBe(1);
  expect(Object.getPrototypeOf(m.details)).toBe(Object.prototype);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  await conn.close();
});

test('an event the 9.0 daemon does not know fails with UnsupportedEventError naming its version; with * it is skipped', async () => {
  const { peer, conn } = await open();
  const nic = conn.events.domain('nic-mac-change');
  const err = await nic.ready.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(UnsupportedEventError);
  expect(err).toMatchObject({ code: 'ERR_UNSUPPORTED_EVENT', family: 'domain', event: 'nic-mac-change', daemonVersion: '9.0.0' });
  expect((err as Error).message).toBe("the daemon (libvirt 9.0.0) does not support the domain event 'nic-mac-change' (it needs libvirt 11.2.0 or later): internal error: unsupported event ID 27");
  await expect(nic.next()).rejects.toBe(err);
  const netMeta = conn.events.network(['lifecycle', 'metadata-change']);
  await expect(netMeta.ready).rejects.toMatchObject({ code: 'ERR_UNSUPPORTED_EVENT', event: 'metadata-change' });
  await until(() => peer.registrations.size === 0); // the lifecycle half was deregistered again
  const all = conn.events.domain('*');
  await all.ready;
  expect(all.skipped).toEqual(['nic-mac-change']);
  expect(peer.registrations.size).toBe(27);
  await all.close();
  expect(peer.registrations.size).toBe(0);
  await conn.close();
});

test('an event that overtakes its registration reply is delivered once the reply names its callback id', async () => {
  const { peer, conn } = await open();
  peer.hold = (n) => n === REG;
  const sub = conn.events.domain('lifecycle');
  await until(() => peer.held.length === 1);
  peer.emit(R.domainEventCallbackLifecycle, lifecycle(1)); // the id the fake daemon hands out first
  peer.releaseHeld();
  await sub.ready;
  expect((await sub.next()).value).toMatchObject({ type: 'lifecycle', event: 'stopped' });
  await conn.close();
});

test("overflow 'error': queued events come first, then EventOverflowError with the number lost; it deregisters", async () => {
  const { peer, conn } = await open();
  const sub = conn.events.domain('lifecycle', { highWaterMark: 3 });
  await sub.ready;
  const { callbackID } = peer.registrationOf(REG, 0);
  for (let i = 0; i < 10; i++) peer.emit(R.domainEventCallbackLifecycle, lifecycle(callbackID, DOM, 5, i % 7));
  expect(sub.queued).toBe(3);
  expect(sub.dropped).toBe(7);
  const seen: number[] = [];
  const err = await (async () => {
    try {
      for await (const ev of sub) seen.push((ev as { detailCode: number }).detailCode);
    } catch (e) {
      return e;
    }
    return null;
  })();
  expect(seen).toEqual([0, 1, 2]);
  expect(err).toBeInstanceOf(EventOverflowError);
  expect(err).toMatchObject({ code: 'ERR_EVENT_OVERFLOW', lost: 7, highWaterMark: 3 });
  await until(() => peer.registrations.size === 0);
  await conn.close();
});

test("overflow 'drop-oldest': the newest events stay, a gap marker counts the dropped ones where they were", async () => {
  const { peer, conn } = await open();
  const sub = conn.events.domain('lifecycle', { highWaterMark: 3, overflow: 'drop-oldest' });
  await sub.ready;
  const { callbackID } = peer.registrationOf(REG, 0);
  for (let i = 0; i < 10; i++) peer.emit(R.domainEventCallbackLifecycle, lifecycle(callbackID, DOM, 5, i));
  const gap = (await sub.next()).value as EventGap;
  expect(gap).toMatchObject({ type: 'gap', code: 'EVENT_GAP', reason: 'overflow', lost: 7 });
  const rest = [];
  for (let i = 0; i < 3; i++) rest.push(((await sub.next()).value as { detailCode: number }).detailCode);
  expect(rest).toEqual([7, 8, 9]);
  expect(sub.dropped).toBe(7);
  await sub.close();
  await conn.close();
});

test('the signal ends the iterator with AbortError and deregisters', async () => {
  const { peer, conn } = await open();
  const ctl = new AbortController();
  const sub = conn.events.domain('lifecycle', { signal: ctl.signal });
  await sub.ready;
  const pending = sub.next();
  ctl.abort();
  await expect(pending).rejects.toBeInstanceOf(AbortError);
  await expect(sub.next()).rejects.toBeInstanceOf(AbortError);
  await until(() => peer.registrations.size === 0);
  await conn.close();
});

test('the daemon hanging up ends iterators with ConnectionClosedError after what they queued; close() ends them cleanly', async () => {
  const { peer, conn } = await open();
  const sub = conn.events.domain('lifecycle');
  await sub.ready;
  peer.emit(R.domainEventCallbackLifecycle, lifecycle(peer.registrationOf(REG, 0).callbackID));
  peer.hangUp();
  expect(await conn.closed).toMatchObject({ reason: 'eof' });
  expect((await sub.next()).value).toMatchObject({ type: 'lifecycle' });
  await expect(sub.next()).rejects.toBeInstanceOf(ConnectionClosedError);
  const late = conn.events.domain('reboot');
  await expect(late.ready).rejects.toBeInstanceOf(ConnectionClosedError);

  const second = await open();
  const s2 = second.conn.events.domain('lifecycle');
  await s2.ready;
  const pending = s2.next();
  await second.conn.close();
  expect(await pending).toEqual({ done: true, value: undefined });
});

test("the daemon's CONNECTION_CLOSED closes the connection with reason 'daemon'", async () => {
  const { peer, conn } = await open();
  await conn.events.domain('lifecycle').ready;
  expect(peer.calls).toContain('REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK');
  peer.emit(R.connectEventConnectionClosed, { reason: 1 });
  const info = await conn.closed;
  expect(info).toMatchObject({ reason: 'daemon', daemonReason: 'eof' });
  expect(info.error).toMatchObject({ code: 'ERR_DAEMON_CLOSED' });
});

test('an event message that does not decode is a protocol error that closes the connection', async () => {
  const { peer, conn } = await open();
  await conn.events.domain('lifecycle').ready;
  peer.deliver(messageFrame(gen.remote_program, R.domainEventCallbackLifecycle, new Uint8Array([0, 0, 0, 1, 0xff])));
  const info = await conn.closed;
  expect(info.reason).toBe('error');
  expect(info.error).toBeInstanceOf(ProtocolError);
});

test('options are checked before anything is sent', async () => {
  const { peer, conn } = await open();
  const events = conn.events; // made on first use, which asks the daemon for CONNECTION_CLOSED
  await until(() => peer.calls.includes('REMOTE_PROC_CONNECT_REGISTER_CLOSE_CALLBACK'));
  const before = peer.calls.length;
  expect(() => events.domain('nope' as 'lifecycle')).toThrow(/unknown domain event 'nope'; known: lifecycle, reboot/);
  expect(() => events.domain('lifecycle', { highWaterMark: 0 })).toThrow(/highWaterMark must be an integer between 1 and 1000000/);
  expect(() => events.domain('lifecycle', { overflow: 'drop-newest' as 'error' })).toThrow(/overflow must be/);
  expect(() => events.qemuMonitor({ regex: true })).toThrow(/need an event name/);
  expect(() => events.domain([])).toThrow(/name one or more domain events/);
  expect(peer.calls.length).toBe(before);
  await conn.close();
});
