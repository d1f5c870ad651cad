/**
 * Reverting a real QEMU guest to internal snapshots: REVERT_RUNNING and REVERT_PAUSED pick the state after the
 * revert whatever the snapshot recorded, no flag restores the recorded state, and a risky revert (a snapshot
 * without memory while a managed-save image exists) is refused with VIR_ERR_SNAPSHOT_REVERT_RISKY unless
 * REVERT_FORCE is given.
 */
import { Domain, DomainSnapshot as S, RemoteError } from '../../src/index';
import { useGuest } from '../helpers/guest';

const g = useGuest('objects-snap-revert');
const long = { timeout: 60_000 };

test('REVERT_RUNNING, REVERT_PAUSED and no flag', async () => {
  const running = await g.dom.createSnapshot({ name: 'running' }, 0, long);
  await g.dom.suspend();
  expect(await g.dom.getState()).toEqual([Domain.STATE_PAUSED, Domain.STATE_PAUSED_USER]);
  const paused = await g.dom.createSnapshot({ name: 'paused' }, 0, long);
  expect((await paused.describe()).state).toBe('paused');
  await g.dom.resume();

  await running.revertTo(S.REVERT_PAUSED, long);
  expect(await g.dom.getState()).toEqual([Domain.STATE_PAUSED, Domain.STATE_PAUSED_FROM_SNAPSHOT]);
  expect(await running.isCurrent()).toBe(true);

  await paused.revertTo(S.REVERT_RUNNING, long);
  expect(await g.dom.getState()).toEqual([Domain.STATE_RUNNING, Domain.STATE_RUNNING_FROM_SNAPSHOT]);
  expect((await g.dom.currentSnapshot()).getName()).toBe('paused');

  // No flag: the state the snapshot recorded.
  await paused.revertTo(0, long);
  expect((await g.dom.getState())[0]).toBe(Domain.STATE_PAUSED);
  await running.revertTo(0, long);
  expect((await g.dom.getState())[0]).toBe(Domain.STATE_RUNNING);
  expect(await g.dom.isActive()).toBe(true);
}, 180_000);

test('REVERT_FORCE is needed for a risky revert, and makes it', async () => {
  await g.dom.destroy();
  expect(g.dom.getID()).toBe(-1);
  const off = await g.dom.createSnapshot({ name: 'off' }, 0, long);
  await g.dom.create();
  expect(g.dom.getID()).toBeGreaterThan(0);
  await g.dom.createSnapshot({ name: 'later' }, 0, long);
  // A managed-save image plus a snapshot without memory state: qemuSnapshotRevertValidate calls that risky.
  await g.conn.raw.remote.domainManagedSave({ dom: g.dom.handle, flags: 0 }, long);
  const err = await off.revertTo(0, long).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).remote.codeName).toBe('VIR_ERR_SNAPSHOT_REVERT_RISKY');
  expect((await g.dom.currentSnapshot()).getName()).toBe('later');

  await off.revertTo(S.REVERT_FORCE, long);
  expect((await g.dom.getState())[0]).toBe(Domain.STATE_SHUTOFF);
  expect(await off.isCurrent()).toBe(true);
}, 180_000);
