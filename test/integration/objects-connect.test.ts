/**
 * Connect and Domain against the sandbox daemon: connect() over unix and TCP, and Connect.openWith over a
 * transport the caller opened; the connection getters against virsh's answers; domain lookups by name and UUID
 * (string or bytes) and listAllDomains filters; a guest's lifecycle (start, suspend, resume, destroy) with
 * getState's [state, reason]; test:///default through the daemon; close, asyncDispose and calls after close.
 */
import * as os from 'node:os';
import { connect, Connect, ConnectionClosedError, Domain, openTransport, parseUri, RemoteConnection, remoteOpenName } from '../../src/index';
import { virsh } from '../helpers/open';
import { sandbox } from '../helpers/sandbox';
import { useGuest } from '../helpers/guest';

const g = useGuest('objects-conn', { start: false });
const { name } = g;

test('the connection getters give what virsh gives', async () => {
  const uri = sandbox().unixUri;
  expect(await g.conn.getLibVersion()).toBe(9_000_000);
  // virConnectGetURI gives the URI the client opened, as virsh shows.
  expect(await g.conn.getURI()).toBe((await virsh(uri, 'uri')).trim());
  expect(await g.conn.getURI()).toBe(uri);
  expect(await g.conn.getHostname()).toBe((await virsh(uri, 'hostname')).trim());
  expect(await g.conn.getHostname()).toBe(os.hostname());
  expect(await g.conn.getType()).toBe('QEMU');
  const hv = await g.conn.getVersion();
  expect(hv).toBeGreaterThanOrEqual(7_000_000);
  expect((await virsh(uri, 'version')).replace(/\s+/g, ' ')).toContain(`QEMU ${Math.floor(hv / 1e6)}.${Math.floor((hv % 1e6) / 1e3)}.${hv % 1e3}`);
  expect(g.conn.isAlive()).toBe(true);
  expect(g.conn.raw).toBeInstanceOf(RemoteConnection);
  expect(await g.conn.raw.remote.connectGetType()).toEqual({ type: 'QEMU' });
});

test('lookups by name and by UUID (string, upper case, bytes) give the same domain', async () => {
  const info = sandbox();
  const dom = await g.conn.getDomainByName(name);
  const uuid = (await virsh(info.unixUri, 'domuuid', name)).trim();
  expect(dom.getUUIDString()).toBe(uuid);
  expect(dom.getID()).toBe(-1);
  for (const key of [uuid, uuid.toUpperCase(), uuid.replace(/-/g, ''), dom.getUUID()]) {
    const d = await g.conn.getDomainByUUID(key);
    expect([d.getName(), d.getUUIDString()]).toEqual([name, uuid]);
  }
  expect(await dom.getXMLDescription()).toContain(`<uuid>${uuid}</uuid>`);
  expect(await dom.getXMLDescription(Domain.XML_INACTIVE)).toContain(`<name>${name}</name>`);
});

test('listAllDomains with LIST_* filters agrees with virsh', async () => {
  const uri = sandbox().unixUri;
  const names = async (flags: number) => (await g.conn.listAllDomains(flags)).map((d) => d.getName()).sort();
  const theirs = async (...args: string[]) => (await virsh(uri, 'list', '--name', ...args)).split('\n').filter(Boolean).sort();
  expect(await names(0)).toEqual(await theirs('--all'));
  expect(await names(Domain.LIST_ACTIVE)).toEqual(await theirs());
  expect(await names(Domain.LIST_INACTIVE)).toEqual(await theirs('--inactive'));
  expect(await names(Domain.LIST_INACTIVE)).toContain(name);
  expect(await names(Domain.LIST_ACTIVE)).toContain(sandbox().guest.name);
  expect(await names(Domain.LIST_PERSISTENT | Domain.LIST_SHUTOFF)).toContain(name);
});

test('a guest\'s lifecycle, with getState\'s [state, reason]', async () => {
  const dom = await g.conn.getDomainByName(name);
  expect(await dom.isActive()).toBe(false);
  expect(await dom.isPersistent()).toBe(true);
  expect((await dom.getState())[0]).toBe(Domain.STATE_SHUTOFF);
  await dom.create(0, { timeout: 60_000 });
  expect(dom.getID()).toBeGreaterThan(0);
  expect(await dom.getState()).toEqual([Domain.STATE_RUNNING, Domain.STATE_RUNNING_BOOTED]);
  expect(await dom.isActive()).toBe(true);
  await dom.suspend();
  expect(await dom.getState()).toEqual([Domain.STATE_PAUSED, Domain.STATE_PAUSED_USER]);
  expect((await dom.getInfo()).state).toBe(Domain.STATE_PAUSED);
  await dom.resume();
  expect(await dom.getState()).toEqual([Domain.STATE_RUNNING, Domain.STATE_RUNNING_UNPAUSED]);
  expect((await dom.getInfo()).memory).toBe(64 * 1024);
  await dom.destroy();
  expect(dom.getID()).toBe(-1);
  expect(await dom.getState()).toEqual([Domain.STATE_SHUTOFF, Domain.STATE_SHUTOFF_DESTROYED]);
  await dom.create(Domain.START_PAUSED, { timeout: 60_000 });
  expect(await dom.getState()).toEqual([Domain.STATE_PAUSED, Domain.STATE_PAUSED_USER]);
  await dom.destroy();
}, 120_000);

test('over TCP, and over a transport the caller opened', async () => {
  const info = sandbox();
  const tcp = await connect(info.tcpUri);
  expect(await tcp.getURI()).toBe(info.tcpUri);
  expect((await tcp.getDomainByName(name)).getName()).toBe(name);
  await tcp.close();

  const uri = parseUri(info.unixUri);
  const transport = await openTransport(uri, { timeout: 10_000 });
  const own = await Connect.openWith(transport, { name: remoteOpenName(uri), timeout: 10_000 });
  expect(await own.getType()).toBe('QEMU');
  // Not told the URI: the daemon's name for it (CONNECT_GET_URI).
  expect(await own.getURI()).toBe('qemu:///session');
  await own[Symbol.asyncDispose]();
  expect(own.isAlive()).toBe(false);
  expect(await own.closed).toEqual({ reason: 'closed' });
});

test('test:///default through the daemon: one connection keeps its state', async () => {
  const t = await Connect.open(sandbox().testUri);
  try {
    expect(await t.getType()).toBe('TEST');
    expect(await t.raw.remote.connectGetUri()).toEqual({ uri: 'test:///default' });
    const dom = (await t.listAllDomains()).find((d) => d.getName() === 'test')!;
    expect(dom).toBeDefined();
    expect((await dom.getState())[0]).toBe(Domain.STATE_RUNNING);
    await dom.createSnapshot({ name: 'kept' });
    expect(await (await t.getDomainByName('test')).listSnapshotNames()).toEqual(['kept']);
  } finally {
    await t.close();
  }
});

test('after close, calls reject with ConnectionClosedError', async () => {
  const c = await connect(sandbox().unixUri);
  const dom = await c.getDomainByName(name);
  await c.close();
  expect(c.isAlive()).toBe(false);
  await expect(dom.getState()).rejects.toBeInstanceOf(ConnectionClosedError);
  await expect(c.getLibVersion()).rejects.toBeInstanceOf(ConnectionClosedError);
});
