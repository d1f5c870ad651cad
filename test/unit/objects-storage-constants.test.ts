/**
 * StoragePool and StorageVol constants, and Domain's console and channel flags, under Sys::Virt's names with
 * libvirt's values: every constant the installed Sys::Virt (libsys-virt-perl) defines for Sys::Virt::StoragePool
 * and Sys::Virt::StorageVol is here with the same value.
 */
import { execFileSync } from 'node:child_process';
import { Domain, StoragePool, StorageVol } from '../../src/core';

type Table = Readonly<Record<string, number>>;

/** Every integer constant Sys::Virt defines in `pkg`, read from the installed module. */
function sysVirtConstants(pkg: string): Record<string, number> {
  const script = `no strict "refs"; use Sys::Virt; my %h; for my $k (keys %{"${pkg}::"}) { next unless $k =~ /^[A-Z][A-Z0-9_]+$/; `
    + `my $v = eval { &{"${pkg}::$k"}() }; $h{$k} = $v if defined $v && $v =~ /^-?\\d+$/; } `
    + 'print join("\\n", map { "$_ $h{$_}" } sort keys %h);';
  const out = execFileSync('perl', ['-e', script], { encoding: 'utf8', timeout: 20_000 });
  return Object.fromEntries(out.split('\n').filter(Boolean).map((l) => {
    const [k, v] = l.split(' ');
    return [k, Number(v)];
  }));
}

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
