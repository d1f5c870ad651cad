/**
 * The `--json` shapes of the snapshot and checkpoint commands: stable, documented in json-output.md. Keys are
 * never removed or renamed within a major version; new keys may be added. Times are Unix seconds (libvirt's
 * `<creationTime>`), absent values are null, never left out.
 */
import type { CheckpointDescription, SnapshotDescription } from '../index.js';

/** Where a snapshot keeps its data, as snapshot-info's `Location:` line says. */
export type SnapshotPlace = 'internal' | 'external';

/**
 * A snapshot's location the way virsh's snapshot-info decides it: with a `<memory>` element, external when the
 * memory or any disk is external; without one (snapshots made before libvirt 1.0.1), external only for a
 * disk-only snapshot.
 */
export function snapshotPlace(d: SnapshotDescription): SnapshotPlace {
  if (d.memory !== null) {
    return d.memory.snapshot === 'external' || d.disks.some((disk) => disk.snapshot === 'external') ? 'external' : 'internal';
  }
  return d.state === 'disk-snapshot' ? 'external' : 'internal';
}

/** Unix seconds of a description's creation time, or null. */
export function unixSeconds(date: Date | null): number | null {
  return date === null ? null : Math.floor(date.getTime() / 1000);
}

/** One snapshot of `snapshot-list --json`. */
export interface SnapshotItemJson {
  name: string;
  /** The parent snapshot's name; null for a root. */
  parent: string | null;
  /** `<creationTime>`, Unix seconds. */
  creationTime: number | null;
  /** The domain state the snapshot recorded (`running`, `shutoff`, `disk-snapshot`, ...). */
  state: string | null;
  location: SnapshotPlace;
  description: string | null;
  /** Whether it is the domain's current snapshot. */
  current: boolean;
}

/** `snapshot-list --json`: the snapshots in the order the text output lists them. */
export interface SnapshotListJson {
  domain: string;
  snapshots: SnapshotItemJson[];
}

/** `snapshot-info --json`. */
export interface SnapshotInfoJson {
  name: string;
  domain: string;
  current: boolean;
  state: string | null;
  location: SnapshotPlace;
  parent: string | null;
  children: number;
  descendants: number;
  /** Whether libvirt keeps metadata for it; null when the daemon cannot say. */
  metadata: boolean | null;
}

/** `snapshot-dumpxml --json`, `snapshot-current --json` (xml is null with `--name`), `checkpoint-dumpxml --json`. */
export interface XmlJson {
  domain: string;
  name: string;
  xml: string | null;
}

/** `snapshot-parent --json`, `checkpoint-parent --json`. */
export interface ParentJson {
  domain: string;
  name: string;
  parent: string;
}

/** What an action command did. */
export type SnapshotAction = 'created' | 'reverted' | 'deleted' | 'children-deleted' | 'set-current';

/** `snapshot-create-as`, `snapshot-revert`, `snapshot-delete`, `snapshot-current <name>` with `--json`. */
export interface SnapshotActionJson {
  domain: string;
  snapshot: string;
  action: SnapshotAction;
}

/** `snapshot-create-as --print-xml --json`, `checkpoint-create-as --print-xml --json`. */
export interface PrintXmlJson {
  domain: string;
  xml: string;
}

/** One checkpoint of `checkpoint-list --json`. */
export interface CheckpointItemJson {
  name: string;
  parent: string | null;
  creationTime: number | null;
  description: string | null;
}

/** `checkpoint-list --json`. */
export interface CheckpointListJson {
  domain: string;
  checkpoints: CheckpointItemJson[];
}

/** `checkpoint-info --json`. */
export interface CheckpointInfoJson {
  name: string;
  domain: string;
  parent: string | null;
  children: number;
  descendants: number;
}

/** `checkpoint-create-as`, `checkpoint-delete` with `--json`. */
export interface CheckpointActionJson {
  domain: string;
  checkpoint: string;
  action: 'created' | 'deleted' | 'children-deleted';
}

/** The list item of a snapshot description. */
export function snapshotItem(d: SnapshotDescription, current: boolean): SnapshotItemJson {
  return {
    name: d.name,
    parent: d.parent,
    creationTime: unixSeconds(d.creationTime),
    state: d.state,
    location: snapshotPlace(d),
    description: d.description,
    current,
  };
}

/** The list item of a checkpoint description. */
export function checkpointItem(d: CheckpointDescription): CheckpointItemJson {
  return { name: d.name, parent: d.parent, creationTime: unixSeconds(d.creationTime), description: d.description };
}
