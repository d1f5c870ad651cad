/**
 * How snapshot calls fail against the real daemon: a missing snapshot is a RemoteError with
 * VIR_ERR_NO_DOMAIN_SNAPSHOT (also for the current snapshot of a domain without one); a root's parent is null
 * while a deleted snapshot's parent is that error; a flag the daemon does not know, and QUIESCE without a guest
 * agent, come back as the daemon's errors within a bound, never a hang; bad arguments fail before sending.
 */
import { DomainSnapshot as S, InvalidArgumentError, RemoteError } from '../../src/index';
import { useGuest } from '../helpers/guest';

const g = useGuest('objects-snap-err');
const { name } = g;

async function failure(p: Promise<unknown>): Promise<RemoteError> {
  const e = await p.then(() => null, (x: unknown) => x);
  expect(e).toBeInstanceOf(RemoteError);
  return e as RemoteError;
}

test('a missing snapshot: VIR_ERR_NO_DOMAIN_SNAPSHOT, for a lookup and for the current snapshot', async () => {
  const e = await failure(g.dom.getSnapshotByName('no-such-snapshot'));
  expect(e.remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
  expect(e.procedure).toBe('REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME');
  expect(e.message).toContain('no-such-snapshot');
  expect(await g.dom.hasCurrentSnapshot()).toBe(false);
  expect((await failure(g.dom.currentSnapshot())).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
  expect((await failure(g.conn.getDomainByName(`${name}-missing`))).remote.codeName).toBe('VIR_ERR_NO_DOMAIN');
});

test('a root\'s parent is null; a deleted snapshot\'s parent is VIR_ERR_NO_DOMAIN_SNAPSHOT', async () => {
  const root = await g.dom.createSnapshot({ name: 'root' }, 0, { timeout: 60_000 });
  const child = await g.dom.createSnapshot({ name: 'child' }, 0, { timeout: 60_000 });
  expect(await root.getParent()).toBeNull();
  expect((await child.getParent())?.getName()).toBe('root');
  await child.delete();
  expect((await failure(child.getParent())).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
  expect((await failure(child.getXMLDescription())).remote.codeName).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
}, 120_000);

test('a flag the daemon does not know is the daemon\'s VIR_ERR_INVALID_ARG', async () => {
  for (const call of [() => g.dom.listAllSnapshots(1 << 30), () => g.dom.numOfSnapshots(1 << 30), () => g.dom.createSnapshot({ name: 'x' }, 1 << 30)]) {
    const e = await failure(call());
    expect(e.remote.codeName).toBe('VIR_ERR_INVALID_ARG');
  }
  expect(await g.dom.numOfSnapshots()).toBe(1);
});

test('QUIESCE without a guest agent: the daemon\'s error, quickly', async () => {
  const t0 = Date.now();
  const e = await failure(g.dom.createSnapshot({ name: 'q' }, S.CREATE_DISK_ONLY | S.CREATE_QUIESCE, { timeout: 30_000 }));
  expect(e.remote.codeName).toBe('VIR_ERR_ARGUMENT_UNSUPPORTED');
  expect(e.message).toMatch(/agent/i);
  expect(Date.now() - t0).toBeLessThan(30_000);
  // QUIESCE alone: libvirt's flag check names the flag it needs.
  const e2 = await failure(g.dom.createSnapshot({ name: 'q' }, S.CREATE_QUIESCE, { timeout: 30_000 }));
  expect(e2.remote.codeName).toBe('VIR_ERR_INVALID_ARG');
  expect(await g.dom.listSnapshotNames()).toEqual(['root']);
});

test('bad arguments are refused before anything is sent', async () => {
  await expect(g.dom.listAllSnapshots(-1)).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(g.dom.createSnapshot({ name: 'bad/name' })).rejects.toBeInstanceOf(InvalidArgumentError);
  await expect(g.dom.createSnapshot({ redefine: { state: 'running', creationTime: 0 } })).rejects.toBeInstanceOf(InvalidArgumentError);
  expect(g.conn.isAlive()).toBe(true);
});
