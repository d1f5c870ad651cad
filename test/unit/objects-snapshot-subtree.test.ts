/**
 * DELETE_CHILDREN / DELETE_CHILDREN_ONLY against a scripted daemon that behaves like libvirtd 9.0.0's QEMU
 * driver, including its crash: a branching subtree is refused before anything is sent (and only on the daemons
 * that crash), a chain still goes out as one call, and deleteSubtree deletes leaves first, one call each, with
 * progress, and says how far it got when a deletion fails.
 */
import { encodeFrame, Frame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import { remote, virnet } from '../../generated';
import * as gen from '../../generated';
import { AbortError, Connect, DomainSnapshot as S, SubtreeDeleteError, UnsafeSnapshotDeleteError } from '../../src/core';
import { FakePeer, replyFrame } from '../helpers/fake-peer';

const R = gen.remote_program;
const procName = (f: Frame) => R.procedures.find((p) => p.number === f.header.proc)?.name ?? '';
const DOM: remote.remote_nonnull_domain = { name: 'vm1', uuid: new Uint8Array(16).fill(0xcd), id: 1 };
const NO_SNAPSHOT = 72;

function errorFrame(f: Frame, code: number, message: string): Uint8Array {
  return encodeFrame(
    { ...f.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR },
    xdrEncode(virnet.xdr_virNetMessageError, { code, domain: 10, message, level: 2, dom: null, str1: null, str2: null, str3: null, int1: -1, int2: -1, net: null }),
  );
}

interface Daemon {
  type?: string;
  version?: number;
  /** name -> parent */
  tree: Record<string, string | null>;
  /** Deletions of these names fail with an operation error. */
  failDelete?: string[];
}

/**
 * A daemon holding `tree`. As a QEMU daemon of 9.0.0 or later, DOMAIN_SNAPSHOT_DELETE with DELETE_CHILDREN(_ONLY)
 * of a subtree where a snapshot with children is walked before a sibling makes it hang up, as libvirtd 9.0.0 does
 * when it crashes (the shapes that crash and those that do not were tried on a real daemon).
 */
async function open(d: Daemon) {
  const peer = new FakePeer();
  const calls: [string, unknown][] = [];
  const tree = { ...d.tree };
  // libvirt lists (and walks) a snapshot's children last linked first.
  const children = (n: string) => Object.keys(tree).filter((c) => tree[c] === n).reverse();
  const descendants = (n: string): string[] => children(n).flatMap((c) => [c, ...descendants(c)]);
  peer.autoReply((f) => {
    const name = procName(f);
    const proc = R.procedures.find((p) => p.number === f.header.proc)!;
    const args = (proc.args ? xdrDecode(proc.args, f.payload) : {}) as { snap: { name: string }; snapshot: { name: string }; flags: number };
    if (!name.startsWith('REMOTE_PROC_AUTH') && !['REMOTE_PROC_CONNECT_SUPPORTS_FEATURE', 'REMOTE_PROC_CONNECT_OPEN', 'REMOTE_PROC_CONNECT_CLOSE'].includes(name)) {
      calls.push([name.replace('REMOTE_PROC_', ''), name.includes('SNAPSHOT') ? [(args.snap ?? args.snapshot)?.name, args.flags] : undefined]);
    }
    const missing = (n: string) => errorFrame(f, NO_SNAPSHOT, `no domain snapshot with matching name '${n}'`);
    switch (name) {
      case 'REMOTE_PROC_AUTH_LIST': return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [0] });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE': return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 0 });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE': return replyFrame(f.header, null);
      case 'REMOTE_PROC_CONNECT_GET_TYPE': return replyFrame(f.header, remote.xdr_remote_connect_get_type_ret, { type: d.type ?? 'QEMU' });
      case 'REMOTE_PROC_CONNECT_GET_LIB_VERSION': return replyFrame(f.header, remote.xdr_remote_connect_get_lib_version_ret, { lib_ver: BigInt(d.version ?? 9_000_000) });
      case 'REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME': return replyFrame(f.header, remote.xdr_remote_domain_lookup_by_name_ret, { dom: DOM });
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME': {
        const n = (args as unknown as { name: string }).name;
        return n in tree ? replyFrame(f.header, remote.xdr_remote_domain_snapshot_lookup_by_name_ret, { snap: { name: n, dom: DOM } }) : missing(n);
      }
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_NUM_CHILDREN': {
        const n = args.snap.name;
        if (!(n in tree)) return missing(n);
        expect(args.flags).toBe(S.LIST_DESCENDANTS | S.LIST_LEAVES);
        return replyFrame(f.header, remote.xdr_remote_domain_snapshot_num_children_ret, { num: descendants(n).filter((x) => children(x).length === 0).length });
      }
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN': {
        const n = args.snapshot.name;
        if (!(n in tree)) return missing(n);
        return replyFrame(f.header, remote.xdr_remote_domain_snapshot_list_all_children_ret, { snapshots: children(n).map((c) => ({ name: c, dom: DOM })), ret: children(n).length });
      }
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_DELETE': {
        const n = args.snap.name;
        if (!(n in tree)) return missing(n);
        if (d.failDelete?.includes(n)) return errorFrame(f, 9, `cannot delete ${n}`);
        // virDomainSnapshotDelete (the daemon's public API) refuses the two together before the driver runs.
        if ((args.flags & (S.DELETE_CHILDREN | S.DELETE_CHILDREN_ONLY)) === (S.DELETE_CHILDREN | S.DELETE_CHILDREN_ONLY)) {
          return errorFrame(f, 8, 'invalid argument: flags are mutually exclusive');
        }
        if (args.flags & (S.DELETE_CHILDREN | S.DELETE_CHILDREN_ONLY)) {
          const below = descendants(n);
          const affected = (d.type ?? 'QEMU') === 'QEMU' && (d.version ?? 9_000_000) >= 9_000_000;
          // libvirt 9.0's walk breaks when a snapshot with children is walked before a sibling.
          const walkBreaks = [n, ...below].some((x) => children(x).slice(0, -1).some((c) => children(c).length > 0));
          if (affected && walkBreaks) {
            queueMicrotask(() => peer.hangUp(new Error('libvirtd crashed')));
            return null;
          }
          for (const x of below) delete tree[x];
          if (args.flags & S.DELETE_CHILDREN_ONLY) return replyFrame(f.header, null);
        } else {
          for (const c of children(n)) tree[c] = tree[n];
        }
        delete tree[n];
        return replyFrame(f.header, null);
      }
      default: return errorFrame(f, 1, `unexpected ${name}`);
    }
  });
  const conn = await Connect.openWith(peer, { name: 'qemu:///session', keepalive: false });
  const dom = await conn.getDomainByName('vm1');
  calls.length = 0;
  return { conn, dom, calls, tree };
}

// s1 -> s2 -> s3, and s1 -> x1 -> x2: the shape FIELD-NOTES records as crashing libvirtd 9.0.0.
const BRANCHING = { s1: null, s2: 's1', s3: 's2', x1: 's1', x2: 'x1' };

test.each([
  ['DELETE_CHILDREN', S.DELETE_CHILDREN],
  ['DELETE_CHILDREN_ONLY', S.DELETE_CHILDREN_ONLY],
  ['DELETE_CHILDREN | DELETE_METADATA_ONLY', S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY],
])('%s of a branching subtree on libvirt 9.0.0 is refused before anything is sent', async (_n, flags) => {
  const { conn, dom, calls, tree } = await open({ tree: BRANCHING });
  const e = await (await dom.getSnapshotByName('s1')).delete(flags).then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(UnsafeSnapshotDeleteError);
  const err = e as UnsafeSnapshotDeleteError;
  expect(err).toMatchObject({ code: 'ERR_UNSAFE_SNAPSHOT_DELETE', snapshot: 's1', daemonVersion: '9.0.0', leaves: 2, branch: 'x1' });
  expect(err.message).toMatch(/crashes.*deleteSubtree\(/);
  expect(calls.map((c) => c[0])).not.toContain('DOMAIN_SNAPSHOT_DELETE');
  expect(conn.isAlive()).toBe(true);
  expect(Object.keys(tree)).toHaveLength(5);
  await conn.close();
});

test('a branch whose only child with children is walked last is deleted with the one call, as asked', async () => {
  // s1's children as libvirt walks them: a (a leaf), then s2 -> s3.
  const { conn, dom, calls, tree } = await open({ tree: { s1: null, s2: 's1', s3: 's2', a: 's1' } });
  await (await dom.getSnapshotByName('s1')).delete(S.DELETE_CHILDREN_ONLY);
  expect(calls.filter((c) => c[0] === 'DOMAIN_SNAPSHOT_DELETE')).toEqual([['DOMAIN_SNAPSHOT_DELETE', ['s1', S.DELETE_CHILDREN_ONLY]]]);
  expect(tree).toEqual({ s1: null });
  expect(conn.isAlive()).toBe(true);
  await conn.close();
});

test('a chain is deleted with the one call, as asked', async () => {
  const { conn, dom, calls, tree } = await open({ tree: { s1: null, s2: 's1', s3: 's2' } });
  await (await dom.getSnapshotByName('s1')).delete(S.DELETE_CHILDREN);
  expect(calls.filter((c) => c[0] === 'DOMAIN_SNAPSHOT_DELETE')).toEqual([['DOMAIN_SNAPSHOT_DELETE', ['s1', S.DELETE_CHILDREN]]]);
  expect(tree).toEqual({});
  await conn.close();
});

test.each([
  ['libvirt 8.10.0', { type: 'QEMU', version: 8_010_000 }],
  ['the test driver', { type: 'TEST', version: 9_000_000 }],
])('on %s, which does not crash, the flags go out unchanged', async (_n, daemon) => {
  const { conn, dom, calls } = await open({ ...daemon, tree: BRANCHING });
  await (await dom.getSnapshotByName('s1')).delete(S.DELETE_CHILDREN);
  expect(calls.filter((c) => c[0].startsWith('DOMAIN_SNAPSHOT_'))).toEqual([
    ['DOMAIN_SNAPSHOT_LOOKUP_BY_NAME', [undefined, 0]],
    ['DOMAIN_SNAPSHOT_DELETE', ['s1', S.DELETE_CHILDREN]],
  ]);
  await conn.close();
});

test('the daemon is asked its type and version once per connection; CHILDREN with CHILDREN_ONLY is left to its refusal', async () => {
  const { conn, dom, calls } = await open({ tree: { a: null, b: 'a', c: 'b' } });
  const a = await dom.getSnapshotByName('a');
  await expect(a.delete(S.DELETE_CHILDREN | S.DELETE_CHILDREN_ONLY)).rejects.toThrow(/mutually exclusive/);
  await a.delete(S.DELETE_CHILDREN_ONLY);
  await a.delete(0);
  expect(calls.filter((c) => c[0].startsWith('CONNECT_')).map((c) => c[0]).sort()).toEqual(['CONNECT_GET_LIB_VERSION', 'CONNECT_GET_TYPE']);
  await conn.close();
});

test('deleteSubtree deletes every child before its parent, one call each, with progress', async () => {
  const { conn, dom, calls, tree } = await open({ tree: { ...BRANCHING, other: null } });
  const progress: string[] = [];
  const s1 = await dom.getSnapshotByName('s1');
  const deleted = await s1.deleteSubtree(S.DELETE_METADATA_ONLY, { onProgress: (p) => progress.push(`${p.done}/${p.total} ${p.name}`) });
  expect(deleted.slice(0, 2).sort()).toEqual(['s3', 'x2']);
  expect(deleted.slice(2, 4).sort()).toEqual(['s2', 'x1']);
  expect(deleted[4]).toBe('s1');
  expect(progress).toEqual(deleted.map((n, i) => `${i + 1}/5 ${n}`));
  const deletes = calls.filter((c) => c[0] === 'DOMAIN_SNAPSHOT_DELETE');
  expect(deletes.map((c) => c[1])).toEqual(deleted.map((n) => [n, S.DELETE_METADATA_ONLY]));
  expect(tree).toEqual({ other: null });
  expect(conn.isAlive()).toBe(true);
  await conn.close();
});

test('deleteSubtree with DELETE_CHILDREN_ONLY keeps the snapshot itself', async () => {
  const { conn, dom, tree } = await open({ tree: BRANCHING });
  const deleted = await (await dom.getSnapshotByName('s1')).deleteSubtree(S.DELETE_CHILDREN_ONLY);
  expect(deleted).toHaveLength(4);
  expect(tree).toEqual({ s1: null });
  await conn.close();
});

test('a failed deletion stops it and says what was deleted and what remains', async () => {
  const { conn, dom, calls, tree } = await open({ tree: BRANCHING, failDelete: ['s2'] });
  const e = await (await dom.getSnapshotByName('s1')).deleteSubtree().then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(SubtreeDeleteError);
  const err = e as SubtreeDeleteError;
  expect(err.code).toBe('ERR_SUBTREE_DELETE');
  expect(err.failed).toBe('s2');
  expect(err.remaining[0]).toBe('s2');
  expect([...err.deleted, ...err.remaining].sort()).toEqual(['s1', 's2', 's3', 'x1', 'x2']);
  expect(err.deleted).toContain('s3');
  expect(err.remaining).toContain('s1');
  expect(err.message).toMatch(new RegExp(`stopped at s2 after deleting ${err.deleted.length} of 5: .*cannot delete s2`));
  expect(calls.filter((c) => c[0] === 'DOMAIN_SNAPSHOT_DELETE').map((c) => (c[1] as string[])[0])).toEqual([...err.deleted, 's2']);
  expect(Object.keys(tree).sort()).toEqual([...err.remaining].sort());
  await conn.close();
});

test('an abort stops deleteSubtree between deletions, with the same report', async () => {
  const { conn, dom } = await open({ tree: BRANCHING });
  const ctl = new AbortController();
  const e = await (await dom.getSnapshotByName('s1'))
    .deleteSubtree(0, { signal: ctl.signal, onProgress: (p) => p.done === 2 && ctl.abort() })
    .then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(SubtreeDeleteError);
  expect((e as SubtreeDeleteError).deleted).toHaveLength(2);
  expect((e as SubtreeDeleteError).cause).toBeInstanceOf(AbortError);
  await conn.close();
});

test('the fake daemon crashes the way libvirtd 9.0.0 does, so the refusal above is what keeps it up', async () => {
  const { conn, dom } = await open({ tree: BRANCHING });
  const raw = conn.raw;
  await expect(raw.call(gen.remoteProcedures.domainSnapshotDelete, { snap: { name: 's1', dom: DOM }, flags: S.DELETE_CHILDREN })).rejects.toThrow();
  expect(conn.isAlive()).toBe(false);
  void dom;
});
