/**
 * describeSnapshot reads real libvirt output (QEMU driver of libvirt 9.0 and the test driver) and the
 * examples of formatsnapshot.rst into typed fields.
 */

import { XmlError } from '../../src/errors';
import { describeCheckpoint, describeSnapshot } from '../../src/objects/xml';
import { fixture } from '../fixtures/xml/arbitraries';

const SNAPDOM = { name: 'snapdom', uuid: 'a2dde9cb-801c-4200-a1a5-bca58c98104f', type: 'qemu' };
const IMAGES = '/var/lib/libvirt/images';

test('QEMU internal snapshot of a running guest', () => {
  const xml = fixture('qemu-snapshot-s-int.xml');
  const d = describeSnapshot(xml);
  expect(d).toEqual({
    name: 's-int',
    description: 'Internal <running> & "quoted" snapshot',
    state: 'running',
    creationTime: new Date(1795317219 * 1000),
    parent: null,
    memory: { snapshot: 'internal', file: null },
    disks: [{ name: 'vda', snapshot: 'internal', type: null, driverType: null, source: null, deleteInProgress: false }],
    domain: SNAPDOM,
    inactiveDomain: SNAPDOM,
    xml,
  });
  expect('current' in d).toBe(false);
});

test('QEMU snapshot of a paused guest has its parent', () => {
  const d = describeSnapshot(fixture('qemu-snapshot-s-paused.xml'));
  expect(d.state).toBe('paused');
  expect(d.parent).toBe('s-int');
  expect(d.description).toBeNull();
});

test('QEMU disk-only external snapshot', () => {
  const d = describeSnapshot(fixture('qemu-snapshot-s-ext.xml'));
  expect(d.state).toBe('disk-snapshot');
  expect(d.memory).toEqual({ snapshot: 'no', file: null });
  expect(d.disks).toEqual([
    { name: 'vda', snapshot: 'external', type: 'file', driverType: 'qcow2', source: `${IMAGES}/a.s-ext.qcow2`, deleteInProgress: false },
  ]);
});

test('QEMU full external snapshot with a memory file', () => {
  const d = describeSnapshot(fixture('qemu-snapshot-s-full-ext.xml'));
  expect(d.state).toBe('running');
  expect(d.parent).toBe('s-ext');
  expect(d.memory).toEqual({ snapshot: 'external', file: `${IMAGES}/s-full-ext.mem` });
  expect(d.disks[0]!.source).toBe(`${IMAGES}/a.s-full-ext.qcow2`);
});

test('QEMU snapshot of a shut-off guest has no inactive domain', () => {
  const d = describeSnapshot(fixture('qemu-snapshot-s-off-ext.xml'));
  expect(d.state).toBe('shutoff');
  expect(d.inactiveDomain).toBeNull();
  expect(d.domain).toEqual(SNAPDOM);
});

test('test driver snapshots', () => {
  const s1 = describeSnapshot(fixture('test-driver-snapshot-s1.xml'));
  expect(s1).toMatchObject({ name: 's1', description: 'd <&>', state: 'running', parent: null });
  expect(s1.domain).toEqual({ name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', type: 'test' });
  const s2 = describeSnapshot(fixture('test-driver-snapshot-s2.xml'));
  expect(s2).toMatchObject({ name: 's2', state: 'paused', parent: 's1' });
});

test('formatsnapshot.rst output example', () => {
  const d = describeSnapshot(fixture('docs-snapshot-output.xml'));
  expect(d).toMatchObject({
    name: '1270477159',
    description: 'Snapshot of OS install and updates',
    state: 'running',
    creationTime: new Date('2010-04-05T14:19:19Z'),
    parent: 'bare-os-install',
    memory: { snapshot: 'no', file: null },
    domain: { name: 'fedora', uuid: '93a5c045-6457-2c09-e56c-927cdf34e178', type: null },
  });
  expect(d.disks.map((x) => [x.name, x.snapshot, x.driverType, x.source])).toEqual([
    ['vda', 'external', 'qcow2', '/path/to/new'],
    ['vdb', 'no', null, null],
  ]);
});

test('formatsnapshot.rst input example has no name', () => {
  expect(() => describeSnapshot(fixture('docs-snapshot-input.xml'))).toThrow(/domainsnapshot.name: missing/);
});

test('libvirt defaults: a source implies external, a memory file implies external memory', () => {
  const d = describeSnapshot(
    '<domainsnapshot><name>x</name><memory file="/m"/><disks><disk name="vda"><source file="/n"/></disk>' +
      '<disk name="vdb"/><disk name="vdc" type="block" snapshot="external"><source dev="/dev/sdz"/></disk></disks></domainsnapshot>',
  );
  expect(d.memory).toEqual({ snapshot: 'external', file: '/m' });
  expect(d.disks.map((x) => [x.snapshot, x.type, x.source])).toEqual([
    ['external', null, '/n'],
    [null, null, null],
    ['external', 'block', '/dev/sdz'],
  ]);
});

test('internal metadata fields: <active> and <snapshotDeleteInProgress/>', () => {
  const d = describeSnapshot(
    '<domainsnapshot><name>x</name><active>1</active><disks><disk name="vda" snapshot="external">' +
      '<source file="/a"/><snapshotDeleteInProgress/></disk></disks><domain><uuid>93a5c045645712c09e56c927cdf34e17</uuid></domain></domainsnapshot>',
  );
  expect(d.current).toBe(true);
  expect(d.disks[0]!.deleteInProgress).toBe(true);
  expect(d.domain).toEqual({ name: null, uuid: '93a5c045645712c09e56c927cdf34e17', type: null });
  expect(describeSnapshot('<domainsnapshot><name>x</name><active>0</active></domainsnapshot>').current).toBe(false);
});

test.each([
  ['another root element', '<domaincheckpoint><name>x</name></domaincheckpoint>', /expected a <domainsnapshot> document/],
  ['an unknown state', '<domainsnapshot><name>x</name><state>sleeping</state></domainsnapshot>', /domainsnapshot.state: expected one of/],
  ['a bad creation time', '<domainsnapshot><name>x</name><creationTime>soon</creationTime></domainsnapshot>', /domainsnapshot.creationTime/],
  ['a disk without name', '<domainsnapshot><name>x</name><disks><disk/></disks></domainsnapshot>', /disk\[0\]@name: missing/],
  ['an unknown disk snapshot mode', '<domainsnapshot><name>x</name><disks><disk name="a" snapshot="yes"/></disks></domainsnapshot>', /disk\[0\]@snapshot/],
  ['a parent without name', '<domainsnapshot><name>x</name><parent/></domainsnapshot>', /parent.name: missing/],
  ['a bad active flag', '<domainsnapshot><name>x</name><active>yes</active></domainsnapshot>', /domainsnapshot.active/],
  ['memory with no attributes', '<domainsnapshot><name>x</name><memory/></domainsnapshot>', /domainsnapshot.memory/],
])('%s is an XmlError naming the field', (_name, xml, message) => {
  expect(() => describeSnapshot(xml)).toThrow(XmlError);
  expect(() => describeSnapshot(xml)).toThrow(message);
});

test.each(['8640000000001', '99999999999999', '-999999999999999'])(
  'a <creationTime> of %s seconds, beyond what a Date holds, is an XmlError, never an Invalid Date',
  (seconds) => {
    for (const root of ['domainsnapshot', 'domaincheckpoint'] as const) {
      const xml = `<${root}><name>x</name><creationTime>${seconds}</creationTime></${root}>`;
      const read = () => (root === 'domainsnapshot' ? describeSnapshot(xml) : describeCheckpoint(xml));
      expect(read).toThrow(XmlError);
      expect(read).toThrow(`${root}.creationTime`);
    }
  },
);

test('the widest <creationTime> a Date holds is read exactly, at both ends', () => {
  const at = (s: string) => describeSnapshot(`<domainsnapshot><name>x</name><creationTime>${s}</creationTime></domainsnapshot>`).creationTime;
  expect(at('8640000000000')!.getTime()).toBe(8.64e15);
  expect(at('-8640000000000')!.getTime()).toBe(-8.64e15);
});
