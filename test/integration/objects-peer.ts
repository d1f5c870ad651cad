/**
 * Shared by the objects-* integration tests: the same view of a domain's snapshots or checkpoints, taken once
 * with libvirt's own C client (/usr/bin/python3 + python3-libvirt, bounded) and once with ours, as JSON-able
 * structures the tests compare with toEqual. Every call that fails records the VIR_ERR_* number instead of a
 * value, so "both clients get the same error" is compared too.
 */
import { execFile } from 'node:child_process';
import { Domain, RemoteError } from '../../src/index';

/** A value, or the libvirt error number it failed with. */
export type Outcome<T> = T | { error: number };

/** One snapshot or checkpoint: its parent and its children under each children flag value. */
export interface NodeView {
  parent: string | null;
  children: Record<string, Outcome<string[]>>;
  /** Snapshots only: numChildren and the legacy children names under each flag value. */
  numChildren?: Record<string, Outcome<number>>;
  childNames?: Record<string, Outcome<string[]>>;
  isCurrent?: boolean;
  hasMetadata?: boolean;
}

/** The whole view of a domain's snapshots (or checkpoints). */
export interface TreeView {
  /** listAll{Snapshots,Checkpoints}(flags), names sorted, by flag value. */
  all: Record<string, Outcome<string[]>>;
  /** Snapshots only: legacy names and counts by flag value. */
  names?: Record<string, Outcome<string[]>>;
  num?: Record<string, Outcome<number>>;
  current?: string | null;
  nodes: Record<string, NodeView>;
}

const PY = String.raw`
import json, sys, libvirt
libvirt.registerErrorHandler(lambda ctx, err: None, None)
uri, dom_name, kind = sys.argv[1], sys.argv[2], sys.argv[3]
list_flags = [int(x) for x in sys.argv[4].split(',')]
child_flags = [int(x) for x in sys.argv[5].split(',')]
conn = libvirt.open(uri)
dom = conn.lookupByName(dom_name)
def outcome(fn):
    try:
        return fn()
    except libvirt.libvirtError as e:
        return {'error': e.get_error_code()}
def names(objs):
    return sorted(o.getName() for o in objs)
def parent(o):
    try:
        return o.getParent().getName()
    except libvirt.libvirtError as e:
        if e.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN_SNAPSHOT, libvirt.VIR_ERR_NO_DOMAIN_CHECKPOINT):
            return None
        raise
out = {'all': {}, 'nodes': {}}
if kind == 'snapshot':
    every = dom.listAllSnapshots(0)
    out['names'] = {}; out['num'] = {}
    for f in list_flags:
        out['all'][str(f)] = outcome(lambda: names(dom.listAllSnapshots(f)))
        out['names'][str(f)] = outcome(lambda: sorted(dom.snapshotListNames(f)))
        out['num'][str(f)] = outcome(lambda: dom.snapshotNum(f))
    out['current'] = dom.snapshotCurrent(0).getName() if dom.hasCurrentSnapshot(0) else None
    for s in every:
        out['nodes'][s.getName()] = {
            'parent': parent(s),
            'children': {str(f): outcome(lambda: names(s.listAllChildren(f))) for f in child_flags},
            'numChildren': {str(f): outcome(lambda: s.numChildren(f)) for f in child_flags},
            'childNames': {str(f): outcome(lambda: sorted(s.listChildrenNames(f))) for f in child_flags},
            'isCurrent': bool(s.isCurrent(0)),
            'hasMetadata': bool(s.hasMetadata(0)),
        }
else:
    every = dom.listAllCheckpoints(0)
    for f in list_flags:
        out['all'][str(f)] = outcome(lambda: names(dom.listAllCheckpoints(f)))
    for c in every:
        out['nodes'][c.getName()] = {
            'parent': parent(c),
            'children': {str(f): outcome(lambda: names(c.listAllChildren(f))) for f in child_flags},
        }
conn.close()
print(json.dumps(out))
`;

/** The view libvirt's C client gives (python3-libvirt), bounded by `timeout` ms. */
export function cClientView(uri: string, domain: string, kind: 'snapshot' | 'checkpoint', listFlags: number[], childFlags: number[], timeout = 60_000): Promise<TreeView> {
  const args = ['-c', PY, uri, domain, kind, listFlags.join(','), childFlags.join(',')];
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', args, { timeout, killSignal: 'SIGKILL', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3-libvirt failed: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as TreeView);
    });
  });
}

async function outcome<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RemoteError) return { error: e.remote.code };
    throw e;
  }
}

const sortedNames = (xs: { getName(): string }[]) => xs.map((x) => x.getName()).sort();

/** The same view through this package. */
export async function ourView(dom: Domain, kind: 'snapshot' | 'checkpoint', listFlags: number[], childFlags: number[]): Promise<TreeView> {
  const out: TreeView = { all: {}, nodes: {} };
  if (kind === 'snapshot') {
    out.names = {};
    out.num = {};
    for (const f of listFlags) {
      out.all[f] = await outcome(async () => sortedNames(await dom.listAllSnapshots(f)));
      out.names[f] = await outcome(async () => (await dom.listSnapshotNames(f)).sort());
      out.num[f] = await outcome(() => dom.numOfSnapshots(f));
    }
    out.current = (await dom.hasCurrentSnapshot()) ? (await dom.currentSnapshot()).getName() : null;
    for (const s of await dom.listAllSnapshots()) {
      const node: NodeView = { parent: (await s.getParent())?.getName() ?? null, children: {}, numChildren: {}, childNames: {} };
      for (const f of childFlags) {
        node.children[f] = await outcome(async () => sortedNames(await s.listAllChildren(f)));
        node.numChildren![f] = await outcome(() => s.numOfChildSnapshots(f));
        node.childNames![f] = await outcome(async () => (await s.listChildSnapshotNames(f)).sort());
      }
      node.isCurrent = await s.isCurrent();
      node.hasMetadata = await s.hasMetadata();
      out.nodes[s.getName()] = node;
    }
  } else {
    for (const f of listFlags) out.all[f] = await outcome(async () => sortedNames(await dom.listAllCheckpoints(f)));
    for (const c of await dom.listAllCheckpoints()) {
      const node: NodeView = { parent: (await c.getParent())?.getName() ?? null, children: {} };
      for (const f of childFlags) node.children[f] = await outcome(async () => sortedNames(await c.listAllChildren(f)));
      out.nodes[c.getName()] = node;
    }
  }
  return out;
}

/** Where `order` lists a child before its parent (parents from a view's nodes; parents not listed are fine). */
export function topologicalViolations(order: string[], nodes: Record<string, NodeView>): string[] {
  const at = new Map(order.map((n, i) => [n, i]));
  const bad: string[] = [];
  order.forEach((name, i) => {
    const p = nodes[name]?.parent;
    if (p !== null && p !== undefined && at.has(p) && at.get(p)! > i) bad.push(`${name} before its parent ${p}`);
  });
  return bad;
}

/** The parent-to-children map a view describes, for readable expectations. */
export function treeOf(view: TreeView): Record<string, string[]> {
  const tree: Record<string, string[]> = {};
  for (const [name, node] of Object.entries(view.nodes)) {
    const key = node.parent ?? '(root)';
    (tree[key] ??= []).push(name);
  }
  for (const k of Object.keys(tree)) tree[k].sort();
  return tree;
}
