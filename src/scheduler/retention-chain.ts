/**
 * Chain dependencies between snapshots: which ones must stay because something kept is built on them.
 *
 * A checkpoint needs its parent checkpoint (libvirt's checkpoint tree: the child's bitmap only covers changes
 * since the parent), and an external snapshot (kind `external` or `disk-only`) needs its parent, the overlay's
 * backing file. So every ancestor of a kept checkpoint and the whole backing chain of a kept external snapshot stay.
 * Internal snapshots (and memory-only state) are self-contained in qcow2, so their `parent` is not a dependency.
 *
 * An incomplete snapshot is never itself kept as a chain parent, but the walk passes *through* it to its own
 * parent: the kept child's data still sits on top of it, and deleting the grandparent would break the child.
 * An incomplete snapshot's own chain stays too: the retention function never deletes it, so it is present for
 * as long as any kept snapshot, and deleting what it sits on would break it. This is also what keeps the
 * aligned policy path independent: otherwise pruning often could delete the parent of an incomplete snapshot
 * that a later snapshot then builds on, while pruning once would keep that parent through the later one.
 */
import { InvalidArgumentError } from '../errors.js';

/** Bit flags describing one snapshot, shared by the retention modules. */
export const F_COMPLETE = 1;
/** Created or completed after the requested now. */
export const F_FUTURE = 2;
/** Pinned by the user. */
export const F_PINNED = 4;
/** Being created right now. */
export const F_PROGRESS = 8;
/** Has a parent it depends on (checkpoint, external or disk-only with a parent). */
export const F_DEP = 16;

/** Kinds whose `parent` is a data dependency. */
export function dependsOnParent(kind: string | undefined): boolean {
  return kind === 'checkpoint' || kind === 'external' || kind === 'disk-only';
}

/**
 * Resolves each dependent snapshot's parent id to an index (-1 when the parent is not among the snapshots, e.g.
 * not owned by the scheduler). Throws on a duplicate id among the referenced parents.
 */
export function resolveParents(
  snapshots: readonly { readonly id: string; readonly parent?: string | null }[],
  flags: Uint8Array,
): Int32Array {
  const n = snapshots.length;
  const wanted = new Set<string>();
  for (let i = 0; i < n; i++) if (flags[i] & F_DEP) wanted.add(snapshots[i].parent as string);
  const index = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const id = snapshots[i].id;
    if (!wanted.has(id)) continue;
    if (index.has(id)) throw new InvalidArgumentError(`snapshots[${i}].id: duplicate id ${JSON.stringify(id)}`);
    index.set(id, i);
  }
  const parent = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    if (flags[i] & F_DEP) parent[i] = index.get(snapshots[i].parent as string) ?? -1;
  }
  return parent;
}

/**
 * Marks every ancestor that a started snapshot depends on. `start[i] = 1` for the snapshots whose chains must
 * survive. Returns `via[p]`: the index of the dependent child through which `p` was first reached, or -1.
 * Incomplete ancestors are marked too (the caller decides what being needed means for them). Cycles in bad
 * data end the walk, since no snapshot is walked twice.
 */
export function markAncestors(start: Uint8Array, flags: Uint8Array, parent: Int32Array): Int32Array {
  const n = start.length;
  const via = new Int32Array(n).fill(-1);
  const walked = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!start[i]) continue;
    let cur = i;
    while (!walked[cur]) {
      walked[cur] = 1;
      if (!(flags[cur] & F_DEP)) break;
      const p = parent[cur];
      if (p < 0) break;
      if (via[p] < 0 && p !== cur) via[p] = cur;
      cur = p;
    }
  }
  return via;
}
