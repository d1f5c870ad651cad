/**
 * The XML reader (src/objects/xml/parse.ts) beyond the safety cases of xml-parse-safety.test.ts: any tree of
 * elements, attributes and text written out as XML (with escapes, CDATA, comments, processing instructions and
 * either quote) reads back as the same tree; and the malformed documents a lax parser accepted, which differential
 * fuzzing against fast-xml-parser found, are refused with a position.
 */
import * as fc from 'fast-check';
import { XmlError } from '../../src/errors';
import { parseXml, type XmlElement } from '../../src/objects/xml';

interface Tree {
  name: string;
  attributes: [string, string][];
  /** Text pieces and child elements, in order. */
  content: (string | Tree)[];
}

const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_.:-]{0,8}$/).filter((n) => !['__proto__', 'constructor', 'prototype'].includes(n));
const text = fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '<', '>', '&', '"', "'", ']', '\n', '\t', 'é', '🙂'), maxLength: 12 });

const tree: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    name,
    attributes: fc.uniqueArray(fc.tuple(name, text), { selector: ([n]) => n, maxLength: 3 }),
    content: fc.array(fc.oneof({ depthSize: 'small' }, text, tie('tree')), { maxLength: 4 }),
  }),
})).tree;

const escapeText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttr = (s: string, q: string) =>
  escapeText(s).replace(q === '"' ? /"/g : /'/g, q === '"' ? '&quot;' : '&#39;').replace(/\n/g, '&#10;').replace(/\t/g, '&#x9;');

/** Writes `t` as XML; `style` picks quotes, CDATA and interleaved comments so that every form is exercised. */
function write(t: Tree, style: number): string {
  const q = style % 2 ? '"' : "'";
  const attrs = t.attributes.map(([n, v]) => ` ${n}${style % 3 ? '=' : ' = '}${q}${escapeAttr(v, q)}${q}`).join('');
  const body = t.content.map((c, i) => {
    if (typeof c !== 'string') return write(c, style + i + 1);
    if ((style + i) % 4 === 0 && !c.includes(']]>')) return `<![CDATA[${c}]]>`;
    return escapeText(c) + ((style + i) % 5 === 0 ? '<!-- note -->' : '') + ((style + i) % 7 === 0 ? '<?pi data?>' : '');
  }).join('');
  return body === '' && style % 2 ? `<${t.name}${attrs}/>` : `<${t.name}${attrs}>${body}</${t.name}${style % 3 ? '' : ' '}>`;
}

function expected(t: Tree): unknown {
  return {
    name: t.name,
    attributes: Object.fromEntries(t.attributes),
    text: t.content.filter((c): c is string => typeof c === 'string').join(''),
    children: t.content.filter((c): c is Tree => typeof c !== 'string').map(expected),
  };
}

function actual(e: XmlElement): unknown {
  return { name: e.name, attributes: Object.fromEntries(e.attributes), text: e.text, children: e.children.map(actual) };
}

test('any tree written as XML reads back as the same tree', () => {
  fc.assert(
    fc.property(tree, fc.nat(100), fc.boolean(), (t, style, declaration) => {
      const xml = `${declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${write(t, style)}\n`;
      expect(actual(parseXml(xml))).toEqual(expected(t));
    }),
    { numRuns: 500 },
  );
});

test.each([
  ['a stray = after an attribute', "<a b='1'= c='2'/>", /line 1, column 9/],
  ['a stray = before the end of a start tag', "<a>\n  <b c='1'=/>\n</a>", /line 2, column 11/],
  ['an end tag with attributes', '<a><b></b x="1"></a>', /line 1, column 7/],
  ['an end tag that is not the open element', '<a><b></c></a>', /line 1, column 7/],
  ['attributes run together', "<a b='1'c='2'/>", /line 1/],
  ['CDATA outside the root', '<![CDATA[x]]><a/>', /CDATA outside the root/],
  ['an element left open', '<a><b></b>', /not closed\) at line 1, column 1/],
  ['a bad name', '<1a/>', /bad tag name/],
])('refuses %s', (_what, xml, message) => {
  let error: unknown;
  try {
    parseXml(xml);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(XmlError);
  expect((error as XmlError).message).toMatch(message);
});
