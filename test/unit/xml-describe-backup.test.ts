/**
 * describeBackup reads real `virDomainBackupGetXMLDesc` output of libvirt 9.0's QEMU driver and the examples
 * of formatbackup.rst into typed fields.
 */

import { XmlError } from '../../src/errors';
import { describeBackup } from '../../src/objects/xml';
import { fixture } from '../fixtures/xml/arbitraries';

const IMAGES = '/var/lib/libvirt/images';
const NO_SERVER_FIELDS = { exportName: null, exportBitmap: null, scratch: null };

test('QEMU push backup job', () => {
  const xml = fixture('qemu-backup-push.xml');
  expect(describeBackup(xml)).toEqual({
    mode: 'push',
    incremental: null,
    server: null,
    disks: [
      {
        name: 'vda', backup: true, type: 'file', backupMode: 'full', incremental: null, index: 2,
        format: 'raw', target: `${IMAGES}/c.backup.raw`, ...NO_SERVER_FIELDS,
      },
    ],
    xml,
  });
});

test('QEMU incremental pull backup over a unix socket', () => {
  expect(describeBackup(fixture('qemu-backup-pull.xml'))).toMatchObject({
    mode: 'pull',
    incremental: 'bk1',
    server: { transport: 'unix', socket: `${IMAGES}/nbd.sock`, name: null, port: null, tls: null, fdgroup: null },
    disks: [
      {
        name: 'vda', backup: true, type: 'file', backupMode: 'incremental', incremental: 'bk1',
        exportName: 'vda-export', exportBitmap: 'backup-vda', index: 3, format: 'qcow2',
        target: null, scratch: `${IMAGES}/c.scratch.qcow2`,
      },
    ],
  });
});

test('QEMU full pull backup over TCP', () => {
  const d = describeBackup(fixture('qemu-backup-pull-tcp.xml'));
  expect(d.server).toEqual({ transport: 'tcp', name: '127.0.0.1', port: 10809, socket: null, tls: null, fdgroup: null });
  expect(d.disks[0]).toMatchObject({ backupMode: 'full', exportName: 'vda', index: 4, scratch: `${IMAGES}/c.qcow2.1795317237` });
});

test('formatbackup.rst examples', () => {
  const push = describeBackup(fixture('docs-backup-push.xml'));
  expect(push.mode).toBe('push');
  expect(push.disks.map((x) => [x.name, x.backup, x.type, x.target, x.format])).toEqual([
    ['vda', true, null, null, null],
    ['vdb', true, 'file', '/path/to/vdb.backup', 'raw'],
    ['vdc', false, null, null, null],
  ]);
  const pull = describeBackup(fixture('docs-backup-pull.xml'));
  expect(pull).toMatchObject({ mode: 'pull', incremental: '1525889631', server: { transport: 'unix', socket: '/path/to/server' } });
  expect(pull.disks[0]!.scratch).toBe('/path/to/file1.scratch');
});

test('tls, fd transport and block targets', () => {
  const d = describeBackup(
    '<domainbackup mode="pull"><server transport="fd" fdgroup="g" tls="yes"/>' +
      '<disks><disk name="sda" type="block"><scratch dev="/dev/sdz"/></disk></disks></domainbackup>',
  );
  expect(d.server).toMatchObject({ transport: 'fd', fdgroup: 'g', tls: true });
  expect(d.disks[0]).toMatchObject({ type: 'block', scratch: '/dev/sdz' });
});

test.each([
  ['an unknown mode', '<domainbackup mode="both"/>', /domainbackup@mode/],
  ['a port beyond 65535', '<domainbackup mode="pull"><server port="70000"/></domainbackup>', /server@port/],
  ['a bad tls value', '<domainbackup mode="pull"><server tls="1"/></domainbackup>', /server@tls: expected one of yes, no/],
  ['an unknown transport', '<domainbackup mode="pull"><server transport="smoke"/></domainbackup>', /server@transport/],
  ['a bad backup flag', '<domainbackup><disks><disk name="vda" backup="maybe"/></disks></domainbackup>', /disk\[0\]@backup/],
  ['a bad index', '<domainbackup><disks><disk name="vda" index="x"/></disks></domainbackup>', /disk\[0\]@index/],
  ['a disk without name', '<domainbackup><disks><disk/></disks></domainbackup>', /disk\[0\]@name: missing/],
])('%s is an XmlError naming the field', (_name, xml, message) => {
  expect(() => describeBackup(xml)).toThrow(XmlError);
  expect(() => describeBackup(xml)).toThrow(message);
});
