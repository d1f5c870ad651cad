/**
 * The snapshot and checkpoint workflow of the object layer over every transport: unix, TCP, TLS and SSH
 * (through virt-ssh-helper), on one real QEMU guest per transport.
 */
import { connect, Connect, DomainCheckpoint, DomainSnapshot, RemoteError } from '../../src';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';

jest.setTimeout(180_000);
const sb = sandbox();
const transports: [string, string][] = [
  ['unix', sb.unixUri],
  ['tcp', sb.tcpUri],
  ['tls', sb.tls.uri],
  ['ssh', `${sb.ssh.uri}?keyfile=${sb.ssh.keyFile}&known_hosts=${sb.ssh.knownHosts}`],
];

describe.each(transports)('over %s', (name, uri) => {
  const snapGuest = `wf-snap-${name}-${process.pid}`;
  const ckptGuest = `wf-ckpt-${name}-${process.pid}`;
  let conn: Connect;
  beforeAll(async () => {
    await Promise.all([createGuest(snapGuest), createGuest(ckptGuest)]);
    conn = await connect(uri);
  });
  afterAll(async () => {
    await conn?.close();
    await Promise.all([removeGuest(snapGuest), removeGuest(ckptGuest)]);
  });

  test('snapshots: create a branch, list with flags, describe, revert, delete', async () => {
    const dom = await conn.getDomainByName(snapGuest);
    const a = await dom.createSnapshot({ name: 'a', description: `over ${name}` });
    const b = await dom.createSnapshot({ name: 'b' });
    await a.revertTo(DomainSnapshot.REVERT_RUNNING);
    const c = await dom.createSnapshot({ name: 'c' });
    expect((await dom.listAllSnapshots()).map((s) => s.getName()).sort()).toEqual(['a', 'b', 'c']);
    expect((await dom.listAllSnapshots(DomainSnapshot.LIST_ROOTS)).map((s) => s.getName())).toEqual(['a']);
    expect((await dom.listAllSnapshots(DomainSnapshot.LIST_LEAVES)).map((s) => s.getName()).sort()).toEqual(['b', 'c']);
    expect(await a.numOfChildSnapshots()).toBe(2);
    expect((await c.getParent())?.getName()).toBe('a');
    expect(await a.getParent()).toBeNull();
    expect((await dom.currentSnapshot()).getName()).toBe('c');
    const d = await a.describe();
    expect(d).toMatchObject({ name: 'a', description: `over ${name}`, state: 'running' });
    expect(d.creationTime).toBeInstanceOf(Date);
    await b.revertTo(DomainSnapshot.REVERT_PAUSED);
    expect((await dom.getState())[0]).toBe(3); // VIR_DOMAIN_PAUSED
    await a.delete(DomainSnapshot.DELETE_CHILDREN_ONLY);
    expect((await dom.listSnapshotNames()).sort()).toEqual(['a']);
    const err = await dom.getSnapshotByName('b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
    await a.delete();
    expect(await dom.numOfSnapshots()).toBe(0);
  });

  test('checkpoints: a chain, list, describe with size, delete', async () => {
    const dom = await conn.getDomainByName(ckptGuest);
    const c1 = await dom.createCheckpoint({ name: 'c1' });
    const c2 = await dom.createCheckpoint({ name: 'c2' });
    expect((await dom.listAllCheckpoints(DomainCheckpoint.LIST_TOPOLOGICAL)).map((x) => x.getName())).toEqual(['c1', 'c2']);
    expect((await c2.getParent())?.getName()).toBe('c1');
    const desc = await c2.describe(DomainCheckpoint.XML_SIZE);
    expect(desc.name).toBe('c2');
    expect(desc.disks.some((disk) => disk.checkpoint === 'bitmap')).toBe(true);
    await c1.delete(DomainCheckpoint.DELETE_CHILDREN);
    expect(await dom.listAllCheckpoints()).toEqual([]);
  });
});
