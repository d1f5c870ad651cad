/**
 * Why `DomainSnapshot.delete` refuses DELETE_CHILDREN on a branching subtree: on a private libvirtd 9.0.0 of
 * this test's own (never the shared sandbox daemon), the one call the refusal stands in for kills the daemon.
 * A shut-off domain gets metadata-only snapshots (CREATE_REDEFINE: no QEMU runs, no image is touched). A chain
 * is deleted with DELETE_CHILDREN | DELETE_METADATA_ONLY and the daemon lives; then the same call on
 * s1 -> s2 -> s3, s1 -> x1 -> x2 (sent raw, past the guard) and the daemon process is gone. Through the object
 * API the same deletion is refused, and deleteSubtree does it on a fresh daemon with the daemon alive; a branch
 * the daemon walks safely (its only child with children walked last) goes through in one call.
 */
import * as R from '../../generated/remote-procedures';
import { Connect, ConnectionClosedError, DomainSnapshot as S, UnsafeSnapshotDeleteError, connect, type Domain } from '../../src/index';
import { guestXml } from '../../scripts/sandbox/guest';
import { startPrivateDaemon, type PrivateDaemon } from '../helpers/private-daemon';

jest.setTimeout(120_000);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Metadata-only snapshots `name -> parent` of `dom`, parents first. */
async function redefine(dom: Domain, tree: [string, string | null][]): Promise<void> {
  const domainXml = await dom.getXMLDescription();
  for (const [i, [name, parent]] of tree.entries()) {
    await dom.createSnapshot(
      { name, redefine: { state: 'shutoff', creationTime: 1_700_000_000 + i, parent: parent ?? undefined, domainXml } },
      S.CREATE_REDEFINE,
    );
  }
}

const BRANCHING: [string, string | null][] = [['s1', null], ['s2', 's1'], ['s3', 's2'], ['x1', 's1'], ['x2', 'x1']];

async function withDaemon(fn: (d: PrivateDaemon, conn: Connect, dom: Domain) => Promise<void>): Promise<void> {
  const daemon = await startPrivateDaemon();
  try {
    const conn = await connect(`qemu+unix:///session?socket=${daemon.socket}`, { timeout: 30_000 });
    try {
      const dom = await conn.defineDomain(guestXml('crash-me', '/nonexistent/disk.qcow2'));
      await fn(daemon, conn, dom);
    } finally {
      conn.destroy();
    }
  } finally {
    await daemon.cleanup();
  }
}

test('libvirtd 9.0.0 survives DELETE_CHILDREN of a chain and dies on the same call for a branching subtree', async () => {
  await withDaemon(async (daemon, conn, dom) => {
    await redefine(dom, [['c1', null], ['c2', 'c1'], ['c3', 'c2']]);
    await (await dom.getSnapshotByName('c1')).delete(S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY);
    expect(await dom.numOfSnapshots()).toBe(0);
    expect(alive(daemon.pid)).toBe(true);

    await redefine(dom, BRANCHING);
    const call = conn.raw.call(R.domainSnapshotDelete, { snap: { name: 's1', dom: dom.handle }, flags: S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY }, { timeout: 30_000 });
    await expect(call).rejects.toBeInstanceOf(ConnectionClosedError);
    for (let i = 0; i < 200 && alive(daemon.pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(daemon.pid)).toBe(false);
    await expect(connect(`qemu+unix:///session?socket=${daemon.socket}`, { timeout: 5_000 })).rejects.toThrow();
  });
});

test('through the object API the branching deletion is refused, and deleteSubtree does it with the daemon alive', async () => {
  await withDaemon(async (daemon, conn, dom) => {
    await redefine(dom, BRANCHING);
    const s1 = await dom.getSnapshotByName('s1');
    await expect(s1.delete(S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY)).rejects.toBeInstanceOf(UnsafeSnapshotDeleteError);
    expect((await s1.deleteSubtree(S.DELETE_METADATA_ONLY)).length).toBe(5);
    expect(await dom.numOfSnapshots()).toBe(0);
    expect(conn.isAlive()).toBe(true);
    expect(alive(daemon.pid)).toBe(true);
  });
});

test('a branch whose only child with children is walked last: the object API lets the one call through, and the daemon lives', async () => {
  await withDaemon(async (daemon, conn, dom) => {
    // r's children as libvirt walks them (last made first): a, a leaf, then b -> b1.
    await redefine(dom, [['r', null], ['b', 'r'], ['b1', 'b'], ['a', 'r']]);
    expect((await (await dom.getSnapshotByName('r')).listAllChildren()).map((c) => c.getName())).toEqual(['a', 'b']);
    await (await dom.getSnapshotByName('r')).delete(S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY);
    expect(await dom.numOfSnapshots()).toBe(0);
    expect(conn.isAlive()).toBe(true);
    expect(alive(daemon.pid)).toBe(true);
  });
});
