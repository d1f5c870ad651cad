/**
 * Every XML document the spec builders produce validates against libvirt's RelaxNG schemas, checked with
 * `virt-xml-validate` (Debian's libvirt-clients). Files are written to a temporary folder and validated in
 * one shell loop per schema to keep the run short.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  backupSpecToXml,
  checkpointSpecToXml,
  snapshotSpecToXml,
  type BackupSpec,
  type CheckpointSpec,
  type SnapshotSpec,
} from '../../src/objects/xml';
import { InvalidArgumentError } from '../../src/errors';
import { backupSpec, checkpointSpec, snapshotSpec, TEST_DOMAIN_XML } from '../fixtures/xml/arbitraries';

type Schema = 'domainsnapshot' | 'domaincheckpoint' | 'domainbackup';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xml-schema-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Validates documents in one `sh` loop; resolves to the failures as `file: validator output`. */
async function validate(schema: Schema, docs: readonly string[]): Promise<string[]> {
  const files = docs.map((doc, i) => {
    const file = path.join(dir, `${schema}-${Date.now()}-${i}.xml`);
    fs.writeFileSync(file, doc);
    return file;
  });
  const script = 'schema=$1; shift; for f in "$@"; do out=$(virt-xml-validate "$f" "$schema" 2>&1) || printf "FAIL %s\\n%s\\n" "$f" "$out"; done; echo DONE';
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('sh', ['-c', script, 'sh', schema, ...files], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, out, errOut) => {
      if (err) reject(new Error(`virt-xml-validate batch failed: ${err.message}\n${errOut}`));
      else resolve(out);
    });
  });
  // The loop must have run to the end: a missing validator would print FAIL for every file, not skip.
  expect(stdout.trimEnd().endsWith('DONE')).toBe(true);
  const failures = stdout.split(/^FAIL /m).slice(1);
  return failures.map((f) => {
    const file = f.split('\n')[0]!;
    return `${fs.readFileSync(file, 'utf8')}\n--> ${f}`;
  });
}

const SAMPLES = 60;

function samples<T>(arb: fc.Arbitrary<T>, seed: number): T[] {
  return fc.sample(arb, { numRuns: SAMPLES, seed });
}

describe('virt-xml-validate', () => {
  test('rejects a broken document (the check can fail)', async () => {
    const failures = await validate('domainsnapshot', ['<domainsnapshot><bogus/></domainsnapshot>\n']);
    expect(failures).toHaveLength(1);
  });
});

describe('snapshotSpecToXml output validates against domainsnapshot.rng', () => {
  const fixed: SnapshotSpec[] = [
    {},
    { name: 's1' },
    { name: 'with <markup> & "quotes"', description: 'multi\nline\r\n\ttext <&>' },
    { memory: { snapshot: 'no' }, disks: [{ name: 'vda', snapshot: 'no' }] },
    { memory: { snapshot: 'internal' }, disks: [{ name: 'vda', snapshot: 'internal' }, { name: 'vdb', snapshot: 'manual' }] },
    { memory: { file: '/var/lib/libvirt/qemu/snap.mem' } },
    {
      memory: { snapshot: 'external', file: '/m' },
      disks: [
        { name: 'vda', source: '/path/to/new' },
        { name: 'vdb', snapshot: 'no' },
        { name: 'vdc', snapshot: 'external', type: 'block', source: '/dev/vg/snap', driverType: 'qcow2' },
        { name: '/var/lib/libvirt/images/disk.img', driverType: 'qcow2' },
      ],
    },
    { disks: [] },
    {
      name: 'redefined',
      redefine: { state: 'shutoff', creationTime: 1270477159, parent: 'base', domainXml: TEST_DOMAIN_XML },
      memory: { snapshot: 'no' },
    },
    { name: 'r2', redefine: { state: 'disk-snapshot', creationTime: new Date('2020-01-01T00:00:00Z') } },
    { name: 'r3', redefine: { state: 'running', creationTime: 0, domainXml: `<?xml version="1.0"?>\n${TEST_DOMAIN_XML}` } },
  ];

  test('hand-picked specs', async () => {
    expect(await validate('domainsnapshot', fixed.map(snapshotSpecToXml))).toEqual([]);
  });

  test('random valid specs', async () => {
    expect(await validate('domainsnapshot', samples(snapshotSpec, 1).map(snapshotSpecToXml))).toEqual([]);
  });
});

describe('checkpointSpecToXml output validates against domaincheckpoint.rng', () => {
  const fixed: CheckpointSpec[] = [
    {},
    { name: 'c1', description: 'Completion of updates <after> OS install' },
    { disks: [{ name: 'vda', checkpoint: 'bitmap' }, { name: 'vdb', checkpoint: 'no' }] },
    { name: 'c2', disks: [{ name: 'vda', bitmap: 'c2' }, { name: '/images/disk 2.qcow2' }] },
    { name: 'r1', redefine: { creationTime: 1525889631, parent: '1525111885', domainXml: TEST_DOMAIN_XML } },
    { name: 'r2', redefine: { creationTime: new Date() } },
  ];

  test('hand-picked specs', async () => {
    expect(await validate('domaincheckpoint', fixed.map(checkpointSpecToXml))).toEqual([]);
  });

  test('random valid specs', async () => {
    expect(await validate('domaincheckpoint', samples(checkpointSpec, 2).map(checkpointSpecToXml))).toEqual([]);
  });
});

describe('backupSpecToXml output validates against domainbackup.rng', () => {
  const fixed: BackupSpec[] = [
    {},
    { mode: 'push' },
    {
      disks: [
        { name: 'vda', backup: true },
        { name: 'vdb', type: 'file', target: '/path/to/vdb.backup', format: 'raw' },
        { name: 'vdc', backup: false },
      ],
    },
    { incremental: 'c1', disks: [{ name: 'vda', backupMode: 'incremental' }, { name: 'vdb', backupMode: 'full' }] },
    { disks: [{ name: 'sda', type: 'block', target: '/dev/backup/sda' }] },
    {
      mode: 'pull',
      incremental: '1525889631',
      server: { transport: 'unix', socket: '/path/to/server' },
      disks: [{ name: 'vda', backup: true, type: 'file', scratch: '/path/to/file1.scratch' }],
    },
    { mode: 'pull', server: { name: 'localhost', port: 10809, tls: true } },
    { mode: 'pull', server: { transport: 'tcp', name: '192.0.2.7' }, disks: [{ name: 'vda', exportName: 'e', exportBitmap: 'b' }] },
    { mode: 'pull', server: { name: '::1' }, disks: [{ name: 'vda', type: 'block', scratch: '/dev/sdz', format: 'qcow2' }] },
    { mode: 'pull', server: { name: 'fe80::1:2' }, disks: [{ name: 'vda', scratch: '/s.qcow2', format: 'qcow2' }, { name: 'vdb', backup: false }] },
  ];

  test('hand-picked specs', async () => {
    expect(await validate('domainbackup', fixed.map(backupSpecToXml))).toEqual([]);
  });

  test('random valid specs', async () => {
    expect(await validate('domainbackup', samples(backupSpec, 3).map(backupSpecToXml))).toEqual([]);
  });

  test('every IPv6 server address the builder accepts validates', async () => {
    const docs: string[] = [];
    let refused = 0;
    for (const name of fc.sample(fc.ipV6(), { numRuns: 80, seed: 4 })) {
      try {
        docs.push(backupSpecToXml({ mode: 'pull', server: { name } }));
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidArgumentError);
        refused++;
      }
    }
    // The builder refuses only the few forms the schema's pattern misses (e.g. `1::2:1.2.3.4`).
    expect(refused).toBeLessThan(docs.length);
    expect(await validate('domainbackup', docs)).toEqual([]);
  });
});
