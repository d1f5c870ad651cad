// Builds the package: dist/esm (ESM, the source of truth) and dist/cjs (CommonJS beside it), each with its
// declarations and a package.json that marks its module type, from a clean slate so that nothing a previous
// build left behind is shipped.
//
// `npm pack` runs both `prepack` and `prepare`, and `npm ci` runs `prepare`: a stamp (a hash of every input)
// lets the second and later runs on unchanged sources skip the work. `--force` rebuilds anyway.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');
const stampFile = path.join(dist, '.build-stamp');
const builds = [
  { config: 'tsconfig.esm.json', out: 'esm', type: 'module' },
  { config: 'tsconfig.cjs.json', out: 'cjs', type: 'commonjs' },
];
// Files that must exist after a build; a stamp without them is stale.
const expected = ['esm/src/index.js', 'esm/src/index.d.ts', 'cjs/src/index.js', 'cjs/src/index.d.ts', 'cjs/src/cli/main.js'];

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else yield p;
  }
}

function inputHash() {
  const h = crypto.createHash('sha256');
  const inputs = [
    ...files(path.join(root, 'src')),
    ...files(path.join(root, 'generated')),
    ...['tsconfig.json', 'tsconfig.build.json', ...builds.map((b) => b.config), 'scripts/build.cjs'].map((f) => path.join(root, f)),
    path.join(root, 'node_modules', 'typescript', 'package.json'),
  ];
  for (const f of inputs) h.update(path.relative(root, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  // Of package.json, only what the build copies into dist/ (a new script does not call for a rebuild).
  h.update(JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).sideEffects));
  return h.digest('hex');
}

/**
 * dist/<out>/package.json: the module type of the files below it and, because bundlers read `sideEffects` from
 * the package.json nearest to a file (this one, not the package's), the root's list with paths made relative.
 */
function marker(b) {
  const { sideEffects } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const prefix = `./dist/${b.out}/`;
  return { type: b.type, sideEffects: sideEffects.filter((f) => f.startsWith(prefix)).map((f) => `./${f.slice(prefix.length)}`) };
}

function tsc(config) {
  return new Promise((resolve, reject) => {
    const bin = require.resolve('typescript/bin/tsc');
    const child = spawn(process.execPath, [bin, '-p', path.join(root, config)], { cwd: root, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`tsc -p ${config} failed (${signal ?? `exit ${code}`})`))));
  });
}

async function main() {
  const force = process.argv.includes('--force');
  const hash = inputHash();
  const fresh = !force && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === hash && expected.every((f) => fs.existsSync(path.join(dist, f)));
  if (fresh) {
    process.stderr.write('libvirt-rpc: dist/ is up to date with the sources\n');
    return;
  }
  fs.rmSync(stampFile, { force: true });
  for (const b of builds) fs.rmSync(path.join(dist, b.out), { recursive: true, force: true });
  // The two compilations are independent; run them side by side.
  await Promise.all(builds.map((b) => tsc(b.config)));
  for (const b of builds) fs.writeFileSync(path.join(dist, b.out, 'package.json'), `${JSON.stringify(marker(b))}\n`);
  fs.chmodSync(path.join(dist, 'cjs/src/cli/main.js'), 0o755);
  for (const f of expected) if (!fs.existsSync(path.join(dist, f))) throw new Error(`the build did not produce dist/${f}`);
  fs.writeFileSync(stampFile, hash);
}

main().catch((err) => {
  process.stderr.write(`libvirt-rpc build: ${err.message}\n`);
  process.exit(1);
});
