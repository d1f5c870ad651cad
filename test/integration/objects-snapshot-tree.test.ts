/**
 * A snapshot tree with branches on a real QEMU guest (internal snapshots with memory, one of a shut-off guest),
 * built by reverting to older snapshots and creating more; current-snapshot tracking; every LIST_* flag and
 * combinations, for the domain and for each snapshot's children, compared with libvirt's own C client on the
 * same daemon state (names, parents, child counts, legacy name lists); TOPOLOGICAL order.
 */
import { DomainSnapshot as S } from '../../src/index';
import { sandbox } from '../helpers/sandbox';
import { useGuest } from '../helpers/guest';
import { cClientView, ourView, topologicalViolations, treeOf } from './objects-peer';

const g = useGuest('objects-snap-tree', { setup: buildTree, setupTimeout: 300_000 });
const { name } = g;
/** What the tree looked like after each step of building it: [step, current snapshot, new snapshot's parent]. */
const steps: [string, string | null, string | null][] = [];

async function snap(n: string): Promise<void> {
  const s = await g.dom.createSnapshot({ name: n }, 0, { timeout: 60_000 });
  steps.push([`create ${n}`, (await g.dom.currentSnapshot()).getName(), (await s.getParent())?.getName() ?? null]);
}

async function revert(n: string): Promise<void> {
  await (await g.dom.getSnapshotByName(n)).revertTo(S.REVERT_RUNNING, { timeout: 60_000 });
  steps.push([`revert ${n}`, (await g.dom.currentSnapshot()).getName(), null]);
}

async function buildTree(): Promise<void> {
  steps.push(['start', (await g.dom.hasCurrentSnapshot()) ? 'unexpected' : null, null]);
  await snap('s1');
  await snap('s2');
  await snap('s3');
  await revert('s1');
  await snap('s4');
  await snap('s5');
  await revert('s2');
  await snap('s6');
  await g.dom.destroy();
  await snap('off1');
  await g.dom.create();
  await snap('s7');
}

const LIST_FLAGS = [
  0, S.LIST_ROOTS, S.LIST_LEAVES, S.LIST_NO_LEAVES, S.LIST_LEAVES | S.LIST_NO_LEAVES, S.LIST_METADATA,
  S.LIST_NO_METADATA, S.LIST_METADATA | S.LIST_NO_METADATA, S.LIST_ACTIVE, S.LIST_INACTIVE, S.LIST_DISK_ONLY,
  S.LIST_ACTIVE | S.LIST_INACTIVE, S.LIST_INTERNAL, S.LIST_EXTERNAL, S.LIST_INTERNAL | S.LIST_EXTERNAL,
  S.LIST_TOPOLOGICAL, S.LIST_ROOTS | S.LIST_LEAVES, S.LIST_ROOTS | S.LIST_NO_LEAVES, S.LIST_LEAVES | S.LIST_INACTIVE,
  S.LIST_NO_LEAVES | S.LIST_ACTIVE, S.LIST_INTERNAL | S.LIST_LEAVES | S.LIST_TOPOLOGICAL, S.LIST_METADATA | S.LIST_ROOTS,
  S.LIST_ACTIVE | S.LIST_DISK_ONLY | S.LIST_INACTIVE,
  1 << 20, // not a flag: both clients must get the daemon's VIR_ERR_INVALID_ARG
];
const CHILD_FLAGS = [
  0, S.LIST_DESCENDANTS, S.LIST_LEAVES, S.LIST_NO_LEAVES, S.LIST_DESCENDANTS | S.LIST_LEAVES,
  S.LIST_DESCENDANTS | S.LIST_NO_LEAVES, S.LIST_DESCENDANTS | S.LIST_TOPOLOGICAL, S.LIST_METADATA, S.LIST_NO_METADATA,
  S.LIST_ACTIVE, S.LIST_INACTIVE, S.LIST_INTERNAL, S.LIST_DESCENDANTS | S.LIST_INACTIVE,
];

test('reverting to older snapshots and creating more grows branches; the current snapshot follows', () => {
  expect(steps).toEqual([
    ['start', null, null],
    ['create s1', 's1', null],
    ['create s2', 's2', 's1'],
    ['create s3', 's3', 's2'],
    ['revert s1', 's1', null],
    ['create s4', 's4', 's1'],
    ['create s5', 's5', 's4'],
    ['revert s2', 's2', null],
    ['create s6', 's6', 's2'],
    ['create off1', 'off1', 's6'],
    ['create s7', 's7', 'off1'],
  ]);
});

test('snapshots of the running guest keep memory internally; the shut-off one has none', async () => {
  const s1 = await (await g.dom.getSnapshotByName('s1')).describe();
  expect(s1).toMatchObject({ name: 's1', state: 'running', parent: null, memory: { snapshot: 'internal' } });
  expect(s1.disks).toEqual([expect.objectContaining({ name: 'vda', snapshot: 'internal' })]);
  expect(s1.domain?.name).toBe(name);
  const off = await (await g.dom.getSnapshotByName('off1')).describe();
  expect(off).toMatchObject({ state: 'shutoff', parent: 's6', memory: { snapshot: 'no' } });
});

test('every LIST_* flag and combination gives what libvirt\'s C client gives', async () => {
  const ours = await ourView(g.dom, 'snapshot', LIST_FLAGS, CHILD_FLAGS);
  const theirs = await cClientView(sandbox().unixUri, name, 'snapshot', LIST_FLAGS, CHILD_FLAGS);
  expect(ours).toEqual(theirs);
  // And the answers are the tree built above, not two equal wrong answers.
  expect(treeOf(ours)).toEqual({ '(root)': ['s1'], s1: ['s2', 's4'], s2: ['s3', 's6'], s4: ['s5'], s6: ['off1'], off1: ['s7'] });
  expect(ours.all[S.LIST_ROOTS]).toEqual(['s1']);
  expect(ours.all[S.LIST_LEAVES]).toEqual(['s3', 's5', 's7']);
  expect(ours.all[S.LIST_INACTIVE]).toEqual(['off1']);
  expect(ours.num![S.LIST_NO_LEAVES]).toBe(5);
  expect(ours.all[1 << 20]).toEqual({ error: 8 });
  expect(ours.nodes.s2.children[S.LIST_DESCENDANTS]).toEqual(['off1', 's3', 's6', 's7']);
  expect(ours.nodes.s2.numChildren![0]).toBe(2);
  expect(ours.current).toBe('s7');
});

test('listSnapshots and listChildSnapshots give objects for the legacy name lists', async () => {
  expect((await g.dom.listSnapshots()).map((s) => s.getName()).sort()).toEqual((await g.dom.listSnapshotNames()).sort());
  expect((await g.dom.listSnapshots(S.LIST_LEAVES)).map((s) => s.getName()).sort()).toEqual(['s3', 's5', 's7']);
  const s1 = await g.dom.getSnapshotByName('s1');
  expect((await s1.listChildSnapshots()).map((s) => s.getName()).sort()).toEqual(['s2', 's4']);
  expect((await s1.listChildSnapshots(S.LIST_DESCENDANTS)).map((s) => s.getName()).sort()).toEqual(['off1', 's2', 's3', 's4', 's5', 's6', 's7']);
  expect((await s1.listChildSnapshots(S.LIST_DESCENDANTS))[0].getDomain()).toBe(g.dom);
});

test('TOPOLOGICAL lists parents before children, for the domain and for descendants', async () => {
  const view = await ourView(g.dom, 'snapshot', [], []);
  const all = (await g.dom.listAllSnapshots(S.LIST_TOPOLOGICAL)).map((s) => s.getName());
  expect(all.slice().sort()).toEqual(Object.keys(view.nodes).sort());
  expect(topologicalViolations(all, view.nodes)).toEqual([]);
  const s2 = await g.dom.getSnapshotByName('s2');
  const desc = (await s2.listAllChildren(S.LIST_DESCENDANTS | S.LIST_TOPOLOGICAL)).map((s) => s.getName());
  expect(desc.slice().sort()).toEqual(['off1', 's3', 's6', 's7']);
  expect(topologicalViolations(['s2', ...desc], view.nodes)).toEqual([]);
  // The check itself notices a wrong order.
  expect(topologicalViolations(['s7', 'off1', 's6'], view.nodes)).toEqual(['s7 before its parent off1', 'off1 before its parent s6']);
});
