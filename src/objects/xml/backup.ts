/**
 * Backup job XML (formatbackup.rst): the description `virDomainBackupGetXMLDesc` returns for a running
 * backup job.
 */

import { XmlError } from '../../errors.js';
import { childElement, childElements, type ParseXmlOptions, type XmlElement } from './parse.js';
import { enumValue, optionalAttribute, optionalText, parseRoot, unsignedNumber, yesNo } from './read.js';

/** Push: the hypervisor writes the backup; pull: it serves the disks over NBD. */
export type BackupMode = 'push' | 'pull';

/** Transports of the NBD server of a pull backup: libvirt's `virStorageNetHostTransport` names. */
export type BackupServerTransport = 'tcp' | 'unix' | 'rdma' | 'fd';

/** The NBD server of a pull backup (`<server>`). */
export interface BackupServer {
  transport: BackupServerTransport;
  /** Host name or address (tcp). */
  name: string | null;
  /** TCP port; libvirt fills it in when it picked one. */
  port: number | null;
  /** Socket path (unix). */
  socket: string | null;
  /** The `tls` attribute; null when not set. */
  tls: boolean | null;
  /** The `fdgroup` of a pre-opened socket (transport `fd`, libvirt 11.3 and later). */
  fdgroup: string | null;
}

/** One `<disk>` of a backup job. */
export interface BackupDisk {
  /** The disk's target, e.g. `vda`. */
  name: string;
  /** False for a disk left out of the backup (`backup='no'`). */
  backup: boolean;
  /** Storage type of the target (push) or scratch (pull) image. */
  type: 'file' | 'block' | null;
  /** `backupmode`: whether this disk is copied fully or incrementally. */
  backupMode: 'full' | 'incremental' | null;
  /** The checkpoint an incremental backup of this disk starts from. */
  incremental: string | null;
  /** The NBD export name (pull). */
  exportName: string | null;
  /** The dirty bitmap exported with the disk (pull, incremental). */
  exportBitmap: string | null;
  /** libvirt's index of the target or scratch image, for APIs such as `virDomainSetBlockThreshold`. */
  index: number | null;
  /** `<driver type>`: the image format, e.g. `qcow2` or `raw`. */
  format: string | null;
  /** Push: the destination file or device. */
  target: string | null;
  /** Pull: the local scratch file or device. */
  scratch: string | null;
}

/** A backup job description: the typed fields of `<domainbackup>` plus the XML itself. */
export interface BackupDescription {
  mode: BackupMode;
  /** The checkpoint an incremental backup starts from; null for a full backup. */
  incremental: string | null;
  /** Pull mode only. */
  server: BackupServer | null;
  disks: BackupDisk[];
  /** The XML as received. */
  xml: string;
}

const ROOT = 'domainbackup';

/**
 * Reads a `<domainbackup>` document into a {@link BackupDescription}.
 *
 * @throws XmlError when the XML is malformed or unsafe, has another root, or has a value outside its
 *   schema type.
 */
export function describeBackup(xml: string, options?: ParseXmlOptions): BackupDescription {
  const root = parseRoot(xml, ROOT, options);
  const mode = optionalAttribute(root, 'mode');
  const server = childElement(root, 'server');
  const disks = childElement(root, 'disks');
  return {
    // backup_conf.c: a missing mode means push.
    mode: mode === null ? 'push' : enumValue(mode, ['push', 'pull'] as const, `${ROOT}@mode`),
    incremental: optionalText(root, 'incremental'),
    server: server ? readServer(server) : null,
    disks: disks ? childElements(disks, 'disk').map(readDisk) : [],
    xml,
  };
}

function readServer(server: XmlElement): BackupServer {
  const field = `${ROOT}.server`;
  const transport = optionalAttribute(server, 'transport');
  const port = optionalAttribute(server, 'port');
  const tls = optionalAttribute(server, 'tls');
  return {
    // The NBD host parser of domain_conf.c defaults the transport to tcp.
    transport: transport === null ? 'tcp' : enumValue(transport, ['tcp', 'unix', 'rdma', 'fd'] as const, `${field}@transport`),
    name: optionalAttribute(server, 'name'),
    port: port === null ? null : unsignedNumber(port, `${field}@port`, 65535),
    socket: optionalAttribute(server, 'socket'),
    tls: tls === null ? null : yesNo(tls, `${field}@tls`),
    fdgroup: optionalAttribute(server, 'fdgroup'),
  };
}

function readDisk(disk: XmlElement, index: number): BackupDisk {
  const field = `${ROOT}.disks.disk[${index}]`;
  const name = optionalAttribute(disk, 'name');
  if (name === null) throw new XmlError(`${field}@name: missing`);
  const backup = optionalAttribute(disk, 'backup');
  const type = optionalAttribute(disk, 'type');
  const mode = optionalAttribute(disk, 'backupmode');
  const idx = optionalAttribute(disk, 'index');
  const driver = childElement(disk, 'driver');
  return {
    name,
    // backup_conf.c: a disk listed without a backup attribute takes part.
    backup: backup === null ? true : yesNo(backup, `${field}@backup`),
    type: type === null ? null : enumValue(type, ['file', 'block'] as const, `${field}@type`),
    backupMode: mode === null ? null : enumValue(mode, ['full', 'incremental'] as const, `${field}@backupmode`),
    incremental: optionalAttribute(disk, 'incremental'),
    exportName: optionalAttribute(disk, 'exportname'),
    exportBitmap: optionalAttribute(disk, 'exportbitmap'),
    index: idx === null ? null : unsignedNumber(idx, `${field}@index`),
    format: driver ? optionalAttribute(driver, 'type') : null,
    target: storePath(childElement(disk, 'target')),
    scratch: storePath(childElement(disk, 'scratch')),
  };
}

function storePath(element: XmlElement | undefined): string | null {
  return element ? (optionalAttribute(element, 'file') ?? optionalAttribute(element, 'dev')) : null;
}
