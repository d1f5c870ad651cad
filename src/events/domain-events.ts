/**
 * Domain events: every `VIR_DOMAIN_EVENT_ID_*`, registered with CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY and
 * received as the callback variant of each message (libvirt's remote driver, remoteEvents[] in
 * src/remote/remote_driver.c, lists the same pairs: BLOCK_JOB_2, BLOCK_THRESHOLD and the later ones have only
 * that variant). Enum values become the names of libvirt's constants; the domain becomes a `Domain`.
 */
import * as H from '../../generated/libvirt-headers.js';
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import type { Connect } from '../objects/connect.js';
import { Domain } from '../objects/domain.js';
import type { TypedValue } from '../objects/typed-params.js';
import { enumNames, exact, nameOf, typedParams, type EventSpec, type FamilySpec, type TypedParam } from './family.js';

const LIFECYCLE = /* @__PURE__ */ enumNames(H.virDomainEventType, 'VIR_DOMAIN_EVENT_');
/** Detail names per lifecycle event, in virDomainEventType order. */
const DETAILS = [
  /* @__PURE__ */ enumNames(H.virDomainEventDefinedDetailType, 'VIR_DOMAIN_EVENT_DEFINED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventUndefinedDetailType, 'VIR_DOMAIN_EVENT_UNDEFINED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventStartedDetailType, 'VIR_DOMAIN_EVENT_STARTED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventSuspendedDetailType, 'VIR_DOMAIN_EVENT_SUSPENDED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventResumedDetailType, 'VIR_DOMAIN_EVENT_RESUMED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventStoppedDetailType, 'VIR_DOMAIN_EVENT_STOPPED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventShutdownDetailType, 'VIR_DOMAIN_EVENT_SHUTDOWN_'),
  /* @__PURE__ */ enumNames(H.virDomainEventPMSuspendedDetailType, 'VIR_DOMAIN_EVENT_PMSUSPENDED_'),
  /* @__PURE__ */ enumNames(H.virDomainEventCrashedDetailType, 'VIR_DOMAIN_EVENT_CRASHED_'),
];
const WATCHDOG = /* @__PURE__ */ enumNames(H.virDomainEventWatchdogAction, 'VIR_DOMAIN_EVENT_WATCHDOG_');
const IO_ERROR = /* @__PURE__ */ enumNames(H.virDomainEventIOErrorAction, 'VIR_DOMAIN_EVENT_IO_ERROR_');
const GRAPHICS_PHASE = /* @__PURE__ */ enumNames(H.virDomainEventGraphicsPhase, 'VIR_DOMAIN_EVENT_GRAPHICS_');
const GRAPHICS_FAMILY = /* @__PURE__ */ enumNames(H.virDomainEventGraphicsAddressType, 'VIR_DOMAIN_EVENT_GRAPHICS_ADDRESS_');
const JOB_TYPE = /* @__PURE__ */ enumNames(H.virDomainBlockJobType, 'VIR_DOMAIN_BLOCK_JOB_TYPE_');
const JOB_STATUS = /* @__PURE__ */ enumNames(H.virConnectDomainEventBlockJobStatus, 'VIR_DOMAIN_BLOCK_JOB_');
const DISK_CHANGE = /* @__PURE__ */ enumNames(H.virConnectDomainEventDiskChangeReason, 'VIR_DOMAIN_EVENT_DISK_');
const TRAY = /* @__PURE__ */ enumNames(H.virDomainEventTrayChangeReason, 'VIR_DOMAIN_EVENT_TRAY_CHANGE_');
const AGENT_STATE = /* @__PURE__ */ enumNames(H.virConnectDomainEventAgentLifecycleState, 'VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_STATE_');
const AGENT_REASON = /* @__PURE__ */ enumNames(H.virConnectDomainEventAgentLifecycleReason, 'VIR_CONNECT_DOMAIN_EVENT_AGENT_LIFECYCLE_REASON_');
const METADATA = /* @__PURE__ */ enumNames(H.virDomainMetadataType, 'VIR_DOMAIN_METADATA_');
const MF_RECIPIENT = /* @__PURE__ */ enumNames(H.virDomainMemoryFailureRecipientType, 'VIR_DOMAIN_EVENT_MEMORY_FAILURE_RECIPIENT_');
const MF_ACTION = /* @__PURE__ */ enumNames(H.virDomainMemoryFailureActionType, 'VIR_DOMAIN_EVENT_MEMORY_FAILURE_ACTION_');

/** What every domain event has. */
interface Base<T extends string> {
  readonly family: 'domain';
  readonly type: T;
  readonly domain: Domain;
}

/** A graphics client's address in a `graphics` event. */
export interface GraphicsAddress {
  family: string;
  familyCode: number;
  node: string;
  service: string;
}

/** Each domain event's payload, by name (virsh's names). */
export interface DomainEventMap {
  lifecycle: Base<'lifecycle'> & { event: string; eventCode: number; detail: string; detailCode: number };
  reboot: Base<'reboot'>;
  'rtc-change': Base<'rtc-change'> & { utcOffset: number | bigint };
  watchdog: Base<'watchdog'> & { action: string; actionCode: number };
  'io-error': Base<'io-error'> & { srcPath: string; devAlias: string; action: string; actionCode: number };
  graphics: Base<'graphics'> & {
    phase: string; phaseCode: number; local: GraphicsAddress; remote: GraphicsAddress; authScheme: string;
    subject: { type: string; name: string }[];
  };
  'io-error-reason': Base<'io-error-reason'> & { srcPath: string; devAlias: string; action: string; actionCode: number; reason: string };
  'control-error': Base<'control-error'>;
  /** `disk` is the disk's path (block-job) or its target, e.g. `vda` (block-job-2). */
  'block-job': Base<'block-job'> & { disk: string; jobType: string; jobTypeCode: number; status: string; statusCode: number };
  'disk-change': Base<'disk-change'> & { oldSrcPath: string | null; newSrcPath: string | null; devAlias: string; reason: string; reasonCode: number };
  'tray-change': Base<'tray-change'> & { devAlias: string; reason: string; reasonCode: number };
  'pm-wakeup': Base<'pm-wakeup'> & { reason: number };
  'pm-suspend': Base<'pm-suspend'> & { reason: number };
  /** `actual`: the balloon's size in KiB. */
  'balloon-change': Base<'balloon-change'> & { actual: number | bigint };
  'pm-suspend-disk': Base<'pm-suspend-disk'> & { reason: number };
  'device-removed': Base<'device-removed'> & { devAlias: string };
  'block-job-2': Base<'block-job-2'> & { disk: string; jobType: string; jobTypeCode: number; status: string; statusCode: number };
  tunable: Base<'tunable'> & { params: Record<string, TypedValue>; typedParams: TypedParam[] };
  'agent-lifecycle': Base<'agent-lifecycle'> & { state: string; stateCode: number; reason: string; reasonCode: number };
  'device-added': Base<'device-added'> & { devAlias: string };
  'migration-iteration': Base<'migration-iteration'> & { iteration: number };
  'job-completed': Base<'job-completed'> & { params: Record<string, TypedValue>; typedParams: TypedParam[] };
  'device-removal-failed': Base<'device-removal-failed'> & { devAlias: string };
  'metadata-change': Base<'metadata-change'> & { metadataType: string; metadataTypeCode: number; nsuri: string | null };
  'block-threshold': Base<'block-threshold'> & { dev: string; path: string | null; threshold: number | bigint; excess: number | bigint };
  'memory-failure': Base<'memory-failure'> & {
    recipient: string; recipientCode: number; action: string; actionCode: number; flags: number; actionRequired: boolean; recursive: boolean;
  };
  'memory-device-size-change': Base<'memory-device-size-change'> & { alias: string; size: number | bigint };
  'nic-mac-change': Base<'nic-mac-change'> & { alias: string; oldMAC: string; newMAC: string };
}

/** A domain event's name (virsh's `event --list`). */
export type DomainEventName = keyof DomainEventMap;
/** Any domain event. */
export type DomainEvent = DomainEventMap[DomainEventName];

type Msg<T> = { callbackID: number; msg: T };

function ev<N extends DomainEventName, M>(
  id: number,
  name: N,
  message: EventSpec['message'],
  since: string,
  fields: (m: M) => Omit<DomainEventMap[N], 'family' | 'type' | 'domain'>,
  dom: (m: M) => remote.remote_nonnull_domain,
): EventSpec {
  return {
    id, name, message, since,
    transform: (m: never, conn: Connect) => ({ family: 'domain', type: name, domain: new Domain(conn, dom(m)), ...fields(m) }),
  };
}

/** Events sent as `{ callbackID, msg: { dom, ... } }`. */
function wrapped<N extends DomainEventName, M extends { dom: remote.remote_nonnull_domain }>(
  id: number, name: N, message: EventSpec['message'], since: string, fields: (m: M) => Omit<DomainEventMap[N], 'family' | 'type' | 'domain'>,
): EventSpec {
  return ev<N, Msg<M>>(id, name, message, since, (m) => fields(m.msg), (m) => m.msg.dom);
}

/** Events sent as `{ callbackID, dom, ... }`. */
function flat<N extends DomainEventName, M extends { dom: remote.remote_nonnull_domain }>(
  id: number, name: N, message: EventSpec['message'], since: string, fields: (m: M) => Omit<DomainEventMap[N], 'family' | 'type' | 'domain'>,
): EventSpec {
  return ev<N, M>(id, name, message, since, fields, (m) => m.dom);
}

const address = (a: remote.remote_domain_event_graphics_address): GraphicsAddress => ({
  family: nameOf(GRAPHICS_FAMILY, a.family), familyCode: a.family, node: a.node, service: a.service,
});
const blockJob = (m: { type: number; status: number }) => ({
  jobType: nameOf(JOB_TYPE, m.type), jobTypeCode: m.type, status: nameOf(JOB_STATUS, m.status), statusCode: m.status,
});
const io = (m: remote.remote_domain_event_io_error_msg) => ({ srcPath: m.srcPath, devAlias: m.devAlias, action: nameOf(IO_ERROR, m.action), actionCode: m.action });
const none = () => ({});

/** PM events carry their reason beside the wrapped message. */
function pm<N extends 'pm-wakeup' | 'pm-suspend' | 'pm-suspend-disk'>(id: number, name: N, message: EventSpec['message'], since: string): EventSpec {
  type M = { callbackID: number; reason: number; msg: { dom: remote.remote_nonnull_domain } };
  return ev<N, M>(id, name, message, since, (m) => ({ reason: m.reason }) as Omit<DomainEventMap[N], 'family' | 'type' | 'domain'>, (m) => m.msg.dom);
}

/** The domain family, by event id. */
export const DOMAIN_FAMILY: FamilySpec = {
  name: 'domain',
  register: R.connectDomainEventCallbackRegisterAny as FamilySpec['register'],
  deregister: R.connectDomainEventCallbackDeregisterAny,
  registerArgs: (eventID, dom) => ({ eventID, dom: (dom as remote.remote_nonnull_domain | null) ?? null }),
  events: [
    /* @__PURE__ */ wrapped<'lifecycle', remote.remote_domain_event_lifecycle_msg>(0, 'lifecycle', R.domainEventCallbackLifecycle, '0.8.0', (m) => ({
      event: nameOf(LIFECYCLE, m.event), eventCode: m.event, detail: nameOf(DETAILS[m.event] ?? [], m.detail), detailCode: m.detail,
    })),
    /* @__PURE__ */ wrapped<'reboot', remote.remote_domain_event_reboot_msg>(1, 'reboot', R.domainEventCallbackReboot, '0.8.0', none),
    /* @__PURE__ */ wrapped<'rtc-change', remote.remote_domain_event_rtc_change_msg>(2, 'rtc-change', R.domainEventCallbackRtcChange, '0.8.0', (m) => ({ utcOffset: exact(m.offset) })),
    /* @__PURE__ */ wrapped<'watchdog', remote.remote_domain_event_watchdog_msg>(3, 'watchdog', R.domainEventCallbackWatchdog, '0.8.0', (m) => ({ action: nameOf(WATCHDOG, m.action), actionCode: m.action })),
    /* @__PURE__ */ wrapped<'io-error', remote.remote_domain_event_io_error_msg>(4, 'io-error', R.domainEventCallbackIoError, '0.8.0', io),
    /* @__PURE__ */ wrapped<'graphics', remote.remote_domain_event_graphics_msg>(5, 'graphics', R.domainEventCallbackGraphics, '0.8.0', (m) => ({
      phase: nameOf(GRAPHICS_PHASE, m.phase), phaseCode: m.phase, local: address(m.local), remote: address(m.remote),
      authScheme: m.authScheme, subject: m.subject.map((s) => ({ type: s.type, name: s.name })),
    })),
    /* @__PURE__ */ wrapped<'io-error-reason', remote.remote_domain_event_io_error_reason_msg>(6, 'io-error-reason', R.domainEventCallbackIoErrorReason, '0.8.1', (m) => ({ ...io(m), reason: m.reason })),
    /* @__PURE__ */ wrapped<'control-error', remote.remote_domain_event_control_error_msg>(7, 'control-error', R.domainEventCallbackControlError, '0.9.2', none),
    /* @__PURE__ */ wrapped<'block-job', remote.remote_domain_event_block_job_msg>(8, 'block-job', R.domainEventCallbackBlockJob, '0.9.4', (m) => ({ disk: m.path, ...blockJob(m) })),
    /* @__PURE__ */ wrapped<'disk-change', remote.remote_domain_event_disk_change_msg>(9, 'disk-change', R.domainEventCallbackDiskChange, '0.9.7', (m) => ({
      oldSrcPath: m.oldSrcPath, newSrcPath: m.newSrcPath, devAlias: m.devAlias, reason: nameOf(DISK_CHANGE, m.reason), reasonCode: m.reason,
    })),
    /* @__PURE__ */ wrapped<'tray-change', remote.remote_domain_event_tray_change_msg>(10, 'tray-change', R.domainEventCallbackTrayChange, '0.9.11', (m) => ({
      devAlias: m.devAlias, reason: nameOf(TRAY, m.reason), reasonCode: m.reason,
    })),
    /* @__PURE__ */ pm(11, 'pm-wakeup', R.domainEventCallbackPmwakeup, '0.9.11'),
    /* @__PURE__ */ pm(12, 'pm-suspend', R.domainEventCallbackPmsuspend, '0.9.11'),
    /* @__PURE__ */ wrapped<'balloon-change', remote.remote_domain_event_balloon_change_msg>(13, 'balloon-change', R.domainEventCallbackBalloonChange, '0.10.0', (m) => ({ actual: exact(m.actual) })),
    /* @__PURE__ */ pm(14, 'pm-suspend-disk', R.domainEventCallbackPmsuspendDisk, '1.0.0'),
    /* @__PURE__ */ wrapped<'device-removed', remote.remote_domain_event_device_removed_msg>(15, 'device-removed', R.domainEventCallbackDeviceRemoved, '1.1.1', (m) => ({ devAlias: m.devAlias })),
    /* @__PURE__ */ flat<'block-job-2', remote.remote_domain_event_block_job_2_msg>(16, 'block-job-2', R.domainEventBlockJob2, '1.2.6', (m) => ({ disk: m.dst, ...blockJob(m) })),
    /* @__PURE__ */ flat<'tunable', remote.remote_domain_event_callback_tunable_msg>(17, 'tunable', R.domainEventCallbackTunable, '1.2.9', (m) => typedParams(m.params)),
    /* @__PURE__ */ flat<'agent-lifecycle', remote.remote_domain_event_callback_agent_lifecycle_msg>(18, 'agent-lifecycle', R.domainEventCallbackAgentLifecycle, '1.2.11', (m) => ({
      state: nameOf(AGENT_STATE, m.state), stateCode: m.state, reason: nameOf(AGENT_REASON, m.reason), reasonCode: m.reason,
    })),
    /* @__PURE__ */ flat<'device-added', remote.remote_domain_event_callback_device_added_msg>(19, 'device-added', R.domainEventCallbackDeviceAdded, '1.2.15', (m) => ({ devAlias: m.devAlias })),
    /* @__PURE__ */ flat<'migration-iteration', remote.remote_domain_event_callback_migration_iteration_msg>(20, 'migration-iteration', R.domainEventCallbackMigrationIteration, '1.3.2', (m) => ({ iteration: m.iteration })),
    /* @__PURE__ */ flat<'job-completed', remote.remote_domain_event_callback_job_completed_msg>(21, 'job-completed', R.domainEventCallbackJobCompleted, '1.3.3', (m) => typedParams(m.params)),
    /* @__PURE__ */ flat<'device-removal-failed', remote.remote_domain_event_callback_device_removal_failed_msg>(22, 'device-removal-failed', R.domainEventCallbackDeviceRemovalFailed, '1.3.4', (m) => ({ devAlias: m.devAlias })),
    /* @__PURE__ */ flat<'metadata-change', remote.remote_domain_event_callback_metadata_change_msg>(23, 'metadata-change', R.domainEventCallbackMetadataChange, '3.0.0', (m) => ({
      metadataType: nameOf(METADATA, m.type), metadataTypeCode: m.type, nsuri: m.nsuri,
    })),
    /* @__PURE__ */ flat<'block-threshold', remote.remote_domain_event_block_threshold_msg>(24, 'block-threshold', R.domainEventBlockThreshold, '3.2.0', (m) => ({
      dev: m.dev, path: m.path, threshold: exact(m.threshold), excess: exact(m.excess),
    })),
    /* @__PURE__ */ flat<'memory-failure', remote.remote_domain_event_memory_failure_msg>(25, 'memory-failure', R.domainEventMemoryFailure, '6.9.0', (m) => ({
      recipient: nameOf(MF_RECIPIENT, m.recipient), recipientCode: m.recipient, action: nameOf(MF_ACTION, m.action), actionCode: m.action,
      flags: m.flags, actionRequired: (m.flags & H.VIR_DOMAIN_MEMORY_FAILURE_ACTION_REQUIRED) !== 0, recursive: (m.flags & H.VIR_DOMAIN_MEMORY_FAILURE_RECURSIVE) !== 0,
    })),
    /* @__PURE__ */ flat<'memory-device-size-change', remote.remote_domain_event_memory_device_size_change_msg>(26, 'memory-device-size-change', R.domainEventMemoryDeviceSizeChange, '7.9.0', (m) => ({
      alias: m.alias, size: exact(m.size),
    })),
    /* @__PURE__ */ flat<'nic-mac-change', remote.remote_domain_event_nic_mac_change_msg>(27, 'nic-mac-change', R.domainEventNicMacChange, '11.2.0', (m) => ({
      alias: m.alias, oldMAC: m.oldMAC, newMAC: m.newMAC,
    })),
  ],
};

/** Every domain event name, in event id order (virsh's `event --list`). */
export const DOMAIN_EVENT_NAMES = /* @__PURE__ */ DOMAIN_FAMILY.events.map((e) => e.name) as DomainEventName[];
