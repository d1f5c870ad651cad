/**
 * Typed reads from a parsed element, shared by the describe functions. A value that does not fit its schema
 * type is an {@link XmlError} naming the field (e.g. `domaincheckpoint.disks.disk[0]@size`), never quoting it.
 */

import { XmlError } from '../../errors.js';
import { childElement, parseXml, type ParseXmlOptions, type XmlElement } from './parse.js';

/** Name, UUID and hypervisor type of the `<domain>` (or `<inactiveDomain>`) embedded in a snapshot or checkpoint. */
export interface DomainReference {
  /** `<name>`; null in snapshots made by libvirt before 0.9.5, which kept only the UUID. */
  name: string | null;
  /** `<uuid>`, e.g. `a2dde9cb-801c-4200-a1a5-bca58c98104f`. */
  uuid: string | null;
  /** The `type` attribute (`qemu`, `kvm`, `test`, ...); null in those old snapshots. */
  type: string | null;
}

/** Parses `xml` and checks that its root element is `rootName`. */
export function parseRoot(xml: string, rootName: string, options?: ParseXmlOptions): XmlElement {
  const root = parseXml(xml, options);
  if (root.name !== rootName) throw new XmlError(`expected a <${rootName}> document, got <${shortName(root.name)}>`);
  return root;
}

/** Element names can be anything in a hostile document; keep them short in messages. */
function shortName(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}...` : name;
}

/** The text of child `name`, or null when absent. */
export function optionalText(parent: XmlElement, name: string): string | null {
  return childElement(parent, name)?.text ?? null;
}

/** The value of attribute `name`, or null when absent. */
export function optionalAttribute(element: XmlElement, name: string): string | null {
  return element.attributes.get(name) ?? null;
}

/** Requires `value` to be one of `allowed`. */
export function enumValue<T extends string>(value: string, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new XmlError(`${field}: expected one of ${allowed.join(', ')}`);
  return value as T;
}

/** The furthest a JavaScript Date reaches either side of the epoch, in seconds (8.64e15 ms, ECMA-262 21.4.1.1). */
const MAX_DATE_SECONDS = 8_640_000_000_000;

/**
 * `<creationTime>` holds seconds since the epoch, which libvirt prints with `%lld` (any 64-bit value). A value
 * beyond what a Date holds (more than 13 digits can be) is an XmlError, never an Invalid Date.
 */
export function secondsToDate(text: string, field: string): Date {
  const trimmed = text.trim();
  if (!/^-?[0-9]{1,15}$/.test(trimmed)) throw new XmlError(`${field}: expected whole seconds since the epoch`);
  const seconds = Number(trimmed);
  if (Math.abs(seconds) > MAX_DATE_SECONDS) throw new XmlError(`${field}: more than ${MAX_DATE_SECONDS} seconds from the epoch, beyond what a Date holds`);
  return new Date(seconds * 1000);
}

/** An unsigned decimal of any size, as `unsignedLong` values (byte counts) are. */
export function unsignedBig(text: string, field: string): bigint {
  const trimmed = text.trim();
  if (!/^[0-9]{1,20}$/.test(trimmed)) throw new XmlError(`${field}: expected an unsigned integer`);
  const value = BigInt(trimmed);
  if (value > 0xffffffffffffffffn) throw new XmlError(`${field}: exceeds 64 bits`);
  return value;
}

/** An unsigned decimal up to `max` (ports, indexes). */
export function unsignedNumber(text: string, field: string, max = 0xffffffff): number {
  const trimmed = text.trim();
  if (!/^[0-9]{1,10}$/.test(trimmed) || Number(trimmed) > max) {
    throw new XmlError(`${field}: expected an unsigned integer up to ${max}`);
  }
  return Number(trimmed);
}

/** libvirt's `virTristateBool` spelling: `yes` or `no`. */
export function yesNo(text: string, field: string): boolean {
  return enumValue(text, ['yes', 'no'] as const, field) === 'yes';
}

/** Name, UUID and type of an embedded domain element, or null when `element` is absent. */
export function domainReference(element: XmlElement | undefined): DomainReference | null {
  if (!element) return null;
  return {
    name: optionalText(element, 'name'),
    uuid: optionalText(element, 'uuid')?.trim() ?? null,
    type: optionalAttribute(element, 'type'),
  };
}

/** The text of a required child element. */
export function requiredText(parent: XmlElement, name: string, field: string): string {
  const text = optionalText(parent, name);
  if (text === null) throw new XmlError(`${field}: missing`);
  return text;
}
