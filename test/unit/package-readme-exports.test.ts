/**
 * The README and the package's entry points agree: every name README.md imports, requires or lists for an entry
 * (test/helpers/readme-api.ts says how it is read) is a runtime export of that entry's source module, and the
 * exports map of package.json has exactly these entries, each with types/import/require pointing at the build
 * of that module. (test/integration/package-consumer.test.ts checks the same against the packed package.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { codeBlocks, documentedExports, ENTRY_SOURCES, missingExports, namesInLists } from '../helpers/readme-api';

const ROOT = path.resolve(__dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

function runtimeNames(entry: string): Set<string> {
  const source = ENTRY_SOURCES[entry];
  if (source === undefined) return new Set();
  return new Set(Object.keys(require(path.join(ROOT, source)) as object));
}

describe('README.md and the entry points', () => {
  const documented = documentedExports(README);

  test('every documented name is exported by its entry', () => {
    expect(missingExports(documented, runtimeNames)).toEqual([]);
  });

  test('the README documents every entry, and names from each (so the check above has something to check)', () => {
    for (const entry of Object.keys(ENTRY_SOURCES)) expect(documented.get(entry)?.size ?? 0).toBeGreaterThan(0);
    for (const name of ['TlsError', 'SshError', 'KeepaliveTimeoutError', 'PolicyError', 'ScheduleLockedError', 'fromDuplex', 'computeRetention']) {
      expect(documented.get('libvirt-rpc')).toContain(name);
    }
  });

  test('the Node entry exports everything the other entries do', () => {
    const main = runtimeNames('libvirt-rpc');
    for (const entry of ['libvirt-rpc/core', 'libvirt-rpc/scheduler']) {
      expect([...runtimeNames(entry)].filter((n) => !main.has(n))).toEqual([]);
    }
  });

  test('package.json has one exports entry per entry point, with types, import and require', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const subpaths = Object.keys(ENTRY_SOURCES).map((e) => (e === 'libvirt-rpc' ? '.' : `./${e.slice('libvirt-rpc/'.length)}`));
    expect(Object.keys(pkg.exports).sort()).toEqual([...subpaths, './package.json'].sort());
    for (const [entry, source] of Object.entries(ENTRY_SOURCES)) {
      const key = entry === 'libvirt-rpc' ? '.' : `./${entry.slice('libvirt-rpc/'.length)}`;
      expect(pkg.exports[key]).toEqual({
        import: { types: `./dist/esm/${source}.d.ts`, default: `./dist/esm/${source}.js` },
        require: { types: `./dist/cjs/${source}.d.ts`, default: `./dist/cjs/${source}.js` },
      });
    }
  });
});

describe('how the README is read', () => {
  test('imports, requires, marked lists and the first column of marked tables', () => {
    const md = [
      '```js',
      "import { a, b as c, type T } from 'libvirt-rpc/core';",
      "const { d, e: f } = require('libvirt-rpc');",
      "import { other } from 'left-pad';",
      '```',
      '',
      '<!-- exports: libvirt-rpc/scheduler -->',
      '- `g`, `h(x, y)`, not `a.b` nor `ERR_*`-like `x y`',
      '',
      '- `notListed`',
      '',
      '<!-- exports: libvirt-rpc -->',
      '| class | code |',
      '| --- | --- |',
      '| `E1`, `E2` | `CODE` |',
      '',
      '<!-- example: demo.mjs -->',
      '```js',
      "import { z } from 'libvirt-rpc';",
      '```',
    ].join('\n');
    const docs = documentedExports(md);
    expect(Object.fromEntries([...docs].map(([k, v]) => [k, [...v].sort()]))).toEqual({
      'libvirt-rpc/core': ['a', 'b'],
      'libvirt-rpc': ['E1', 'E2', 'd', 'e', 'z'],
      'libvirt-rpc/scheduler': ['g', 'h'],
    });
    expect(codeBlocks(md).map((b) => b.example)).toEqual([null, 'demo.mjs']);
    expect(missingExports(docs, (entry) => new Set(entry === 'libvirt-rpc' ? ['E1', 'd', 'e', 'z'] : []))).toEqual([
      'libvirt-rpc/core: a', 'libvirt-rpc/core: b', 'libvirt-rpc/scheduler: g', 'libvirt-rpc/scheduler: h', 'libvirt-rpc: E2',
    ]);
    expect(() => namesInLists('<!-- exports: lodash -->\n`x`')).toThrow(/not an entry/);
  });
});
