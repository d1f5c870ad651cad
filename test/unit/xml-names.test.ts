/**
 * Snapshot and checkpoint names are accepted exactly when libvirt accepts them: the QEMU driver's rules for
 * snapshots, and domaincheckpoint.rng's `checkpointName` pattern (checked against virt-xml-validate) for
 * checkpoints.
 */

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../src/errors';
import { isValidCheckpointName, isValidSnapshotName, validateCheckpointName, validateSnapshotName } from '../../src/objects/xml';
import { escapeText } from '../../src/objects/xml/xml-writer';
import { xmlText } from '../fixtures/xml/arbitraries';

test.each([
  ['s1', true],
  ['with spaces and <markup> & "quotes"', true],
  ['é漢🙂', true],
  ['-leading-dash', true],
  ['..', false],
  ['.hidden', false],
  ['a/b', false],
  ['/', false],
  ['', false],
  ['line\nbreak', true],
  ['carriage\rreturn', false],
  ['nul\u0000', false],
])('snapshot name %j valid: %s', (name, valid) => {
  expect(isValidSnapshotName(name)).toBe(valid);
});

test.each([
  ['c1', true],
  ['-x.y', true],
  ['_', true],
  ['1525889631', true],
  ['.c', false],
  ['a b', false],
  ['a/b', false],
  ['é', false],
  ['', false],
  ['a\n', false],
  ['c'.repeat(1023), true],
  ['c'.repeat(1024), false],
])('checkpoint name %j valid: %s', (name, valid) => {
  expect(isValidCheckpointName(name)).toBe(valid);
});

test('validators return the name or throw InvalidArgumentError naming the field', () => {
  expect(validateSnapshotName('s')).toBe('s');
  expect(validateCheckpointName('c')).toBe('c');
  expect(() => validateSnapshotName('a/b', 'opts.name')).toThrow(InvalidArgumentError);
  expect(() => validateSnapshotName('a/b', 'opts.name')).toThrow(/^opts\.name: /);
  expect(() => validateCheckpointName(42)).toThrow('name: expected a string');
});

test('checkpoint names are valid exactly when domaincheckpoint.rng accepts them', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xml-names-'));
  try {
    const candidates = fc.sample(
      fc.oneof(fc.stringMatching(/^[a-zA-Z0-9_.\- /é]{1,12}$/), xmlText(1, 6).filter((s) => !/[\r]/.test(s))),
      { numRuns: 80, seed: 21 },
    );
    const files = candidates.map((name, i) => {
      const file = path.join(dir, `${i}.xml`);
      // A CR would read back as LF and change the name under test; the filter above keeps it out.
      fs.writeFileSync(file, `<domaincheckpoint><name>${escapeText(name)}</name></domaincheckpoint>\n`);
      return file;
    });
    const script = 'for f in "$@"; do if virt-xml-validate "$f" domaincheckpoint >/dev/null 2>&1; then echo ok; else echo bad; fi; done';
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('sh', ['-c', script, 'sh', ...files], { timeout: 60_000 }, (err, out) => (err ? reject(err) : resolve(out)));
    });
    const verdicts = stdout.trim().split('\n');
    expect(verdicts).toHaveLength(candidates.length);
    const mismatches = candidates.filter((name, i) => isValidCheckpointName(name) !== (verdicts[i] === 'ok'));
    expect(mismatches).toEqual([]);
    // Both outcomes occur, so the comparison means something.
    expect(verdicts).toContain('ok');
    expect(verdicts).toContain('bad');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
