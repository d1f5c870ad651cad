/**
 * Checks for caller-supplied specs, shared by the snapshot, checkpoint and backup builders. Every failure is
 * an {@link InvalidArgumentError} whose message starts with the field path, e.g.
 * `spec.disks[1].snapshot: expected one of no, internal, external, manual`. Messages quote enum tokens and
 * types, never the caller's values (a description or path may be private).
 */

import { InvalidArgumentError, XmlError } from '../../errors.js';
import { parseXml, type XmlElement } from './parse.js';

/** Throws the InvalidArgumentError for `field`. */
export function fail(field: string, problem: string): never {
  throw new InvalidArgumentError(`${field}: ${problem}`);
}

/** Requires a plain object and refuses properties outside `known` (catches misspelt options). */
export function checkRecord(value: unknown, field: string, known: readonly string[]): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(field, 'expected an object');
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) fail(`${field}.${key}`, `unknown property; expected one of ${known.join(', ')}`);
  }
  return value as Record<string, unknown>;
}

/** Code points XML 1.0 cannot carry at all, not even as character references (section 2.2). */
// eslint-disable-next-line no-control-regex
const NON_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Requires a string XML can carry; `nonEmpty` also refuses ''. */
export function checkText(value: unknown, field: string, nonEmpty = false): string {
  if (typeof value !== 'string') fail(field, 'expected a string');
  if (nonEmpty && value.length === 0) fail(field, 'must not be empty');
  if (NON_XML.test(value)) fail(field, 'contains a character XML cannot represent (a control character or lone surrogate)');
  return value;
}

/** Requires one of `allowed`. */
export function checkEnum<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(field, `expected one of ${allowed.join(', ')}`);
  }
  return value as T;
}

/** Requires a boolean. */
export function checkBoolean(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') fail(field, 'expected a boolean');
  return value;
}

/** Requires an integer in [min, max]. */
export function checkInteger(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `expected an integer from ${min} to ${max}`);
  }
  return value;
}

/**
 * Requires a value that libvirt will write back into an attribute. libvirt's `virBufferEscapeString` leaves
 * tab, LF and CR unescaped, and XML parsers (libxml2 included) read those as spaces in attributes, so a
 * value holding one would not survive libvirt's own metadata round trip.
 */
export function checkAttributeText(value: unknown, field: string, nonEmpty = false): string {
  const text = checkText(value, field, nonEmpty);
  if (/[\t\n\r]/.test(text)) fail(field, 'may not contain tabs or line breaks (libvirt writes them unescaped, and XML reads them as spaces)');
  return text;
}

/**
 * Requires an absolute path as libvirt's schema types it (`absFilePath` in basictypes.rng: `/` or a drive
 * letter, then at least one character), without tabs or line breaks (see {@link checkAttributeText}).
 */
export function checkAbsolutePath(value: unknown, field: string): string {
  const path = checkAttributeText(value, field, true);
  if (!/^(\/|[a-zA-Z]:\\)./.test(path)) fail(field, 'expected an absolute path');
  return path;
}

/** A disk target as domaincommon.rng's `diskTargetDev` spells it, e.g. `vda`, `sdb`, `hdc`. */
const DISK_TARGET = /^(ioemu:)?(fd|hd|sd|vd|xvd|ubd)[a-zA-Z0-9_]+$/;

/** Requires a disk target name (`vda`); with `orPath`, an absolute source path is accepted too. */
export function checkDiskName(value: unknown, field: string, orPath: boolean): string {
  const name = checkText(value, field, true);
  if (DISK_TARGET.test(name)) return name;
  if (orPath && /^(\/|[a-zA-Z]:\\)./.test(name)) return checkAttributeText(name, field);
  fail(field, orPath ? 'expected a disk target such as vda, or an absolute source path' : 'expected a disk target such as vda');
}

/** Requires an array; each element is checked by the caller. */
export function checkArray(value: unknown, field: string): unknown[] {
  if (!Array.isArray(value)) fail(field, 'expected an array');
  return value;
}

/** Refuses a second disk with the same name (libvirt: "disk '%s' specified twice"). */
export function checkUniqueDisks(names: readonly string[], field: string): void {
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) fail(`${field}[${i}].name`, `same disk as ${field}[${first}]`);
    seen.set(name, i);
  });
}

/**
 * Converts a creation time given as a Date or as whole seconds since the epoch to the seconds libvirt writes
 * in `<creationTime>` (a signed 64-bit count; we stay within safe integers).
 */
export function checkSeconds(value: unknown, field: string): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) fail(field, 'expected a valid Date');
    if (ms < 0) fail(field, 'must not be before 1970');
    return Math.floor(ms / 1000);
  }
  return checkInteger(value, field, 0, Number.MAX_SAFE_INTEGER);
}

/**
 * Checks an embedded domain definition and returns it without its XML declaration. libvirt parses the
 * domain of a redefined snapshot only when `<domain>` has a `type` attribute (snapshot_conf.c).
 */
export function checkDomainXml(value: unknown, field: string): string {
  const text = checkText(value, field, true);
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (err) {
    const detail = err instanceof XmlError ? err.message : 'not parseable';
    throw new InvalidArgumentError(`${field}: ${detail}`, { cause: err });
  }
  if (root.name !== 'domain') fail(field, 'expected a <domain> document');
  if (!root.attributes.has('type')) fail(field, 'the <domain> element needs its type attribute');
  return text.replace(/^\uFEFF?\s*<\?xml[^>]*\?>/, '').trim();
}
