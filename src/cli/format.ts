/**
 * Output in virsh's layouts: tables (tools/vsh-table.c), trees (vsh.c's vshTreePrint), `Key:  value` info
 * lines (`%-15s %s`), creation times (`%Y-%m-%d %H:%M:%S %z` in local time), and the small string helpers
 * virsh uses to build XML from `--diskspec`-style arguments (vshStringToArray, virBufferEscapeString).
 */

/**
 * How many terminal columns a string takes, and the string as the table prints it. Like vsh-table.c, control
 * characters (and a backslash starting `\x`) are shown as `\xNN`, four columns each; wide East Asian
 * characters count two columns, combining marks none.
 */
export function safeCell(text: string): { text: string; width: number } {
  let out = '';
  let width = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const code = c.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || (c === '\\' && text[i + 1] === 'x')) {
      out += `\\x${code.toString(16).padStart(2, '0')}`;
      width += 4;
      continue;
    }
    const cp = text.codePointAt(i) as number;
    const ch = String.fromCodePoint(cp);
    if (cp > 0xffff) i++;
    out += ch;
    width += charWidth(cp);
  }
  return { text: out, width };
}

/** wcwidth() for the ranges that matter in names: combining marks 0, East Asian wide and emoji 2, else 1. */
function charWidth(cp: number): number {
  if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0xfe00 && cp <= 0xfe0f)) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/**
 * A table as vshTablePrintToString lays it out: every cell is ` cell`, padded to its column's width plus two
 * spaces (the last cell is not padded), then a newline. With `header`, the header row comes first and then a
 * line of dashes, as long as the sum of (column width + 3); column widths count the header only when it is
 * printed (virsh -q leaves it out, and its columns shrink).
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], header = true): string {
  const all = header ? [headers, ...rows] : rows;
  const cells = all.map((row) => row.map(safeCell));
  const widths = headers.map((_, j) => Math.max(0, ...cells.map((row) => row[j]?.width ?? 0)));
  const line = (row: { text: string; width: number }[]): string =>
    row.map((cell, j) => (j < row.length - 1 ? ` ${cell.text}${' '.repeat(widths[j] - cell.width + 2)}` : ` ${cell.text}`)).join('') + '\n';
  let out = '';
  cells.forEach((row, i) => {
    out += line(row);
    if (header && i === 0) out += '-'.repeat(widths.reduce((sum, w) => sum + w + 3, 0)) + '\n';
  });
  return out;
}

/** One node of a list drawn as a tree: its name and its parent's name (null for a root). */
export interface TreeItem {
  name: string;
  parent: string | null;
}

/**
 * Draws `items` as virsh's snapshot-list/checkpoint-list `--tree` does: each item without a parent starts a
 * tree, in list order; children come in list order under `  |` and `+- `, with `|` continuing the line of a
 * child that has later siblings. A leaf that is the last of its siblings is followed by a line holding only
 * the indent (vshTreePrintInternal prints it, trailing spaces and all). An item whose parent is not in the
 * list is not drawn, as in virsh.
 */
export function formatTree(items: readonly TreeItem[]): string {
  let out = '';
  const print = (index: number, last: number, root: boolean, indent: string): void => {
    const name = items[index].name;
    out += `${indent}${root ? '' : '+- '}${name}\n`;
    let inner = indent;
    if (!root) inner += index === last ? '  ' : '| ';
    let lastChild = -1;
    items.forEach((item, i) => {
      if (item.parent !== null && item.parent === name) lastChild = i;
    });
    if (lastChild !== -1) out += `${inner}  |\n`;
    items.forEach((item, i) => {
      if (item.parent !== null && item.parent === name) print(i, lastChild, false, `${inner}  `);
    });
    if (lastChild === -1 && index === last) out += `${inner}\n`;
  };
  items.forEach((item, i) => {
    if (item.parent === null) print(i, i, true, '');
  });
  return out;
}

/** `Name:           value` lines: the label left-aligned in 15 columns, a space, the value (virsh's `%-15s %s`). */
export function formatInfo(lines: readonly (readonly [string, string | number])[]): string {
  return lines.map(([label, value]) => `${label.padEnd(15)} ${value}\n`).join('');
}

/**
 * A creation time as virsh 9.0 prints it: `2026-11-22 04:07:41 +0000`, in local time
 * (g_date_time_new_from_unix_local + `%Y-%m-%d %H:%M:%S %z`). `offsetMinutes` is the local offset east of
 * UTC at that instant; left out, the process's time zone (TZ) decides.
 */
export function formatCreationTime(seconds: number, offsetMinutes?: number): string {
  const offset = offsetMinutes ?? -new Date(seconds * 1000).getTimezoneOffset();
  const local = new Date((seconds + offset * 60) * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${p(local.getUTCFullYear(), 4)}-${p(local.getUTCMonth() + 1)}-${p(local.getUTCDate())} ` +
    `${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())} ${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
}

/**
 * virsh's order for listings: case-insensitive by name (vshStrcasecmp, an ASCII-only case fold), ties left
 * in place. Returns a new array.
 */
export function sortByName<T>(items: readonly T[], name: (item: T) => string): T[] {
  const fold = (s: string): string => s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return items
    .map((item, i) => ({ item, i, key: fold(name(item)) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.i - b.i))
    .map((e) => e.item);
}

/**
 * Splits a comma-separated argument as virsh's vshStringToArray does: `,,` is a literal comma, every other
 * comma separates (so a trailing comma gives an empty last item).
 */
export function splitCommaList(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== ',') {
      cur += text[i];
    } else if (text[i + 1] === ',') {
      cur += ',';
      i++;
    } else {
      out.push(cur);
      cur = '';
    }
  }
  out.push(cur);
  return out;
}

/**
 * Escapes text for XML as libvirt's virBufferEscapeString does: `<`, `>`, `&`, `'`, `"` become entities and
 * control characters other than tab, LF and CR are dropped.
 */
export function escapeXml(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    if (code < 0x20 && c !== '\t' && c !== '\n' && c !== '\r') continue;
    if (c === '<') out += '&lt;';
    else if (c === '>') out += '&gt;';
    else if (c === '&') out += '&amp;';
    else if (c === "'") out += '&apos;';
    else if (c === '"') out += '&quot;';
    else out += c;
  }
  return out;
}

/** JSON for scripts: two-space indent, one trailing newline. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
