/**
 * describeCheckpoint reads real libvirt output (QEMU driver of libvirt 9.0 and the test driver) and the
 * examples of formatcheckpoint.rst into typed fields.
 */

import { XmlError } from '../../src/errors';
import { describeCheckpoint } from '../../src/objects/xml';
import { fixture } from '../fixtures/xml/arbitraries';

const CKDOM = { name: 'ckdom', uuid: '400f0a3e-2ca1-4b28-be8d-bebb67238660', type: 'qemu' };

test('QEMU checkpoint with VIR_DOMAIN_CHECKPOINT_XML_SIZE', () => {
  const xml = fixture('qemu-checkpoint-c1-size.xml');
  expect(describeCheckpoint(xml)).toEqual({
    name: 'c1',
    description: 'first <ckpt>',
    creationTime: new Date(1795317227 * 1000),
    parent: null,
    disks: [{ name: 'vda', checkpoint: 'bitmap', bitmap: 'c1', size: 0n }],
    domain: CKDOM,
    xml,
  });
});

test('QEMU checkpoint with a parent, without size', () => {
  const d = describeCheckpoint(fixture('qemu-checkpoint-c2.xml'));
  expect(d).toMatchObject({ name: 'c2', description: 'two', parent: 'c1', domain: CKDOM });
  expect(d.disks).toEqual([{ name: 'vda', checkpoint: 'bitmap', bitmap: 'c2', size: null }]);
});

test('QEMU checkpoint with VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN', () => {
  const d = describeCheckpoint(fixture('qemu-checkpoint-c2-nodomain.xml'));
  expect(d.domain).toBeNull();
  expect(d.disks[0]!.size).toBe(0n);
});

test('test driver checkpoint', () => {
  expect(describeCheckpoint(fixture('test-driver-checkpoint-c2.xml'))).toMatchObject({
    name: 'c2',
    parent: 'c1',
    disks: [{ name: 'vda', checkpoint: 'bitmap', bitmap: 'c2', size: null }],
    domain: { name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', type: 'test' },
  });
});

test('formatcheckpoint.rst output example', () => {
  expect(describeCheckpoint(fixture('docs-checkpoint-output.xml'))).toMatchObject({
    name: '1525889631',
    description: 'Completion of updates after OS install',
    parent: '1525111885',
    creationTime: new Date(1525889631 * 1000),
    disks: [
      { name: 'vda', checkpoint: 'bitmap', bitmap: '1525889631', size: null },
      { name: 'vdb', checkpoint: 'no', bitmap: null, size: null },
    ],
    domain: { name: 'fedora', uuid: '93a5c045-6457-2c09-e56c-927cdf34e178', type: 'qemu' },
  });
});

test('sizes keep full 64-bit precision', () => {
  const d = describeCheckpoint(
    '<domaincheckpoint><name>c</name><disks><disk name="vda" size="18446744073709551615"/>' +
      '<disk name="vdb" checkpoint="bitmap" size="9007199254740993"/></disks></domaincheckpoint>',
  );
  expect(d.disks.map((x) => x.size)).toEqual([18446744073709551615n, 9007199254740993n]);
  // checkpoint_conf.c: a listed disk without a checkpoint attribute gets a bitmap.
  expect(d.disks[0]!.checkpoint).toBe('bitmap');
});

test.each([
  ['a size beyond 64 bits', '<domaincheckpoint><name>c</name><disks><disk name="a" size="18446744073709551616"/></disks></domaincheckpoint>', /disk\[0\]@size/],
  ['a negative size', '<domaincheckpoint><name>c</name><disks><disk name="a" size="-1"/></disks></domaincheckpoint>', /disk\[0\]@size/],
  ['a fractional size', '<domaincheckpoint><name>c</name><disks><disk name="a" size="1.5"/></disks></domaincheckpoint>', /disk\[0\]@size/],
  ['an unknown checkpoint kind', '<domaincheckpoint><name>c</name><disks><disk name="a" checkpoint="yes"/></disks></domaincheckpoint>', /@checkpoint: expected one of bitmap, no/],
  ['no name', '<domaincheckpoint/>', /domaincheckpoint.name: missing/],
  ['another root element', '<domainsnapshot><name>c</name></domainsnapshot>', /expected a <domaincheckpoint> document/],
])('%s is an XmlError naming the field', (_name, xml, message) => {
  expect(() => describeCheckpoint(xml)).toThrow(XmlError);
  expect(() => describeCheckpoint(xml)).toThrow(message);
});
