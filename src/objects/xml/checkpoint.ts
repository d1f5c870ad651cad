/**
 * Domain checkpoint XML (formatcheckpoint.rst, domaincheckpoint.rng): the description of a checkpoint as
 * `virDomainCheckpointGetXMLDesc` returns it, and typed specs turned into XML for
 * `virDomainCheckpointCreateXML`.
 */

import { XmlError } from '../../errors.js';
import { MAX_BITMAP_NAME_LENGTH, validateCheckpointName } from './names.js';
import { childElement, childElements, type ParseXmlOptions, type XmlElement } from './parse.js';
import {
  domainReference,
  enumValue,
  optionalAttribute,
  optionalText,
  parseRoot,
  requiredText,
  secondsToDate,
  unsignedBig,
  type DomainReference,
} from './read.js';
import {
  checkArray,
  checkAttributeText,
  checkDiskName,
  checkDomainXml,
  checkEnum,
  checkRecord,
  checkSeconds,
  checkText,
  checkUniqueDisks,
  fail,
} from './spec-check.js';
import { XmlWriter } from './xml-writer.js';

/** Whether a disk takes part in a checkpoint: libvirt's `virDomainCheckpointType` names. */
export type CheckpointDiskKind = 'bitmap' | 'no';

/** One `<disk>` of a checkpoint description. */
export interface CheckpointDisk {
  /** The disk's target, e.g. `vda`. */
  name: string;
  checkpoint: CheckpointDiskKind;
  /** The dirty bitmap tracking this disk; libvirt's QEMU driver names it after the checkpoint. */
  bitmap: string | null;
  /**
   * Estimated bytes changed since the checkpoint, present only when asked for with
   * `VIR_DOMAIN_CHECKPOINT_XML_SIZE`. A bigint because the schema types it as a 64-bit `unsignedLong`.
   */
  size: bigint | null;
}

/** A checkpoint description: the typed fields of `<domaincheckpoint>` plus the XML itself. */
export interface CheckpointDescription {
  name: string;
  /**
   * Null when there is none (libvirt also drops an empty one). libvirt writes a CR in text unescaped
   * (`virBufferEscapeString`), so a CR a caller stored reads back here, as in every XML parser, as LF.
   */
  description: string | null;
  /** `<creationTime>` (whole seconds); null in input XML. */
  creationTime: Date | null;
  /** The parent checkpoint's name, or null for the first one. */
  parent: string | null;
  disks: CheckpointDisk[];
  /** The domain the checkpoint belongs to; null with `VIR_DOMAIN_CHECKPOINT_XML_NO_DOMAIN`. */
  domain: DomainReference | null;
  /** The XML as received, for round trips. */
  xml: string;
}

const ROOT = 'domaincheckpoint';

/**
 * Reads a `<domaincheckpoint>` document into a {@link CheckpointDescription}.
 *
 * @throws XmlError when the XML is malformed or unsafe, has another root, lacks `<name>`, or has a value
 *   outside its schema type.
 */
export function describeCheckpoint(xml: string, options?: ParseXmlOptions): CheckpointDescription {
  const root = parseRoot(xml, ROOT, options);
  const creation = optionalText(root, 'creationTime');
  const parent = childElement(root, 'parent');
  const disksElement = childElement(root, 'disks');
  return {
    name: requiredText(root, 'name', `${ROOT}.name`),
    description: optionalText(root, 'description'),
    creationTime: creation === null ? null : secondsToDate(creation, `${ROOT}.creationTime`),
    parent: parent ? requiredText(parent, 'name', `${ROOT}.parent.name`) : null,
    disks: disksElement ? childElements(disksElement, 'disk').map(readDisk) : [],
    domain: domainReference(childElement(root, 'domain')),
    xml,
  };
}

function readDisk(disk: XmlElement, index: number): CheckpointDisk {
  const field = `${ROOT}.disks.disk[${index}]`;
  const name = optionalAttribute(disk, 'name');
  if (name === null) throw new XmlError(`${field}@name: missing`);
  const kind = optionalAttribute(disk, 'checkpoint');
  const size = optionalAttribute(disk, 'size');
  return {
    name,
    // checkpoint_conf.c: a disk listed without a checkpoint attribute gets a bitmap.
    checkpoint: kind === null ? 'bitmap' : enumValue(kind, ['bitmap', 'no'] as const, `${field}@checkpoint`),
    bitmap: optionalAttribute(disk, 'bitmap'),
    size: size === null ? null : unsignedBig(size, `${field}@size`),
  };
}

/** One disk of a checkpoint request. */
export interface CheckpointDiskSpec {
  /** The disk's target (`vda`) or its current source path. */
  name: string;
  /** `bitmap` (the default) tracks the disk's changes; `no` leaves the disk out. */
  checkpoint?: CheckpointDiskKind;
  /**
   * The bitmap name; defaults to the checkpoint name. libvirt 9.0's QEMU driver refuses any other name
   * ("bitmap for disk must match checkpoint name"); other drivers may accept one.
   */
  bitmap?: string;
}

/** Fields that only `VIR_DOMAIN_CHECKPOINT_CREATE_REDEFINE` reads; libvirt requires the creation time. */
export interface CheckpointRedefineSpec {
  /** A Date, or whole seconds since the epoch. */
  creationTime: Date | number;
  /** The parent checkpoint's name. */
  parent?: string;
  /** The full `<domain type=...>` definition at checkpoint time; optional since libvirt 7.0. */
  domainXml?: string;
}

/** A checkpoint to create, or (with `redefine`) checkpoint metadata to restore. */
export interface CheckpointSpec {
  /** Left out, libvirt names the checkpoint after the current time. Required with `redefine`. */
  name?: string;
  description?: string;
  /** The disks to list; left out (or empty), every writable disk gets a bitmap. */
  disks?: readonly CheckpointDiskSpec[];
  redefine?: CheckpointRedefineSpec;
}

const CHECKPOINT_KEYS = ['name', 'description', 'disks', 'redefine'] as const;
const DISK_KEYS = ['name', 'checkpoint', 'bitmap'] as const;
const REDEFINE_KEYS = ['creationTime', 'parent', 'domainXml'] as const;

/**
 * Checks `spec` and returns its `<domaincheckpoint>` XML, which validates against domaincheckpoint.rng.
 *
 * @throws InvalidArgumentError naming the first bad field, e.g.
 *   `spec.disks[0].checkpoint: expected one of bitmap, no`.
 */
export function checkpointSpecToXml(spec: CheckpointSpec): string {
  const s = checkRecord(spec, 'spec', CHECKPOINT_KEYS);
  const w = new XmlWriter().open('domaincheckpoint');
  if (s.name !== undefined) w.leaf('name', [], validateCheckpointName(s.name, 'spec.name'));
  // libvirt reads an empty <description> as none (virXPathString gives NULL for ''), so '' writes nothing.
  const description = s.description === undefined ? '' : checkText(s.description, 'spec.description');
  if (description !== '') w.leaf('description', [], description);
  let domainXml: string | undefined;
  if (s.redefine !== undefined) {
    // checkpoint_conf.c: "a redefined checkpoint must have a name".
    if (s.name === undefined) fail('spec.name', 'required when redefining a checkpoint');
    const r = checkRecord(s.redefine, 'spec.redefine', REDEFINE_KEYS);
    if (r.parent !== undefined) {
      w.open('parent').leaf('name', [], validateCheckpointName(r.parent, 'spec.redefine.parent')).close('parent');
    }
    w.leaf('creationTime', [], String(checkSeconds(r.creationTime, 'spec.redefine.creationTime')));
    if (r.domainXml !== undefined) domainXml = checkDomainXml(r.domainXml, 'spec.redefine.domainXml');
  }
  if (s.disks !== undefined) {
    const disks = checkArray(s.disks, 'spec.disks').map((d, i) => checkDisk(d, `spec.disks[${i}]`));
    checkUniqueDisks(disks.map((d) => d.name), 'spec.disks');
    // domaincheckpoint.rng wants at least one <disk> in <disks>; libvirt reads none the same as no <disks>.
    if (disks.length > 0) {
      w.open('disks');
      for (const d of disks) w.leaf('disk', [['name', d.name], ['checkpoint', d.checkpoint], ['bitmap', d.bitmap]]);
      w.close('disks');
    }
  }
  if (domainXml !== undefined) w.raw(domainXml);
  return w.close('domaincheckpoint').toString();
}

function checkDisk(disk: unknown, field: string): CheckpointDiskSpec {
  const d = checkRecord(disk, field, DISK_KEYS);
  const out: CheckpointDiskSpec = { name: checkDiskName(d.name, `${field}.name`, true) };
  if (d.checkpoint !== undefined) out.checkpoint = checkEnum(d.checkpoint, ['bitmap', 'no'] as const, `${field}.checkpoint`);
  if (d.bitmap !== undefined) {
    if (out.checkpoint === 'no') fail(`${field}.bitmap`, "allowed only when checkpoint is 'bitmap' or left out");
    out.bitmap = checkAttributeText(d.bitmap, `${field}.bitmap`, true);
    if (out.bitmap.length > MAX_BITMAP_NAME_LENGTH) fail(`${field}.bitmap`, `longer than ${MAX_BITMAP_NAME_LENGTH} characters`);
  }
  return out;
}
