/**
 * The one XML parser of libvirt-rpc: a small, strict reader of XML 1.0 documents without a DTD, which turns a
 * document into a small immutable element tree. It is written for the documents libvirt exchanges (elements,
 * attributes, text, CDATA, comments, processing instructions), in one pass, with nothing to configure: a
 * general-purpose parser (fast-xml-parser was used before) cost about 21 KB gzipped in every browser bundle that
 * reads XML, three times the code that uses it.
 *
 * Safety rules, in the order they are applied:
 * - input longer than `maxLength` characters is refused before any scanning;
 * - characters XML 1.0 forbids (NUL, most C0 controls, lone surrogates, U+FFFE/U+FFFF) are refused;
 * - any markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) is refused outright: libvirt never sends one, and
 *   without a DTD there is no entity expansion to attack (billion laughs, external entities);
 * - only the five predefined entities and numeric character references are decoded; every other `&name;` and a
 *   bare `&` are refused;
 * - well-formedness: names, quoted attribute values without `<`, no repeated attribute, balanced tags, one root,
 *   nothing but whitespace, comments and processing instructions outside it, nesting at most 64 deep;
 * - the tree keeps attributes in `Map`s and children in arrays, so no element or attribute name can reach an
 *   object prototype; `__proto__`, `constructor` and `prototype` are refused as names all the same;
 * - no value is converted to a number: callers convert where the schema says the value is numeric.
 *
 * Error messages give a line and column or an element path, never document content: snapshot and domain XML
 * fetched with `VIR_DOMAIN_XML_SECURE` carries passwords.
 */

import { XmlError } from '../../errors.js';

/** One element of a parsed document. Immutable; attribute values and text are fully decoded. */
export interface XmlElement {
  /** The tag name as written, with any namespace prefix, e.g. `domainsnapshot` or `app:meta`. */
  readonly name: string;
  /** Attribute values by attribute name, decoded and normalized as XML prescribes. */
  readonly attributes: ReadonlyMap<string, string>;
  /** Child elements in document order. */
  readonly children: readonly XmlElement[];
  /** The character data directly inside this element (text and CDATA sections joined), decoded. */
  readonly text: string;
}

/** Options of {@link parseXml}. */
export interface ParseXmlOptions {
  /** Longest accepted document in UTF-16 code units. Default {@link DEFAULT_MAX_XML_LENGTH}. */
  maxLength?: number;
}

/**
 * The default size bound: libvirt's `REMOTE_STRING_MAX` (4 MiB), the longest string the daemon can send, so
 * every XML document that arrived over RPC fits.
 */
export const DEFAULT_MAX_XML_LENGTH = 4 * 1024 * 1024;

/** Deepest element nesting accepted. Domain XML nests about ten levels; the margin is generous. */
const MAX_DEPTH = 64;

/** Names that are refused although a Map would hold them safely: nothing should ever need them. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * An XML name (section 2.3): a letter, `_` or `:` then letters, digits, `.`, `-`, `_`, `:`; beyond ASCII the
 * ranges of NameStartChar and NameChar, with the astral planes allowed as surrogate pairs.
 */
// eslint-disable-next-line no-misleading-character-class -- U+200C and U+200D are name characters in XML 1.0, not joiners here
const NAME = /[A-Za-z_:\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C\u200D\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDBFF][\w.:\-\u00B7\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u037D\u037F-\u1FFF\u200C\u200D\u203F\u2040\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\uD800-\uDFFF]*/y;
const SPACE = /[ \t\n]*/y;

/** An element being read: its name, attributes, children so far and text so far. */
interface Open {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  text: string;
  /** Where its start tag began, for messages. */
  at: number;
}

/**
 * Parses an XML document safely and returns its root element.
 *
 * @throws XmlError when the document is too long, not well-formed, contains a DOCTYPE or other markup
 *   declaration, or references an entity other than the five XML predefines it.
 */
export function parseXml(xml: string, options: ParseXmlOptions = {}): XmlElement {
  if (typeof xml !== 'string') throw new XmlError('XML document must be a string');
  const maxLength = options.maxLength ?? DEFAULT_MAX_XML_LENGTH;
  if (xml.length > maxLength) {
    throw new XmlError(`XML document of ${xml.length} characters exceeds the limit of ${maxLength}`);
  }
  // XML 1.0 section 2.11: every CR LF pair and every lone CR reads as LF. A leading byte order mark is dropped.
  const doc = (xml.charCodeAt(0) === 0xfeff ? xml.slice(1) : xml).replace(/\r\n?/g, '\n');
  if (!doc.includes('<')) throw new XmlError('XML document has no root element');
  checkCharacters(doc);
  checkMarkup(doc);
  return new Reader(doc).document();
}

/** One pass over a document whose characters and markup declarations were already checked. */
class Reader {
  readonly #doc: string;
  #pos = 0;
  readonly #stack: Open[] = [];
  #root: XmlElement | null = null;

  constructor(doc: string) {
    this.#doc = doc;
  }

  document(): XmlElement {
    const doc = this.#doc;
    while (this.#pos < doc.length) {
      const lt = doc.indexOf('<', this.#pos);
      const end = lt === -1 ? doc.length : lt;
      if (end > this.#pos) this.#text(this.#pos, end);
      if (lt === -1) break;
      this.#pos = lt;
      if (doc.startsWith('<!--', lt)) {
        this.#pos = skipTo(doc, lt, '-->', 'comment') + 1;
      } else if (doc.startsWith('<?', lt)) {
        this.#pos = skipTo(doc, lt, '?>', 'processing instruction') + 1;
      } else if (doc.startsWith('<![CDATA[', lt)) {
        const close = skipTo(doc, lt, ']]>', 'CDATA section');
        const top = this.#top(lt);
        top.text += doc.slice(lt + 9, close - 2); // literal, never decoded
        this.#pos = close + 1;
      } else if (doc.startsWith('</', lt)) {
        this.#endTag(lt);
      } else {
        this.#startTag(lt);
      }
    }
    if (this.#stack.length > 0) this.#fail('an element is not closed', this.#stack[this.#stack.length - 1]!.at);
    if (this.#root === null) throw new XmlError('XML is not well-formed (no root element)');
    return this.#root;
  }

  /** Character data from `from` to `to`: the open element's text, or (outside the root) whitespace only. */
  #text(from: number, to: number): void {
    const raw = this.#doc.slice(from, to);
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) {
      if (!/^[ \t\n]*$/.test(raw)) {
        throw new XmlError(`XML has text outside the root element at ${position(this.#doc, from + raw.search(/[^ \t\n]/))}`);
      }
      return;
    }
    top.text += decodeReferences(raw, () => describePath(this.#stack.map((o) => o.name)));
  }

  /** The element CDATA at `at` belongs to. */
  #top(at: number): Open {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined) this.#fail('CDATA outside the root element', at);
    return top;
  }

  #name(what: string): string {
    NAME.lastIndex = this.#pos;
    const m = NAME.exec(this.#doc);
    if (m === null) this.#fail(`bad ${what} name`, this.#pos);
    if (RESERVED_NAMES.has(m[0])) throw new XmlError('XML uses a reserved name (__proto__, constructor or prototype)');
    this.#pos += m[0].length;
    return m[0];
  }

  /** Skips whitespace; returns whether there was any. */
  #space(): boolean {
    SPACE.lastIndex = this.#pos;
    const n = SPACE.exec(this.#doc)![0].length;
    this.#pos += n;
    return n > 0;
  }

  #startTag(lt: number): void {
    const doc = this.#doc;
    if (this.#stack.length === 0 && this.#root !== null) {
      throw new XmlError(`XML document must have exactly one root element (another begins at ${position(doc, lt)})`);
    }
    this.#pos = lt + 1;
    const name = this.#name('tag');
    const open: Open = { name, attributes: new Map(), children: [], text: '', at: lt };
    for (;;) {
      const spaced = this.#space();
      if (doc.startsWith('/>', this.#pos)) {
        this.#pos += 2;
        this.#push(open);
        this.#close();
        return;
      }
      if (doc[this.#pos] === '>') {
        this.#pos += 1;
        this.#push(open);
        return;
      }
      if (!spaced) this.#fail('bad or unbalanced tag', this.#pos);
      this.#attribute(open);
    }
  }

  #attribute(open: Open): void {
    const doc = this.#doc;
    const at = this.#pos;
    const name = this.#name('attribute');
    this.#space();
    if (doc[this.#pos] !== '=') this.#fail('an attribute without a value', at);
    this.#pos += 1;
    this.#space();
    const quote = doc[this.#pos];
    if (quote !== '"' && quote !== "'") this.#fail('an attribute value without quotes', at);
    const close = doc.indexOf(quote, this.#pos + 1);
    if (close === -1) this.#fail('an attribute value that does not end', at);
    const raw = doc.slice(this.#pos + 1, close);
    this.#pos = close + 1;
    const where = (): string => `attribute '${name}' of ${describePath([...this.#stack.map((o) => o.name), open.name])}`;
    if (raw.includes('<')) throw new XmlError(`XML has a '<' inside ${where()}`);
    if (open.attributes.has(name)) this.#fail('a repeated attribute', at);
    // XML 1.0 section 3.3.3: literal whitespace in an attribute value reads as a space; references do not.
    open.attributes.set(name, decodeReferences(raw.replace(/[\t\n]/g, ' '), where));
  }

  #push(open: Open): void {
    if (this.#stack.length >= MAX_DEPTH) this.#fail(`elements nested deeper than ${MAX_DEPTH} levels`, open.at);
    this.#stack.push(open);
  }

  /** Closes the innermost open element. */
  #close(): void {
    const open = this.#stack.pop()!;
    const element: XmlElement = Object.freeze({ name: open.name, attributes: open.attributes, children: Object.freeze(open.children), text: open.text });
    const parent = this.#stack[this.#stack.length - 1];
    if (parent) parent.children.push(element);
    else this.#root = element;
  }

  #endTag(lt: number): void {
    this.#pos = lt + 2;
    const top = this.#stack[this.#stack.length - 1];
    NAME.lastIndex = this.#pos;
    const m = NAME.exec(this.#doc);
    if (top === undefined || m === null || m[0] !== top.name) this.#fail('bad or unbalanced tag', lt);
    this.#pos += m[0].length;
    this.#space();
    if (this.#doc[this.#pos] !== '>') this.#fail('bad or unbalanced tag', lt);
    this.#pos += 1;
    this.#close();
  }

  #fail(what: string, at: number): never {
    throw new XmlError(`XML is not well-formed (${what}) at ${position(this.#doc, at)}`);
  }
}

/** The first child element called `name`, or undefined. */
export function childElement(parent: XmlElement, name: string): XmlElement | undefined {
  return parent.children.find((c) => c.name === name);
}

/** All child elements called `name`, in document order. */
export function childElements(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((c) => c.name === name);
}

/** The text of the first child element called `name`, or undefined when there is no such child. */
export function childText(parent: XmlElement, name: string): string | undefined {
  return childElement(parent, name)?.text;
}

/** Line and column (both from 1) of offset `index` in `doc`. */
function position(doc: string, index: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = doc.indexOf('\n'); i !== -1 && i < index; i = doc.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `line ${line}, column ${index - lineStart + 1}`;
}

/** Code points XML 1.0 does not allow anywhere in a document (section 2.2). */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkCharacters(doc: string): void {
  const m = FORBIDDEN_CHARS.exec(doc);
  if (m) throw new XmlError(`XML contains a character XML 1.0 does not allow at ${position(doc, m.index)}`);
}

/**
 * Walks the markup outside comments, CDATA sections and processing instructions and refuses `<!` anything
 * else. That covers DOCTYPE (with or without an internal subset), ENTITY and the other DTD declarations.
 */
function checkMarkup(doc: string): void {
  for (let i = doc.indexOf('<'); i !== -1; i = doc.indexOf('<', i + 1)) {
    if (doc.startsWith('<!--', i)) {
      i = skipTo(doc, i, '-->', 'comment');
    } else if (doc.startsWith('<![CDATA[', i)) {
      i = skipTo(doc, i, ']]>', 'CDATA section');
    } else if (doc.startsWith('<?', i)) {
      i = skipTo(doc, i, '?>', 'processing instruction');
    } else if (doc.startsWith('<!', i)) {
      throw new XmlError(`XML contains a DOCTYPE or other markup declaration at ${position(doc, i)}; none is accepted`);
    }
  }
}

function skipTo(doc: string, start: number, end: string, what: string): number {
  const at = doc.indexOf(end, start + 2);
  if (at === -1) throw new XmlError(`XML has an unterminated ${what} starting at ${position(doc, start)}`);
  return at + end.length - 1;
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' };
const REFERENCE = /&(?:#([0-9]{1,8})|#x([0-9a-fA-F]{1,8})|(lt|gt|amp|apos|quot));/y;

/** Replaces character and predefined entity references; anything else after `&` is an error. */
function decodeReferences(raw: string, where: () => string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let last = 0;
  for (let i = raw.indexOf('&'); i !== -1; i = raw.indexOf('&', last)) {
    REFERENCE.lastIndex = i;
    const m = REFERENCE.exec(raw);
    if (!m) throw new XmlError(`XML references an undefined entity or has a bare '&' in ${where()}`);
    let replacement: string;
    if (m[3] !== undefined) {
      replacement = PREDEFINED[m[3]]!;
    } else {
      const cp = m[1] !== undefined ? Number.parseInt(m[1], 10) : Number.parseInt(m[2]!, 16);
      if (!isXmlChar(cp)) throw new XmlError(`XML has a character reference to a forbidden character in ${where()}`);
      replacement = String.fromCodePoint(cp);
    }
    out += raw.slice(last, i) + replacement;
    last = i + m[0].length;
  }
  return out + raw.slice(last);
}

function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** An element path for messages: names only, the last four levels at most. */
function describePath(path: readonly string[]): string {
  const shown = path.slice(-4).map((n) => `<${n.length > 40 ? `${n.slice(0, 40)}...` : n}>`);
  return (path.length > 4 ? '.../' : '') + shown.join('/');
}
