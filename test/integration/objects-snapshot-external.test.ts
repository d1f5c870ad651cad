/**
 * Disk-only external snapshots of a running QEMU guest: each makes a new qcow2 overlay the guest writes to from
 * then on (a named file, or one libvirt names), the description says so, the LIST_EXTERNAL / LIST_DISK_ONLY /
 * LIST_INTERNAL filters agree with libvirt's C client, reverting to one is refused by libvirt 9.0 with its own
 * error, and DELETE_METADATA_ONLY leaves the overlay files in place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Domain, DomainSnapshot as S, RemoteError } from '../../src/index';
import { sandbox } from '../helpers/sandbox';
import { useGuest } from '../helpers/guest';
import { cClientView, ourView } from './objects-peer';

const g = useGuest('objects-snap-ext');
const { name } = g;
const long = { timeout: 60_000 };

test('disk-only external snapshots chain overlays onto the disk', async () => {
  const overlay1 = path.join(g.guest.dir, 'overlay1.qcow2');
  const e1 = await g.dom.createSnapshot(
    { name: 'e1', disks: [{ name: 'vda', snapshot: 'external', driverType: 'qcow2', source: overlay1 }] },
    S.CREATE_DISK_ONLY | S.CREATE_ATOMIC,
    long,
  );
  expect(fs.existsSync(overlay1)).toBe(true);
  const d1 = await e1.describe();
  expect(d1).toMatchObject({ name: 'e1', state: 'disk-snapshot', parent: null, memory: { snapshot: 'no' } });
  expect(d1.disks).toEqual([expect.objectContaining({ name: 'vda', snapshot: 'external', driverType: 'qcow2', source: overlay1 })]);
  expect(await g.dom.getXMLDescription()).toContain(`<source file='${overlay1}'`);

  // No source: libvirt names the overlay after the snapshot, next to the current image.
  const e2 = await g.dom.createSnapshot({ name: 'e2', disks: [{ name: 'vda', snapshot: 'external' }] }, S.CREATE_DISK_ONLY, long);
  const d2 = await e2.describe();
  expect(d2.parent).toBe('e1');
  const overlay2 = d2.disks[0].source!;
  expect(path.dirname(overlay2)).toBe(g.guest.dir);
  expect(fs.existsSync(overlay2)).toBe(true);
  expect(await g.dom.getXMLDescription()).toContain(`<source file='${overlay2}'`);
  expect((await g.dom.getState())[0]).toBe(Domain.STATE_RUNNING);
}, 120_000);

test('the external, internal and disk-only filters agree with libvirt\'s C client', async () => {
  const flags = [0, S.LIST_EXTERNAL, S.LIST_INTERNAL, S.LIST_DISK_ONLY, S.LIST_ACTIVE, S.LIST_INACTIVE, S.LIST_EXTERNAL | S.LIST_LEAVES, S.LIST_ROOTS];
  const childFlags = [0, S.LIST_DESCENDANTS, S.LIST_EXTERNAL];
  const ours = await ourView(g.dom, 'snapshot', flags, childFlags);
  expect(ours).toEqual(await cClientView(sandbox().unixUri, name, 'snapshot', flags, childFlags));
  expect(ours.all[S.LIST_EXTERNAL]).toEqual(['e1', 'e2']);
  expect(ours.all[S.LIST_DISK_ONLY]).toEqual(['e1', 'e2']);
  expect(ours.all[S.LIST_INTERNAL]).toEqual([]);
  expect(ours.current).toBe('e2');
});

test('reverting to an external snapshot gives the daemon\'s error; DELETE_METADATA_ONLY keeps the overlays', async () => {
  const e1 = await g.dom.getSnapshotByName('e1');
  const err = await e1.revertTo(0, long).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).procedure).toBe('REMOTE_PROC_DOMAIN_REVERT_TO_SNAPSHOT');
  expect((err as RemoteError).remote.codeName).toBe('VIR_ERR_CONFIG_UNSUPPORTED');

  const sources = await Promise.all((await g.dom.listAllSnapshots()).map(async (s) => (await s.describe()).disks[0].source!));
  await (await g.dom.getSnapshotByName('e2')).delete(S.DELETE_METADATA_ONLY, long);
  await e1.delete(S.DELETE_METADATA_ONLY, long);
  expect(await g.dom.numOfSnapshots()).toBe(0);
  for (const s of sources) expect(fs.existsSync(s)).toBe(true);
}, 120_000);
