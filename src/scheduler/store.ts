/**
 * Where the scheduler keeps its records, and its lock on a domain.
 *
 * Records live in the domain's `<metadata>` (virDomainSetMetadata with the scheduler's namespace), written to
 * the live definition and, for a persistent domain, to its configuration too, so they survive the scheduler,
 * the daemon and a guest restart.
 *
 * The lock is a lease in the same element: an owner and an expiry. A crashed scheduler's lease lapses by itself,
 * so it cannot hold the domain forever. libvirt has no compare-and-swap for metadata, so taking the lease is
 * write-then-verify: write our owner, wait `settleMs`, read back; if another scheduler wrote after us, its
 * owner is what we read and we back off. Two schedulers that both saw the lease free both write, and every
 * write lands long before the first verify, so exactly one reads its own name back.
 */
import * as R from '../../generated/remote-procedures.js';
import { LibvirtRpcError, RemoteError, brandError } from '../errors.js';
import * as headers from '../../generated/libvirt-headers.js';
import type { Domain } from '../objects/domain.js';
import type { CallOptions } from '../protocol/program.js';
import { emptyRecords, LockLease, recordsFromXml, recordsToXml, SCHEDULER_NS, SCHEDULER_PREFIX, ScheduleRecords } from './records.js';

/** Loads and saves a domain's scheduler records. */
export interface ScheduleStore {
  load(opts?: CallOptions): Promise<ScheduleRecords>;
  save(records: ScheduleRecords, opts?: CallOptions): Promise<void>;
}

/** The domain's schedule is locked by another scheduler. */
export class ScheduleLockedError extends LibvirtRpcError {
  static {
    brandError(this, 'ScheduleLockedError');
  }

  override readonly code: string = 'ERR_SCHEDULE_LOCKED';
  readonly lease: LockLease;

  constructor(domain: string, lease: LockLease) {
    super(`the schedule of domain ${domain} is held by ${lease.owner} until ${new Date(lease.expires).toISOString()}`);
    this.lease = lease;
  }
}

/** Records in the domain's `<metadata>` element. */
export class DomainMetadataStore implements ScheduleStore {
  readonly #domain: Domain;

  constructor(domain: Domain) {
    this.#domain = domain;
  }

  get #raw() {
    return this.#domain.getConnect().raw;
  }

  async load(opts?: CallOptions): Promise<ScheduleRecords> {
    try {
      const { metadata } = await this.#raw.call(R.domainGetMetadata, 
        { dom: this.#domain.handle, type: headers.VIR_DOMAIN_METADATA_ELEMENT, uri: SCHEDULER_NS, flags: headers.VIR_DOMAIN_AFFECT_CURRENT },
        opts,
      );
      return recordsFromXml(metadata);
    } catch (e) {
      if (e instanceof RemoteError && e.remote.codeName === 'VIR_ERR_NO_DOMAIN_METADATA') return emptyRecords();
      throw e;
    }
  }

  async save(records: ScheduleRecords, opts?: CallOptions): Promise<void> {
    // The live definition when running, and the configuration too when there is one, so the records outlive
    // both the daemon and a guest restart (libvirt refuses AFFECT_LIVE for an inactive domain).
    const [active, persistent] = await Promise.all([this.#domain.isActive(opts), this.#domain.isPersistent(opts)]);
    const flags = (active ? headers.VIR_DOMAIN_AFFECT_LIVE : 0) | (persistent || !active ? headers.VIR_DOMAIN_AFFECT_CONFIG : 0);
    await this.#raw.call(R.domainSetMetadata, 
      { dom: this.#domain.handle, type: headers.VIR_DOMAIN_METADATA_ELEMENT, metadata: recordsToXml(records), key: SCHEDULER_PREFIX, uri: SCHEDULER_NS, flags },
      opts,
    );
  }
}

/** Options of the lease lock. */
export interface LeaseOptions {
  /** Who we are, e.g. `host/pid/random`. Must be unique per scheduler process. */
  owner: string;
  /** Lease length, ms. The holder renews it while it works. */
  ttlMs: number;
  /** The wait between writing our claim and reading it back, ms. */
  settleMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** A lease on one domain's schedule. */
export class ScheduleLease {
  readonly #store: ScheduleStore;
  readonly #o: LeaseOptions;
  readonly #domain: string;

  constructor(store: ScheduleStore, domainName: string, options: LeaseOptions) {
    this.#store = store;
    this.#o = options;
    this.#domain = domainName;
  }

  /** Takes the lease, or throws ScheduleLockedError naming the holder. Returns the records as read. */
  async acquire(opts?: CallOptions): Promise<ScheduleRecords> {
    const before = await this.#store.load(opts);
    const held = before.lock;
    if (held && held.owner !== this.#o.owner && held.expires > this.#o.now()) throw new ScheduleLockedError(this.#domain, held);
    before.lock = { owner: this.#o.owner, expires: this.#o.now() + this.#o.ttlMs };
    await this.#store.save(before, opts);
    await this.#o.sleep(this.#o.settleMs);
    const after = await this.#store.load(opts);
    if (!after.lock || after.lock.owner !== this.#o.owner) {
      throw new ScheduleLockedError(this.#domain, after.lock ?? { owner: 'another scheduler', expires: this.#o.now() });
    }
    return after;
  }

  /** Saves records with a renewed lease (call while holding it). */
  async save(records: ScheduleRecords, opts?: CallOptions): Promise<void> {
    records.lock = { owner: this.#o.owner, expires: this.#o.now() + this.#o.ttlMs };
    await this.#store.save(records, opts);
  }

  /** Gives the lease up, keeping every other record. */
  async release(records: ScheduleRecords, opts?: CallOptions): Promise<void> {
    records.lock = null;
    await this.#store.save(records, opts);
  }
}
