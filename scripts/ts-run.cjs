// Runs a TypeScript entry point without a build step: every required .ts file is transpiled on load with
// TypeScript's own transpileModule (no type checking here; `npm run typecheck` does that).
//
// Transpiled output is cached on disk (node_modules/.cache/libvirt-rpc-ts-run), keyed by a hash of the source
// and of the compiler's version, so a second start skips TypeScript entirely: `npm run cli` in a checkout
// starts in a fraction of a second instead of transpiling the 1.5 MB of generated codecs every time.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const CACHE_DIR = path.resolve(__dirname, '..', 'node_modules', '.cache', 'libvirt-rpc-ts-run');
let ts = null; // loaded on the first cache miss only
let cacheUsable = true;

// Sources import siblings as './x.js', which is what Node's ESM loader needs; here that file is './x.ts'.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function resolveTs(request, parent, ...rest) {
  if (parent && parent.filename && parent.filename.endsWith('.ts') && /^\.{1,2}\/.*\.js$/.test(request)) {
    const candidate = path.resolve(path.dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

function typescriptVersion() {
  try {
    return require('typescript/package.json').version;
  } catch {
    return 'unknown';
  }
}
const SALT = `v2:${typescriptVersion()}:${process.version}`;

function transpile(source, filename) {
  ts ??= require('typescript');
  return ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      sourceMap: false,
      inlineSourceMap: true,
    },
  }).outputText;
}

function cached(source, filename) {
  const key = crypto.createHash('sha256').update(SALT).update('\0').update(filename).update('\0').update(source).digest('hex');
  const file = path.join(CACHE_DIR, `${key}.js`);
  if (cacheUsable) {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      // not cached yet
    }
  }
  const out = transpile(source, filename);
  if (cacheUsable) {
    try {
      fs.mkdirSync(CACHE_DIR, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, out);
      fs.renameSync(tmp, file);
    } catch {
      cacheUsable = false; // a read-only checkout still runs, only slower
    }
  }
  return out;
}

require.extensions['.ts'] = function compileTs(module, filename) {
  module._compile(cached(fs.readFileSync(filename, 'utf8'), filename), filename);
};

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node scripts/ts-run.cjs FILE.ts [args...]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
process.argv[1] = path.resolve(entry);
require(process.argv[1]);
