/**
 * The advisory lease on a domain's schedule: an owner, a fencing token and an expiry, in the domain's metadata.
 *
 * libvirt offers no compare-and-swap for metadata, so taking the lease is write-then-verify: write our owner and
 * the next token, wait `settleMs`, read back. A write held up longer than that (a slow link, a domain job the
 * daemon makes it wait behind) can still let two schedulers both believe they hold it, and nothing in the
 * scheduler's safety rests on it: the daemon itself refuses a second snapshot of the same slot (names are per
 * slot), and records are per writer (store.ts). The lease keeps schedulers from working side by side in the
 * normal case, and the fencing token makes a holder that lost it stop: before every change it must affect
 * (creating, deleting, the shared failure state) the holder reads the lease back and stops if it is not its own.
 */
import { LibvirtRpcError, brandError } from '../errors.js';
import type { Bounds } from './bounds.js';
import type { LockLease } from './records.js';
import type { ScheduleStore } from './store.js';

/** The domain's schedule is locked by another scheduler. */
export class ScheduleLockedError extends LibvirtRpcError {
  static {
    brandError(this, 'ScheduleLockedError');
  }

  override readonly code: string = 'ERR_SCHEDULE_LOCKED';
  readonly lease: LockLease;

  constructor(domain: string, lease: LockLease, message?: string) {
    super(message ?? `the schedule of domain ${domain} is held by ${lease.owner} until ${new Date(lease.expires).toISOString()}`);
    this.lease = lease;
  }
}

/** The lease was taken over while this scheduler worked: it stopped before its next change. */
export class LeaseLostError extends ScheduleLockedError {
  static {
    brandError(this, 'LeaseLostError');
  }

  override readonly code: string = 'ERR_SCHEDULE_LEASE_LOST';
}

/** Options of the lease. */
export interface LeaseOptions {
  /** Who we are, e.g. `host/pid/random`. Must be unique per scheduler process. */
  owner: string;
  /** Lease length, ms. The holder renews it while it works. */
  ttlMs: number;
  /** The wait between writing our claim and reading it back, ms. */
  settleMs: number;
  now: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** A lease on one domain's schedule. */
export class ScheduleLease {
  readonly #store: ScheduleStore;
  readonly #o: LeaseOptions;
  readonly #domain: string;
  #token: number | null = null;

  constructor(store: ScheduleStore, domainName: string, options: LeaseOptions) {
    this.#store = store;
    this.#o = options;
    this.#domain = domainName;
  }

  /** Whether this scheduler believes it holds the lease. */
  get held(): boolean {
    return this.#token !== null;
  }

  /** Takes the lease, or throws ScheduleLockedError naming the holder. */
  async acquire(b: Bounds): Promise<void> {
    const held = await this.#store.loadLock(b.call());
    if (held && held.owner !== this.#o.owner && held.expires > this.#o.now()) throw new ScheduleLockedError(this.#domain, held);
    const token = (held?.token ?? 0) + 1;
    await this.#store.putLock({ owner: this.#o.owner, token, expires: this.#o.now() + this.#o.ttlMs }, b.call());
    await this.#o.sleep(this.#o.settleMs, b.signal);
    const after = await this.#store.loadLock(b.call());
    if (!after || after.owner !== this.#o.owner || after.token !== token) {
      throw new ScheduleLockedError(this.#domain, after ?? { owner: 'another scheduler', expires: this.#o.now() });
    }
    this.#token = token;
  }

  /**
   * Before a change: the lease must still be ours (owner and token), else LeaseLostError and the holder stops.
   * Renews it when less than half its length is left.
   */
  async fence(b: Bounds): Promise<void> {
    if (this.#token === null) throw new LeaseLostError(this.#domain, { owner: 'nobody', expires: 0 }, `the schedule of domain ${this.#domain} is not held by this scheduler`);
    const now = this.#o.now();
    const lock = await this.#store.loadLock(b.call());
    if (!lock || lock.owner !== this.#o.owner || lock.token !== this.#token) {
      this.#token = null;
      const by = lock ?? { owner: 'nobody', expires: now };
      throw new LeaseLostError(this.#domain, by, `the lease on the schedule of domain ${this.#domain} was taken over by ${by.owner}; stopped before the next change`);
    }
    if (lock.expires - now < this.#o.ttlMs / 2) {
      await this.#store.putLock({ owner: this.#o.owner, token: this.#token, expires: now + this.#o.ttlMs }, b.call());
    }
  }

  /** Gives the lease up, if it is still ours. */
  async release(b: Bounds): Promise<void> {
    if (this.#token === null) return;
    const token = this.#token;
    this.#token = null;
    const lock = await this.#store.loadLock(b.detached());
    if (lock && lock.owner === this.#o.owner && lock.token === token) await this.#store.putLock(null, b.detached());
  }
}
