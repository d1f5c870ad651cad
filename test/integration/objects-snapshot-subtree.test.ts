/**
 * Deleting a branching snapshot subtree on the sandbox's libvirtd 9.0.0, which crashes when asked to do it in one
 * DELETE_CHILDREN call (see daemon-crash-delete-children.test.ts for the crash itself, on a private daemon):
 * `delete(DELETE_CHILDREN)` and `delete(DELETE_CHILDREN_ONLY)` are refused with a typed error and the daemon stays
 * up; `deleteSubtree()` deletes the same snapshots leaf-first, data included (checked with qemu-img); a chain is
 * still deleted in one call; and `snapshot-delete --children` of the CLI takes the safe way by itself.
 * The guest is shut off: its internal snapshots are made by qemu-img, in a fraction of a second each.
 */
import { execFile } from 'node:child_process';
import { isRunning } from '../../scripts/sandbox/proc';
import { runCli } from '../../src/cli/main';
import { DomainSnapshot as S, UnsafeSnapshotDeleteError, type Domain } from '../../src/index';
import { useGuest } from '../helpers/guest';
import { sandbox } from '../helpers/sandbox';

const g = useGuest('objects-subtree', { start: false });
const long = { timeout: 60_000 };

/** Internal snapshots in the qcow2 image, read with qemu-img. */
function imageSnapshots(): Promise<string[]> {
  return new Promise((resolve, reject) => {
    execFile('qemu-img', ['snapshot', '-l', '-U', g.guest.disk], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`qemu-img failed: ${stderr || err.message}`));
      resolve(stdout.split('\n').slice(2).filter((l) => l.trim()).map((l) => l.trim().split(/\s+/)[1]).sort());
    });
  });
}

/** s1 -> s2 -> s3 and s1 -> x1 -> x2 (reverting to s1 in between): the shape that crashes libvirtd 9.0.0. */
async function branching(dom: Domain, p: string): Promise<void> {
  for (const n of ['1', '2', '3']) await dom.createSnapshot({ name: `${p}s${n}` }, 0, long);
  await (await dom.getSnapshotByName(`${p}s1`)).revertTo(0, long);
  for (const n of ['1', '2']) await dom.createSnapshot({ name: `${p}x${n}` }, 0, long);
}

const names = async () => (await g.dom.listAllSnapshots()).map((s) => s.getName()).sort();

function daemonUp(): void {
  expect(isRunning(sandbox().libvirtdPid, 'libvirtd')).toBe(true);
  expect(g.conn.isAlive()).toBe(true);
}

test('DELETE_CHILDREN and DELETE_CHILDREN_ONLY of a branching subtree are refused; nothing is deleted, the daemon stays up', async () => {
  await branching(g.dom, 'a-');
  const s1 = await g.dom.getSnapshotByName('a-s1');
  for (const flags of [S.DELETE_CHILDREN, S.DELETE_CHILDREN_ONLY, S.DELETE_CHILDREN | S.DELETE_METADATA_ONLY]) {
    const e = await s1.delete(flags, long).then(() => null, (x: unknown) => x);
    expect(e).toBeInstanceOf(UnsafeSnapshotDeleteError);
    // libvirt walks a-s1's children last made first: a-x1, which has a child, before a-s2.
    expect(e).toMatchObject({ code: 'ERR_UNSAFE_SNAPSHOT_DELETE', daemonVersion: '9.0.0', leaves: 2, snapshot: 'a-s1', branch: 'a-x1' });
    expect((e as Error).message).toContain('deleteSubtree(');
  }
  daemonUp();
  expect(await g.conn.getLibVersion()).toBe(9_000_000);
  expect(await names()).toEqual(['a-s1', 'a-s2', 'a-s3', 'a-x1', 'a-x2']);
  expect(await imageSnapshots()).toEqual(['a-s1', 'a-s2', 'a-s3', 'a-x1', 'a-x2']);
}, 120_000);

test('deleteSubtree deletes the branching subtree leaf-first, data included, with progress', async () => {
  const s1 = await g.dom.getSnapshotByName('a-s1');
  const progress: number[] = [];
  const children = await s1.deleteSubtree(S.DELETE_CHILDREN_ONLY, { ...long, onProgress: (p) => progress.push(p.done) });
  expect(children.sort()).toEqual(['a-s2', 'a-s3', 'a-x1', 'a-x2']);
  expect(progress).toEqual([1, 2, 3, 4]);
  expect(await names()).toEqual(['a-s1']);
  expect(await s1.deleteSubtree(0, long)).toEqual(['a-s1']);
  expect(await names()).toEqual([]);
  expect(await imageSnapshots()).toEqual([]);
  daemonUp();
}, 120_000);

test('a chain is still deleted with the one DELETE_CHILDREN call', async () => {
  for (const n of ['c1', 'c2', 'c3']) await g.dom.createSnapshot({ name: n }, 0, long);
  await (await g.dom.getSnapshotByName('c1')).delete(S.DELETE_CHILDREN, long);
  expect(await names()).toEqual([]);
  expect(await imageSnapshots()).toEqual([]);
  daemonUp();
}, 120_000);

test('snapshot-delete --children and --children-only of the CLI take the safe way on a branching subtree', async () => {
  await branching(g.dom, 'b-');
  const cli = async (...args: string[]) => {
    const out = { stdout: '', stderr: '' };
    const code = await runCli(['-c', sandbox().unixUri, ...args], {
      stdout: { write: (t) => void (out.stdout += t) },
      stderr: { write: (t) => void (out.stderr += t) },
      isTTY: false,
    });
    return { code, ...out };
  };
  const only = await cli('snapshot-delete', g.name, 'b-s1', '--children-only');
  expect(only).toMatchObject({ code: 0, stdout: 'Domain snapshot b-s1 children deleted\n\n' });
  expect(only.stderr).toMatch(/^note: libvirtd 9\.0\.0 crashes deleting this subtree in one call; deleting its snapshots one at a time, leaves first\n$/);
  expect(await names()).toEqual(['b-s1']);
  await branching(g.dom, 'c-');
  // b-s1 is the current snapshot again, so c-s1 is made its child: b-s1's subtree branches again.
  const all = await cli('snapshot-delete', g.name, 'b-s1', '--children');
  expect(all).toMatchObject({ code: 0, stdout: 'Domain snapshot b-s1 deleted\n\n' });
  expect(await names()).toEqual([]);
  expect(await imageSnapshots()).toEqual([]);
  daemonUp();
}, 180_000);
