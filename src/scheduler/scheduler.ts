/**
 * The dyadic snapshot scheduler for one libvirt domain: makes snapshots (or checkpoints) on a schedule,
 * records each one's lifecycle durably, and deletes what the retention policy no longer keeps.
 *
 * Safety rules (each one tested against the sandbox's real guest):
 * - It touches only what it made: snapshots with a record in its metadata.
 * - A record is written before creation starts and completed after libvirt returns, so a scheduler killed at
 *   any point leaves either nothing or an incomplete record; the next run reconciles. Incomplete snapshots are
 *   never counted, never a chain parent, never deleted by the policy; only {@link DomainScheduler.cleanup} does.
 * - One scheduler per domain, through a lease that a crashed process cannot hold forever.
 * - A failed creation backs off exponentially (never sooner than a minimum interval); after `maxFailures`
 *   transient failures in a row, or one permanent failure, the schedule pauses and says why. While creation
 *   keeps failing, nothing is pruned.
 * - Quiesce failures are never silently downgraded: `quiesce: 'fallback'` must be asked for, and the record
 *   says the snapshot is only crash-consistent.
 */
import { InvalidArgumentError, RemoteError } from '../errors.js';
import type { Domain } from '../objects/domain.js';
import { DomainCheckpoint } from '../objects/domain-checkpoint.js';
import { DomainSnapshot } from '../objects/domain-snapshot.js';
import { validatePolicy, type RetentionPolicy, type RetentionPolicyInput } from './policy.js';
import { computeRetention, type KeptSnapshot } from './retention.js';
import { defaultEvery, planDeletions, type PlannedDeletion } from './retention-plan.js';
import { backoffDelay, classifyFailure, type BackoffOptions } from './failures.js';
import { isComplete, retentionSnapshots, SNAPSHOT_PREFIX_PATTERN, snapshotName, type ScheduleRecords, type SnapshotRecord } from './records.js';
import { DomainMetadataStore, ScheduleLease, type ScheduleStore } from './store.js';

/** What the scheduler makes. */
export type ScheduledKind = 'internal' | 'disk-only' | 'checkpoint';

/** Options of a {@link DomainScheduler}. */
export interface SchedulerOptions {
  policy: RetentionPolicyInput | RetentionPolicy;
  /** Default `internal` (with memory when the guest runs). */
  kind?: ScheduledKind;
  /** Time between snapshots, ms. Default: the policy's base unit. */
  everyMs?: number;
  /** Name prefix of the scheduler's snapshots. Default `lvrpc`. */
  prefix?: string;
  /** `no` (default), `require` (fail when the guest agent cannot quiesce), `fallback` (then take a crash-consistent one, recorded as such). */
  quiesce?: 'no' | 'require' | 'fallback';
  /** Transient failures in a row before the schedule pauses. Default 5. */
  maxFailures?: number;
  /** Retry timing. Default: min max(1 s, everyMs / 4), max 1 h, factor 2, jitter 0.2. */
  backoff?: Partial<BackoffOptions>;
  /** Unique name of this scheduler process, e.g. `host/pid/random`. */
  owner: string;
  /** Lease length, ms. Default 60 s. */
  lockTtlMs?: number;
  /** Wait between claiming the lease and verifying it, ms. Default 300. */
  lockSettleMs?: number;
  /** Records store. Default: the domain's metadata. */
  store?: ScheduleStore;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Progress of long steps, for a terminal. */
  onProgress?: (event: SchedulerEvent) => void;
  /**
   * For {@link DomainScheduler.runDaemon}: opens a fresh connection and returns the domain again, used after the
   * connection to the daemon was lost (a daemon restart, a network cut).
   */
  reconnect?: () => Promise<Domain>;
}

/** Progress and results, as they happen. */
export type SchedulerEvent =
  | { type: 'creating'; name: string; kind: ScheduledKind }
  | { type: 'created'; name: string; durationMs: number; quiesced: boolean }
  | { type: 'deleting'; name: string }
  | { type: 'deleted'; name: string }
  | { type: 'failed'; step: string; error: string; transient: boolean; nextAttempt: number | null; paused: string | null }
  | { type: 'waiting'; untilMs: number; why: string };

/** What one pass did. */
export interface RunReport {
  /** Why nothing was created: `not-due`, `backoff`, `paused`. */
  skipped: 'not-due' | 'backoff' | 'paused' | null;
  created: { name: string; durationMs: number; quiesced: boolean } | null;
  deleted: string[];
  kept: KeptSnapshot[];
  incomplete: string[];
  /** Failures of this pass (creation or deletion). */
  errors: { step: string; error: string; transient: boolean }[];
  /** When the next snapshot is due (or the next retry), ms since the epoch. */
  nextDue: number;
  paused: string | null;
}

/** A dry run: what would be created and deleted, with reasons and expected deletion dates. */
export interface SchedulePlan {
  wouldCreate: string | null;
  delete: string[];
  keep: (KeptSnapshot & { expectedDeletion: number | null })[];
  incomplete: string[];
  nextDue: number;
  paused: string | null;
}

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', done);
      clearTimeout(t);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export class DomainScheduler {
  #domainRef: Domain;
  readonly policy: RetentionPolicy;
  readonly kind: ScheduledKind;
  readonly everyMs: number;
  readonly #o: SchedulerOptions;
  readonly #backoff: BackoffOptions;
  #lease!: ScheduleLease;
  #store!: ScheduleStore;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(domain: Domain, options: SchedulerOptions) {
    this.#domainRef = domain;
    this.policy = validatePolicy(options.policy);
    this.kind = options.kind ?? 'internal';
    if (!['internal', 'disk-only', 'checkpoint'].includes(this.kind)) throw new InvalidArgumentError(`kind: must be internal, disk-only or checkpoint`);
    this.everyMs = options.everyMs ?? defaultEvery(this.policy);
    if (!(this.everyMs >= 1)) throw new InvalidArgumentError('everyMs: must be at least 1');
    const prefix = options.prefix ?? 'lvrpc';
    if (!SNAPSHOT_PREFIX_PATTERN.test(prefix)) throw new InvalidArgumentError('prefix: letters, digits, _ . - (up to 64), not starting with . or -');
    if (!options.owner) throw new InvalidArgumentError('owner: required');
    this.#o = { ...options, prefix };
    this.#backoff = { minMs: Math.max(1000, this.everyMs / 4), maxMs: 3_600_000, factor: 2, jitter: 0.2, ...options.backoff };
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#attach(domain);
  }

  /** The domain being scheduled (a new handle after a reconnect). */
  get domain(): Domain {
    return this.#domainRef;
  }

  #attach(domain: Domain): void {
    this.#domainRef = domain;
    this.#store = this.#o.store ?? new DomainMetadataStore(domain);
    this.#lease = new ScheduleLease(this.#store, domain.getName(), {
      owner: this.#o.owner,
      ttlMs: this.#o.lockTtlMs ?? 60_000,
      settleMs: this.#o.lockSettleMs ?? 300,
      now: this.#now,
      sleep: (ms) => this.#sleep(ms),
    });
  }

  #emit(e: SchedulerEvent): void {
    try {
      this.#o.onProgress?.(e);
    } catch {
      // A progress display's failure is not the scheduler's.
    }
  }

  /** The scheduler's records as stored (no lock taken). */
  records(): Promise<ScheduleRecords> {
    return this.#store.load();
  }

  /** Names of the domain's snapshots or checkpoints as libvirt lists them now. */
  async #existing(): Promise<Set<string>> {
    const list = this.kind === 'checkpoint' ? await this.domain.listAllCheckpoints() : await this.domain.listAllSnapshots();
    return new Set(list.map((s) => s.getName()));
  }

  /** Drops records whose snapshot is gone (deleted by hand, or never made because creation failed). */
  #reconcile(r: ScheduleRecords, existing: Set<string>): void {
    r.snapshots = r.snapshots.filter((s) => existing.has(s.name));
  }

  /** When the next snapshot is due, as seen at `now` (one clock reading for the whole decision). */
  #nextDue(r: ScheduleRecords, now: number): number {
    const newest = r.snapshots.filter(isComplete).reduce((m, s) => Math.max(m, s.started), -Infinity);
    const due = newest === -Infinity ? now : newest + this.everyMs;
    return Math.max(due, r.state.nextAttempt);
  }

  /** A dry run: reads state, takes no lock, changes nothing. */
  async plan(): Promise<SchedulePlan> {
    const r = await this.#store.load();
    this.#reconcile(r, await this.#existing());
    const now = this.#now();
    const due = this.#nextDue(r, now);
    const input = retentionSnapshots(r.snapshots);
    const wouldCreate = !r.state.paused && due <= now ? snapshotName(this.#o.prefix!, now) : null;
    if (wouldCreate) input.push({ id: wouldCreate, created: now, completed: now, kind: this.kind === 'checkpoint' ? 'checkpoint' : this.kind });
    const result = computeRetention(input, this.policy, { now });
    const planned = planDeletions(input, this.policy, { now, every: this.everyMs });
    const expected = new Map<string, number | null>(planned.deletions.map((d: PlannedDeletion) => [d.id, d.deleteAt]));
    return {
      wouldCreate,
      delete: result.delete,
      keep: result.keep.map((k) => ({ ...k, expectedDeletion: expected.get(k.id) ?? null })),
      incomplete: result.incomplete,
      nextDue: due,
      paused: r.state.paused,
    };
  }

  /** One pass: create a snapshot if one is due, then prune. Takes and releases the lease. */
  async runOnce(): Promise<RunReport> {
    let r = await this.#lease.acquire();
    const report: RunReport = { skipped: null, created: null, deleted: [], kept: [], incomplete: [], errors: [], nextDue: 0, paused: null };
    try {
      this.#reconcile(r, await this.#existing());
      const now = this.#now();
      let creationFailed = false;
      if (r.state.paused) report.skipped = 'paused';
      else if (r.state.nextAttempt > now) report.skipped = 'backoff';
      else if (this.#nextDue(r, now) > now) report.skipped = 'not-due';
      else {
        const outcome = await this.#create(r);
        r = outcome.records;
        if (outcome.error) {
          creationFailed = true;
          report.errors.push(outcome.error);
        } else report.created = outcome.created ?? null;
      }
      // While creation keeps failing (or the schedule is paused or backing off), nothing is pruned: the
      // snapshots the scheduler has are the newest the guest has.
      if (!creationFailed && !r.state.paused && r.state.failures === 0) await this.#prune(r, report);
      else {
        const result = computeRetention(retentionSnapshots(r.snapshots), this.policy, { now: this.#now() });
        report.kept = result.keep;
        report.incomplete = result.incomplete;
      }
      report.nextDue = this.#nextDue(r, this.#now());
      report.paused = r.state.paused;
      return report;
    } finally {
      await this.#lease.release(r).catch(() => undefined);
    }
  }

  async #create(r: ScheduleRecords): Promise<{ records: ScheduleRecords; created?: RunReport['created']; error?: RunReport['errors'][number] }> {
    const started = this.#now();
    const name = snapshotName(this.#o.prefix!, started);
    const record: SnapshotRecord = { name, kind: this.kind, started, completed: null, quiesced: false, pinned: false, parent: null };
    // The record goes first: a scheduler killed during creation leaves an incomplete record, never an
    // unexplained snapshot.
    r.snapshots.push(record);
    await this.#lease.save(r);
    this.#emit({ type: 'creating', name, kind: this.kind });
    try {
      const quiesced = await this.#make(name);
      record.completed = Math.max(this.#now(), started);
      record.quiesced = quiesced;
      record.parent = await this.#parentOf(name);
      r.state = { failures: 0, nextAttempt: 0, lastError: null, paused: null };
      await this.#lease.save(r);
      const durationMs = record.completed - started;
      this.#emit({ type: 'created', name, durationMs, quiesced });
      return { records: r, created: { name, durationMs, quiesced } };
    } catch (err) {
      const { transient, reason } = classifyFailure(err);
      // A creation libvirt refused made nothing: drop its record. One that may exist stays, incomplete.
      const exists = await this.#existing().then((e) => e.has(name)).catch(() => true);
      if (!exists) r.snapshots = r.snapshots.filter((s) => s !== record);
      const failures = r.state.failures + 1;
      const paused = !transient ? `permanent failure: ${reason}` : failures >= (this.#o.maxFailures ?? 5) ? `${failures} failures in a row; last: ${reason}` : null;
      const nextAttempt = paused ? 0 : this.#now() + backoffDelay(failures, this.#backoff, this.#o.random);
      r.state = { failures, nextAttempt, lastError: reason, paused };
      await this.#lease.save(r).catch(() => undefined);
      this.#emit({ type: 'failed', step: `create ${name}`, error: reason, transient, nextAttempt: paused ? null : nextAttempt, paused });
      return { records: r, error: { step: `create ${name}`, error: reason, transient } };
    }
  }

  /** Creates the snapshot or checkpoint; returns whether the guest was quiesced. */
  async #make(name: string): Promise<boolean> {
    const description = 'made by the libvirt-rpc scheduler';
    const quiesce = this.#o.quiesce ?? 'no';
    const make = async (withQuiesce: boolean): Promise<void> => {
      if (this.kind === 'checkpoint') {
        await this.domain.createCheckpoint({ name, description }, withQuiesce ? DomainCheckpoint.CREATE_QUIESCE : 0);
      } else {
        const flags = (this.kind === 'disk-only' ? DomainSnapshot.CREATE_DISK_ONLY | DomainSnapshot.CREATE_ATOMIC : 0) | (withQuiesce ? DomainSnapshot.CREATE_QUIESCE : 0);
        await this.domain.createSnapshot({ name, description }, flags);
      }
    };
    if (quiesce === 'no') {
      await make(false);
      return false;
    }
    try {
      await make(true);
      return true;
    } catch (err) {
      if (quiesce !== 'fallback' || !(err instanceof RemoteError)) throw err;
      // Asked for explicitly: a crash-consistent snapshot, recorded as not quiesced.
      await make(false);
      return false;
    }
  }

  /** The libvirt object of one of the scheduler's snapshots (or checkpoints). */
  #lookup(name: string): Promise<DomainSnapshot | DomainCheckpoint> {
    return this.kind === 'checkpoint' ? this.domain.getCheckpointByName(name) : this.domain.getSnapshotByName(name);
  }

  async #parentOf(name: string): Promise<string | null> {
    try {
      const parent = await (await this.#lookup(name)).getParent();
      return parent ? parent.getName() : null;
    } catch {
      return null;
    }
  }

  async #prune(r: ScheduleRecords, report: RunReport): Promise<void> {
    const result = computeRetention(retentionSnapshots(r.snapshots), this.policy, { now: this.#now() });
    report.kept = result.keep;
    report.incomplete = result.incomplete;
    for (const name of result.delete) {
      this.#emit({ type: 'deleting', name });
      try {
        await (await this.#lookup(name)).delete(0);
        r.snapshots = r.snapshots.filter((s) => s.name !== name);
        await this.#lease.save(r);
        report.deleted.push(name);
        this.#emit({ type: 'deleted', name });
      } catch (err) {
        const { transient, reason } = classifyFailure(err);
        report.errors.push({ step: `delete ${name}`, error: reason, transient });
        this.#emit({ type: 'failed', step: `delete ${name}`, error: reason, transient, nextAttempt: null, paused: null });
        if (transient) break; // the daemon is struggling: stop pruning for this pass
      }
    }
  }

  /** Clears a pause (an explicit decision of the operator). */
  async resume(): Promise<void> {
    const r = await this.#lease.acquire();
    r.state = { failures: 0, nextAttempt: 0, lastError: r.state.lastError, paused: null };
    await this.#lease.release(r);
  }

  /** Deletes the scheduler's incomplete snapshots (left by a crash); the only way they are ever deleted. */
  async cleanup(): Promise<string[]> {
    const r = await this.#lease.acquire();
    const removed: string[] = [];
    try {
      const existing = await this.#existing();
      for (const s of r.snapshots.filter((x) => !isComplete(x))) {
        if (existing.has(s.name)) {
          await (await this.#lookup(s.name)).delete(0);
        }
        removed.push(s.name);
      }
      r.snapshots = r.snapshots.filter((x) => isComplete(x));
      return removed;
    } finally {
      await this.#lease.release(r).catch(() => undefined);
    }
  }

  /**
   * Runs until `signal` aborts: a pass, then a wait until the next snapshot is due (or the next retry), never
   * shorter than the backoff minimum. An abort ends the wait at once; a pass in progress finishes first.
   */
  async runDaemon(signal: AbortSignal, onReport?: (r: RunReport) => void): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let wait: number;
      // After losing the daemon, reconnect first: a pass on a dead connection can only fail.
      if (this.#o.reconnect && !this.#domainRef.getConnect().isAlive()) {
        try {
          this.#attach(await this.#o.reconnect());
        } catch (err) {
          failures++;
          wait = Math.max(backoffDelay(failures, this.#backoff, this.#o.random), this.#backoff.minMs);
          this.#emit({ type: 'failed', step: 'reconnect', error: classifyFailure(err).reason, transient: true, nextAttempt: this.#now() + wait, paused: null });
          if (signal.aborted) break;
          await this.#sleep(wait, signal);
          continue;
        }
      }
      try {
        const report = await this.runOnce();
        failures = 0;
        onReport?.(report);
        wait = Math.max(report.nextDue - this.#now(), report.paused ? this.#backoff.maxMs : 0);
      } catch (err) {
        // The pass itself failed (the daemon away, the lock held): back off the same way.
        failures++;
        const { reason } = classifyFailure(err);
        wait = backoffDelay(failures, this.#backoff, this.#o.random);
        this.#emit({ type: 'failed', step: 'pass', error: reason, transient: true, nextAttempt: this.#now() + wait, paused: null });
      }
      wait = Math.max(wait, Math.min(this.#backoff.minMs, this.everyMs));
      if (signal.aborted) break;
      this.#emit({ type: 'waiting', untilMs: this.#now() + wait, why: 'next pass' });
      await this.#sleep(wait, signal);
    }
  }
}
