/**
 * The dyadic snapshot scheduler for one libvirt domain: makes snapshots (or checkpoints) on a schedule,
 * records each one's lifecycle durably, and deletes what the retention policy no longer keeps.
 *
 * Safety rules (each one tested against the sandbox's real guest):
 * - It touches only what it made: snapshots with a record in its metadata.
 * - A record is written before creation starts and completed after libvirt returns, so a scheduler killed at
 *   any point leaves either nothing or an incomplete record; the next run reconciles. Incomplete snapshots are
 *   never counted, never a chain parent, never deleted by the policy; only {@link DomainScheduler.cleanup} does.
 * - At most one snapshot per slot, whatever the timing, even with several schedulers on one domain: a snapshot
 *   is named after its slot and the daemon refuses a second one of that name (scheduler-pass.ts).
 * - No record is ever lost to another scheduler: each writes its own records, readers merge them (store.ts).
 *   An advisory lease with a fencing token keeps schedulers from working side by side (lease.ts).
 * - A failed creation backs off exponentially (never sooner than a minimum interval); after `maxFailures`
 *   transient failures in a row, or one permanent failure, the schedule pauses and says why. While creation
 *   keeps failing, nothing is pruned; nor while a snapshot's parent could not be looked up.
 * - Quiesce failures are never silently downgraded: `quiesce: 'fallback'` must be asked for, and the record
 *   says the snapshot is only crash-consistent.
 * - Every method takes `{ signal, timeout }` last; every daemon call in it is bounded on its own too.
 */
import { AbortError, InvalidArgumentError } from '../errors.js';
import type { Domain } from '../objects/domain.js';
import { checkDuration, checkTimeout, sleep as stepSleep } from '../protocol/durations.js';
import type { CallOptions } from '../protocol/program.js';
import { Bounds } from './bounds.js';
import { boundedReconnect, connState, untilConnected } from './daemon-connection.js';
import { backoffDelay, classifyFailure, schedulerBackoff, type BackoffOptions } from './failures.js';
import { LeaseLostError, ScheduleLease } from './lease.js';
import { MAX_SPAN_MS, validatePolicy, type RetentionPolicy, type RetentionPolicyInput } from './policy.js';
import { isComplete, retentionSnapshots, SNAPSHOT_PREFIX_PATTERN, snapshotName, type ScheduleRecords } from './records.js';
import { computeRetention, type KeptSnapshot } from './retention.js';
import { defaultEvery, planDeletions, type PlannedDeletion } from './retention-plan.js';
import { createSlot, dropOrphans, existingNames, migrateLegacy, nextDue, prune, reconciled, resolveParents, slotStart, slotTaken, type PassContext } from './scheduler-pass.js';
import { DomainMetadataStore, type ScheduleStore, type ScheduleView } from './store.js';

/** What the scheduler makes. */
export type ScheduledKind = 'internal' | 'disk-only' | 'checkpoint';

/** Options of a {@link DomainScheduler}. Every duration is checked when the scheduler is made. */
export interface SchedulerOptions {
  policy: RetentionPolicyInput | RetentionPolicy;
  /** Default `internal` (with memory when the guest runs). */
  kind?: ScheduledKind;
  /** Time between snapshots (the slot width), ms, 1 to 2^48. Default: the policy's base unit. */
  everyMs?: number;
  /** Name prefix of the scheduler's snapshots. Default `lvrpc`. */
  prefix?: string;
  /** `no` (default), `require` (fail when the guest agent cannot quiesce), `fallback` (then take a crash-consistent one, recorded as such). */
  quiesce?: 'no' | 'require' | 'fallback';
  /** Transient failures in a row before the schedule pauses. Default 5. */
  maxFailures?: number;
  /** Retry timing. Default: min max(1 s, everyMs / 4) (at most 1 h), max 1 h, factor 2, jitter 0.2. */
  backoff?: Partial<BackoffOptions>;
  /** Unique name of this scheduler process, e.g. `host/pid/random`. */
  owner: string;
  /** Lease length, ms (1 s to 2^31-1). Default 60 s. */
  lockTtlMs?: number;
  /** Wait between claiming the lease and verifying it, ms (0 to 60 s). Default 300. */
  lockSettleMs?: number;
  /** Bound on each metadata or list call, ms (1 to 2^31-1). Default 60 s. */
  callTimeoutMs?: number;
  /** Bound on creating or deleting one snapshot, ms (1 to 2^31-1). Default 1 h. */
  stepTimeoutMs?: number;
  /** Records store. Default: the domain's metadata. */
  store?: ScheduleStore;
  now?: () => number;
  /** Waits (default: in steps, so waits longer than 2^31-1 ms work); must end early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  /** Progress of long steps, for a terminal. */
  onProgress?: (event: SchedulerEvent) => void;
  /**
   * For {@link DomainScheduler.runDaemon}: opens a fresh connection and returns the domain again, used after the
   * connection to the daemon was lost (a daemon restart, a network cut). It is given `{ signal, timeout }`
   * (`callTimeoutMs`); the daemon stops waiting for it after that long either way. Not needed when the domain's
   * connection has a reconnect policy (`connect(uri, { reconnect })`): the daemon then waits for the policy.
   */
  reconnect?: (opts: { signal: AbortSignal; timeout: number }) => Promise<Domain>;
}

/** Progress and results, as they happen. */
export type SchedulerEvent =
  | { type: 'creating'; name: string; kind: ScheduledKind }
  | { type: 'created'; name: string; durationMs: number; quiesced: boolean }
  | { type: 'taken'; name: string; by: string }
  | { type: 'deleting'; name: string }
  | { type: 'deleted'; name: string }
  | { type: 'failed'; step: string; error: string; transient: boolean; nextAttempt: number | null; paused: string | null }
  | { type: 'reconnected'; downtimeMs: number }
  | { type: 'waiting'; untilMs: number; why: string };

/** What one pass did. */
export interface RunReport {
  /** Why nothing was created: `not-due`, `backoff`, `paused`, or `taken` (another scheduler made this slot's). */
  skipped: 'not-due' | 'backoff' | 'paused' | 'taken' | null;
  created: { name: string; durationMs: number; quiesced: boolean } | null;
  deleted: string[];
  kept: KeptSnapshot[];
  incomplete: string[];
  /** Failures of this pass (creation, a parent lookup, deletion, a lease taken over). */
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

/** Options of {@link DomainScheduler.runDaemon}. */
export interface DaemonOptions {
  /** Stops the daemon: a wait ends at once, a pass in progress finishes first. */
  signal?: AbortSignal;
  /** Stops the daemon after this long, ms (any length up to 2^48: waits are slept in steps). */
  timeout?: number;
  /** Called with each pass's report. */
  onReport?: (r: RunReport) => void;
}

const quietSleep = (sleep: (ms: number, signal?: AbortSignal) => Promise<void>, ms: number, signal?: AbortSignal): Promise<void> =>
  sleep(ms, signal).catch((e: unknown) => {
    if (!(e instanceof AbortError)) throw e;
  });

export class DomainScheduler {
  #domainRef: Domain;
  readonly policy: RetentionPolicy;
  readonly kind: ScheduledKind;
  readonly everyMs: number;
  readonly #o: SchedulerOptions & { prefix: string };
  readonly #backoff: BackoffOptions;
  readonly #callMs: number;
  readonly #stepMs: number;
  #ctx!: PassContext;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(domain: Domain, options: SchedulerOptions) {
    this.#domainRef = domain;
    this.policy = validatePolicy(options.policy);
    this.kind = options.kind ?? 'internal';
    if (!['internal', 'disk-only', 'checkpoint'].includes(this.kind)) throw new InvalidArgumentError(`kind: must be internal, disk-only or checkpoint`);
    this.everyMs = checkDuration(options.everyMs ?? defaultEvery(this.policy), 'everyMs', 1, MAX_SPAN_MS);
    const prefix = options.prefix ?? 'lvrpc';
    if (!SNAPSHOT_PREFIX_PATTERN.test(prefix)) throw new InvalidArgumentError('prefix: letters, digits, _ . - (up to 64), not starting with . or -');
    if (!options.owner) throw new InvalidArgumentError('owner: required');
    const maxFailures = options.maxFailures ?? 5;
    if (!Number.isInteger(maxFailures) || maxFailures < 1) throw new InvalidArgumentError('maxFailures: must be a whole number of at least 1');
    const b = schedulerBackoff(this.everyMs, options.backoff);
    this.#backoff = { ...b, minMs: checkDuration(b.minMs, 'backoff.minMs', 1, MAX_SPAN_MS), maxMs: checkDuration(b.maxMs, 'backoff.maxMs', b.minMs, MAX_SPAN_MS) };
    checkDuration(options.lockTtlMs ?? 60_000, 'lockTtlMs', 1000, 0x7fffffff);
    checkDuration(options.lockSettleMs ?? 300, 'lockSettleMs', 0, 60_000);
    this.#callMs = checkTimeout(options.callTimeoutMs ?? 60_000, 'callTimeoutMs');
    this.#stepMs = checkTimeout(options.stepTimeoutMs ?? 3_600_000, 'stepTimeoutMs');
    this.#o = { ...options, prefix, maxFailures };
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? stepSleep;
    this.#attach(domain);
  }

  /** The domain being scheduled (a new handle after a reconnect). */
  get domain(): Domain {
    return this.#domainRef;
  }

  #attach(domain: Domain): void {
    this.#domainRef = domain;
    const store = this.#o.store ?? new DomainMetadataStore(domain);
    const lease = new ScheduleLease(store, domain.getName(), {
      owner: this.#o.owner,
      ttlMs: this.#o.lockTtlMs ?? 60_000,
      settleMs: this.#o.lockSettleMs ?? 300,
      now: this.#now,
      sleep: this.#sleep,
    });
    this.#ctx = {
      domain,
      store,
      lease,
      owner: this.#o.owner,
      kind: this.kind,
      everyMs: this.everyMs,
      prefix: this.#o.prefix,
      quiesce: this.#o.quiesce ?? 'no',
      maxFailures: this.#o.maxFailures ?? 5,
      backoff: this.#backoff,
      policy: this.policy,
      now: this.#now,
      random: this.#o.random,
      emit: (e) => this.#emit(e),
    };
  }

  #emit(e: SchedulerEvent): void {
    try {
      this.#o.onProgress?.(e);
    } catch {
      // A progress display's failure is not the scheduler's.
    }
  }

  #bounds(opts?: CallOptions): Bounds {
    return new Bounds(opts, this.#callMs, this.#stepMs);
  }

  /** The scheduler's records as stored, every writer's merged (no lock taken). */
  async records(opts?: CallOptions): Promise<ScheduleRecords> {
    return (await this.#ctx.store.load(this.#bounds(opts).call())).records;
  }

  /** A dry run: reads state, takes no lock, changes nothing. */
  async plan(opts?: CallOptions): Promise<SchedulePlan> {
    const b = this.#bounds(opts);
    const existing = await existingNames(this.#ctx, b);
    const r = reconciled((await this.#ctx.store.load(b.call())).records, existing);
    const now = this.#now();
    const due = nextDue(this.#ctx, r, existing, now);
    const input = retentionSnapshots(r.snapshots);
    const wouldCreate = !r.state.paused && due <= now ? snapshotName(this.#o.prefix, slotStart(now, this.everyMs)) : null;
    if (wouldCreate) input.push({ id: wouldCreate, created: now, completed: now, kind: this.kind });
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

  /** Takes the lease, runs `fn`, gives the lease back (bounded, even after an abort). */
  async #leased<T>(b: Bounds, fn: (view: ScheduleView) => Promise<T>): Promise<T> {
    await this.#ctx.lease.acquire(b);
    try {
      let view = await this.#ctx.store.load(b.call());
      if (view.legacy) {
        await migrateLegacy(this.#ctx, view, b);
        view = await this.#ctx.store.load(b.call());
      }
      return await fn(view);
    } finally {
      await this.#ctx.lease.release(b).catch(() => undefined);
    }
  }

  /** One pass: create a snapshot if one is due, then prune. Takes and releases the lease. */
  async runOnce(opts?: CallOptions): Promise<RunReport> {
    const b = this.#bounds(opts);
    return this.#leased(b, async (view) => {
      const report: RunReport = { skipped: null, created: null, deleted: [], kept: [], incomplete: [], errors: [], nextDue: 0, paused: null };
      const existing = await existingNames(this.#ctx, b);
      const r = reconciled(view.records, existing);
      const now = this.#now();
      let pruneOk = true;
      try {
        if (r.state.paused) report.skipped = 'paused';
        else if (r.state.nextAttempt > now) report.skipped = 'backoff';
        else if (slotTaken(this.#ctx, r, existing, now)) report.skipped = 'not-due';
        else pruneOk = (await createSlot(this.#ctx, r, report, b)) !== 'failed';
        // While creation keeps failing (or the schedule is paused or backing off), nothing is pruned: the
        // snapshots the scheduler has are the newest the guest has. Nor without every chain link known.
        pruneOk = pruneOk && !r.state.paused && r.state.failures === 0 && (await resolveParents(this.#ctx, r, report, b));
        if (pruneOk) await prune(this.#ctx, r, view, report, b);
        if (pruneOk) await dropOrphans(this.#ctx, view, existing, now - (this.everyMs + this.#stepMs + this.#callMs), b);
      } catch (e) {
        // The lease was taken over: stop changing anything, say so.
        if (!(e instanceof LeaseLostError)) throw e;
        report.errors.push({ step: 'lease', error: e.message, transient: true });
      }
      if (!pruneOk || report.kept.length + report.incomplete.length === 0) {
        const result = computeRetention(retentionSnapshots(r.snapshots), this.policy, { now: this.#now() });
        report.kept = result.keep;
        report.incomplete = result.incomplete;
      }
      const after = this.#now();
      report.nextDue = nextDue(this.#ctx, r, report.created ? new Set([...existing, report.created.name]) : existing, after);
      report.paused = r.state.paused;
      return report;
    });
  }

  /** Clears a pause (an explicit decision of the operator). */
  async resume(opts?: CallOptions): Promise<void> {
    const b = this.#bounds(opts);
    return this.#leased(b, async (view) => {
      await this.#ctx.lease.fence(b);
      await this.#ctx.store.putState({ failures: 0, nextAttempt: 0, lastError: view.records.state.lastError, paused: null }, b.call());
    });
  }

  /**
   * Deletes the scheduler's incomplete snapshots (left by a crash), the only way they are ever deleted, and the
   * records of creations that never made a snapshot. Returns the names removed.
   */
  async cleanup(opts?: CallOptions): Promise<string[]> {
    const b = this.#bounds(opts);
    return this.#leased(b, async (view) => {
      const existing = await existingNames(this.#ctx, b);
      const removed: string[] = [];
      for (const s of view.records.snapshots.filter((x) => !isComplete(x))) {
        await this.#ctx.lease.fence(b);
        if (existing.has(s.name)) {
          const snap = this.kind === 'checkpoint' ? await this.domain.getCheckpointByName(s.name, b.call()) : await this.domain.getSnapshotByName(s.name, b.call());
          await snap.delete(0, b.step());
        }
        await this.#ctx.store.dropRecords(view.keys.get(s.name) ?? [], b.call());
        removed.push(s.name);
      }
      return removed;
    });
  }

  /**
   * Runs until `signal` aborts or `timeout` ms have passed: a pass, then a wait until the next snapshot is due
   * (or the next retry), never shorter than the backoff minimum. An abort ends the wait at once; a pass in
   * progress finishes first (its calls stay bounded). (`runDaemon(signal, onReport)` is the older form.)
   *
   * A lost connection: with a reconnect policy on the domain's connection, no pass runs while the policy
   * reopens it; the daemon waits for it (`conn.whenOpen()`), says so (a `failed` event of step `connection`,
   * then `reconnected`), and runs a pass as soon as it is back. Once the connection is closed for good (the
   * policy gave up, or there is none and no `reconnect` option), it rejects with ConnectionClosedError.
   */
  async runDaemon(opts: DaemonOptions | AbortSignal = {}, onReport?: (r: RunReport) => void): Promise<void> {
    const o: DaemonOptions = isSignal(opts) ? { signal: opts, onReport } : opts;
    const signal = o.signal;
    const stopAt = o.timeout === undefined ? Infinity : this.#now() + checkDuration(o.timeout, 'timeout', 0, MAX_SPAN_MS);
    const stopped = () => signal?.aborted === true || this.#now() >= stopAt;
    let failures = 0;
    while (!stopped()) {
      let wait: number;
      // After losing the daemon, reconnect first: a pass on a dead connection can only fail.
      if (!this.#o.reconnect && !(await untilConnected(this.#domainRef, { stopAt, signal, now: this.#now, emit: (e) => this.#emit(e) }))) continue;
      if (this.#o.reconnect && !this.#domainRef.getConnect().isAlive()) {
        try {
          this.#attach(await boundedReconnect(this.#o.reconnect, this.#callMs));
        } catch (err) {
          failures++;
          wait = Math.max(backoffDelay(failures, this.#backoff, this.#o.random), this.#backoff.minMs);
          this.#emit({ type: 'failed', step: 'reconnect', error: classifyFailure(err).reason, transient: true, nextAttempt: this.#now() + wait, paused: null });
          await this.#wait(wait, stopAt, signal);
          continue;
        }
      }
      try {
        const report = await this.runOnce();
        failures = 0;
        o.onReport?.(report);
        wait = Math.max(report.nextDue - this.#now(), report.paused ? this.#backoff.maxMs : 0);
      } catch (err) {
        // The pass itself failed (the daemon away, the lock held): back off the same way.
        failures++;
        const { reason } = classifyFailure(err);
        wait = backoffDelay(failures, this.#backoff, this.#o.random);
        // Lost under the pass, and a reconnect policy at work: the next round waits for it, not for a timer.
        if (!this.#o.reconnect && connState(this.#domainRef) === 'reconnecting') {
          this.#emit({ type: 'failed', step: 'pass', error: reason, transient: true, nextAttempt: null, paused: null });
          continue;
        }
        this.#emit({ type: 'failed', step: 'pass', error: reason, transient: true, nextAttempt: this.#now() + wait, paused: null });
      }
      wait = Math.max(wait, Math.min(this.#backoff.minMs, this.everyMs));
      if (stopped()) break;
      this.#emit({ type: 'waiting', untilMs: this.#now() + wait, why: 'next pass' });
      await this.#wait(wait, stopAt, signal);
    }
  }

  /** Waits `ms`, but not past `stopAt`, and not after `signal` aborts. */
  #wait(ms: number, stopAt: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return quietSleep(this.#sleep, Math.max(0, Math.min(ms, stopAt - this.#now())), signal);
  }
}

function isSignal(v: unknown): v is AbortSignal {
  return typeof v === 'object' && v !== null && 'aborted' in v && typeof (v as AbortSignal).addEventListener === 'function';
}
