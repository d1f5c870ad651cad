/**
 * The constants of Domain, DomainSnapshot and DomainCheckpoint under Sys::Virt's names, derived from the enums
 * generated from libvirt's public headers: a member's name is the header name with its prefix replaced
 * (`VIR_DOMAIN_SNAPSHOT_LIST_ROOTS` -> `LIST_ROOTS`, `VIR_DOMAIN_RUNNING` -> `STATE_RUNNING`), its value is
 * libvirt's. Nothing here is typed by hand, so a regenerated header brings its new flags along.
 */
import * as headers from '../../generated/libvirt-headers.js';

type Enum = Readonly<Record<string, number>>;

/** The members of `E` whose names start with `P`, renamed to `A` + the rest of the name. */
export type Renamed<E, P extends string, A extends string = ''> = {
  readonly [K in keyof E as K extends `${P}${infer R}` ? `${A}${R}` : never]: E[K];
};

/**
 * Renames the members of a header enum: those starting with `strip` lose it and gain `add`; others are left
 * out (e.g. `VIR_DOMAIN_NONE` of virDomainCreateFlags, which Sys::Virt does not export).
 */
export function renamed<E extends Enum, P extends string, A extends string = ''>(e: E, strip: P, add?: A): Renamed<E, P, A> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(e)) {
    if (name.startsWith(strip)) out[`${add ?? ''}${name.slice(strip.length)}`] = value;
  }
  return Object.freeze(out) as Renamed<E, P, A>;
}

// Each table is built inside a function called under a `@__PURE__` annotation: bundlers cannot tell that
// Object.freeze and the renaming have no side effects, and would otherwise keep all three tables (and every
// header enum they read) in any bundle that imports this module.

const SNAP = 'VIR_DOMAIN_SNAPSHOT_';
/** DomainSnapshot's constants: CREATE_*, XML_*, LIST_*, REVERT_*, DELETE_* (libvirt-domain-snapshot.h). */
export const SNAPSHOT_CONSTANTS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...renamed(headers.virDomainSnapshotCreateFlags, SNAP),
    ...renamed(headers.virDomainSnapshotXMLFlags, SNAP),
    ...renamed(headers.virDomainSnapshotListFlags, SNAP),
    ...renamed(headers.virDomainSnapshotRevertFlags, SNAP),
    ...renamed(headers.virDomainSnapshotDeleteFlags, SNAP),
  }))();

const CHKP = 'VIR_DOMAIN_CHECKPOINT_';
/** DomainCheckpoint's constants: CREATE_*, XML_*, LIST_*, DELETE_* (libvirt-domain-checkpoint.h). */
export const CHECKPOINT_CONSTANTS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...renamed(headers.virDomainCheckpointCreateFlags, CHKP),
    ...renamed(headers.virDomainCheckpointXMLFlags, CHKP),
    ...renamed(headers.virDomainCheckpointListFlags, CHKP),
    ...renamed(headers.virDomainCheckpointDeleteFlags, CHKP),
  }))();

const DOM = 'VIR_DOMAIN_';
/**
 * Domain's constants that this layer's methods take or return: STATE_* (virDomainState and every per-state
 * reason enum; Sys::Virt prefixes them with STATE_), LIST_* (virConnectListAllDomainsFlags), XML_*, START_*,
 * DESTROY_*, UNDEFINE_*, AFFECT_*, JOB_* (job types, operations, stats flags), ABORT_JOB_*, BACKUP_BEGIN_*,
 * OPEN_CONSOLE_*, OPEN_CHANNEL_*.
 */
export const DOMAIN_CONSTANTS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...renamed(headers.virDomainState, DOM, 'STATE_'),
    ...renamed(headers.virDomainNostateReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainRunningReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainBlockedReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainPausedReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainShutdownReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainShutoffReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainCrashedReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainPMSuspendedReason, DOM, 'STATE_'),
    ...renamed(headers.virDomainPMSuspendedDiskReason, DOM, 'STATE_'),
    ...renamed(headers.virConnectListAllDomainsFlags, 'VIR_CONNECT_LIST_DOMAINS_', 'LIST_'),
    ...renamed(headers.virDomainXMLFlags, DOM),
    ...renamed(headers.virDomainCreateFlags, 'VIR_DOMAIN_START_', 'START_'),
    ...renamed(headers.virDomainDestroyFlagsValues, DOM),
    ...renamed(headers.virDomainUndefineFlagsValues, DOM),
    ...renamed(headers.virDomainModificationImpact, DOM),
    ...renamed(headers.virDomainJobType, DOM),
    ...renamed(headers.virDomainJobOperation, DOM),
    ...renamed(headers.virDomainGetJobStatsFlags, DOM),
    // Sys::Virt spells this one DOMAIN_ABORT_JOB_POSTCOPY; the rule above gives ABORT_JOB_POSTCOPY, kept as is.
    ...renamed(headers.virDomainAbortJobFlagsValues, DOM),
    ...renamed(headers.virDomainBackupBeginFlags, DOM),
    // Sys::Virt's names for the console and channel flags: OPEN_CONSOLE_FORCE, OPEN_CONSOLE_SAFE, OPEN_CHANNEL_FORCE.
    ...renamed(headers.virDomainConsoleFlags, DOM, 'OPEN_'),
    ...renamed(headers.virDomainChannelFlags, DOM, 'OPEN_'),
  }))();

/**
 * A base class whose statics are `constants`, so that `class DomainSnapshot extends withConstants(...)` has
 * `DomainSnapshot.LIST_ROOTS` typed as libvirt's value, while staying an ordinary class. Classes call it under a
 * `@__PURE__` annotation, so that bundlers may drop a class nothing uses.
 */
export function withConstants<T extends Enum>(constants: T): (new () => object) & T {
  const Base = class {};
  for (const [name, value] of Object.entries(constants)) {
    Object.defineProperty(Base, name, { value, enumerable: true, writable: false, configurable: false });
  }
  return Base as unknown as (new () => object) & T;
}
