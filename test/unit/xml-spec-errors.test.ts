/**
 * A bad spec fails before any XML exists, with an InvalidArgumentError whose message starts with the path of
 * the bad field and never repeats the caller's value.
 */

import { InvalidArgumentError } from '../../src/errors';
import {
  backupSpecToXml,
  checkpointSpecToXml,
  snapshotSpecToXml,
  type BackupSpec,
  type CheckpointSpec,
  type SnapshotSpec,
} from '../../src/objects/xml';
import { TEST_DOMAIN_XML } from '../fixtures/xml/arbitraries';

function refusal(run: () => unknown): InvalidArgumentError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
    return err as InvalidArgumentError;
  }
  throw new Error('expected an InvalidArgumentError');
}

/** Specs typed loosely on purpose: they stand for what a JavaScript caller might pass. */
const loose = <T>(value: unknown): T => value as T;

describe('snapshot specs', () => {
  test.each<[string, unknown, string]>([
    ['not an object', null, 'spec: expected an object'],
    ['an array', [], 'spec: expected an object'],
    ['a misspelt property', { snapshots: [] }, 'spec.snapshots: unknown property'],
    ['a name with a slash', { name: 'a/b' }, "spec.name: a snapshot name may not contain '/'"],
    ['a name starting with a dot', { name: '.hidden' }, "spec.name: a snapshot name may not start with '.'"],
    ['an empty name', { name: '' }, 'spec.name: must not be empty'],
    ['a numeric name', { name: 5 }, 'spec.name: expected a string'],
    ['a control character', { description: 'a\u0001b' }, 'spec.description: contains a character XML cannot represent'],
    ['a lone surrogate', { description: '\ud800' }, 'spec.description: contains a character XML cannot represent'],
    ['manual memory', { memory: { snapshot: 'manual' } }, "spec.memory.snapshot: libvirt does not support 'manual' for memory"],
    ['an unknown memory mode', { memory: { snapshot: 'disk' } }, 'spec.memory.snapshot: expected one of no, internal, external'],
    ['external memory without a file', { memory: { snapshot: 'external' } }, 'spec.memory.file: required'],
    ['internal memory with a file', { memory: { snapshot: 'internal', file: '/m' } }, 'spec.memory.file: allowed only'],
    ['a relative memory file', { memory: { file: 'mem.img' } }, 'spec.memory.file: expected an absolute path'],
    ['disks not an array', { disks: { name: 'vda' } }, 'spec.disks: expected an array'],
    ['a disk that is not an object', { disks: ['vda'] }, 'spec.disks[0]: expected an object'],
    ['an empty disk name', { disks: [{ name: '' }] }, 'spec.disks[0].name: must not be empty'],
    ['a disk name that is neither target nor path', { disks: [{ name: 'disk0' }] }, 'spec.disks[0].name: expected a disk target'],
    ['a bad disk snapshot mode', { disks: [{ name: 'vda' }, { name: 'vdb', snapshot: 'bogus' }] }, 'spec.disks[1].snapshot: expected one of no, internal, external, manual'],
    ['a duplicate disk', { disks: [{ name: 'vda' }, { name: 'vdb' }, { name: 'vda' }] }, 'spec.disks[2].name: same disk as spec.disks[0]'],
    ['a source on an internal disk', { disks: [{ name: 'vda', snapshot: 'internal', source: '/x' }] }, 'spec.disks[0].source: allowed only when snapshot is'],
    ['a type on a skipped disk', { disks: [{ name: 'vda', snapshot: 'no', type: 'file' }] }, 'spec.disks[0].type: allowed only'],
    ['an unknown disk type', { disks: [{ name: 'vda', type: 'network' }] }, 'spec.disks[0].type: expected one of file, block'],
    ['a block disk without source', { disks: [{ name: 'vda', type: 'block' }] }, "spec.disks[0].source: required when type is 'block'"],
    ['a raw driver', { disks: [{ name: 'vda', driverType: 'raw' }] }, 'spec.disks[0].driverType: expected one of qcow2, qed, vmdk, qcow, cow'],
    ['a relative source', { disks: [{ name: 'vda', source: 'new.qcow2' }] }, 'spec.disks[0].source: expected an absolute path'],
    ['a source with a newline', { disks: [{ name: 'vda', source: '/a\nb' }] }, 'spec.disks[0].source: may not contain tabs or line breaks'],
    ['a source with a tab', { disks: [{ name: 'vda', source: '/a\tb' }] }, 'spec.disks[0].source: may not contain tabs or line breaks'],
    ['a disk path with a tab', { disks: [{ name: '/a\tb' }] }, 'spec.disks[0].name: may not contain tabs or line breaks'],
    ['a name with a carriage return', { name: 'a\rb' }, 'spec.name: a snapshot name may not contain a carriage return'],
    ['redefine without a name', { redefine: { state: 'running', creationTime: 1 } }, 'spec.name: required when redefining'],
    ['redefine without state', { name: 'r', redefine: { creationTime: 1 } }, 'spec.redefine.state: expected one of running'],
    ['a state the schema lacks', { name: 'r', redefine: { state: 'pmsuspended', creationTime: 1 } }, 'spec.redefine.state: expected one of'],
    ['a negative creation time', { name: 'r', redefine: { state: 'running', creationTime: -1 } }, 'spec.redefine.creationTime: expected an integer'],
    ['a fractional creation time', { name: 'r', redefine: { state: 'running', creationTime: 1.5 } }, 'spec.redefine.creationTime: expected an integer'],
    ['an invalid date', { name: 'r', redefine: { state: 'running', creationTime: new Date('x') } }, 'spec.redefine.creationTime: expected a valid Date'],
    ['a bad parent name', { name: 'r', redefine: { state: 'running', creationTime: 1, parent: 'a/b' } }, 'spec.redefine.parent: a snapshot name may not contain'],
    ['memory in an offline snapshot', { name: 'r', memory: { snapshot: 'internal' }, redefine: { state: 'shutoff', creationTime: 1 } }, "spec.memory.snapshot: must be 'no'"],
    ['domain XML of another kind', { name: 'r', redefine: { state: 'running', creationTime: 1, domainXml: '<network/>' } }, 'spec.redefine.domainXml: expected a <domain> document'],
    ['domain XML without type', { name: 'r', redefine: { state: 'running', creationTime: 1, domainXml: '<domain><name>x</name></domain>' } }, 'spec.redefine.domainXml: the <domain> element needs its type'],
    ['domain XML with a DOCTYPE', { name: 'r', redefine: { state: 'running', creationTime: 1, domainXml: `<!DOCTYPE d>${TEST_DOMAIN_XML}` } }, 'spec.redefine.domainXml: XML contains a DOCTYPE'],
    ['broken domain XML', { name: 'r', redefine: { state: 'running', creationTime: 1, domainXml: '<domain type="kvm">' } }, 'spec.redefine.domainXml: XML is not well-formed'],
  ])('%s', (_name, spec, message) => {
    expect(refusal(() => snapshotSpecToXml(loose<SnapshotSpec>(spec))).message).toContain(message);
  });
});

describe('checkpoint specs', () => {
  test.each<[string, unknown, string]>([
    ['a name with a space', { name: 'a b' }, 'spec.name: a checkpoint name may contain only'],
    ['a name starting with a dot', { name: '.c' }, 'spec.name: a checkpoint name may contain only'],
    ['a non-ASCII name', { name: 'é' }, 'spec.name: a checkpoint name may contain only'],
    ['a name too long for a QEMU bitmap', { name: 'c'.repeat(1024) }, 'spec.name: a checkpoint name may not be longer than 1023'],
    ['a bad disk kind', { disks: [{ name: 'vda', checkpoint: 'yes' }] }, 'spec.disks[0].checkpoint: expected one of bitmap, no'],
    ['a bitmap on a skipped disk', { disks: [{ name: 'vda', checkpoint: 'no', bitmap: 'b' }] }, 'spec.disks[0].bitmap: allowed only'],
    ['an empty bitmap', { disks: [{ name: 'vda', bitmap: '' }] }, 'spec.disks[0].bitmap: must not be empty'],
    ['a bitmap with a line break', { disks: [{ name: 'vda', bitmap: 'a\nb' }] }, 'spec.disks[0].bitmap: may not contain tabs or line breaks'],
    ['a duplicate disk', { disks: [{ name: 'vda' }, { name: 'vda' }] }, 'spec.disks[1].name: same disk as spec.disks[0]'],
    ['a misspelt disk property', { disks: [{ name: 'vda', bitMap: 'b' }] }, 'spec.disks[0].bitMap: unknown property'],
    ['redefine without a name', { redefine: { creationTime: 1 } }, 'spec.name: required when redefining'],
    ['redefine without creation time', { name: 'c', redefine: {} }, 'spec.redefine.creationTime: expected an integer'],
    ['a bad parent', { name: 'c', redefine: { creationTime: 1, parent: 'p q' } }, 'spec.redefine.parent: a checkpoint name'],
  ])('%s', (_name, spec, message) => {
    expect(refusal(() => checkpointSpecToXml(loose<CheckpointSpec>(spec))).message).toContain(message);
  });
});

describe('backup specs', () => {
  const pull = { mode: 'pull', server: { transport: 'unix', socket: '/s' } };
  test.each<[string, unknown, string]>([
    ['an unknown mode', { mode: 'both' }, 'spec.mode: expected one of push, pull'],
    ['a server in push mode', { server: { name: 'h' } }, 'spec.server: unknown property'],
    ['pull without server', { mode: 'pull' }, 'spec.server: required for a pull backup'],
    ['port zero', { mode: 'pull', server: { name: 'h', port: 0 } }, 'spec.server.port: expected an integer from 1 to 65535'],
    ['port too high', { mode: 'pull', server: { name: 'h', port: 70000 } }, 'spec.server.port: expected an integer from 1 to 65535'],
    ['a bad host name', { mode: 'pull', server: { name: 'bad host!' } }, 'spec.server.name: expected a host name'],
    ['a bad IPv6 address', { mode: 'pull', server: { name: '1::2::3' } }, 'spec.server.name: expected a host name'],
    ['a relative socket', { mode: 'pull', server: { transport: 'unix', socket: 'nbd.sock' } }, 'spec.server.socket: expected an absolute path'],
    ['a port on a unix socket', { mode: 'pull', server: { transport: 'unix', socket: '/s', port: 1 } }, 'spec.server.port: unknown property'],
    ['an unknown transport', { mode: 'pull', server: { transport: 'rdma', name: 'h' } }, 'spec.server.transport: expected one of tcp, unix'],
    ['a non-boolean tls', { mode: 'pull', server: { name: 'h', tls: 'yes' } }, 'spec.server.tls: expected a boolean'],
    ['a bad checkpoint name', { incremental: 'a/b' }, 'spec.incremental: a checkpoint name'],
    ['a source path as disk name', { disks: [{ name: '/var/lib/disk.img' }] }, 'spec.disks[0].name: expected a disk target such as vda'],
    ['an export name in push mode', { disks: [{ name: 'vda', exportName: 'e' }] }, 'spec.disks[0].exportName: unknown property'],
    ['a target in pull mode', { ...pull, disks: [{ name: 'vda', target: '/t' }] }, 'spec.disks[0].target: unknown property'],
    ['settings on an excluded disk', { disks: [{ name: 'vda', backup: false, target: '/t' }] }, 'spec.disks[0].target: not allowed when backup is false'],
    ['full with a checkpoint', { disks: [{ name: 'vda', backupMode: 'full', incremental: 'c1' }] }, "spec.disks[0].incremental: not allowed when backupMode is 'full'"],
    ['incremental without a checkpoint', { disks: [{ name: 'vda', backupMode: 'incremental' }] }, "spec.disks[0].incremental: required when backupMode is 'incremental'"],
    ['a bad backup mode', { disks: [{ name: 'vda', backupMode: 'differential' }] }, 'spec.disks[0].backupMode: expected one of full, incremental'],
    ['a block disk without target', { disks: [{ name: 'vda', type: 'block' }] }, "spec.disks[0].target: required when type is 'block'"],
    ['a block disk without scratch', { ...pull, disks: [{ name: 'vda', type: 'block' }] }, "spec.disks[0].scratch: required when type is 'block'"],
    ['an unknown push format', { disks: [{ name: 'vda', format: 'zip' }] }, 'spec.disks[0].format: expected one of raw,'],
    ['a raw scratch', { ...pull, disks: [{ name: 'vda', scratch: '/s', format: 'raw' }] }, 'spec.disks[0].format: expected one of qcow2'],
    ['a scratch format without scratch', { ...pull, disks: [{ name: 'vda', format: 'qcow2' }] }, 'spec.disks[0].format: needs scratch'],
    ['an empty export name', { ...pull, disks: [{ name: 'vda', exportName: '' }] }, 'spec.disks[0].exportName: must not be empty'],
    ['an export bitmap with a tab', { ...pull, disks: [{ name: 'vda', exportBitmap: 'a\tb' }] }, 'spec.disks[0].exportBitmap: may not contain tabs'],
    ['a duplicate disk', { disks: [{ name: 'vda' }, { name: 'vda', backup: false }] }, 'spec.disks[1].name: same disk as spec.disks[0]'],
    ['a non-boolean backup flag', { disks: [{ name: 'vda', backup: 'no' }] }, 'spec.disks[0].backup: expected a boolean'],
  ])('%s', (_name, spec, message) => {
    expect(refusal(() => backupSpecToXml(loose<BackupSpec>(spec))).message).toContain(message);
  });
});

test('messages name the field but never repeat the value', () => {
  const secret = 'hunter2-private-path';
  const messages = [
    refusal(() => snapshotSpecToXml({ description: `${secret}\u0000` })).message,
    refusal(() => snapshotSpecToXml({ name: `${secret}/x` })).message,
    refusal(() => snapshotSpecToXml({ memory: { file: secret } })).message,
    refusal(() => checkpointSpecToXml({ name: `${secret} x` })).message,
    refusal(() => backupSpecToXml({ mode: 'pull', server: { transport: 'unix', socket: secret } })).message,
    refusal(() => snapshotSpecToXml(loose<SnapshotSpec>({ disks: [{ name: secret }] }))).message,
  ];
  for (const message of messages) expect(message).not.toContain(secret);
});
