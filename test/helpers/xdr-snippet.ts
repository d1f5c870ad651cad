/**
 * Compiles an `.x` snippet with the real generator and loads the result as a module, so generator tests
 * exercise the emitted code itself rather than its text.
 */
import * as path from 'node:path';
import * as ts from 'typescript';
import { generateFromSource } from '../../scripts/xdrgen/main';

const ROOT = path.resolve(__dirname, '..', '..');

/** The generated TypeScript for a snippet. */
export function snippetSource(src: string, constants: Record<string, number> = {}): string {
  const files = generateFromSource(src, 'snippet.x', path.join(ROOT, 'test', 'generated-demo'), 'test', new Map(Object.entries(constants)));
  return [...files.values()][0];
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a generated module's exports are untyped here */
/** Generates, transpiles and evaluates a snippet; returns its exports. */
export function compileSnippet(src: string, constants: Record<string, number> = {}): Record<string, any> /* the generated module's exports */ {
  const text = snippetSource(src, constants);
  const js = ts.transpileModule(text, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const mod = { exports: {} as Record<string, any> /* the generated module's exports */ };
  // The generated module imports the runtime as '../../src/protocol/xdr.js'; in the checkout that is a .ts file.
  const localRequire = (p: string): unknown => require(path.resolve(ROOT, 'test', 'generated-demo', p).replace(/\.js$/, ''));
  new Function('require', 'module', 'exports', js)(localRequire, mod, mod.exports);
  return mod.exports;
}
