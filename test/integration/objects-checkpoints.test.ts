/**
 * Checkpoints of a running QEMU guest: a chain, and a branch made the only way QEMU allows one (drop a
 * checkpoint's metadata, create another from its parent, then redefine the first with REDEFINE_VALIDATE, which
 * finds its bitmap still in the image); every LIST_* filter compared with libvirt's C client; XML_SIZE and
 * XML_NO_DOMAIN; REDEFINE_VALIDATE refusing a checkpoint without a bitmap; deletion with DELETE_CHILDREN,
 * DELETE_CHILDREN_ONLY and a plain delete; the daemon's errors for a missing checkpoint and for QUIESCE.
 */
import { DomainCheckpoint as C, RemoteError } from '../../src/index';
import { sandbox } from '../helpers/sandbox';
import { useGuest } from '../helpers/guest';
import { cClientView, ourView, topologicalViolations, treeOf } from './objects-peer';

const g = useGuest('objects-chkp');
const { name } = g;
const long = { timeout: 60_000 };

async function failure(p: Promise<unknown>): Promise<RemoteError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(RemoteError);
  return e as RemoteError;
}

test('a chain, then a branch through REDEFINE | REDEFINE_VALIDATE', async () => {
  const c1 = await g.dom.createCheckpoint({ name: 'c1', description: 'first' }, 0, long);
  const c2 = await g.dom.createCheckpoint({ name: 'c2' }, 0, long);
  expect((await c2.getParent())?.getName()).toBe('c1');
  expect(await c1.getParent()).toBeNull();
  const c2xml = await c2.getXMLDescription();

  await c2.delete(C.DELETE_METADATA_ONLY, long);
  const c3 = await g.dom.createCheckpoint({ name: 'c3' }, 0, long);
  expect((await c3.getParent())?.getName()).toBe('c1');
  const again = await g.dom.createCheckpoint(c2xml, C.CREATE_REDEFINE | C.CREATE_REDEFINE_VALIDATE, long);
  expect(again.getName()).toBe('c2');
  expect(await again.getXMLDescription()).toBe(c2xml);
  await g.dom.createCheckpoint({ name: 'c4' }, 0, long);

  const view = await ourView(g.dom, 'checkpoint', [0], [0]);
  expect(treeOf(view)).toEqual({ '(root)': ['c1'], c1: ['c2', 'c3'], c3: ['c4'] });
  const d1 = await c1.describe();
  expect(d1).toMatchObject({ name: 'c1', description: 'first', parent: null });
  expect(d1.disks).toEqual([expect.objectContaining({ name: 'vda', checkpoint: 'bitmap', bitmap: 'c1', size: null })]);
}, 120_000);

test('every LIST_* filter and combination gives what libvirt\'s C client gives', async () => {
  const flags = [0, C.LIST_ROOTS, C.LIST_LEAVES, C.LIST_NO_LEAVES, C.LIST_LEAVES | C.LIST_NO_LEAVES, C.LIST_TOPOLOGICAL,
    C.LIST_ROOTS | C.LIST_LEAVES, C.LIST_ROOTS | C.LIST_NO_LEAVES, C.LIST_NO_LEAVES | C.LIST_TOPOLOGICAL, 1 << 20];
  const childFlags = [0, C.LIST_DESCENDANTS, C.LIST_LEAVES, C.LIST_NO_LEAVES, C.LIST_DESCENDANTS | C.LIST_LEAVES,
    C.LIST_DESCENDANTS | C.LIST_NO_LEAVES, C.LIST_DESCENDANTS | C.LIST_TOPOLOGICAL];
  const ours = await ourView(g.dom, 'checkpoint', flags, childFlags);
  expect(ours).toEqual(await cClientView(sandbox().unixUri, name, 'checkpoint', flags, childFlags));
  expect(ours.all[C.LIST_ROOTS]).toEqual(['c1']);
  expect(ours.all[C.LIST_LEAVES]).toEqual(['c2', 'c4']);
  expect(ours.all[C.LIST_NO_LEAVES]).toEqual(['c1', 'c3']);
  expect(ours.nodes.c1.children[C.LIST_DESCENDANTS]).toEqual(['c2', 'c3', 'c4']);
  expect(ours.all[1 << 20]).toEqual({ error: 8 });
  const topo = (await g.dom.listAllCheckpoints(C.LIST_TOPOLOGICAL)).map((c) => c.getName());
  expect(topologicalViolations(topo, ours.nodes)).toEqual([]);
  const desc = (await (await g.dom.getCheckpointByName('c1')).listAllChildren(C.LIST_DESCENDANTS | C.LIST_TOPOLOGICAL)).map((c) => c.getName());
  expect(topologicalViolations(desc, ours.nodes)).toEqual([]);
});

test('XML_SIZE adds each disk\'s changed bytes; XML_NO_DOMAIN drops <domain>', async () => {
  const c1 = await g.dom.getCheckpointByName('c1');
  const sized = await c1.describe(C.XML_SIZE | C.XML_NO_DOMAIN);
  expect(sized.disks).toHaveLength(1);
  expect(typeof sized.disks[0].size).toBe('bigint');
  expect(sized.disks[0].size! >= 0n).toBe(true);
  expect(sized.xml).toMatch(/<disk name='vda'[^>]* size='\d+'/);
  expect(sized.domain).toBeNull();
  const plain = await c1.describe();
  expect(plain.disks[0].size).toBeNull();
  expect(plain.domain?.name).toBe(name);
  expect((await c1.describe(C.XML_SECURE)).xml).toContain('<domain');
});

test('REDEFINE_VALIDATE refuses a checkpoint whose bitmap is not in the image; plain REDEFINE takes it', async () => {
  const bogus = { name: 'bogus', disks: [{ name: 'vda', checkpoint: 'bitmap' as const }], redefine: { creationTime: 1_700_000_000, parent: 'c1' } };
  const e = await failure(g.dom.createCheckpoint(bogus, C.CREATE_REDEFINE | C.CREATE_REDEFINE_VALIDATE, long));
  expect(e.remote.codeName).toBe('VIR_ERR_CHECKPOINT_INCONSISTENT');
  expect(e.message).toContain('bogus');
  const b = await g.dom.createCheckpoint(bogus, C.CREATE_REDEFINE, long);
  expect((await b.getParent())?.getName()).toBe('c1');
  await b.delete(C.DELETE_METADATA_ONLY, long);
  expect((await g.dom.listAllCheckpoints()).map((c) => c.getName()).sort()).toEqual(['c1', 'c2', 'c3', 'c4']);
}, 120_000);

test('errors: a missing checkpoint is VIR_ERR_NO_DOMAIN_CHECKPOINT; QUIESCE is refused by the daemon', async () => {
  const e = await failure(g.dom.getCheckpointByName('no-such-checkpoint'));
  expect(e.remote.codeName).toBe('VIR_ERR_NO_DOMAIN_CHECKPOINT');
  expect(e.procedure).toBe('REMOTE_PROC_DOMAIN_CHECKPOINT_LOOKUP_BY_NAME');
  const q = await failure(g.dom.createCheckpoint({ name: 'q' }, C.CREATE_QUIESCE, { timeout: 30_000 }));
  expect(q.remote.codeName).toBe('VIR_ERR_INVALID_ARG');
});

test('delete: DELETE_CHILDREN, DELETE_CHILDREN_ONLY, plain', async () => {
  // Linear subtrees only: libvirtd 9.0.0 crashes deleting a branching snapshot subtree with DELETE_CHILDREN.
  await (await g.dom.getCheckpointByName('c3')).delete(C.DELETE_CHILDREN, long);
  expect(treeOf(await ourView(g.dom, 'checkpoint', [], []))).toEqual({ '(root)': ['c1'], c1: ['c2'] });
  const c1 = await g.dom.getCheckpointByName('c1');
  await c1.delete(C.DELETE_CHILDREN_ONLY, long);
  expect((await g.dom.listAllCheckpoints()).map((c) => c.getName())).toEqual(['c1']);
  expect(await c1.listAllChildren(C.LIST_DESCENDANTS)).toEqual([]);
  await c1.delete(0, long);
  expect(await g.dom.listAllCheckpoints()).toEqual([]);
  expect((await failure(c1.getParent())).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_CHECKPOINT');
}, 120_000);
