/**
 * Domain snapshot XML (formatsnapshot.rst, domainsnapshot.rng): the description of a snapshot as
 * `virDomainSnapshotGetXMLDesc` returns it.
 */

import { XmlError } from '../../errors.js';
import { childElement, childElements, type ParseXmlOptions, type XmlElement } from './parse.js';
import {
  domainReference,
  enumValue,
  optionalAttribute,
  optionalText,
  parseRoot,
  requiredText,
  secondsToDate,
  type DomainReference,
} from './read.js';

/** Where a disk's (or the memory's) snapshot goes: libvirt's `virDomainSnapshotLocation` names. */
export type SnapshotLocation = 'no' | 'internal' | 'external' | 'manual';

/** All {@link SnapshotLocation} values. */
export const SNAPSHOT_LOCATIONS: readonly SnapshotLocation[] = ['no', 'internal', 'external', 'manual'];

/** The domain state a snapshot records: libvirt's `virDomainSnapshotState` names. */
export type SnapshotState =
  | 'nostate'
  | 'running'
  | 'blocked'
  | 'paused'
  | 'shutdown'
  | 'shutoff'
  | 'crashed'
  | 'pmsuspended'
  | 'disk-snapshot';

/** All {@link SnapshotState} values. */
export const SNAPSHOT_STATES: readonly SnapshotState[] = [
  'nostate', 'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'pmsuspended', 'disk-snapshot',
];

/** How the snapshot keeps the guest's memory (`<memory>`). */
export interface SnapshotMemory {
  snapshot: SnapshotLocation;
  /** The memory image of an external memory snapshot. */
  file: string | null;
}

/** One `<disk>` of a snapshot. */
export interface SnapshotDisk {
  /** The disk's target (`vda`) or, in caller-written XML, its source path. */
  name: string;
  /** Null only in input XML that leaves it to the domain's defaults; libvirt's output always says. */
  snapshot: SnapshotLocation | null;
  /** The storage type of an external snapshot's new image. */
  type: 'file' | 'block' | 'network' | null;
  /** `<driver type>`: the format of the new image, e.g. `qcow2`. */
  driverType: string | null;
  /** The new image: `<source file>`, `<source dev>` or, for network storage, `<source name>`. */
  source: string | null;
  /** `<snapshotDeleteInProgress/>`: a deletion was interrupted and the images are inconsistent. */
  deleteInProgress: boolean;
}

/** A snapshot description: the typed fields of `<domainsnapshot>` plus the XML itself. */
export interface SnapshotDescription {
  name: string;
  /**
   * Null when there is none (libvirt also drops an empty one). libvirt writes a CR in text unescaped
   * (`virBufferEscapeString`), so a CR a caller stored reads back here, as in every XML parser, as LF.
   */
  description: string | null;
  /** The domain state when the snapshot was taken; null in input XML, which does not carry it. */
  state: SnapshotState | null;
  /** `<creationTime>` (whole seconds); null in input XML. */
  creationTime: Date | null;
  /** The parent snapshot's name, or null for a root snapshot. */
  parent: string | null;
  /** `<memory>`; null when absent. */
  memory: SnapshotMemory | null;
  disks: SnapshotDisk[];
  /** `<active>` (present only in libvirt's internal metadata files): whether the snapshot is the current one. */
  current?: boolean;
  /** The domain the snapshot was taken of (`<domain>`). */
  domain: DomainReference | null;
  /** The inactive definition of a running domain at snapshot time (`<inactiveDomain>`, libvirt 7.0 and later). */
  inactiveDomain: DomainReference | null;
  /** The XML as received, for round trips (e.g. redefining the snapshot elsewhere). */
  xml: string;
}

const ROOT = 'domainsnapshot';

/**
 * Reads a `<domainsnapshot>` document into a {@link SnapshotDescription}.
 *
 * @throws XmlError when the XML is malformed or unsafe (see {@link parseXml}), has another root, lacks
 *   `<name>`, or has a value outside its schema type.
 */
export function describeSnapshot(xml: string, options?: ParseXmlOptions): SnapshotDescription {
  const root = parseRoot(xml, ROOT, options);
  const state = optionalText(root, 'state');
  const creation = optionalText(root, 'creationTime');
  const parent = childElement(root, 'parent');
  const active = optionalText(root, 'active');
  const description: SnapshotDescription = {
    name: requiredText(root, 'name', `${ROOT}.name`),
    description: optionalText(root, 'description'),
    state: state === null ? null : enumValue(state.trim(), SNAPSHOT_STATES, `${ROOT}.state`),
    creationTime: creation === null ? null : secondsToDate(creation, `${ROOT}.creationTime`),
    parent: parent ? requiredText(parent, 'name', `${ROOT}.parent.name`) : null,
    memory: readMemory(childElement(root, 'memory')),
    disks: childElements(childElement(root, 'disks') ?? EMPTY, 'disk').map(readDisk),
    domain: domainReference(childElement(root, 'domain')),
    inactiveDomain: domainReference(childElement(root, 'inactiveDomain')),
    xml,
  };
  if (active !== null) {
    description.current = enumValue(active.trim(), ['0', '1'] as const, `${ROOT}.active`) === '1';
  }
  return description;
}

const EMPTY: XmlElement = { name: '', attributes: new Map(), children: [], text: '' };

function readMemory(memory: XmlElement | undefined): SnapshotMemory | null {
  if (!memory) return null;
  const file = optionalAttribute(memory, 'file');
  const snapshot = optionalAttribute(memory, 'snapshot');
  // snapshot_conf.c: a memory file without a snapshot attribute means an external memory snapshot.
  if (snapshot === null && file === null) throw new XmlError(`${ROOT}.memory: needs a snapshot or file attribute`);
  return {
    snapshot: snapshot === null ? 'external' : enumValue(snapshot, SNAPSHOT_LOCATIONS, `${ROOT}.memory@snapshot`),
    file,
  };
}

function readDisk(disk: XmlElement, index: number): SnapshotDisk {
  const field = `${ROOT}.disks.disk[${index}]`;
  const name = optionalAttribute(disk, 'name');
  if (name === null) throw new XmlError(`${field}@name: missing`);
  const type = optionalAttribute(disk, 'type');
  const source = childElement(disk, 'source');
  const driverType = optionalAttribute(childElement(disk, 'driver') ?? EMPTY, 'type');
  const sourcePath = source
    ? (optionalAttribute(source, 'file') ?? optionalAttribute(source, 'dev') ?? optionalAttribute(source, 'name'))
    : null;
  const snapshot = optionalAttribute(disk, 'snapshot');
  return {
    name,
    // snapshot_conf.c: with no snapshot attribute, a source or driver format implies an external snapshot.
    snapshot:
      snapshot !== null
        ? enumValue(snapshot, SNAPSHOT_LOCATIONS, `${field}@snapshot`)
        : sourcePath !== null || driverType !== null
          ? 'external'
          : null,
    type: type === null ? null : enumValue(type, ['file', 'block', 'network'] as const, `${field}@type`),
    driverType,
    source: sourcePath,
    deleteInProgress: childElement(disk, 'snapshotDeleteInProgress') !== undefined,
  };
}
