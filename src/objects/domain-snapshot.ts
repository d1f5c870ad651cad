/**
 * `DomainSnapshot`: one snapshot of a domain, in the shape of Sys::Virt::DomainSnapshot. A snapshot handle is
 * its name plus its domain's handle (remote_nonnull_domain_snapshot), so `getName()` needs no call; everything
 * else asks the daemon and takes `{ signal?, timeout? }` last.
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { REMOTE_DOMAIN_SNAPSHOT_LIST_MAX } from '../../generated/remote-protocol.js';
import { SNAPSHOT_CONSTANTS, withConstants } from './constants.js';
import type { Connect } from './connect.js';
import type { Domain } from './domain.js';
import { Deadline, checkFlags, isRemoteError, namesUpTo, oneCall, pipelined, xmlOf, type CallOptions } from './support.js';
import { checkSubtreeDelete, deleteSubtree, type SubtreeDeleteOptions } from './snapshot-subtree.js';
import { describeSnapshot, type SnapshotDescription } from './xml/index.js';

/** libvirt's error for a snapshot that does not exist, and for the parent of a root snapshot. */
export const NO_DOMAIN_SNAPSHOT = 'VIR_ERR_NO_DOMAIN_SNAPSHOT';

/**
 * A domain snapshot. Constants are libvirt's, under Sys::Virt's names: `DomainSnapshot.CREATE_*`, `XML_*`,
 * `LIST_*`, `REVERT_*`, `DELETE_*` (e.g. `DomainSnapshot.LIST_ROOTS === 1`).
 */
export class DomainSnapshot extends /* @__PURE__ */ withConstants(SNAPSHOT_CONSTANTS) {
  readonly #domain: Domain;
  readonly #name: string;

  /** A handle for snapshot `name` of `domain`; no call is made (the Domain methods look snapshots up). */
  constructor(domain: Domain, name: string) {
    super();
    this.#domain = domain;
    this.#name = name;
  }

  /** The wire handle (name and domain), for use with `connect.raw.remote`. */
  get handle(): remote.remote_nonnull_domain_snapshot {
    return { name: this.#name, dom: this.#domain.handle };
  }

  /** The snapshot's name. */
  getName(): string {
    return this.#name;
  }

  /** The domain the snapshot belongs to. */
  getDomain(): Domain {
    return this.#domain;
  }

  /** The connection the snapshot was reached through. */
  getConnect(): Connect {
    return this.#domain.getConnect();
  }

  get #raw() {
    return this.#domain.getConnect().raw;
  }

  /** The snapshot's `<domainsnapshot>` XML; `DomainSnapshot.XML_SECURE` adds secrets (SNAPSHOT_GET_XML_DESC). */
  getXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return oneCall(() => this.#raw.call(R.domainSnapshotGetXmlDesc, { snap: this.handle, flags: checkFlags(flags) }, opts, xmlOf));
  }

  /** The snapshot's XML read into typed fields (the XML itself is kept in `.xml`). */
  async describe(flags = 0, opts?: CallOptions): Promise<SnapshotDescription> {
    return describeSnapshot(await this.getXMLDescription(flags, opts));
  }

  /**
   * Deletes the snapshot (and, with `DELETE_CHILDREN`, its descendants; with `DELETE_CHILDREN_ONLY`, only those)
   * (DOMAIN_SNAPSHOT_DELETE). On a QEMU daemon of libvirt 9.0.0 or later, those two flags on a subtree the
   * daemon would crash on (a snapshot with children walked before a sibling; see snapshot-subtree.ts) are refused
   * with `UnsafeSnapshotDeleteError` before anything is sent: use {@link deleteSubtree} there. Checking costs one
   * call for a chain, one per snapshot of a branching subtree (and the daemon's type and version, once).
   */
  async delete(flags = 0, opts?: CallOptions): Promise<void> {
    const d = new Deadline(opts);
    await checkSubtreeDelete(this, checkFlags(flags), d);
    await this.#raw.call(R.domainSnapshotDelete, { snap: this.handle, flags }, d.next());
  }

  /**
   * Deletes the snapshot and its descendants (`DELETE_CHILDREN_ONLY`: only the descendants) one at a time,
   * leaves first, which no libvirt release crashes on; `DELETE_METADATA_ONLY` keeps the snapshots' data.
   * `opts.onProgress` hears of each deletion; `timeout` bounds the whole. Rejects with
   * `SubtreeDeleteError` (what was deleted, what remains) when one deletion fails. Returns the names
   * deleted, in order.
   */
  deleteSubtree(flags = 0, opts?: SubtreeDeleteOptions): Promise<string[]> {
    return deleteSubtree(this, flags, opts);
  }

  /** Reverts the domain to this snapshot; `REVERT_*` flags pick the state after (DOMAIN_REVERT_TO_SNAPSHOT). */
  async revertTo(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.domainRevertToSnapshot, { snap: this.handle, flags: checkFlags(flags) }, opts);
  }

  /**
   * The parent snapshot, or null for a root. libvirt answers a root's parent with VIR_ERR_NO_DOMAIN_SNAPSHOT,
   * the same error as for a snapshot that no longer exists; to tell them apart this looks the snapshot itself
   * up once more, and a missing snapshot rejects with that lookup's error.
   */
  async getParent(opts?: CallOptions): Promise<DomainSnapshot | null> {
    const d = new Deadline(opts);
    try {
      const r = await this.#raw.call(R.domainSnapshotGetParent, { snap: this.handle, flags: 0 }, d.next());
      return new DomainSnapshot(this.#domain, r.snap.name);
    } catch (e) {
      if (!isRemoteError(e, NO_DOMAIN_SNAPSHOT)) throw e;
      await this.#raw.call(R.domainSnapshotLookupByName, { dom: this.#domain.handle, name: this.#name, flags: 0 }, d.next());
      return null;
    }
  }

  /** Whether this is the domain's current snapshot (DOMAIN_SNAPSHOT_IS_CURRENT). */
  async isCurrent(flags = 0, opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.domainSnapshotIsCurrent, { snap: this.handle, flags: checkFlags(flags) }, opts)).current !== 0;
  }

  /** Whether libvirt keeps metadata for the snapshot (DOMAIN_SNAPSHOT_HAS_METADATA). */
  async hasMetadata(flags = 0, opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.domainSnapshotHasMetadata, { snap: this.handle, flags: checkFlags(flags) }, opts)).metadata !== 0;
  }

  /** How many children (with `LIST_DESCENDANTS`, descendants) match `flags` (DOMAIN_SNAPSHOT_NUM_CHILDREN). */
  async numOfChildSnapshots(flags = 0, opts?: CallOptions): Promise<number> {
    return (await this.#raw.call(R.domainSnapshotNumChildren, { snap: this.handle, flags: checkFlags(flags) }, opts)).num;
  }

  /**
   * Names of the children matching `flags`, the legacy way libvirt's C API and Sys::Virt do it:
   * DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES, in one call (see {@link namesUpTo}; libvirt asks
   * DOMAIN_SNAPSHOT_NUM_CHILDREN first).
   */
  async listChildSnapshotNames(flags = 0, opts?: CallOptions): Promise<string[]> {
    const d = new Deadline(opts);
    checkFlags(flags);
    return namesUpTo(
      REMOTE_DOMAIN_SNAPSHOT_LIST_MAX,
      async (maxnames) => (await this.#raw.call(R.domainSnapshotListChildrenNames, { snap: this.handle, maxnames, flags }, d.next())).names,
      () => this.numOfChildSnapshots(flags, d.next()),
    );
  }

  /**
   * The children matching `flags` as objects: {@link listChildSnapshotNames}, then a lookup of each name
   * (pipelined); a child deleted in between is left out, as Sys::Virt's list_child_snapshots does.
   */
  async listChildSnapshots(flags = 0, opts?: CallOptions): Promise<DomainSnapshot[]> {
    const d = new Deadline(opts);
    const names = await this.listChildSnapshotNames(flags, d.next());
    return DomainSnapshot.lookupNames(this.#domain, names, d);
  }

  /** The children matching `flags` (DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN). */
  async listAllChildren(flags = 0, opts?: CallOptions): Promise<DomainSnapshot[]> {
    const r = await this.#raw.call(R.domainSnapshotListAllChildren, { snapshot: this.handle, need_results: 1, flags: checkFlags(flags) }, opts);
    return r.snapshots.map((s) => new DomainSnapshot(this.#domain, s.name));
  }

  /**
   * Looks up each name (DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, pipelined), leaving out names that no longer exist.
   * Used by the legacy list calls, which return names first and objects after.
   */
  static async lookupNames(domain: Domain, names: readonly string[], deadline: Deadline): Promise<DomainSnapshot[]> {
    const raw = domain.getConnect().raw;
    const found = await pipelined(names, async (name) => {
      try {
        const r = await raw.call(R.domainSnapshotLookupByName, { dom: domain.handle, name, flags: 0 }, deadline.next());
        return new DomainSnapshot(domain, r.snap.name);
      } catch (e) {
        // Sys::Virt's list_snapshots: a snapshot that went away between listing and lookup is skipped.
        if (isRemoteError(e, NO_DOMAIN_SNAPSHOT)) return null;
        throw e;
      }
    });
    return found.filter((s): s is DomainSnapshot => s !== null);
  }
}

