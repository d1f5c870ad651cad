/**
 * What the object layer sends, against a scripted fake daemon: the legacy name lists ask for as many names as
 * the protocol carries in one call (a count only when the answer is full), listSnapshots then looks each name
 * up, handles carry the
 * domain, getParent tells a root from a vanished snapshot, flags are checked before anything is sent, and
 * Connect.open without a URI opener (the browser-safe core alone) says what to do.
 */
import { encodeFrame, Frame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import { remote, virnet } from '../../generated';
import * as gen from '../../generated';
import { AbortError, Connect, Domain, DomainSnapshot, InvalidArgumentError, RemoteError } from '../../src/core';
import { FakePeer, replyFrame } from '../helpers/fake-peer';

const R = gen.remote_program;
const procName = (f: Frame) => R.procedures.find((p) => p.number === f.header.proc)?.name ?? '';
const DOM: remote.remote_nonnull_domain = { name: 'vm1', uuid: new Uint8Array(16).fill(0xab), id: 3 };

function errorFrame(f: Frame, code: number, message: string): Uint8Array {
  return encodeFrame(
    { ...f.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR },
    xdrEncode(virnet.xdr_virNetMessageError, { code, domain: 10, message, level: 2, dom: null, str1: null, str2: null, str3: null, int1: -1, int2: -1, net: null }),
  );
}

/** A daemon with one domain and snapshots `tree` (name -> parent); `gone` names are listed but fail lookup. */
async function open(tree: Record<string, string | null>, gone: string[] = []) {
  const peer = new FakePeer();
  const calls: [string, unknown][] = [];
  const names = Object.keys(tree);
  peer.autoReply((f) => {
    const name = procName(f);
    const proc = R.procedures.find((p) => p.number === f.header.proc)!;
    const args = proc.args ? xdrDecode(proc.args, f.payload) : undefined;
    if (!name.startsWith('REMOTE_PROC_AUTH') && name !== 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE') calls.push([name, args]);
    const snap = (n: string) => ({ name: n, dom: DOM });
    switch (name) {
      case 'REMOTE_PROC_AUTH_LIST': return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [0] });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE': return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 0 });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE': return replyFrame(f.header, null);
      case 'REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME': return replyFrame(f.header, remote.xdr_remote_domain_lookup_by_name_ret, { dom: DOM });
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_NUM': return replyFrame(f.header, remote.xdr_remote_domain_snapshot_num_ret, { num: names.length });
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES': {
        // As remoteDispatchDomainSnapshotListNames: refuses maxnames past the protocol's maximum, else lists up to it.
        const { maxnames } = args as { maxnames: number };
        if (maxnames > remote.REMOTE_DOMAIN_SNAPSHOT_LIST_MAX) return errorFrame(f, 7, 'maxnames > REMOTE_DOMAIN_SNAPSHOT_LIST_MAX');
        return replyFrame(f.header, remote.xdr_remote_domain_snapshot_list_names_ret, { names: names.slice(0, maxnames) });
      }
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME': {
        const n = (args as { name: string }).name;
        if (!(n in tree) || gone.includes(n)) return errorFrame(f, 72, `no domain snapshot with matching name '${n}'`);
        return replyFrame(f.header, remote.xdr_remote_domain_snapshot_lookup_by_name_ret, { snap: snap(n) });
      }
      case 'REMOTE_PROC_DOMAIN_SNAPSHOT_GET_PARENT': {
        const n = (args as { snap: { name: string } }).snap.name;
        if (!(n in tree) || gone.includes(n)) return errorFrame(f, 72, `no domain snapshot with matching name '${n}'`);
        if (tree[n] === null) return errorFrame(f, 72, `snapshot '${n}' does not have a parent`);
        return replyFrame(f.header, remote.xdr_remote_domain_snapshot_get_parent_ret, { snap: snap(tree[n]!) });
      }
      default: return errorFrame(f, 1, `unexpected ${name}`);
    }
  });
  const conn = await Connect.openWith(peer, { name: 'test:///default', keepalive: false });
  const dom = await conn.getDomainByName('vm1');
  calls.length = 0;
  return { peer, conn, dom, calls };
}

test('listSnapshotNames: one SNAPSHOT_LIST_NAMES asking for as many names as the protocol carries, with the flags', async () => {
  const { conn, dom, calls } = await open({ a: null, b: 'a', c: 'b' });
  expect(await dom.listSnapshotNames(DomainSnapshot.LIST_LEAVES)).toEqual(['a', 'b', 'c']);
  expect(calls).toEqual([['REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES', { dom: DOM, maxnames: 16384, flags: 4 }]]);
  await conn.close();
});

test('listSnapshotNames: a full answer asks for the count; past the maximum it fails with the daemon\'s error, as libvirt does', async () => {
  const max = remote.REMOTE_DOMAIN_SNAPSHOT_LIST_MAX;
  const exactly = Object.fromEntries(Array.from({ length: max }, (_, i) => [`s${i}`, null]));
  const full = await open(exactly);
  expect(await full.dom.listSnapshotNames()).toHaveLength(max);
  expect(full.calls.map(([n]) => n)).toEqual(['REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES', 'REMOTE_PROC_DOMAIN_SNAPSHOT_NUM']);
  await full.conn.close();

  const over = await open({ ...exactly, extra: null });
  const err = await over.dom.listSnapshotNames().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).message).toMatch(/maxnames > REMOTE_DOMAIN_SNAPSHOT_LIST_MAX/);
  expect(over.calls.map(([n, a]) => [n, (a as { maxnames?: number }).maxnames])).toEqual([
    ['REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES', max],
    ['REMOTE_PROC_DOMAIN_SNAPSHOT_NUM', undefined],
    ['REMOTE_PROC_DOMAIN_SNAPSHOT_LIST_NAMES', max + 1],
  ]);
  await over.conn.close();
});

test('listSnapshots looks each name up and leaves out one that vanished in between, as Sys::Virt does', async () => {
  const { conn, dom, calls } = await open({ a: null, b: 'a', c: 'b' }, ['b']);
  const snaps = await dom.listSnapshots();
  expect(snaps.map((s) => s.getName())).toEqual(['a', 'c']);
  expect(snaps[0].getDomain()).toBe(dom);
  expect(snaps[0].handle).toEqual({ name: 'a', dom: DOM });
  expect(calls.filter(([n]) => n === 'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME')).toHaveLength(3);
  await conn.close();
});

test('getParent: the parent, null for a root, and the error for a snapshot that is gone', async () => {
  const { conn, dom, calls } = await open({ a: null, b: 'a' });
  const b = new DomainSnapshot(dom, 'b');
  expect((await b.getParent())?.getName()).toBe('a');
  expect(await new DomainSnapshot(dom, 'a').getParent()).toBeNull();
  // A root: GET_PARENT fails with VIR_ERR_NO_DOMAIN_SNAPSHOT, the lookup of the snapshot itself succeeds.
  expect(calls.slice(-2).map(([n]) => n)).toEqual(['REMOTE_PROC_DOMAIN_SNAPSHOT_GET_PARENT', 'REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME']);
  const err = await new DomainSnapshot(dom, 'zz').getParent().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
  expect((err as RemoteError).procedure).toBe('REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME');
  await conn.close();
});

test('bad flags and names fail before anything is sent; an aborted signal rejects with AbortError', async () => {
  const { conn, dom, calls } = await open({ a: null });
  await expect(dom.listAllSnapshots(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(dom.numOfSnapshots(1.5)).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(dom.getSnapshotByName('')).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(dom.createSnapshot({ name: 'a', memory: { snapshot: 'manual' } as never })).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(conn.getDomainByUUID('not-a-uuid')).rejects.toBeInstanceOf(InvalidArgumentError);
  expect(calls).toEqual([]);
  const ac = new AbortController();
  ac.abort();
  await expect(dom.listSnapshots(0, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
  await conn.close();
});

test('the domain handle travels with the object: name, UUID and id need no call', async () => {
  const { conn, dom, calls } = await open({});
  expect(dom).toBeInstanceOf(Domain);
  expect(dom.getName()).toBe('vm1');
  expect(dom.getUUIDString()).toBe('abababab-abab-abab-abab-abababababab');
  expect(dom.getID()).toBe(3);
  expect(dom.getConnect()).toBe(conn);
  expect(calls).toEqual([]);
  await conn.close();
});

test('Connect.open without a URI opener (the browser-safe core alone) says how to connect', async () => {
  await expect(Connect.open('qemu:///system')).rejects.toThrow(/Connect\.openWith/);
});
