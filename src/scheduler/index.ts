/**
 * `libvirt-rpc/scheduler`: the dyadic snapshot scheduler's public API. Browser-safe, like the rest of the core.
 *
 * - Retention, pure: {@link computeRetention} (which snapshots a policy keeps, and why), policies and their
 *   validation ({@link validatePolicy}, {@link PolicyError}), dry runs ({@link planDeletions}) and simulations
 *   over time ({@link simulate}).
 * - The runtime: {@link DomainScheduler} makes and prunes snapshots of one domain, records each one's lifecycle
 *   in the domain's metadata ({@link DomainMetadataStore}) and holds a lease on it ({@link ScheduleLockedError}
 *   when another scheduler has it); {@link validateScheduleConfig} reads a `schedule.json`.
 *
 * Everything else under src/scheduler is internal and may change without notice.
 */
export { computeRetention } from './retention.js';
export type { RetentionSnapshot, KeptSnapshot, RetentionResult, RetentionOptions, RetentionReason, SnapshotKind } from './retention.js';
export { describeReason, formatDuration } from './retention-reasons.js';

export { PolicyError, validatePolicy, MAX_SPAN_MS, MAX_LEVELS, MAX_SLOTS, MAX_INTERVALS } from './policy.js';
export type { AlignedPolicy, DssPolicy, RetentionPolicy, AlignedPolicyInput, DssPolicyInput, RetentionPolicyInput } from './policy.js';

export { planDeletions, simulate, defaultEvery } from './retention-plan.js';
export type { PlannedDeletion, PlanOptions, DeletionPlan, SimulateOptions, SimulatedSnapshot, SimulationResult } from './retention-plan.js';

export { validateScheduleConfig, parseDuration } from './config.js';
export type { ScheduleConfig } from './config.js';

export { DomainScheduler } from './scheduler.js';
export type { ScheduledKind, SchedulerOptions, SchedulerEvent, RunReport, SchedulePlan } from './scheduler.js';

export { ScheduleLockedError, LeaseLostError, DomainMetadataStore } from './store.js';
export type { ScheduleStore } from './store.js';
export { SCHEDULER_NS, SCHEDULER_PREFIX } from './records.js';
export type { SnapshotRecord, ScheduleRecords, LockLease, FailureState } from './records.js';

export { classifyFailure, backoffDelay, schedulerBackoff } from './failures.js';
export type { FailureClass, BackoffOptions } from './failures.js';
