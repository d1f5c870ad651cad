/**
 * `sideEffects` in package.json lists exactly the modules that do something when imported.
 *
 * Each module of the package (src/ but the CLI, which only runs as the bin, and generated/) is bundled on its own
 * with esbuild, as `import "module"` with its imports resolved the way the package declares them (modules not in
 * `sideEffects` may be dropped). What esbuild cannot drop is that module's import-time work. A module not listed
 * may leave declarations esbuild cannot prove pure (constant tables, `new TextDecoder()`), but no statement that
 * runs for its effect (a call, an assignment, an `if`); a listed module must have one. A module that needs one
 * must be listed (and documented), or its call marked `/* @__PURE__ *\/` when it has no effect.
 */
import { build, type Plugin } from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { sideEffects: string[] };

/** The source files of the modules package.json lists (./dist/{esm,cjs}/src/x.js -> src/x.ts). */
const listed = new Set(pkg.sideEffects.map((f) => path.join(ROOT, f.replace(/^\.\/dist\/(esm|cjs)\//, '').replace(/\.js$/, '.ts'))));

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter((f) => !f.startsWith(path.join(ROOT, 'src', 'cli') + path.sep))
    .sort();
}

function resolveTs(file: string): string {
  return file.endsWith('.js') && !fs.existsSync(file) ? `${file.slice(0, -3)}.ts` : file;
}

/** esbuild's output for `import "file"`: the module's own import-time code and what it pulls in. */
async function importTimeCode(file: string): Promise<string> {
  const plugin: Plugin = {
    name: 'package-side-effects',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (a) => {
        if (a.importer === '<stdin>') return { path: file, sideEffects: true };
        if (a.kind === 'dynamic-import' || !a.path.startsWith('.')) return { path: a.path, external: true, sideEffects: false };
        const target = resolveTs(path.resolve(a.resolveDir, a.path));
        return { path: target, sideEffects: listed.has(target) };
      });
    },
  };
  const out = await build({
    stdin: { contents: `import ${JSON.stringify(file)};`, resolveDir: ROOT, loader: 'js' },
    bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'silent', plugins: [plugin],
  });
  return out.outputFiles[0]!.text;
}

/** Whether a call is marked pure (`/* @__PURE__ *\/` before it), which bundlers drop when its value is unused. */
function markedPure(node: ts.Node): boolean {
  // The trivia between the previous token and the call.
  return /[@#]__PURE__/.test(node.getSourceFile().text.slice(node.pos, node.getStart()));
}

/**
 * A static block that only brands its own error class (`static { brandError(this, 'Name'); }`, src/errors.ts):
 * it defines properties on that class and nothing else, so a bundler that drops the class drops no effect.
 */
function brandsItsClass(node: ts.Node): boolean {
  return ts.isClassStaticBlockDeclaration(node) && node.body.statements.every((st) =>
    ts.isExpressionStatement(st) && ts.isCallExpression(st.expression) && ts.isIdentifier(st.expression.expression) &&
    /^brandError\d*$/.test(st.expression.expression.text) && st.expression.arguments.length === 2 &&
    st.expression.arguments[0].kind === ts.SyntaxKind.ThisKeyword && ts.isStringLiteral(st.expression.arguments[1]));
}

/** Whether evaluating `node` (not the bodies of functions in it) calls or constructs anything not marked pure. */
function calls(node: ts.Node): boolean {
  if (ts.isFunctionLike(node) && !ts.isClassStaticBlockDeclaration(node)) return false;
  if (brandsItsClass(node)) return false;
  if ((ts.isCallExpression(node) || ts.isNewExpression(node) || ts.isTaggedTemplateExpression(node)) && !markedPure(node)) return true;
  if (ts.isClassLike(node)) {
    // The heritage clause, computed keys, static fields and static blocks run when the class is defined.
    return node.members.some((m) => (m.name !== undefined && ts.isComputedPropertyName(m.name) && calls(m.name)) ||
      ((ts.isPropertyDeclaration(m) || ts.isClassStaticBlockDeclaration(m)) &&
        (ts.isClassStaticBlockDeclaration(m) || m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) && calls(m))) ||
      (node.heritageClauses ?? []).some((h) => h.types.some((t) => calls(t.expression)));
  }
  return ts.forEachChild(node, (c) => (calls(c) ? true : undefined)) ?? false;
}

/**
 * Top-level statements that run for their effect: anything but a declaration or a binding import, and
 * declarations esbuild kept that call or construct something while the module loads.
 */
function effects(code: string): string[] {
  const sf = ts.createSourceFile('out.js', code, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  return sf.statements
    .filter((s) => {
      if (ts.isFunctionDeclaration(s) || ts.isExportDeclaration(s) || (ts.isImportDeclaration(s) && s.importClause !== undefined)) return false;
      if (ts.isVariableStatement(s) || ts.isClassDeclaration(s)) return calls(s);
      return true;
    })
    .map((s) => s.getText(sf).slice(0, 160));
}

/**
 * Modules whose import-time code esbuild keeps although it has no effect, and which this package does not own
 * the fix of. Each names why; remove an entry when its module is fixed.
 */
const KNOWN_PURE: Record<string, string> = {
  // The base class has a computed `[BRAND]` getter, so its `Symbol.for()` key stays: pure, and every module that
  // throws needs the class anyway.
  'src/errors.ts': 'Symbol.for brand key of the base error class',
};

describe('sideEffects in package.json', () => {
  const files = [...modules(path.join(ROOT, 'src')), ...modules(path.join(ROOT, 'generated'))];

  test('lists modules that exist', () => {
    expect(listed.size).toBeGreaterThan(0);
    for (const f of listed) expect(files).toContain(f);
  });

  test.each(files.map((f) => [path.relative(ROOT, f), f]))('%s', async (_name, file) => {
    const found = effects(await importTimeCode(file));
    if (listed.has(file)) expect(found.length).toBeGreaterThan(0);
    else if (!(path.relative(ROOT, file) in KNOWN_PURE)) expect(found).toEqual([]);
  });
});
