// What each entry point costs in a bundle: esbuild bundles (minified) of the whole of every entry point, of the
// consumer test's browser programs, and of the XML reader alone, from the build in dist/ (built first when
// stale). Prints a Markdown table of minified and gzipped sizes. `npm run size`.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { gzipSync } = require('node:zlib');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
execFileSync(process.execPath, [path.join(__dirname, 'build.cjs')], { stdio: 'inherit' });

/** Node bundles keep the dependencies and Node's modules outside; browser bundles carry everything. */
const NODE_EXTERNAL = ['ssh2', '@hapi/bourne'];

const programs = [
  { name: 'libvirt-rpc (everything)', platform: 'node', code: "export * from 'libvirt-rpc';" },
  { name: 'libvirt-rpc/transport (everything)', platform: 'node', code: "export * from 'libvirt-rpc/transport';" },
  { name: 'libvirt-rpc/core (everything)', platform: 'browser', code: "export * from 'libvirt-rpc/core';" },
  { name: 'libvirt-rpc/raw (everything)', platform: 'browser', code: "export * from 'libvirt-rpc/raw';" },
  { name: 'libvirt-rpc/scheduler (everything)', platform: 'browser', code: "export * from 'libvirt-rpc/scheduler';" },
  { name: 'libvirt-rpc/events (everything)', platform: 'browser', code: "export * from 'libvirt-rpc/events';" },
  { name: 'libvirt-rpc/node (everything)', platform: 'node', code: "export * from 'libvirt-rpc/node';" },
  { name: 'computeRetention alone', platform: 'browser', code: "export { computeRetention } from 'libvirt-rpc/scheduler';" },
  { name: 'snapshot-tree program (test/consumer)', platform: 'browser', file: 'test/consumer/snapshot-tree.ts' },
  { name: 'describeSnapshot alone (test/consumer)', platform: 'browser', file: 'test/consumer/describe-snapshot.ts' },
  { name: 'parseXml alone (the XML reader)', platform: 'browser', code: "export { parseXml } from 'libvirt-rpc/core';" },
];

async function size(p) {
  const result = await esbuild.build({
    ...(p.file ? { entryPoints: [path.join(root, p.file)] } : { stdin: { contents: p.code, resolveDir: root, loader: 'js' } }),
    bundle: true, minify: true, write: false, format: 'esm', platform: p.platform, logLevel: 'error',
    external: p.platform === 'node' ? NODE_EXTERNAL : [],
  });
  const code = result.outputFiles[0].contents;
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length };
}

(async () => {
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  process.stdout.write('| bundle | platform | minified | gzipped |\n| --- | --- | ---: | ---: |\n');
  for (const p of programs) {
    const s = await size(p);
    process.stdout.write(`| ${p.name} | ${p.platform} | ${kb(s.min)} | ${kb(s.gz)} |\n`);
  }
})().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
