/**
 * One pass of the scheduler, step by step: is the current slot's snapshot due, make it (record first), then
 * prune what the policy no longer keeps. Every change is preceded by the lease's fencing check, every daemon
 * call is bounded, and the safety of each step rests on the daemon and on per-writer records, not on timing:
 *
 * - A snapshot's name is its slot (`<prefix>-<slot start>`, slots `everyMs` wide from the epoch), and libvirt
 *   refuses a second snapshot of a name under the domain's job lock, so two schedulers can never both create the
 *   snapshot of one slot. The loser sees who made it in the snapshot's description and steps back; its attempt
 *   is not a failure. (Wire quirk: qemuSnapshotCreate in src/qemu/qemu_snapshot.c, and its checkpoint twin,
 *   assign the new moment to the domain's list inside the domain job and before any work, and
 *   virDomainMomentAssignDef in src/conf/virdomainmomentobjlist.c fails with VIR_ERR_OPERATION_FAILED "domain
 *   moment <name> already exists"; an in-progress snapshot is listed already.)
 * - Records are written per writer (store.ts), so a delayed write cannot overwrite another scheduler's record.
 * - Deleting is idempotent (a snapshot already gone counts as deleted), and before deleting a snapshot whose
 *   children depend on it, libvirt is asked whether it still has children that stay.
 */
import { RemoteError } from '../errors.js';
import type { Domain } from '../objects/domain.js';
import { DomainCheckpoint } from '../objects/domain-checkpoint.js';
import { DomainSnapshot } from '../objects/domain-snapshot.js';
import type { Bounds } from './bounds.js';
import { backoffDelay, classifyFailure, type BackoffOptions } from './failures.js';
import { LeaseLostError, type ScheduleLease } from './lease.js';
import type { RetentionPolicy } from './policy.js';
import { isComplete, retentionSnapshots, snapshotName, type FailureState, type ScheduleRecords, type SnapshotRecord } from './records.js';
import { computeRetention } from './retention.js';
import { dependsOnParent } from './retention-chain.js';
import { LEGACY_KEY, recordKey, type ScheduleStore, type ScheduleView } from './store.js';
import type { RunReport, ScheduledKind, SchedulerEvent } from './scheduler.js';

/** What a pass needs of its scheduler. */
export interface PassContext {
  readonly domain: Domain;
  readonly store: ScheduleStore;
  readonly lease: ScheduleLease;
  readonly owner: string;
  readonly kind: ScheduledKind;
  readonly everyMs: number;
  readonly prefix: string;
  readonly quiesce: 'no' | 'require' | 'fallback';
  readonly maxFailures: number;
  readonly backoff: BackoffOptions;
  readonly policy: RetentionPolicy;
  readonly now: () => number;
  readonly random?: () => number;
  emit(e: SchedulerEvent): void;
}

const DESCRIPTION = 'made by the libvirt-rpc scheduler';

/** The start of the slot `t` falls in. */
export function slotStart(t: number, everyMs: number): number {
  return Math.floor(t / everyMs) * everyMs;
}

/** Names of the domain's snapshots (or checkpoints) as libvirt lists them now. */
export async function existingNames(ctx: PassContext, b: Bounds): Promise<Set<string>> {
  const list = ctx.kind === 'checkpoint' ? await ctx.domain.listAllCheckpoints(0, b.call()) : await ctx.domain.listAllSnapshots(0, b.call());
  return new Set(list.map((s) => s.getName()));
}

/** The records whose snapshot exists (others were deleted by hand, or never made). */
export function reconciled(r: ScheduleRecords, existing: Set<string>): ScheduleRecords {
  return { ...r, snapshots: r.snapshots.filter((s) => existing.has(s.name)) };
}

/** Whether the slot of `now` already has its snapshot: libvirt has its name, or a complete record started in it. */
export function slotTaken(ctx: PassContext, r: ScheduleRecords, existing: Set<string>, now: number): boolean {
  const slot = slotStart(now, ctx.everyMs);
  if (existing.has(snapshotName(ctx.prefix, slot))) return true;
  return r.snapshots.some((s) => isComplete(s) && slotStart(s.started, ctx.everyMs) === slot);
}

/** When the next snapshot is due, as seen at `now`. */
export function nextDue(ctx: PassContext, r: ScheduleRecords, existing: Set<string>, now: number): number {
  const due = slotTaken(ctx, r, existing, now) ? slotStart(now, ctx.everyMs) + ctx.everyMs : now;
  return Math.max(due, r.state.nextAttempt);
}

function lookup(ctx: PassContext, name: string, b: Bounds): Promise<DomainSnapshot | DomainCheckpoint> {
  return ctx.kind === 'checkpoint' ? ctx.domain.getCheckpointByName(name, b.call()) : ctx.domain.getSnapshotByName(name, b.call());
}

const gone = (e: unknown) => e instanceof RemoteError && ['VIR_ERR_NO_DOMAIN_SNAPSHOT', 'VIR_ERR_NO_DOMAIN_CHECKPOINT'].includes(e.remote.codeName);

/** Who made snapshot `name`, from its description: null when it does not exist, '' when not a scheduler. */
async function creatorOf(ctx: PassContext, name: string, b: Bounds): Promise<string | null> {
  try {
    const d = await (await lookup(ctx, name, b)).describe(0, b.call());
    return /\(owner (.+)\)$/.exec(d.description ?? '')?.[1] ?? '';
  } catch (e) {
    if (gone(e)) return null;
    throw e;
  }
}

/** Creates the snapshot or checkpoint; returns whether the guest was quiesced. */
async function make(ctx: PassContext, name: string, b: Bounds): Promise<boolean> {
  const description = `${DESCRIPTION} (owner ${ctx.owner})`;
  const once = async (quiesce: boolean): Promise<void> => {
    if (ctx.kind === 'checkpoint') {
      await ctx.domain.createCheckpoint({ name, description }, quiesce ? DomainCheckpoint.CREATE_QUIESCE : 0, b.step());
    } else {
      const flags = (ctx.kind === 'disk-only' ? DomainSnapshot.CREATE_DISK_ONLY | DomainSnapshot.CREATE_ATOMIC : 0) | (quiesce ? DomainSnapshot.CREATE_QUIESCE : 0);
      await ctx.domain.createSnapshot({ name, description }, flags, b.step());
    }
  };
  if (ctx.quiesce === 'no') {
    await once(false);
    return false;
  }
  try {
    await once(true);
    return true;
  } catch (err) {
    if (ctx.quiesce !== 'fallback' || !(err instanceof RemoteError)) throw err;
    // Asked for explicitly: a crash-consistent snapshot, recorded as not quiesced.
    await once(false);
    return false;
  }
}

/** The libvirt parent's name; a failed lookup throws (the caller records the parent as unknown). */
async function parentOf(ctx: PassContext, name: string, b: Bounds): Promise<string | null> {
  const parent = await (await lookup(ctx, name, b)).getParent(b.call());
  return parent ? parent.getName() : null;
}

/** Writes the shared failure state, if the lease is still ours. */
async function putState(ctx: PassContext, state: FailureState, b: Bounds): Promise<void> {
  await ctx.lease.fence(b);
  await ctx.store.putState(state, b.call());
}

/** Makes the snapshot of the current slot. The records in `r` are updated to what was written. */
export async function createSlot(ctx: PassContext, r: ScheduleRecords, report: RunReport, b: Bounds): Promise<'created' | 'taken' | 'failed'> {
  const started = ctx.now();
  const name = snapshotName(ctx.prefix, slotStart(started, ctx.everyMs));
  const record: SnapshotRecord = { name, kind: ctx.kind, started, completed: null, quiesced: false, pinned: false, parent: null };
  await ctx.lease.fence(b);
  // The record goes first: a scheduler killed during creation leaves an incomplete record, never an
  // unexplained snapshot. It is this scheduler's own element, so no other scheduler's record is touched.
  await ctx.store.putRecord(ctx.owner, record, b.call());
  ctx.emit({ type: 'creating', name, kind: ctx.kind });
  let quiesced: boolean;
  try {
    quiesced = await make(ctx, name, b);
  } catch (err) {
    const creator = await creatorOf(ctx, name, b).catch(() => ctx.owner);
    if (creator !== null && creator !== ctx.owner) {
      // Another scheduler made (or is making) this slot's snapshot: the daemon refused ours. Not a failure.
      await ctx.store.dropRecords([recordKey(name, ctx.owner)], b.call()).catch(() => undefined);
      ctx.emit({ type: 'taken', name, by: creator || 'something else' });
      report.skipped = 'taken';
      return 'taken';
    }
    const { transient, reason } = classifyFailure(err);
    // A creation libvirt refused made nothing: drop the record. One that may exist stays, incomplete.
    if (creator === null) await ctx.store.dropRecords([recordKey(name, ctx.owner)], b.call()).catch(() => undefined);
    else r.snapshots.push(record);
    const failures = r.state.failures + 1;
    const paused = !transient ? `permanent failure: ${reason}` : failures >= ctx.maxFailures ? `${failures} failures in a row; last: ${reason}` : null;
    const nextAttempt = paused ? 0 : ctx.now() + backoffDelay(failures, ctx.backoff, ctx.random);
    r.state = { failures, nextAttempt, lastError: reason, paused };
    await putState(ctx, r.state, b).catch(() => undefined);
    ctx.emit({ type: 'failed', step: `create ${name}`, error: reason, transient, nextAttempt: paused ? null : nextAttempt, paused });
    report.errors.push({ step: `create ${name}`, error: reason, transient });
    return 'failed';
  }
  record.completed = Math.max(ctx.now(), started);
  record.quiesced = quiesced;
  try {
    record.parent = await parentOf(ctx, name, b);
  } catch (err) {
    // Without its parent the chain protection of this snapshot would be lost: record it as unknown; no pass
    // prunes until one finds it (resolveParents).
    record.parentUnknown = true;
    report.errors.push({ step: `parent of ${name}`, error: classifyFailure(err).reason, transient: true });
  }
  await ctx.store.putRecord(ctx.owner, record, b.call());
  r.snapshots.push(record);
  const durationMs = record.completed - started;
  report.created = { name, durationMs, quiesced };
  ctx.emit({ type: 'created', name, durationMs, quiesced });
  if (r.state.failures !== 0 || r.state.nextAttempt !== 0 || r.state.paused !== null) {
    r.state = { failures: 0, nextAttempt: 0, lastError: null, paused: null };
    await putState(ctx, r.state, b);
  }
  return 'created';
}

/**
 * Looks up the parents a creation could not record. Returns false (and reports why) when one still cannot be
 * found: the pass must not prune then.
 */
export async function resolveParents(ctx: PassContext, r: ScheduleRecords, report: RunReport, b: Bounds): Promise<boolean> {
  for (const rec of r.snapshots) {
    if (!rec.parentUnknown || !isComplete(rec)) continue;
    // Made in this pass, and its lookup just failed: the pass fails without asking again.
    if (report.errors.some((e) => e.step === `parent of ${rec.name}`)) return false;
    try {
      rec.parent = await parentOf(ctx, rec.name, b);
    } catch (err) {
      report.errors.push({ step: `parent of ${rec.name}`, error: classifyFailure(err).reason, transient: true });
      return false;
    }
    delete rec.parentUnknown;
    await ctx.store.putRecord(ctx.owner, rec, b.call());
  }
  return true;
}

/** Deletes what the policy no longer keeps, newest first; stops at a transient failure or a lost lease. */
export async function prune(ctx: PassContext, r: ScheduleRecords, view: ScheduleView, report: RunReport, b: Bounds): Promise<void> {
  const result = computeRetention(retentionSnapshots(r.snapshots), ctx.policy, { now: ctx.now() });
  report.kept = result.keep;
  report.incomplete = result.incomplete;
  const deleted = new Set<string>();
  for (const name of result.delete) {
    await ctx.lease.fence(b);
    try {
      if (dependsOnParent(ctx.kind)) {
        // The records said nothing depends on it; libvirt has the last word (a child made by hand, a record
        // still in flight from another scheduler).
        const kids = (await (await lookup(ctx, name, b)).listAllChildren(0, b.call())).map((c) => c.getName()).filter((c) => !deleted.has(c));
        if (kids.length > 0) {
          report.errors.push({ step: `delete ${name}`, error: `kept: libvirt still lists its child ${kids.join(', ')}`, transient: false });
          continue;
        }
      }
      ctx.emit({ type: 'deleting', name });
      await (await lookup(ctx, name, b)).delete(0, b.step());
    } catch (err) {
      if (err instanceof LeaseLostError) throw err;
      if (!gone(err)) {
        const { transient, reason } = classifyFailure(err);
        report.errors.push({ step: `delete ${name}`, error: reason, transient });
        ctx.emit({ type: 'failed', step: `delete ${name}`, error: reason, transient, nextAttempt: null, paused: null });
        if (transient) break; // the daemon is struggling: stop pruning for this pass
        continue;
      }
    }
    deleted.add(name);
    r.snapshots = r.snapshots.filter((s) => s.name !== name);
    await ctx.store.dropRecords(view.keys.get(name) ?? [recordKey(name, ctx.owner)], b.call());
    report.deleted.push(name);
    ctx.emit({ type: 'deleted', name });
  }
}

/**
 * Drops the records of snapshots that are not there: complete ones at once (deleted by hand, or a removal that
 * failed), incomplete ones (a creation stopped before libvirt made anything) once they started before `horizon`
 * (their slot over by more than a creation may take), so that a creation still under way elsewhere keeps its
 * record. `view` was read before `existing` was listed, so a complete record in it is of a snapshot made before
 * that listing.
 */
export async function dropOrphans(ctx: PassContext, view: ScheduleView, existing: Set<string>, horizon: number, b: Bounds): Promise<void> {
  for (const rec of view.records.snapshots) {
    if (existing.has(rec.name) || (!isComplete(rec) && rec.started >= horizon)) continue;
    await ctx.lease.fence(b);
    await ctx.store.dropRecords(view.keys.get(rec.name) ?? [], b.call());
  }
}

/** Moves format-1 records (one shared element) into this scheduler's format-2 elements. */
export async function migrateLegacy(ctx: PassContext, view: ScheduleView, b: Bounds): Promise<void> {
  for (const rec of view.legacy!.snapshots) await ctx.store.putRecord(ctx.owner, rec, b.call());
  if (!view.hasState) await ctx.store.putState(view.legacy!.state, b.call());
  await ctx.store.dropRecords([LEGACY_KEY], b.call());
}
