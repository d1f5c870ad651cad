/**
 * A small indenting XML writer for the spec builders. Values are escaped here and nowhere else; callers have
 * already checked that they hold only characters XML can carry.
 */

/** An attribute list; entries whose value is undefined are left out. */
export type Attributes = ReadonlyArray<readonly [name: string, value: string | undefined]>;

/** Escapes character data: `&`, `<`, `>`, and CR (which a parser would otherwise turn into LF). */
export function escapeText(value: string): string {
  return value.replace(/[&<>\r]/g, (c) => ENTITIES[c]!);
}

/**
 * Escapes an attribute value for double quotes. Tab, LF and CR become character references because a parser
 * normalizes literal ones to spaces (XML 1.0 section 3.3.3).
 */
export function escapeAttribute(value: string): string {
  return value.replace(/[&<>"\t\n\r]/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/** Builds a document line by line with two-space indentation, as libvirt formats its own XML. */
export class XmlWriter {
  #lines: string[] = [];
  #depth = 0;

  /** Opens `<name ...>`; pair with {@link close}. */
  open(name: string, attributes: Attributes = []): this {
    this.#lines.push(`${this.#indent()}<${name}${formatAttributes(attributes)}>`);
    this.#depth++;
    return this;
  }

  /** Closes the element opened last. */
  close(name: string): this {
    this.#depth--;
    this.#lines.push(`${this.#indent()}</${name}>`);
    return this;
  }

  /** Writes `<name .../>`, or `<name ...>text</name>` when `text` is given. */
  leaf(name: string, attributes: Attributes = [], text?: string): this {
    const attrs = formatAttributes(attributes);
    this.#lines.push(
      text === undefined ? `${this.#indent()}<${name}${attrs}/>` : `${this.#indent()}<${name}${attrs}>${escapeText(text)}</${name}>`,
    );
    return this;
  }

  /** Inserts an already well-formed fragment as it is (its own indentation is kept). */
  raw(fragment: string): this {
    this.#lines.push(fragment);
    return this;
  }

  /** The document, ending in a newline. */
  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }

  #indent(): string {
    return '  '.repeat(this.#depth);
  }
}

function formatAttributes(attributes: Attributes): string {
  let out = '';
  for (const [name, value] of attributes) {
    if (value !== undefined) out += ` ${name}="${escapeAttribute(value)}"`;
  }
  return out;
}
