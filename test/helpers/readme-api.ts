/**
 * What README.md says the package exports, read so that new sections are picked up without touching this file:
 *
 * - every fenced code block: `import { a, b } from 'libvirt-rpc[/entry]'` and
 *   `const { a, b } = require('libvirt-rpc[/entry]')` name runtime exports of that entry (`type X` and
 *   `import type` are skipped: they are checked by compiling);
 * - every block that follows a `<!-- exports: libvirt-rpc[/entry] -->` comment (up to the next blank line): each
 *   backticked name in a list or paragraph (`` `computeRetention` ``, `` `computeRetention(...)` ``), and in a
 *   table the first column's only;
 * - every fenced block that follows `<!-- example: FILE -->` is an example meant to run (or, for TypeScript,
 *   to compile) as written, saved as FILE in a consumer project.
 */

/** Each entry point of the package and the source module it is built from (src/x -> dist/{esm,cjs}/src/x.js). */
export const ENTRY_SOURCES: Readonly<Record<string, string>> = {
  'libvirt-rpc': 'src/index',
  'libvirt-rpc/core': 'src/core',
  'libvirt-rpc/raw': 'src/raw',
  'libvirt-rpc/scheduler': 'src/scheduler/index',
  'libvirt-rpc/transport': 'src/transport/index',
  'libvirt-rpc/events': 'src/events/index',
  'libvirt-rpc/node': 'src/node/index',
};

/** Entry specifier (`libvirt-rpc`, `libvirt-rpc/core`, ...) to the names the README says it exports. */
export type DocumentedExports = Map<string, Set<string>>;

/** A fenced code block. */
export interface CodeBlock {
  lang: string;
  code: string;
  /** The file name given by a preceding `<!-- example: FILE -->`, if any. */
  example: string | null;
  /** 1-based line of the opening fence. */
  line: number;
}

const FENCE = /^(`{3,}|~{3,})\s*([\w-]*)/;

/** The fenced code blocks of a Markdown text, in order. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const out: CodeBlock[] = [];
  let pendingExample: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*example:\s*(\S+)\s*-->/.exec(lines[i]!);
    if (marker) {
      pendingExample = marker[1]!;
      continue;
    }
    const open = FENCE.exec(lines[i]!);
    if (!open) {
      if (lines[i]!.trim() !== '') pendingExample = null;
      continue;
    }
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j]!.startsWith(fence); j++) body.push(lines[j]!);
    out.push({ lang: open[2] ?? '', code: body.join('\n'), example: pendingExample, line: i + 1 });
    pendingExample = null;
    i = j;
  }
  return out;
}

const ENTRY = /^libvirt-rpc(\/[\w-]+)?$/;

function add(map: DocumentedExports, entry: string, name: string): void {
  let set = map.get(entry);
  if (!set) map.set(entry, (set = new Set()));
  set.add(name);
}

/** Names in `{ a, b as c, type T }` (the exported names: `a`, `b`; types skipped). */
function bracedNames(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('type '))
    .map((s) => s.split(/\s+as\s+|\s*:\s*/)[0]!.trim())
    .filter((s) => /^[A-Za-z_$][\w$]*$/.test(s));
}

/** Runtime names imported or required from the package in code `code`. */
export function namesInCode(code: string, into: DocumentedExports = new Map()): DocumentedExports {
  const text = code.replace(/\/\/[^\n]*/g, '');
  for (const m of text.matchAll(/import\s+(type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    if (m[1] || !ENTRY.test(m[3]!)) continue;
    for (const n of bracedNames(m[2]!)) add(into, m[3]!, n);
  }
  for (const m of text.matchAll(/(?:const|let|var)\s*\{([^}]*)\}\s*=\s*require\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    if (!ENTRY.test(m[2]!)) continue;
    for (const n of bracedNames(m[1]!)) add(into, m[2]!, n);
  }
  return into;
}

/** Names listed after `<!-- exports: ENTRY -->` markers. */
export function namesInLists(markdown: string, into: DocumentedExports = new Map()): DocumentedExports {
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const marker = /^<!--\s*exports:\s*(\S+)\s*-->/.exec(lines[i]!);
    if (!marker) continue;
    const entry = marker[1]!;
    if (!ENTRY.test(entry)) throw new Error(`README line ${i + 1}: '${entry}' is not an entry of libvirt-rpc`);
    for (let j = i + 1; j < lines.length && lines[j]!.trim() !== ''; j++) {
      let line = lines[j]!;
      if (line.trimStart().startsWith('|')) {
        if (/^\s*\|[\s:|-]+\|\s*$/.test(line)) continue; // the header's rule
        line = line.split('|')[1] ?? '';
        if (j === i + 1) continue; // the header row
      }
      for (const m of line.matchAll(/`([A-Za-z_$][\w$]*)(?:\([^`]*\))?`/g)) add(into, entry, m[1]!);
    }
  }
  return into;
}

/** Everything the README says the package exports, by entry. */
export function documentedExports(markdown: string): DocumentedExports {
  const map: DocumentedExports = new Map();
  for (const block of codeBlocks(markdown)) {
    if (/^(js|javascript|ts|typescript|mjs|cjs|mts|cts)$/.test(block.lang)) namesInCode(block.code, map);
  }
  namesInLists(markdown, map);
  return map;
}

/** The documented names missing from `actual` (entry -> its runtime export names), as `entry: name` lines. */
export function missingExports(documented: DocumentedExports, actual: (entry: string) => Set<string>): string[] {
  const missing: string[] = [];
  for (const [entry, names] of documented) {
    const have = actual(entry);
    for (const n of names) if (!have.has(n)) missing.push(`${entry}: ${n}`);
  }
  return missing.sort();
}
