/**
 * Typed XML for domain snapshots, checkpoints and backup jobs.
 *
 * Reading: `describeSnapshot`, `describeCheckpoint` and `describeBackup` turn the XML the daemon returns into
 * typed objects, parsing it with one locked-down parser (no DTD, no entities beyond XML's five, a size bound)
 * and failing with `XmlError`. Writing: `snapshotSpecToXml`, `checkpointSpecToXml` and `backupSpecToXml` check
 * a typed spec, failing with `InvalidArgumentError` naming the field, and return XML that validates against
 * libvirt's RelaxNG schemas.
 */

/** The safe parser and its element tree, for callers that need XML beyond the described fields. */
export {
  parseXml,
  childElement,
  childElements,
  childText,
  DEFAULT_MAX_XML_LENGTH,
  type XmlElement,
  type ParseXmlOptions,
} from './parse.js';

/** The embedded domain's identity, shared by snapshot and checkpoint descriptions. */
export type { DomainReference } from './read.js';

/** Snapshot and checkpoint name rules, as libvirt enforces them. */
export {
  validateSnapshotName,
  validateCheckpointName,
  isValidSnapshotName,
  isValidCheckpointName,
  MAX_BITMAP_NAME_LENGTH,
} from './names.js';

/** Snapshot descriptions (`virDomainSnapshotGetXMLDesc`). */
export {
  describeSnapshot,
  SNAPSHOT_LOCATIONS,
  SNAPSHOT_STATES,
  type SnapshotDescription,
  type SnapshotDisk,
  type SnapshotMemory,
  type SnapshotLocation,
  type SnapshotState,
} from './snapshot.js';

/** Snapshot specs (`virDomainSnapshotCreateXML`). */
export {
  snapshotSpecToXml,
  type SnapshotSpec,
  type SnapshotDiskSpec,
  type SnapshotMemorySpec,
  type SnapshotRedefineSpec,
  type SnapshotDriverType,
} from './snapshot-spec.js';

/** Checkpoint descriptions and specs (`virDomainCheckpointGetXMLDesc`, `virDomainCheckpointCreateXML`). */
export {
  describeCheckpoint,
  checkpointSpecToXml,
  type CheckpointDescription,
  type CheckpointDisk,
  type CheckpointDiskKind,
  type CheckpointSpec,
  type CheckpointDiskSpec,
  type CheckpointRedefineSpec,
} from './checkpoint.js';

/** Backup job descriptions (`virDomainBackupGetXMLDesc`). */
export {
  describeBackup,
  type BackupDescription,
  type BackupDisk,
  type BackupServer,
  type BackupMode,
  type BackupServerTransport,
} from './backup.js';

/** Backup job specs (`virDomainBackupBegin`). */
export {
  backupSpecToXml,
  type BackupSpec,
  type PushBackupSpec,
  type PullBackupSpec,
  type BackupPushDiskSpec,
  type BackupPullDiskSpec,
  type BackupServerSpec,
  type BackupPushFormat,
} from './backup-spec.js';
