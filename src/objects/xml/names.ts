/**
 * Snapshot and checkpoint names as libvirt accepts them, checked before anything is sent.
 */

import { checkText, fail } from './spec-check.js';

/**
 * Checks a snapshot name and returns it.
 *
 * Follows libvirt 9.0's QEMU driver (`qemuSnapshotCreateXMLValidateDef`): it stores each snapshot's metadata
 * in a file named after the snapshot, so a name may not contain `/` nor start with `.`. The schema
 * (domainsnapshot.rng) puts no other limit on it. An empty `<name/>` would make libvirt pick a name from the
 * clock, so an empty name is refused too (leave the name out to get that), and so is a carriage return,
 * which does not survive libvirt's XML.
 *
 * @throws InvalidArgumentError naming `field`.
 */
export function validateSnapshotName(name: unknown, field = 'name'): string {
  const value = checkText(name, field, true);
  if (value.includes('/')) fail(field, "a snapshot name may not contain '/'");
  if (value.startsWith('.')) fail(field, "a snapshot name may not start with '.'");
  // libvirt writes a CR in element text unescaped; every XML parser, libvirt's own included, reads it back
  // as LF, so the name would change when libvirt reloads its snapshot metadata.
  if (value.includes('\r')) fail(field, 'a snapshot name may not contain a carriage return');
  return value;
}

/** The pattern of `checkpointName` in domaincheckpoint.rng: no leading `.`, no `/`, whitespace or newline. */
const CHECKPOINT_NAME = /^[a-zA-Z0-9_-][a-zA-Z0-9_.-]*$/;

/**
 * The longest bitmap name QEMU stores in a qcow2 image (`BDRV_BITMAP_MAX_NAME_SIZE`). libvirt's QEMU driver
 * names each disk's bitmap after the checkpoint, so a longer checkpoint name fails in QEMU.
 */
export const MAX_BITMAP_NAME_LENGTH = 1023;

/**
 * Checks a checkpoint name and returns it.
 *
 * libvirt always validates checkpoint XML against domaincheckpoint.rng, whose `checkpointName` allows ASCII
 * letters, digits, `_`, `-` and `.` (not first). We also refuse names longer than
 * {@link MAX_BITMAP_NAME_LENGTH}, which QEMU would reject as bitmap names.
 *
 * @throws InvalidArgumentError naming `field`.
 */
export function validateCheckpointName(name: unknown, field = 'name'): string {
  const value = checkText(name, field, true);
  if (!CHECKPOINT_NAME.test(value)) {
    fail(field, "a checkpoint name may contain only letters, digits, '_', '-' and '.', and may not start with '.'");
  }
  if (value.length > MAX_BITMAP_NAME_LENGTH) fail(field, `a checkpoint name may not be longer than ${MAX_BITMAP_NAME_LENGTH} characters`);
  return value;
}

/** Whether libvirt would accept `name` as a snapshot name (see {@link validateSnapshotName}). */
export function isValidSnapshotName(name: string): boolean {
  return accepts(() => validateSnapshotName(name));
}

/** Whether libvirt would accept `name` as a checkpoint name (see {@link validateCheckpointName}). */
export function isValidCheckpointName(name: string): boolean {
  return accepts(() => validateCheckpointName(name));
}

function accepts(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
