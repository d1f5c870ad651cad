/**
 * The CLI's output layouts. Expected texts are byte copies of what virsh 9.0 printed on this machine for the
 * same data (tables and trees of snapshot-list/checkpoint-list, `-q` tables, info lines, creation times).
 */
import {
  escapeXml, formatCreationTime, formatInfo, formatTable, formatTree, safeCell, sortByName, splitCommaList,
} from '../../src/cli/format';

describe('formatTable (vsh-table.c)', () => {
  it('lays out snapshot-list as virsh does', () => {
    const rows = [
      ['s1', '2026-11-22 04:07:41 +0000', 'running'],
      ['s2', '2026-11-22 04:07:41 +0000', 'running'],
    ];
    expect(formatTable(['Name', 'Creation Time', 'State'], rows)).toBe(
      ' Name   Creation Time               State\n' +
      '---------------------------------------------\n' +
      ' s1     2026-11-22 04:07:41 +0000   running\n' +
      ' s2     2026-11-22 04:07:41 +0000   running\n',
    );
  });

  it('pads an empty last cell (a root in the Parent column) like virsh, trailing spaces included', () => {
    const rows = [
      ['s1', '2026-11-22 04:07:41 +0000', 'running', ''],
      ['s2', '2026-11-22 04:07:41 +0000', 'running', 's1'],
    ];
    expect(formatTable(['Name', 'Creation Time', 'State', 'Parent'], rows)).toBe(
      ' Name   Creation Time               State     Parent\n' +
      '------------------------------------------------------\n' +
      ' s1     2026-11-22 04:07:41 +0000   running   \n' +
      ' s2     2026-11-22 04:07:41 +0000   running   s1\n',
    );
  });

  it('without the header (virsh -q), columns are as wide as the data only', () => {
    expect(formatTable(['Name', 'Creation Time', 'State'], [['s1', '2026-11-22 04:07:41 +0000', 'running']], false)).toBe(
      ' s1   2026-11-22 04:07:41 +0000   running\n',
    );
  });

  it('prints only the header and dashes for an empty list', () => {
    expect(formatTable(['Name', 'Creation Time'], [])).toBe(' Name   Creation Time\n-----------------------\n');
  });

  it('shows control characters as \\xNN, four columns wide, and counts wide characters as two', () => {
    expect(safeCell('a\tb')).toEqual({ text: 'a\\x09b', width: 6 });
    expect(safeCell('a\\xb')).toEqual({ text: 'a\\x5cxb', width: 7 });
    expect(safeCell('日本')).toEqual({ text: '日本', width: 4 });
    expect(safeCell('é')).toEqual({ text: 'é', width: 1 });
    expect(formatTable(['N', 'X'], [['日本', 'y'], ['ab', 'z']])).toBe(' N      X\n-----------\n 日本   y\n ab     z\n');
  });
});

describe('formatTree (vshTreePrint)', () => {
  it('draws branches with | and +- and ends a last leaf with its indent line', () => {
    const items = [
      { name: 'A5', parent: 's4' }, { name: 'b6', parent: 'A5' }, { name: 's1', parent: null },
      { name: 's2', parent: 's1' }, { name: 's3', parent: 's1' }, { name: 's4', parent: 's2' },
    ];
    expect(formatTree(items)).toBe(
      's1\n' +
      '  |\n' +
      '  +- s2\n' +
      '  |   |\n' +
      '  |   +- s4\n' +
      '  |       |\n' +
      '  |       +- A5\n' +
      '  |           |\n' +
      '  |           +- b6\n' +
      '  |             \n' +
      '  +- s3\n' +
      '    \n',
    );
  });

  it('draws a chain (checkpoint-list --tree) and a lone root', () => {
    expect(formatTree([{ name: 'c1', parent: null }, { name: 'c2', parent: 'c1' }, { name: 'c3', parent: 'c2' }])).toBe(
      'c1\n  |\n  +- c2\n      |\n      +- c3\n        \n',
    );
    expect(formatTree([{ name: 'b6', parent: null }])).toBe('b6\n\n');
  });

  it('draws several roots in list order and leaves out items whose parent is not listed', () => {
    expect(formatTree([{ name: 'r1', parent: null }, { name: 'x', parent: 'gone' }, { name: 'r2', parent: null }, { name: 'k', parent: 'r2' }])).toBe(
      'r1\n\nr2\n  |\n  +- k\n    \n',
    );
  });
});

describe('small helpers', () => {
  it('formatInfo pads labels to 15 columns (virsh %-15s)', () => {
    expect(formatInfo([['Name:', 's1'], ['Children:', 2], ['Descendants:', 5]])).toBe(
      'Name:           s1\nChildren:       2\nDescendants:    5\n',
    );
  });

  it('formatCreationTime prints local time with a numeric offset', () => {
    expect(formatCreationTime(1795320461, 0)).toBe('2026-11-22 04:07:41 +0000');
    expect(formatCreationTime(1795320461, 120)).toBe('2026-11-22 06:07:41 +0200');
    expect(formatCreationTime(1795320461, -330)).toBe('2026-11-21 22:37:41 -0530');
    const offset = -new Date(1795320461 * 1000).getTimezoneOffset();
    expect(formatCreationTime(1795320461)).toBe(formatCreationTime(1795320461, offset));
  });

  it('sortByName folds ASCII case only (strcasecmp) and keeps ties in place', () => {
    expect(sortByName(['s2', 'B8', 'a7', 'S1', '_x', 'é'], (s) => s)).toEqual(['_x', 'a7', 'B8', 'S1', 's2', 'é']);
    expect(sortByName(['A', 'a', 'A'], (s) => s)).toEqual(['A', 'a', 'A']);
  });

  it('splitCommaList: ",," is a literal comma, a trailing comma makes an empty item (vshStringToArray)', () => {
    expect(splitCommaList('vda,snapshot=external,file=/p/a,,b')).toEqual(['vda', 'snapshot=external', 'file=/p/a,b']);
    expect(splitCommaList('vda,,x,')).toEqual(['vda,x', '']);
    expect(splitCommaList('')).toEqual(['']);
  });

  it('escapeXml escapes markup and quotes and drops control characters (virBufferEscapeString)', () => {
    expect(escapeXml(`n'q"<&>`)).toBe('n&apos;q&quot;&lt;&amp;&gt;');
    expect(escapeXml('a\u0001b\tc\nd')).toBe('ab\tc\nd');
  });
});
