/**
 * The parser refuses what it must (DOCTYPE, entity tricks, malformed or oversized input) quickly and with
 * an XmlError that gives a position but never document content, and decodes what XML defines exactly.
 */

import { XmlError } from '../../src/errors';
import { describeSnapshot, parseXml } from '../../src/objects/xml';
import { fixture } from '../fixtures/xml/arbitraries';

function xmlError(run: () => unknown): XmlError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(XmlError);
    expect((err as XmlError).code).toBe('ERR_XML');
    return err as XmlError;
  }
  throw new Error('expected an XmlError');
}

describe('markup declarations are refused', () => {
  const billionLaughs = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE lolz [',
    ' <!ENTITY lol "lol">',
    ...Array.from({ length: 9 }, (_, i) => ` <!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`),
    ']>',
    '<domainsnapshot><name>&lol9;</name></domainsnapshot>',
  ].join('\n');

  test('billion laughs fails fast, at the DOCTYPE', () => {
    const started = performance.now();
    const err = xmlError(() => describeSnapshot(billionLaughs));
    expect(performance.now() - started).toBeLessThan(200);
    expect(err.message).toMatch(/DOCTYPE .* at line 2, column 1/);
  });

  test.each([
    ['external entity', '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><d>&xxe;</d>'],
    ['external DTD', '<!DOCTYPE d SYSTEM "http://example.invalid/evil.dtd"><d/>'],
    ['parameter entity', '<!DOCTYPE d [<!ENTITY % p SYSTEM "http://example.invalid/p">%p;]><d/>'],
    ['plain DOCTYPE', '<!DOCTYPE domainsnapshot><domainsnapshot><name>x</name></domainsnapshot>'],
    ['lower-case doctype', '<!doctype d><d/>'],
    ['ENTITY outside a DOCTYPE', '<d><!ENTITY x "y"></d>'],
    ['DOCTYPE after a comment', '<!-- hi --><!DOCTYPE d [<!ENTITY x "y">]><d>&x;</d>'],
  ])('%s', (_name, xml) => {
    expect(xmlError(() => parseXml(xml)).message).toMatch(/DOCTYPE or other markup declaration/);
  });

  test('a DOCTYPE inside a comment or CDATA is only text', () => {
    expect(parseXml('<d><!-- <!DOCTYPE x> --><![CDATA[<!DOCTYPE y>]]></d>').text).toBe('<!DOCTYPE y>');
  });
});

describe('entities', () => {
  test.each([
    ['undefined entity', '<d>&nbsp;</d>'],
    ['bare ampersand', '<d>a & b</d>'],
    ['bare ampersand in an attribute', '<d a="x & y"/>'],
    ['undefined entity in an attribute', '<d a="&foo;"/>'],
    ['reference to NUL', '<d>&#0;</d>'],
    ['reference to a control character', '<d a="&#x1;"/>'],
    ['reference to a surrogate', '<d>&#xD800;</d>'],
    ['reference beyond Unicode', '<d>&#x110000;</d>'],
  ])('%s is refused', (_name, xml) => {
    xmlError(() => parseXml(xml));
  });

  test('the five predefined entities and character references decode exactly once', () => {
    const root = parseXml('<d a="&lt;&amp;lt;&gt;&quot;&apos;&#x9;&#10;&#13;">&lt;&amp;amp;&#x1F642;&#233;&apos;</d>');
    expect(root.attributes.get('a')).toBe('<&lt;>"\'\t\n\r');
    expect(root.text).toBe('<&amp;🙂é\'');
  });

  test('literal whitespace in attributes reads as spaces; line ends read as LF', () => {
    const root = parseXml('<d a="x\ty\r\nz">one\r\ntwo\rthree</d>');
    expect(root.attributes.get('a')).toBe('x y z');
    expect(root.text).toBe('one\ntwo\nthree');
  });

  test('CDATA content is literal', () => {
    expect(parseXml('<d><![CDATA[&lt;&amp;]]></d>').text).toBe('&lt;&amp;');
  });
});

describe('malformed documents', () => {
  test.each([
    ['unclosed tag', '<domainsnapshot><name>x</domainsnapshot>', /line 1/],
    ['mismatched tag on line 3', '<a>\n<b>\n</c>\n</a>', /line 3, column 1/],
    ['two roots', '<a/><b/>', /exactly one root element/],
    ['two roots, the first closed', '<a></a><b/>', /root/],
    ['text between the root and a comment', '<a/>x<!-- c -->', /text outside the root/],
    ['text outside the root', '<a/>trailing', /text outside the root/],
    ['text before the root', 'leading<a/>', /line 1/],
    ['empty document', '', /no root element/],
    ['only a comment', '<!-- x -->', /not well-formed/],
    ['attribute without value', '<a b/>', /line 1/],
    ['repeated attribute', '<a b="1" b="2"/>', /line 1/],
    ['unterminated comment', '<a><!-- x</a>', /unterminated comment .* line 1, column 4/],
    ['unterminated CDATA', '<a>\n<![CDATA[ x</a>', /unterminated CDATA section .* line 2, column 1/],
    ['NUL character', '<a>\n  x\u0000</a>', /line 2, column 4/],
    ['lone surrogate', '<a>\ud800</a>', /line 1, column 4/],
    ['less-than in an attribute', '<a b="<c>"/>', /attribute 'b' of <a>/],
  ])('%s', (_name, xml, message) => {
    expect(xmlError(() => parseXml(xml)).message).toMatch(message);
  });

  test('names that would reach Object.prototype are refused', () => {
    xmlError(() => parseXml('<a><__proto__><polluted>1</polluted></__proto__></a>'));
    xmlError(() => parseXml('<constructor/>'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('other JavaScript-ish names are ordinary names', () => {
    const root = parseXml('<toString hasOwnProperty="1"><valueOf/></toString>');
    expect(root.name).toBe('toString');
    expect(root.attributes.get('hasOwnProperty')).toBe('1');
    expect(root.children[0]!.name).toBe('valueOf');
  });

  test('nesting deeper than the limit is refused', () => {
    xmlError(() => parseXml('<a>'.repeat(200) + '</a>'.repeat(200)));
  });
});

describe('size limit', () => {
  test('the default limit is 4 MiB, checked before parsing', () => {
    const big = `<d>${'x'.repeat(4 * 1024 * 1024)}</d>`;
    expect(xmlError(() => parseXml(big)).message).toMatch(/exceeds the limit of 4194304/);
  });

  test('a caller may set another limit', () => {
    xmlError(() => parseXml('<d>0123456789</d>', { maxLength: 10 }));
    expect(parseXml('<d>0123456789</d>', { maxLength: 17 }).text).toBe('0123456789');
  });
});

describe('messages never carry document content', () => {
  // Fetched with VIR_DOMAIN_SNAPSHOT_XML_SECURE: the VNC password is in the XML.
  const secure = fixture('qemu-snapshot-s-int-secure.xml');
  const secret = 's3cr3tpw';

  test('the fixture does hold the secret', () => {
    expect(secure).toContain(`passwd='${secret}'`);
    expect(describeSnapshot(secure).name).toBe('s-int');
  });

  test.each([
    ['a truncated document', secure.slice(0, secure.indexOf(secret) + 20)],
    ['a stray ampersand after the secret', secure.replace(`${secret}'>`, `${secret}&'>`)],
    ['a broken closing tag', secure.replace('</graphics>', `</graphics ${secret}>`)],
    ['an undefined entity', secure.replace(secret, `${secret}&${secret};`)],
    ['a bad tag name', secure.replace('<graphics ', `<${secret}! `)],
    ['an unquoted attribute', secure.replace(`passwd='${secret}'`, `passwd=${secret}`)],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY ${secret} "x">]>${secure}`],
  ])('%s', (_name, xml) => {
    const err = xmlError(() => describeSnapshot(xml));
    expect(err.message).not.toContain(secret);
    expect(err.message.length).toBeLessThan(200);
  });
});
