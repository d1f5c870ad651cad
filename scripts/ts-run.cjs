// Runs a TypeScript entry point without a build step: every required .ts file is transpiled on load with
// TypeScript's own transpileModule (no type checking here; `npm run typecheck` does that).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.CommonJS,
      esModuleInterop: true,
      sourceMap: false,
      inlineSourceMap: true,
    },
  });
  module._compile(out.outputText, filename);
};

const entry = process.argv[2];
if (!entry) {
  process.stderr.write('usage: node scripts/ts-run.cjs FILE.ts [args...]\n');
  process.exit(2);
}
process.argv.splice(1, 1);
process.argv[1] = path.resolve(entry);
require(process.argv[1]);
