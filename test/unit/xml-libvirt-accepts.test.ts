/**
 * libvirt itself parses what the builders write: specs go through `virsh -c test:///default` (libvirt's test
 * driver runs inside virsh, no daemon needed) and the XML libvirt returns describes the same snapshot or
 * checkpoint. The test driver keeps state only for one connection, so each batch is one virsh invocation.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  checkpointSpecToXml,
  describeCheckpoint,
  describeSnapshot,
  snapshotSpecToXml,
  type CheckpointSpec,
  type SnapshotSpec,
} from '../../src/objects/xml';
import { checkpointName, snapshotName, TEST_DOMAIN_XML, xmlText } from '../fixtures/xml/arbitraries';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xml-virsh-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs one virsh session: for each document, `create` it and then `show` the result, separated by
 * `echo` markers. Returns what virsh printed for each document (its XML, or its error).
 */
async function virshBatch(kind: 'snapshot' | 'checkpoint', docs: string[], show: (i: number) => string, flags = ''): Promise<string[]> {
  const commands = docs.map((doc, i) => {
    const file = path.join(dir, `${kind}-${i}.xml`);
    fs.writeFileSync(file, doc);
    return `echo @@${i}@@; ${kind}-create test ${file} ${flags}; ${show(i)}`;
  });
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('virsh', ['-q', '-c', 'test:///default', `${commands.join('; ')}; echo @@END@@`], { timeout: 60_000, maxBuffer: 16 << 20 }, (err, out, errOut) => {
      // virsh exits non-zero when any command failed; the per-document output still tells which.
      if (err && !out.includes('@@END@@')) reject(new Error(`virsh failed: ${err.message}\n${errOut}`));
      else resolve(out + errOut);
    });
  });
  return docs.map((_, i) => {
    const start = stdout.indexOf(`@@${i}@@`);
    const end = stdout.indexOf(i + 1 < docs.length ? `@@${i + 1}@@` : '@@END@@');
    expect(start).toBeGreaterThanOrEqual(0);
    return stdout.slice(start + `@@${i}@@`.length, end);
  });
}

/**
 * libvirt writes a CR in text unescaped (virBufferEscapeString), so XML reads it back as LF: the one change
 * a description undergoes in libvirt's hands.
 */
const throughLibvirt = (text: string | undefined): string | null => text?.replace(/\r\n?/g, '\n') || null;

function xmlOf(output: string, root: string): string {
  const start = output.indexOf(`<${root}>`);
  const end = output.indexOf(`</${root}>`);
  if (start < 0 || end < 0) throw new Error(`no <${root}> in virsh output:\n${output}`);
  return output.slice(start, end + root.length + 3);
}

const snapshots = fc.uniqueArray(
  fc.record(
    {
      name: snapshotName,
      description: xmlText(),
      memory: fc.constant({ snapshot: 'internal' as const }),
      disks: fc.constant([{ name: 'vda', snapshot: 'internal' as const }]),
    },
    { requiredKeys: ['name'] },
  ),
  { minLength: 25, maxLength: 25, selector: (s) => s.name },
);

test('the test driver creates the snapshots the builder describes', async () => {
  const specs: SnapshotSpec[] = fc.sample(snapshots, { numRuns: 1, seed: 11 })[0]!;
  // Each new snapshot becomes the current one, so `snapshot-current` shows it without quoting its name.
  const outputs = await virshBatch('snapshot', specs.map(snapshotSpecToXml), () => 'snapshot-current test');
  specs.forEach((spec, i) => {
    const d = describeSnapshot(xmlOf(outputs[i]!, 'domainsnapshot'));
    expect(d.name).toBe(spec.name);
    expect(d.description).toBe(throughLibvirt(spec.description));
    expect(d.state).toBe('running');
    expect(d.memory).toEqual({ snapshot: 'internal', file: null });
    expect(d.disks.map((x) => [x.name, x.snapshot])).toEqual([['vda', 'internal']]);
    expect(d.parent).toBe(i === 0 ? null : specs[i - 1]!.name);
  });
});

test('the test driver redefines snapshot metadata as written', async () => {
  const specs: SnapshotSpec[] = [
    { name: 'base', redefine: { state: 'shutoff', creationTime: 1270477159, domainXml: TEST_DOMAIN_XML }, memory: { snapshot: 'no' } },
    { name: 'child <&>', description: 'redefined', redefine: { state: 'running', creationTime: new Date('2021-06-01T12:00:00Z'), parent: 'base', domainXml: TEST_DOMAIN_XML } },
  ];
  const outputs = await virshBatch('snapshot', specs.map(snapshotSpecToXml), () => 'snapshot-current test', '--redefine --current');
  const [base, child] = outputs.map((o) => describeSnapshot(xmlOf(o, 'domainsnapshot')));
  expect(base).toMatchObject({ name: 'base', state: 'shutoff', creationTime: new Date(1270477159 * 1000), parent: null });
  expect(child).toMatchObject({ name: 'child <&>', description: 'redefined', state: 'running', creationTime: new Date('2021-06-01T12:00:00Z'), parent: 'base' });
  expect(child!.domain).toEqual({ name: 'test', uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', type: 'test' });
});

test('the test driver creates the checkpoints the builder describes', async () => {
  const arb = fc.uniqueArray(
    fc.record(
      { name: checkpointName, description: xmlText(), disks: fc.constant([{ name: 'vda', checkpoint: 'bitmap' as const }]) },
      { requiredKeys: ['name'] },
    ),
    { minLength: 25, maxLength: 25, selector: (s) => s.name },
  );
  const specs: CheckpointSpec[] = fc.sample(arb, { numRuns: 1, seed: 12 })[0]!;
  // `--checkpointname=` keeps names that start with '-' from reading as options.
  const outputs = await virshBatch('checkpoint', specs.map(checkpointSpecToXml), (i) => `checkpoint-dumpxml test --checkpointname=${specs[i]!.name} --no-domain`);
  specs.forEach((spec, i) => {
    const d = describeCheckpoint(xmlOf(outputs[i]!, 'domaincheckpoint'));
    expect(d.name).toBe(spec.name);
    expect(d.description).toBe(throughLibvirt(spec.description));
    expect(d.disks).toEqual([{ name: 'vda', checkpoint: 'bitmap', bitmap: spec.name, size: null }]);
    expect(d.parent).toBe(i === 0 ? null : specs[i - 1]!.name);
    expect(d.domain).toBeNull();
  });
});
