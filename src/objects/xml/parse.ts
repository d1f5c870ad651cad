/**
 * The one XML parser setup of libvirt-rpc: fast-xml-parser in a locked-down configuration, wrapped so that
 * every document becomes a small immutable element tree.
 *
 * Safety rules, in the order they are applied:
 * - input longer than `maxLength` characters is refused before any scanning;
 * - characters XML 1.0 forbids (NUL, most C0 controls, lone surrogates, U+FFFE/U+FFFF) are refused;
 * - any markup declaration (`<!DOCTYPE`, `<!ENTITY`, ...) is refused outright: libvirt never sends one, and
 *   without a DTD there is no entity expansion to attack (billion laughs, external entities);
 * - fast-xml-parser runs with entity processing off; we decode the five predefined entities and numeric
 *   character references ourselves and refuse every other `&name;`;
 * - the tree we hand out keeps attributes in `Map`s and children in arrays, so no element or attribute name
 *   can reach an object prototype;
 * - no value is converted to a number: callers convert where the schema says the value is numeric.
 *
 * Error messages give a line and column or an element path, never document content: snapshot and domain XML
 * fetched with `VIR_DOMAIN_XML_SECURE` carries passwords.
 */

import { XMLParser, XMLValidator } from 'fast-xml-parser';
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

const ATTR_PREFIX = '@_';
const TEXT_KEY = '#text';
const CDATA_KEY = '#cdata';
const COMMENT_KEY = '#comment';

// Options checked against fast-xml-parser 5.12 (node_modules/fast-xml-parser/src/fxp.d.ts).
const parser = /* @__PURE__ */ new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: ATTR_PREFIX,
  allowBooleanAttributes: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  htmlEntities: false,
  cdataPropName: CDATA_KEY,
  // Comments become nodes (which we drop) so that text before them is kept and checked, not lost.
  commentPropName: COMMENT_KEY,
  ignoreDeclaration: true,
  ignorePiTags: true,
  removeNSPrefix: false,
  maxNestedTags: MAX_DEPTH,
  strictReservedNames: true,
  // Names such as `toString` are kept as written: with preserveOrder every node is an object literal with a
  // computed key, attributes carry the `@_` prefix, and we copy everything into Maps and arrays at once.
  // fast-xml-parser itself throws on `__proto__`, `constructor` and `prototype`.
  onDangerousProperty: (name: string) => name,
});

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
  // fast-xml-parser drops character data after the last markup; XML allows only whitespace there.
  if (!/>[ \t\n]*$/.test(doc)) throw new XmlError('XML has text outside the root element');
  const verdict = XMLValidator.validate(doc, { allowBooleanAttributes: false });
  if (verdict !== true) {
    // The validator's own message quotes tag and attribute names; we report the position only.
    const { code, line, col } = verdict.err;
    const where = typeof col === 'number' ? `line ${line}, column ${col}` : `line ${line}`;
    throw new XmlError(`XML is not well-formed (${describeCode(code)}) at ${where}`);
  }
  let nodes: unknown;
  try {
    nodes = parser.parse(doc);
  } catch (err) {
    // fast-xml-parser messages may quote the document; keep only what is safe to say.
    const reserved = err instanceof Error && err.message.startsWith('[SECURITY]');
    throw new XmlError(
      reserved ? 'XML uses a reserved name (__proto__, constructor or prototype)' : 'XML could not be parsed',
    );
  }
  const roots = convertChildren(nodes, []);
  if (roots.elements.length !== 1) throw new XmlError('XML document must have exactly one root element');
  if (!/^[ \t\n]*$/.test(roots.text)) throw new XmlError('XML has text outside the root element');
  return roots.elements[0]!;
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

function describeCode(code: string): string {
  switch (code) {
    case 'InvalidTag':
      return 'bad or unbalanced tag';
    case 'InvalidAttr':
      return 'bad attribute';
    case 'InvalidChar':
      return 'unexpected character';
    default:
      return 'bad document structure';
  }
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

interface Converted {
  elements: XmlElement[];
  text: string;
}

/** Turns fast-xml-parser's preserveOrder node list into our elements. `path` names the parent elements. */
function convertChildren(nodes: unknown, path: readonly string[]): Converted {
  const out: Converted = { elements: [], text: '' };
  if (!Array.isArray(nodes)) return out;
  const where = (): string => (path.length ? describePath(path) : 'the document');
  for (const node of nodes as Record<string, unknown>[]) {
    for (const key of Object.keys(node)) {
      if (key === ':@' || key === COMMENT_KEY) continue;
      const value = node[key];
      if (key === TEXT_KEY) {
        out.text += decodeReferences(String(value), where);
      } else if (key === CDATA_KEY) {
        // A CDATA node holds [{ '#text': raw }]; its content is literal, never decoded.
        for (const part of Array.isArray(value) ? (value as Record<string, unknown>[]) : []) {
          out.text += String(part[TEXT_KEY] ?? '');
        }
      } else {
        out.elements.push(convertElement(key, value, node[':@'], [...path, key]));
      }
    }
  }
  return out;
}

/** An element path for messages: names only, the last four levels at most. */
function describePath(path: readonly string[]): string {
  const shown = path.slice(-4).map((n) => `<${n.length > 40 ? `${n.slice(0, 40)}...` : n}>`);
  return (path.length > 4 ? '.../' : '') + shown.join('/');
}

function convertElement(name: string, children: unknown, rawAttrs: unknown, path: string[]): XmlElement {
  const attributes = new Map<string, string>();
  if (rawAttrs !== null && typeof rawAttrs === 'object') {
    for (const [key, value] of Object.entries(rawAttrs as Record<string, unknown>)) {
      if (!key.startsWith(ATTR_PREFIX)) continue;
      const attrName = key.slice(ATTR_PREFIX.length);
      const raw = String(value);
      const where = (): string => `attribute '${attrName}' of ${describePath(path)}`;
      if (raw.includes('<')) throw new XmlError(`XML has a '<' inside ${where()}`);
      // XML 1.0 section 3.3.3: literal whitespace in an attribute value reads as a space; references do not.
      attributes.set(attrName, decodeReferences(raw.replace(/[\t\n]/g, ' '), where));
    }
  }
  const { elements, text } = convertChildren(children, path);
  return Object.freeze({ name, attributes, children: Object.freeze(elements), text });
}
