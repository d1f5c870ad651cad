/**
 * StoragePool and StorageVol constants, and Domain's console and channel flags, under Sys::Virt's names with
 * libvirt's values: every constant the installed Sys::Virt (libsys-virt-perl) defines for Sys::Virt::StoragePool
 * and Sys::Virt::StorageVol is here with the same value.
 */
import { Domain, StoragePool, StorageVol } from '../../src/core';
import { sysVirtConstants } from '../helpers/sys-virt';

type Table = Readonly<Record<string, number>>;

test.each([
  ['Sys::Virt::StoragePool', StoragePool as unknown as Table],
  ['Sys::Virt::StorageVol', StorageVol as unknown as Table],
])('every constant of %s is here with the same value (events aside)', (pkg, cls) => {
  // Pool events are for the events API, not these objects.
  const theirs = Object.fromEntries(Object.entries(sysVirtConstants(pkg)).filter(([k]) => !k.startsWith('EVENT_')));
  expect(Object.keys(theirs).length).toBeGreaterThan(15);
  expect(Object.fromEntries(Object.keys(theirs).map((k) => [k, cls[k]]))).toEqual(theirs);
});

test('the flags the stream calls take, with libvirt\'s values', () => {
  expect(StorageVol.VOL_UPLOAD_SPARSE_STREAM).toBe(1);
  expect(StorageVol.VOL_DOWNLOAD_SPARSE_STREAM).toBe(1);
  expect(Domain.OPEN_CONSOLE_FORCE).toBe(1);
  expect(Domain.OPEN_CONSOLE_SAFE).toBe(2);
  expect(Domain.OPEN_CHANNEL_FORCE).toBe(1);
  const theirs = sysVirtConstants('Sys::Virt::Domain');
  for (const k of ['OPEN_CONSOLE_FORCE', 'OPEN_CONSOLE_SAFE', 'OPEN_CHANNEL_FORCE']) expect([k, (Domain as unknown as Table)[k]]).toEqual([k, theirs[k]]);
});
