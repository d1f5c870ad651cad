/**
 * Typed snapshot specs turned into `<domainsnapshot>` XML for `virDomainSnapshotCreateXML`, checked first so
 * that a bad spec fails here, naming its field, and nothing is sent.
 */

import { validateSnapshotName } from './names.js';
import { SNAPSHOT_LOCATIONS, type SnapshotLocation, type SnapshotState } from './snapshot.js';
import {
  checkAbsolutePath,
  checkArray,
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

/** `<memory>` of a snapshot request. libvirt refuses `manual` for memory. */
export type SnapshotMemorySpec =
  | { snapshot: 'no' | 'internal' }
  /** An external memory image at `file` (absolute); `snapshot` may be left out. */
  | { snapshot?: 'external'; file: string };

/** Image formats an external snapshot can create (`storageFormatBacking` in storagecommon.rng). */
export type SnapshotDriverType = 'qcow2' | 'qed' | 'vmdk' | 'qcow' | 'cow';

/** One disk of a snapshot request. */
export interface SnapshotDiskSpec {
  /** The disk's target (`vda`, recommended) or its current source path. */
  name: string;
  /** Left out, the domain's disk setting or the hypervisor default applies. */
  snapshot?: SnapshotLocation;
  /** Storage type of the new image of an external snapshot: `file` (default) or `block`. */
  type?: 'file' | 'block';
  /** Format of the new image of an external snapshot. */
  driverType?: SnapshotDriverType;
  /** Absolute path of the new image (`file`) or device (`block`); left out, libvirt derives a file name. */
  source?: string;
}

/** Fields that only `VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE` reads; libvirt requires state and creation time. */
export interface SnapshotRedefineSpec {
  /** The domain state the snapshot recorded (the states domainsnapshot.rng allows). */
  state: Exclude<SnapshotState, 'nostate' | 'pmsuspended'>;
  /** A Date, or whole seconds since the epoch. */
  creationTime: Date | number;
  /** The parent snapshot's name. */
  parent?: string;
  /** The full `<domain type=...>` definition at snapshot time, e.g. from {@link SnapshotDescription.xml}'s domain. */
  domainXml?: string;
}

/** A snapshot to create, or (with `redefine`) snapshot metadata to restore. */
export interface SnapshotSpec {
  /** Left out, libvirt names the snapshot after the current time. Required with `redefine`. */
  name?: string;
  description?: string;
  memory?: SnapshotMemorySpec;
  /** The disks to treat specially; an empty list is the same as none. */
  disks?: readonly SnapshotDiskSpec[];
  redefine?: SnapshotRedefineSpec;
}

const SNAPSHOT_KEYS = ['name', 'description', 'memory', 'disks', 'redefine'] as const;
const DISK_KEYS = ['name', 'snapshot', 'type', 'driverType', 'source'] as const;
const REDEFINE_KEYS = ['state', 'creationTime', 'parent', 'domainXml'] as const;
const DRIVER_TYPES: readonly SnapshotDriverType[] = ['qcow2', 'qed', 'vmdk', 'qcow', 'cow'];
const REDEFINE_STATES: readonly SnapshotRedefineSpec['state'][] = [
  'running', 'blocked', 'paused', 'shutdown', 'shutoff', 'crashed', 'disk-snapshot',
];

/**
 * Checks `spec` and returns its `<domainsnapshot>` XML, which validates against domainsnapshot.rng.
 *
 * @throws InvalidArgumentError naming the first bad field, e.g.
 *   `spec.disks[1].snapshot: expected one of no, internal, external, manual`.
 */
export function snapshotSpecToXml(spec: SnapshotSpec): string {
  const s = checkRecord(spec, 'spec', SNAPSHOT_KEYS);
  const w = new XmlWriter().open('domainsnapshot');
  if (s.name !== undefined) w.leaf('name', [], validateSnapshotName(s.name, 'spec.name'));
  // libvirt reads an empty <description> as none (virXPathString gives NULL for ''), so '' writes nothing.
  const description = s.description === undefined ? '' : checkText(s.description, 'spec.description');
  if (description !== '') w.leaf('description', [], description);
  let domainXml: string | undefined;
  let offline = false;
  if (s.redefine !== undefined) {
    if (s.name === undefined) fail('spec.name', 'required when redefining a snapshot');
    const r = checkRecord(s.redefine, 'spec.redefine', REDEFINE_KEYS);
    const state = checkEnum(r.state, REDEFINE_STATES, 'spec.redefine.state');
    // snapshot_conf.c treats shutoff and disk-snapshot as offline: no memory state can exist.
    offline = state === 'shutoff' || state === 'disk-snapshot';
    w.leaf('state', [], state);
    if (r.parent !== undefined) {
      w.open('parent').leaf('name', [], validateSnapshotName(r.parent, 'spec.redefine.parent')).close('parent');
    }
    w.leaf('creationTime', [], String(checkSeconds(r.creationTime, 'spec.redefine.creationTime')));
    if (r.domainXml !== undefined) domainXml = checkDomainXml(r.domainXml, 'spec.redefine.domainXml');
  }
  if (s.memory !== undefined) writeMemory(w, s.memory, offline);
  if (s.disks !== undefined) {
    const disks = checkArray(s.disks, 'spec.disks').map((d, i) => checkDisk(d, `spec.disks[${i}]`));
    checkUniqueDisks(disks.map((d) => d.name), 'spec.disks');
    if (disks.length > 0) {
      w.open('disks');
      for (const d of disks) writeDisk(w, d);
      w.close('disks');
    }
  }
  if (domainXml !== undefined) w.raw(domainXml);
  return w.close('domainsnapshot').toString();
}

function writeMemory(w: XmlWriter, memory: unknown, offline: boolean): void {
  const m = checkRecord(memory, 'spec.memory', ['snapshot', 'file']);
  const snapshot = m.snapshot === undefined && m.file !== undefined ? 'external' : m.snapshot;
  if (snapshot === 'manual') fail('spec.memory.snapshot', "libvirt does not support 'manual' for memory; expected one of no, internal, external");
  const location = checkEnum(snapshot, ['no', 'internal', 'external'] as const, 'spec.memory.snapshot');
  if (location === 'external') {
    if (m.file === undefined) fail('spec.memory.file', 'required for an external memory snapshot');
    w.leaf('memory', [['snapshot', 'external'], ['file', checkAbsolutePath(m.file, 'spec.memory.file')]]);
    return;
  }
  if (m.file !== undefined) fail('spec.memory.file', 'allowed only for an external memory snapshot');
  if (offline && location !== 'no') {
    fail('spec.memory.snapshot', "must be 'no' when spec.redefine.state is shutoff or disk-snapshot");
  }
  w.leaf('memory', [['snapshot', location]]);
}

interface CheckedDisk {
  name: string;
  snapshot?: SnapshotLocation;
  type?: 'file' | 'block';
  driverType?: SnapshotDriverType;
  source?: string;
}

function checkDisk(disk: unknown, field: string): CheckedDisk {
  const d = checkRecord(disk, field, DISK_KEYS);
  const out: CheckedDisk = { name: checkDiskName(d.name, `${field}.name`, true) };
  if (d.snapshot !== undefined) out.snapshot = checkEnum(d.snapshot, SNAPSHOT_LOCATIONS, `${field}.snapshot`);
  // domainsnapshot.rng: type, <driver> and <source> belong to external snapshots only.
  const external = out.snapshot === undefined || out.snapshot === 'external';
  for (const key of ['type', 'driverType', 'source'] as const) {
    if (d[key] !== undefined && !external) fail(`${field}.${key}`, "allowed only when snapshot is 'external' or left out");
  }
  if (d.type !== undefined) out.type = checkEnum(d.type, ['file', 'block'] as const, `${field}.type`);
  if (d.driverType !== undefined) out.driverType = checkEnum(d.driverType, DRIVER_TYPES, `${field}.driverType`);
  if (d.source !== undefined) out.source = checkAbsolutePath(d.source, `${field}.source`);
  // snapshot_conf.c generates file names only for file storage: a block target must be named.
  if (out.type === 'block' && out.source === undefined) fail(`${field}.source`, "required when type is 'block'");
  return out;
}

function writeDisk(w: XmlWriter, d: CheckedDisk): void {
  const attrs = [['name', d.name], ['snapshot', d.snapshot], ['type', d.type]] as const;
  if (d.driverType === undefined && d.source === undefined) {
    w.leaf('disk', attrs);
    return;
  }
  w.open('disk', attrs);
  if (d.driverType !== undefined) w.leaf('driver', [['type', d.driverType]]);
  if (d.source !== undefined) w.leaf('source', [[d.type === 'block' ? 'dev' : 'file', d.source]]);
  w.close('disk');
}
