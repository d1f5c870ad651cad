/**
 * `DomainCheckpoint`: one checkpoint of a domain, in the shape of Sys::Virt::DomainCheckpoint. Like a snapshot,
 * its handle is its name plus its domain's handle (remote_nonnull_domain_checkpoint).
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { CHECKPOINT_CONSTANTS, withConstants } from './constants.js';
import type { Connect } from './connect.js';
import type { Domain } from './domain.js';
import { Deadline, checkFlags, isRemoteError, oneCall, xmlOf, type CallOptions } from './support.js';
import { describeCheckpoint, type CheckpointDescription } from './xml/index.js';

/** libvirt's error for a checkpoint that does not exist, and for the parent of a root checkpoint. */
export const NO_DOMAIN_CHECKPOINT = 'VIR_ERR_NO_DOMAIN_CHECKPOINT';

/**
 * A domain checkpoint. Constants are libvirt's, under Sys::Virt's names: `DomainCheckpoint.CREATE_*`,
 * `XML_*` (SECURE, NO_DOMAIN, SIZE), `LIST_*`, `DELETE_*`.
 */
export class DomainCheckpoint extends /* @__PURE__ */ withConstants(CHECKPOINT_CONSTANTS) {
  readonly #domain: Domain;
  readonly #name: string;

  /** A handle for checkpoint `name` of `domain`; no call is made. */
  constructor(domain: Domain, name: string) {
    super();
    this.#domain = domain;
    this.#name = name;
  }

  /** The wire handle (name and domain), for use with `connect.raw.remote`. */
  get handle(): remote.remote_nonnull_domain_checkpoint {
    return { name: this.#name, dom: this.#domain.handle };
  }

  /** The checkpoint's name. */
  getName(): string {
    return this.#name;
  }

  /** The domain the checkpoint belongs to. */
  getDomain(): Domain {
    return this.#domain;
  }

  /** The connection the checkpoint was reached through. */
  getConnect(): Connect {
    return this.#domain.getConnect();
  }

  get #raw() {
    return this.#domain.getConnect().raw;
  }

  /**
   * The checkpoint's `<domaincheckpoint>` XML (DOMAIN_CHECKPOINT_GET_XML_DESC). `XML_SIZE` adds each disk's
   * changed bytes since the checkpoint (the domain must be running), `XML_NO_DOMAIN` drops `<domain>`.
   */
  getXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return oneCall(() => this.#raw.call(R.domainCheckpointGetXmlDesc, { checkpoint: this.handle, flags: checkFlags(flags) }, opts, xmlOf));
  }

  /** The checkpoint's XML read into typed fields (sizes are bigints; the XML itself is kept in `.xml`). */
  async describe(flags = 0, opts?: CallOptions): Promise<CheckpointDescription> {
    return describeCheckpoint(await this.getXMLDescription(flags, opts));
  }

  /** Deletes the checkpoint (and, with `DELETE_CHILDREN`, its descendants) (DOMAIN_CHECKPOINT_DELETE). */
  async delete(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.domainCheckpointDelete, { checkpoint: this.handle, flags: checkFlags(flags) }, opts);
  }

  /**
   * The parent checkpoint, or null for a root. As with snapshots, libvirt reports a root's parent as
   * VIR_ERR_NO_DOMAIN_CHECKPOINT, the error of a missing checkpoint; a second lookup tells them apart.
   */
  async getParent(opts?: CallOptions): Promise<DomainCheckpoint | null> {
    const d = new Deadline(opts);
    try {
      const r = await this.#raw.call(R.domainCheckpointGetParent, { checkpoint: this.handle, flags: 0 }, d.next());
      return new DomainCheckpoint(this.#domain, r.parent.name);
    } catch (e) {
      if (!isRemoteError(e, NO_DOMAIN_CHECKPOINT)) throw e;
      await this.#raw.call(R.domainCheckpointLookupByName, { dom: this.#domain.handle, name: this.#name, flags: 0 }, d.next());
      return null;
    }
  }

  /** The children matching `flags` (`LIST_DESCENDANTS` for all descendants) (DOMAIN_CHECKPOINT_LIST_ALL_CHILDREN). */
  async listAllChildren(flags = 0, opts?: CallOptions): Promise<DomainCheckpoint[]> {
    const r = await this.#raw.call(R.domainCheckpointListAllChildren, { checkpoint: this.handle, need_results: 1, flags: checkFlags(flags) }, opts);
    return r.checkpoints.map((c) => new DomainCheckpoint(this.#domain, c.name));
  }
}
