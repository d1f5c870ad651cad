/**
 * Typed backup specs turned into `<domainbackup>` XML for `virDomainBackupBegin`, checked against the rules
 * of formatbackup.rst and domainbackup.rng before anything is sent.
 */

import { validateCheckpointName } from './names.js';
import {
  checkAbsolutePath,
  checkArray,
  checkAttributeText,
  checkBoolean,
  checkDiskName,
  checkEnum,
  checkInteger,
  checkRecord,
  checkText,
  checkUniqueDisks,
  fail,
} from './spec-check.js';
import { XmlWriter, type Attributes } from './xml-writer.js';

/** Destination formats of a push backup (`storageFormat` in storagecommon.rng). */
export type BackupPushFormat =
  | 'raw' | 'dir' | 'bochs' | 'cloop' | 'dmg' | 'iso' | 'vpc' | 'vdi' | 'fat' | 'vhd' | 'ploop' | 'luks'
  | 'cow' | 'qcow' | 'qcow2' | 'qed' | 'vmdk';

const PUSH_FORMATS: readonly BackupPushFormat[] = [
  'raw', 'dir', 'bochs', 'cloop', 'dmg', 'iso', 'vpc', 'vdi', 'fat', 'vhd', 'ploop', 'luks',
  'cow', 'qcow', 'qcow2', 'qed', 'vmdk',
];

/** Per-disk settings common to push and pull backups. */
interface BackupDiskSpecBase {
  /** The disk's target, e.g. `vda` (backups do not accept source paths). */
  name: string;
  /** False leaves the disk out; then no other field may be set. Default true. */
  backup?: boolean;
  /** Forces a full or an incremental copy of this disk. */
  backupMode?: 'full' | 'incremental';
  /** The checkpoint this disk's incremental copy starts from, overriding the job's. */
  incremental?: string;
  /** Storage type of the target (push) or scratch (pull) image. Default `file`. */
  type?: 'file' | 'block';
}

/** One disk of a push backup. */
export interface BackupPushDiskSpec extends BackupDiskSpecBase {
  /** Absolute path of the destination file or device; left out for a file, libvirt picks a name. */
  target?: string;
  /** Destination format; libvirt's default is qcow2. */
  format?: BackupPushFormat;
}

/** One disk of a pull backup. */
export interface BackupPullDiskSpec extends BackupDiskSpecBase {
  /** Absolute path of the local scratch file or device; left out for a file, libvirt picks a name. */
  scratch?: string;
  /** Scratch format; only qcow2 is possible. Needs `scratch`. */
  format?: 'qcow2';
  /** NBD export name; default the disk target. */
  exportName?: string;
  /** Name of the dirty bitmap exported with the disk. */
  exportBitmap?: string;
}

/** The NBD server of a pull backup, over TCP or a unix socket. */
export type BackupServerSpec =
  | { transport?: 'tcp'; name: string; port?: number; tls?: boolean }
  | { transport: 'unix'; socket: string; tls?: boolean };

/** A push backup: the hypervisor writes each disk to its target. */
export interface PushBackupSpec {
  mode?: 'push';
  /** Name of the checkpoint to back up from; left out, the backup is full. */
  incremental?: string;
  /** The disks to list; left out (or empty), every disk is backed up to a generated file name. */
  disks?: readonly BackupPushDiskSpec[];
}

/** A pull backup: the hypervisor serves the disks over NBD for a third party to read. */
export interface PullBackupSpec {
  mode: 'pull';
  incremental?: string;
  server: BackupServerSpec;
  disks?: readonly BackupPullDiskSpec[];
}

/** A backup job to begin. */
export type BackupSpec = PushBackupSpec | PullBackupSpec;

const BASE_DISK_KEYS = ['name', 'backup', 'backupMode', 'incremental', 'type'] as const;
const PUSH_DISK_KEYS = /* @__PURE__ */ (() => [...BASE_DISK_KEYS, 'target', 'format'] as const)();
const PULL_DISK_KEYS = /* @__PURE__ */ (() => [...BASE_DISK_KEYS, 'scratch', 'format', 'exportName', 'exportBitmap'] as const)();

/**
 * Checks `spec` and returns its `<domainbackup>` XML, which validates against domainbackup.rng.
 *
 * @throws InvalidArgumentError naming the first bad field, e.g. `spec.server.port: expected an integer
 *   from 1 to 65535`.
 */
export function backupSpecToXml(spec: BackupSpec): string {
  const pull = (spec as { mode?: unknown } | null)?.mode === 'pull';
  const s = checkRecord(spec, 'spec', pull ? ['mode', 'incremental', 'server', 'disks'] : ['mode', 'incremental', 'disks']);
  if (s.mode !== undefined) checkEnum(s.mode, ['push', 'pull'] as const, 'spec.mode');
  const w = new XmlWriter().open('domainbackup', [['mode', s.mode as string | undefined]]);
  const incremental = s.incremental === undefined ? undefined : validateCheckpointName(s.incremental, 'spec.incremental');
  if (incremental !== undefined) w.leaf('incremental', [], incremental);
  if (pull) {
    if (s.server === undefined) fail('spec.server', 'required for a pull backup');
    w.leaf('server', serverAttributes(s.server));
  }
  if (s.disks !== undefined) {
    const disks = checkArray(s.disks, 'spec.disks').map((d, i) => checkDisk(d, `spec.disks[${i}]`, pull, incremental !== undefined));
    checkUniqueDisks(disks.map((d) => d.name), 'spec.disks');
    // domainbackup.rng wants at least one <disk> in <disks>; libvirt reads none the same as no <disks>.
    if (disks.length > 0) {
      w.open('disks');
      for (const d of disks) writeDisk(w, d);
      w.close('disks');
    }
  }
  return w.close('domainbackup').toString();
}

function serverAttributes(server: unknown): Attributes {
  const unix = (server as { transport?: unknown } | null)?.transport === 'unix';
  const s = checkRecord(server, 'spec.server', unix ? ['transport', 'socket', 'tls'] : ['transport', 'name', 'port', 'tls']);
  const tls = s.tls === undefined ? undefined : checkBoolean(s.tls, 'spec.server.tls') ? 'yes' : 'no';
  if (unix) return [['transport', 'unix'], ['socket', checkAbsolutePath(s.socket, 'spec.server.socket')], ['tls', tls]];
  if (s.transport !== undefined) checkEnum(s.transport, ['tcp', 'unix'] as const, 'spec.server.transport');
  const port = s.port === undefined ? undefined : String(checkInteger(s.port, 'spec.server.port', 1, 65535));
  return [['transport', s.transport as string | undefined], ['name', checkHost(s.name, 'spec.server.name')], ['port', port], ['tls', tls]];
}

/** A host name or IPv4 address (`dnsName` in basictypes.rng) or an IPv6 address. */
function checkHost(value: unknown, field: string): string {
  const host = checkText(value, field, true);
  if (!/^[a-zA-Z0-9.-]+$/.test(host) && !isIpv6(host)) fail(field, 'expected a host name, an IPv4 or an IPv6 address');
  return host;
}

/**
 * IPv6 in the forms basictypes.rng's `ipv6Addr` accepts: eight groups, or fewer around one `::`; a dotted
 * IPv4 tail only after six groups, right after a leading `::`, or right after the `::`.
 */
function isIpv6(text: string): boolean {
  const v4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
  const group = /^[0-9a-fA-F]{1,4}$/;
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parts = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = parts(halves[0]!);
  const tail = halves.length === 2 ? parts(halves[1]!) : [];
  const last = halves.length === 2 ? tail : head;
  let groups = head.length + tail.length;
  if (last.length > 0 && v4.test(last[last.length - 1]!)) {
    last.pop();
    groups += 1; // the IPv4 tail stands for two groups, one of which `last.pop()` already removed
    const v4Allowed = halves.length === 1 ? head.length === 6 : head.length === 0 || tail.length === 0;
    if (!v4Allowed) return false;
  }
  if (![...head, ...tail].every((g) => group.test(g))) return false;
  return halves.length === 2 ? groups <= 7 : groups === 8;
}

interface CheckedDisk {
  name: string;
  attributes: Attributes;
  /** `<target>` or `<scratch>` with its `file` or `dev` attribute, when a path was given. */
  store?: { element: 'target' | 'scratch'; attribute: 'file' | 'dev'; path: string };
  format?: string;
}

function checkDisk(disk: unknown, field: string, pull: boolean, jobIncremental: boolean): CheckedDisk {
  const d = checkRecord(disk, field, pull ? PULL_DISK_KEYS : PUSH_DISK_KEYS);
  const name = checkDiskName(d.name, `${field}.name`, false);
  if (d.backup !== undefined && !checkBoolean(d.backup, `${field}.backup`)) {
    // backup_conf.c reads nothing else of a disk with backup='no'; refuse settings it would ignore.
    for (const key of Object.keys(d)) {
      if (key !== 'name' && key !== 'backup') fail(`${field}.${key}`, 'not allowed when backup is false');
    }
    return { name, attributes: [['name', name], ['backup', 'no']] };
  }
  const mode = d.backupMode === undefined ? undefined : checkEnum(d.backupMode, ['full', 'incremental'] as const, `${field}.backupMode`);
  const incremental = d.incremental === undefined ? undefined : validateCheckpointName(d.incremental, `${field}.incremental`);
  // domainbackup.rng: backupmode='full' excludes an incremental attribute.
  if (mode === 'full' && incremental !== undefined) fail(`${field}.incremental`, "not allowed when backupMode is 'full'");
  // backup_conf.c: "'incremental' backup mode of disk requires setting 'incremental' field".
  if (mode === 'incremental' && incremental === undefined && !jobIncremental) {
    fail(`${field}.incremental`, "required when backupMode is 'incremental' and spec.incremental is not set");
  }
  const type = d.type === undefined ? 'file' : checkEnum(d.type, ['file', 'block'] as const, `${field}.type`);
  const pathKey = pull ? 'scratch' : 'target';
  const path = d[pathKey] === undefined ? undefined : checkAbsolutePath(d[pathKey], `${field}.${pathKey}`);
  // backup_conf.c generates names only for files: a block device must be named.
  if (type === 'block' && path === undefined) fail(`${field}.${pathKey}`, "required when type is 'block'");
  const format = d.format === undefined ? undefined : checkEnum(d.format, pull ? (['qcow2'] as const) : PUSH_FORMATS, `${field}.format`);
  // domainbackup.rng: a pull disk's <driver> comes only together with <scratch>.
  if (pull && format !== undefined && path === undefined) fail(`${field}.format`, 'needs scratch to be set');
  const attributes: Attributes = [
    ['name', name],
    ['backupmode', mode],
    ['incremental', incremental],
    ['exportname', d.exportName === undefined ? undefined : checkAttributeText(d.exportName, `${field}.exportName`, true)],
    ['exportbitmap', d.exportBitmap === undefined ? undefined : checkAttributeText(d.exportBitmap, `${field}.exportBitmap`, true)],
    ['backup', d.backup === undefined ? undefined : 'yes'],
    // domainbackup.rng requires the type of every push disk that takes part; libvirt's default is file.
    ['type', type],
  ];
  const checked: CheckedDisk = { name, attributes };
  if (path !== undefined) checked.store = { element: pathKey, attribute: type === 'block' ? 'dev' : 'file', path };
  if (format !== undefined) checked.format = format;
  return checked;
}

function writeDisk(w: XmlWriter, d: CheckedDisk): void {
  if (d.store === undefined && d.format === undefined) {
    w.leaf('disk', d.attributes);
    return;
  }
  w.open('disk', d.attributes);
  if (d.store !== undefined) w.leaf(d.store.element, [[d.store.attribute, d.store.path]]);
  if (d.format !== undefined) w.leaf('driver', [['type', d.format]]);
  w.close('disk');
}
