/**
 * The constant tables of DomainSnapshot, DomainCheckpoint and Domain: every member of libvirt's snapshot and
 * checkpoint enums is a static under its Sys::Virt name with libvirt's value, and every constant the installed
 * Sys::Virt (libsys-virt-perl) defines for these classes is here with the same value.
 */
import { headers } from '../../generated';
import { Domain, DomainCheckpoint, DomainSnapshot } from '../../src/core';
import { sysVirtConstants } from '../helpers/sys-virt';

type Table = Readonly<Record<string, number>>;

/** Each class's header enums, as [enum, prefix to strip, prefix to add]. */
const SOURCES: [Table, [string, string, string][]][] = [
  [DomainSnapshot as unknown as Table, [
    ['virDomainSnapshotCreateFlags', 'VIR_DOMAIN_SNAPSHOT_', ''],
    ['virDomainSnapshotXMLFlags', 'VIR_DOMAIN_SNAPSHOT_', ''],
    ['virDomainSnapshotListFlags', 'VIR_DOMAIN_SNAPSHOT_', ''],
    ['virDomainSnapshotRevertFlags', 'VIR_DOMAIN_SNAPSHOT_', ''],
    ['virDomainSnapshotDeleteFlags', 'VIR_DOMAIN_SNAPSHOT_', ''],
  ]],
  [DomainCheckpoint as unknown as Table, [
    ['virDomainCheckpointCreateFlags', 'VIR_DOMAIN_CHECKPOINT_', ''],
    ['virDomainCheckpointXMLFlags', 'VIR_DOMAIN_CHECKPOINT_', ''],
    ['virDomainCheckpointListFlags', 'VIR_DOMAIN_CHECKPOINT_', ''],
    ['virDomainCheckpointDeleteFlags', 'VIR_DOMAIN_CHECKPOINT_', ''],
  ]],
  [Domain as unknown as Table, [
    ...['virDomainState', 'virDomainNostateReason', 'virDomainRunningReason', 'virDomainBlockedReason',
      'virDomainPausedReason', 'virDomainShutdownReason', 'virDomainShutoffReason', 'virDomainCrashedReason',
      'virDomainPMSuspendedReason', 'virDomainPMSuspendedDiskReason'].map((e): [string, string, string] => [e, 'VIR_DOMAIN_', 'STATE_']),
    ['virConnectListAllDomainsFlags', 'VIR_CONNECT_LIST_DOMAINS_', 'LIST_'],
    ['virDomainCreateFlags', 'VIR_DOMAIN_START_', 'START_'],
    ...['virDomainXMLFlags', 'virDomainDestroyFlagsValues', 'virDomainUndefineFlagsValues', 'virDomainModificationImpact',
      'virDomainJobType', 'virDomainJobOperation', 'virDomainGetJobStatsFlags', 'virDomainAbortJobFlagsValues',
      'virDomainBackupBeginFlags'].map((e): [string, string, string] => [e, 'VIR_DOMAIN_', '']),
  ]],
];

const CASES = SOURCES.flatMap(([cls, enums]) => enums.map(([e, strip, add]) => [e, cls, strip, add] as const));

test.each(CASES)('every member of %s is a static under its Sys::Virt name with libvirt\'s value', (e, cls, strip, add) => {
  const members = Object.entries((headers as unknown as Record<string, Table>)[e]);
  expect(members.length).toBeGreaterThan(0);
  for (const [member, value] of members) {
    // virDomainCreateFlags' VIR_DOMAIN_NONE is the one member without the prefix: not a START_ flag.
    if (!member.startsWith(strip)) {
      expect(member).toBe('VIR_DOMAIN_NONE');
      continue;
    }
    expect([member, cls[`${add}${member.slice(strip.length)}`]]).toEqual([member, value]);
  }
});

test('the constants the brief names, with libvirt\'s values', () => {
  expect(DomainSnapshot.CREATE_REDEFINE).toBe(1);
  expect(DomainSnapshot.CREATE_VALIDATE).toBe(512);
  expect(DomainSnapshot.LIST_ROOTS).toBe(1);
  expect(DomainSnapshot.LIST_DESCENDANTS).toBe(1);
  expect(DomainSnapshot.LIST_TOPOLOGICAL).toBe(1024);
  expect(DomainSnapshot.REVERT_RESET_NVRAM).toBe(8);
  expect(DomainSnapshot.DELETE_CHILDREN_ONLY).toBe(4);
  expect(DomainSnapshot.XML_SECURE).toBe(1);
  expect(DomainCheckpoint.XML_SIZE).toBe(4);
  expect(DomainCheckpoint.XML_NO_DOMAIN).toBe(2);
  expect(DomainCheckpoint.CREATE_REDEFINE_VALIDATE).toBe(4);
  expect(Domain.STATE_RUNNING).toBe(1);
  expect(Domain.STATE_SHUTOFF_FROM_SNAPSHOT).toBe(7);
  expect(Domain.LIST_HAS_CHECKPOINT).toBe(16384);
  expect(Domain.START_PAUSED).toBe(1);
  // virDomainCreateFlags' VIR_DOMAIN_NONE is not a START_ flag; Sys::Virt leaves it out too.
  expect('NONE' in Domain).toBe(false);
});

test('the constants are read-only', () => {
  expect(() => {
    (DomainSnapshot as unknown as Record<string, number>).LIST_ROOTS = 99;
  }).toThrow(TypeError);
  expect(DomainSnapshot.LIST_ROOTS).toBe(1);
});

test('every constant of Sys::Virt::DomainSnapshot and ::DomainCheckpoint is here with the same value', () => {
  for (const [pkg, cls] of [['Sys::Virt::DomainSnapshot', DomainSnapshot], ['Sys::Virt::DomainCheckpoint', DomainCheckpoint]] as const) {
    const theirs = sysVirtConstants(pkg);
    expect(Object.keys(theirs).length).toBeGreaterThan(10);
    const ours = Object.fromEntries(Object.keys(theirs).map((k) => [k, (cls as unknown as Table)[k]]));
    expect(ours).toEqual(theirs);
  }
});

test('Domain\'s STATE_, LIST_, XML_, START_, DESTROY_, UNDEFINE_, AFFECT_, JOB_, BACKUP_ constants match Sys::Virt::Domain', () => {
  const theirs = sysVirtConstants('Sys::Virt::Domain');
  const families = /^(STATE|LIST|XML|START|DESTROY|UNDEFINE|AFFECT|JOB|BACKUP_BEGIN)_/;
  const wanted = Object.entries(theirs).filter(([k]) => families.test(k));
  expect(wanted.length).toBeGreaterThan(100);
  expect(Object.fromEntries(wanted.map(([k]) => [k, (Domain as unknown as Table)[k]]))).toEqual(Object.fromEntries(wanted));
  // Sys::Virt's one odd spelling; ours follows the rule (VIR_DOMAIN_ stripped).
  expect(theirs.DOMAIN_ABORT_JOB_POSTCOPY).toBe(Domain.ABORT_JOB_POSTCOPY);
});
