// Builds the snapshot page into a folder (default examples/browser/dist): esbuild bundles app.ts with
// libvirt-rpc's browser-safe core, and index.html is copied beside the bundle. Serve the folder with any static
// server. `libvirt-rpc/core` is mapped to the sources here; a project of your own imports the installed package.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

/** Builds into `outdir`; resolves to esbuild's metafile (what went into the bundle, and sizes). */
async function buildPage(outdir = path.join(__dirname, 'dist')) {
  const esbuild = require('esbuild');
  fs.mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    entryPoints: [path.join(__dirname, 'app.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: root,
    alias: { 'libvirt-rpc/core': './src/core.ts' },
    outfile: path.join(outdir, 'app.js'),
  });
  fs.copyFileSync(path.join(__dirname, 'index.html'), path.join(outdir, 'index.html'));
  return result.metafile;
}

module.exports = { buildPage };

if (require.main === module) {
  buildPage(process.argv[2]).then((meta) => {
    for (const [file, out] of Object.entries(meta.outputs)) if (file.endsWith('.js')) process.stdout.write(`${file}: ${out.bytes} bytes\n`);
  }, (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
