/**
 * Snapshot metadata round trips and deletion on a real QEMU guest: every snapshot's XML is kept, all metadata
 * is dropped (DELETE_METADATA_ONLY, leaves first; the image keeps the internal snapshots), then each is
 * redefined from its XML (one from a typed spec) with CREATE_REDEFINE, the current one with CREATE_CURRENT; the
 * tree, XML and current snapshot come back and a redefined snapshot can be reverted to. Then deletion: a plain
 * delete reparents the children, DELETE_CHILDREN takes the subtree, DELETE_CHILDREN_ONLY keeps the snapshot,
 * DELETE_METADATA_ONLY keeps the internal snapshot in the image (checked with qemu-img).
 *
 * libvirtd 9.0.0 crashes (segfault, every client loses the daemon) when DELETE_CHILDREN, with or without
 * DELETE_METADATA_ONLY, is asked of a snapshot whose subtree branches; libvirt's own client triggers it the
 * same way. So the subtrees deleted here with DELETE_CHILDREN / DELETE_CHILDREN_ONLY are chains.
 */
import { execFile } from 'node:child_process';
import { Domain, DomainSnapshot as S, type SnapshotDescription } from '../../src/index';
import { useGuest } from '../helpers/guest';
import { ourView, topologicalViolations, treeOf } from './objects-peer';

const long = { timeout: 60_000 };
// a -> { b -> c, d -> e }, current e.
const g = useGuest('objects-snap-redef', {
  setup: async ({ dom }) => {
    for (const n of ['a', 'b', 'c']) await dom.createSnapshot({ name: n }, 0, long);
    await (await dom.getSnapshotByName('a')).revertTo(S.REVERT_RUNNING, long);
    for (const n of ['d', 'e']) await dom.createSnapshot({ name: n, description: `snapshot ${n}` }, 0, long);
  },
  setupTimeout: 180_000,
});

/** Internal snapshots in the qcow2 image, read with qemu-img (-U: the running QEMU holds the image). */
function imageSnapshots(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['snapshot', '-l', '-U', g.guest.disk], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`qemu-img failed: ${stderr || err.message}`));
      // Rows: ID TAG VM-SIZE DATE VM-CLOCK ICOUNT; the tag is the second column.
      resolve(stdout.split('\n').slice(2).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)[1]).sort());
    });
  });
}

test('REDEFINE brings back every snapshot from its XML, with the tree and the current snapshot', async () => {
  const before = await ourView(g.dom, 'snapshot', [0], [0]);
  expect(treeOf(before)).toEqual({ '(root)': ['a'], a: ['b', 'd'], b: ['c'], d: ['e'] });
  const topo = (await g.dom.listAllSnapshots(S.LIST_TOPOLOGICAL)).map((s) => s.getName());
  const xml = new Map<string, string>();
  const described = new Map<string, SnapshotDescription>();
  for (const n of topo) {
    const s = await g.dom.getSnapshotByName(n);
    xml.set(n, await s.getXMLDescription(S.XML_SECURE));
    described.set(n, await s.describe(S.XML_SECURE));
  }

  for (const n of topo.slice().reverse()) await (await g.dom.getSnapshotByName(n)).delete(S.DELETE_METADATA_ONLY, long);
  expect(await g.dom.listAllSnapshots()).toEqual([]);
  expect(await g.dom.hasCurrentSnapshot()).toBe(false);
  expect(await imageSnapshots()).toEqual(['a', 'b', 'c', 'd', 'e']);

  expect(topologicalViolations(topo, before.nodes)).toEqual([]);
  for (const n of topo) {
    const flags = S.CREATE_REDEFINE | (n === 'e' ? S.CREATE_CURRENT : 0);
    if (n === 'd') {
      // From a typed spec: the fields describe() read, plus the <domain> element of the kept XML.
      const d = described.get(n)!;
      const domainXml = /<domain[\s>][\s\S]*<\/domain>/.exec(xml.get(n)!)![0];
      await g.dom.createSnapshot({
        name: n,
        description: d.description ?? undefined,
        memory: { snapshot: 'internal' },
        disks: d.disks.map((disk) => ({ name: disk.name, snapshot: disk.snapshot ?? undefined })),
        redefine: { state: 'running', creationTime: d.creationTime!, parent: d.parent ?? undefined, domainXml },
      }, flags);
    } else {
      const s = await g.dom.createSnapshot(xml.get(n)!, flags);
      expect(s.getName()).toBe(n);
    }
  }

  const after = await ourView(g.dom, 'snapshot', [0], [0]);
  expect(after).toEqual(before);
  for (const n of topo) {
    const again = await (await g.dom.getSnapshotByName(n)).describe(S.XML_SECURE);
    const { xml: _x, domain: _d, inactiveDomain: _i, ...fields } = described.get(n)!;
    expect(again).toMatchObject(fields);
    if (n !== 'd') expect(again.xml).toBe(xml.get(n));
  }
  expect((await g.dom.currentSnapshot()).getName()).toBe('e');

  // The redefined metadata points at real internal snapshots: reverting works.
  await (await g.dom.getSnapshotByName('c')).revertTo(0, long);
  expect((await g.dom.currentSnapshot()).getName()).toBe('c');
  expect((await g.dom.getState())[0]).toBe(Domain.STATE_RUNNING);
}, 180_000);

test('delete: plain, DELETE_CHILDREN, DELETE_CHILDREN_ONLY, DELETE_METADATA_ONLY', async () => {
  // A plain delete removes one snapshot and hands its children to its parent.
  await (await g.dom.getSnapshotByName('b')).delete(0, long);
  expect(treeOf(await ourView(g.dom, 'snapshot', [], []))).toEqual({ '(root)': ['a'], a: ['c', 'd'], d: ['e'] });
  expect(await imageSnapshots()).toEqual(['a', 'c', 'd', 'e']);

  await (await g.dom.getSnapshotByName('d')).delete(S.DELETE_CHILDREN, long);
  expect(treeOf(await ourView(g.dom, 'snapshot', [], []))).toEqual({ '(root)': ['a'], a: ['c'] });
  expect(await imageSnapshots()).toEqual(['a', 'c']);

  const a = await g.dom.getSnapshotByName('a');
  await a.delete(S.DELETE_CHILDREN_ONLY, long);
  expect((await g.dom.listAllSnapshots()).map((s) => s.getName())).toEqual(['a']);
  expect(await a.numOfChildSnapshots(S.LIST_DESCENDANTS)).toBe(0);
  expect(await imageSnapshots()).toEqual(['a']);

  await a.delete(S.DELETE_METADATA_ONLY, long);
  expect(await g.dom.numOfSnapshots()).toBe(0);
  expect(await imageSnapshots()).toEqual(['a']);
}, 180_000);
