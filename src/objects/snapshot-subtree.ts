/**
 * Deleting a snapshot together with its descendants without crashing the daemon.
 *
 * Wire quirk (libvirt 9.0.0 and later, QEMU driver; src/qemu/qemu_snapshot.c, qemuSnapshotDeleteChildren, with
 * the descendant walk of src/conf/virdomainmomentobjlist.c): DELETE_CHILDREN and DELETE_CHILDREN_ONLY delete
 * each descendant as a single snapshot, handing its children to its parent, while the walk visits a snapshot
 * before its children and keeps following the sibling links it read before that hand-over. When a snapshot that
 * has children is not the last of its siblings the walk visits, the walk reaches snapshots already freed and
 * libvirtd dies (SIGSEGV), taking every client's connection with it. Chains never hit this, nor branches whose
 * only non-leaf child is the one walked last. The walk's order is the order libvirt lists a snapshot's children
 * in (DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN without flags: the last linked first), which is what the check below
 * reads; a snapshot created below the subtree between the check and the deletion can still change it.
 * Before 9.0.0 the same flags deleted descendants without re-linking them (qemuDomainSnapshotDelete). The newest
 * version of that code we could read (with the external-snapshot revert of 9.9) walks the same way, and no
 * release note up to 12.5 mentions a fix, so the guard covers every QEMU daemon from 9.0.0 on.
 *
 * {@link deleteSubtree} is the safe way: it deletes one snapshot at a time, leaves first, so libvirt never has a
 * child to hand over, and reports progress and how far it got.
 */
import { LibvirtRpcError, brandError } from '../errors.js';
import { SNAPSHOT_CONSTANTS } from './constants.js';
import type { Connect } from './connect.js';
import type { DomainSnapshot } from './domain-snapshot.js';
import { checkTimeout } from '../protocol/durations.js';
import { Deadline, checkFlags, isRemoteError, pipelined, type CallOptions } from './support.js';

const { DELETE_CHILDREN, DELETE_CHILDREN_ONLY, DELETE_METADATA_ONLY, LIST_DESCENDANTS, LIST_LEAVES } = SNAPSHOT_CONSTANTS;

/** The first libvirt release whose QEMU driver crashes on DELETE_CHILDREN(_ONLY) of a branching subtree. */
export const DELETE_CHILDREN_CRASH_SINCE = 9_000_000;

/**
 * `DomainSnapshot.delete` with DELETE_CHILDREN or DELETE_CHILDREN_ONLY was refused before anything was sent:
 * the daemon's QEMU driver crashes deleting this subtree in one call (see the module comment). Nothing was
 * deleted; `snap.deleteSubtree(flags)` does the same deletion safely.
 */
export class UnsafeSnapshotDeleteError extends LibvirtRpcError {
  static {
    brandError(this, 'UnsafeSnapshotDeleteError');
  }

  override readonly code: string = 'ERR_UNSAFE_SNAPSHOT_DELETE';
  /** The snapshot that was to be deleted. */
  readonly snapshot: string;
  /** The daemon's libvirt version, e.g. `9.0.0`. */
  readonly daemonVersion: string;
  /** Leaves below the snapshot (2 or more: the subtree branches). */
  readonly leaves: number;
  /** The snapshot with children that the daemon would walk before one of its siblings. */
  readonly branch: string;

  constructor(snapshot: string, daemonVersion: string, leaves: number, branch: string, childrenOnly: boolean) {
    const flag = childrenOnly ? 'DELETE_CHILDREN_ONLY' : 'DELETE_CHILDREN';
    super(
      `refusing ${flag} of snapshot ${snapshot}: libvirtd ${daemonVersion} crashes (segfault, every client disconnected) ` +
        `deleting this subtree in one call (${leaves} branches; ${branch} has children and libvirt would walk it before a sibling); ` +
        `use snap.deleteSubtree(${childrenOnly ? 'DomainSnapshot.DELETE_CHILDREN_ONLY' : ''}), which deletes the same snapshots one at a time, leaves first`,
    );
    this.snapshot = snapshot;
    this.daemonVersion = daemonVersion;
    this.leaves = leaves;
    this.branch = branch;
  }
}

/** Progress of {@link deleteSubtree}: after each snapshot deleted. */
export interface SubtreeProgress {
  /** The snapshot just deleted. */
  name: string;
  /** How many are deleted so far, of `total`. */
  done: number;
  total: number;
}

/** Options of {@link deleteSubtree}: `timeout` bounds the whole deletion, `callTimeout` each call in it. */
export interface SubtreeDeleteOptions extends CallOptions {
  /** Bound on each call, ms (default: none beyond `timeout`). */
  callTimeout?: number;
  onProgress?: (p: SubtreeProgress) => void;
}

/**
 * {@link deleteSubtree} stopped part way: `deleted` are gone, `failed` could not be deleted (the cause says
 * why), and `remaining` (which includes `failed`) are still there, in the order they were to be deleted.
 */
export class SubtreeDeleteError extends LibvirtRpcError {
  static {
    brandError(this, 'SubtreeDeleteError');
  }

  override readonly code: string = 'ERR_SUBTREE_DELETE';
  readonly snapshot: string;
  readonly deleted: string[];
  readonly failed: string;
  readonly remaining: string[];

  constructor(snapshot: string, deleted: string[], failed: string, remaining: string[], cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`deleting the subtree of snapshot ${snapshot} stopped at ${failed} after deleting ${deleted.length} of ${deleted.length + remaining.length}: ${why}`, { cause });
    this.snapshot = snapshot;
    this.deleted = deleted;
    this.failed = failed;
    this.remaining = remaining;
  }
}

/** Per connection: null when the daemon is not affected, else its version as text. */
const affected = new WeakMap<Connect, Promise<string | null>>();

function affectedVersion(conn: Connect, d: Deadline): Promise<string | null> {
  let known = affected.get(conn);
  if (known === undefined) {
    known = (async () => {
      const [type, version] = await Promise.all([conn.getType(d.next()), conn.getLibVersion(d.next())]);
      if (type !== 'QEMU' || version < DELETE_CHILDREN_CRASH_SINCE) return null;
      return `${Math.floor(version / 1e6)}.${Math.floor(version / 1e3) % 1000}.${version % 1000}`;
    })();
    affected.set(conn, known);
    // A failed probe is not remembered: the next delete asks again.
    known.catch(() => affected.delete(conn));
  }
  return known;
}

/**
 * Throws {@link UnsafeSnapshotDeleteError} when deleting `snap` with `flags` would crash the daemon: the flags
 * ask for children, the daemon is affected, and in the subtree a snapshot with children is listed before one of
 * its siblings. Costs one call for a chain (the leaf count), one per snapshot of a branching subtree, and the
 * daemon's type and version once per connection.
 */
export async function checkSubtreeDelete(snap: DomainSnapshot, flags: number, d: Deadline): Promise<void> {
  const children = flags & (DELETE_CHILDREN | DELETE_CHILDREN_ONLY);
  // Neither flag: nothing to guard. Both: the daemon's public API refuses them together before its driver runs.
  if (children === 0 || children === (DELETE_CHILDREN | DELETE_CHILDREN_ONLY)) return;
  const version = await affectedVersion(snap.getConnect(), d);
  if (version === null) return;
  // A subtree with n >= 1 descendants is a chain exactly when one of them is a leaf.
  const leaves = await snap.numOfChildSnapshots(LIST_DESCENDANTS | LIST_LEAVES, d.next());
  if (leaves < 2) return;
  const branch = await crashingBranch(snap, d);
  if (branch !== null) throw new UnsafeSnapshotDeleteError(snap.getName(), version, leaves, branch, (flags & DELETE_CHILDREN_ONLY) !== 0);
}

/** The first snapshot with children listed before a sibling, in the subtree of `snap` (libvirt's walk order). */
async function crashingBranch(snap: DomainSnapshot, d: Deadline): Promise<string | null> {
  const kids = new Map<string, string[]>();
  for (let level: DomainSnapshot[] = [snap]; level.length > 0; ) {
    const lists = await pipelined(level, (s) => s.listAllChildren(0, d.next()));
    level.forEach((s, i) => kids.set(s.getName(), lists[i].map((c) => c.getName())));
    level = lists.flat();
  }
  for (const list of kids.values()) {
    for (let i = 0; i < list.length - 1; i++) if ((kids.get(list[i]) ?? []).length > 0) return list[i];
  }
  return null;
}

/**
 * Deletes `snap` and every descendant (only the descendants with `DELETE_CHILDREN_ONLY`), one snapshot at a
 * time, every child before its parent, so the daemon never hands children over (safe on every libvirt). Flags:
 * `DELETE_CHILDREN_ONLY`, `DELETE_METADATA_ONLY` (each snapshot's metadata only); `DELETE_CHILDREN` is implied.
 * `timeout` bounds the whole deletion. A snapshot already gone counts as deleted. On the first failure it stops
 * and rejects with {@link SubtreeDeleteError} saying what was deleted and what remains. Returns the names
 * deleted, in order. A snapshot created below the subtree meanwhile is not deleted: libvirt hands it to the
 * parent of the snapshot it was made from.
 */
export async function deleteSubtree(snap: DomainSnapshot, flags = 0, opts: SubtreeDeleteOptions = {}): Promise<string[]> {
  checkFlags(flags);
  const whole = new Deadline(opts);
  const callTimeout = opts.callTimeout === undefined ? undefined : checkTimeout(opts.callTimeout, 'callTimeout');
  const d = {
    next(): CallOptions {
      const o = whole.next();
      return callTimeout !== undefined && (o.timeout === undefined || o.timeout > callTimeout) ? { ...o, timeout: callTimeout } : o;
    },
  };
  const childrenOnly = (flags & DELETE_CHILDREN_ONLY) !== 0;
  const perSnapshot = flags & DELETE_METADATA_ONLY;
  // The tree below `snap`, level by level (DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN of each), then deepest first: a
  // deeper snapshot is never the parent of a shallower one, so every child comes before its parent.
  const levels: DomainSnapshot[][] = [[snap]];
  for (let level = levels[0]; level.length > 0; ) {
    const children = await pipelined(level, (s) => s.listAllChildren(0, d.next()));
    level = children.flat();
    if (level.length > 0) levels.push(level);
  }
  const order = levels.slice(childrenOnly ? 1 : 0).reverse().flat();
  const deleted: string[] = [];
  for (let i = 0; i < order.length; i++) {
    const s = order[i];
    try {
      await s.delete(perSnapshot, d.next());
    } catch (e) {
      if (!isRemoteError(e, 'VIR_ERR_NO_DOMAIN_SNAPSHOT')) {
        throw new SubtreeDeleteError(snap.getName(), deleted, s.getName(), order.slice(i).map((x) => x.getName()), e);
      }
    }
    deleted.push(s.getName());
    try {
      opts.onProgress?.({ name: s.getName(), done: deleted.length, total: order.length });
    } catch {
      // A progress display's failure is not the deletion's.
    }
  }
  return deleted;
}
