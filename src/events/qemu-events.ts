/**
 * QEMU monitor events (virConnectDomainQemuMonitorEventRegister): QMP events as QEMU emitted them, for one
 * domain or all, optionally filtered by event name on the daemon (exactly, case-insensitively, or as a regex).
 * The QEMU program's CONNECT_DOMAIN_MONITOR_EVENT_REGISTER returns a callback id; DOMAIN_MONITOR_EVENT carries
 * it. The event's JSON details are parsed with @hapi/bourne (no prototype pollution from the wire).
 */
import * as Bourne from '@hapi/bourne';
import * as Q from '../../generated/qemu-procedures.js';
import type * as qemu from '../../generated/qemu-protocol.js';
import type * as remote from '../../generated/remote-protocol.js';
import type { Connect } from '../objects/connect.js';
import { Domain } from '../objects/domain.js';
import { exact, type FamilySpec } from './family.js';

/** A QMP event from a domain's QEMU. */
export interface QemuMonitorEvent {
  readonly family: 'qemu';
  readonly type: 'monitor-event';
  readonly domain: Domain;
  /** The QMP event's name, e.g. `STOP`, `RESUME`, `DEVICE_DELETED`. */
  readonly event: string;
  /** When QEMU emitted it: seconds since the epoch, and microseconds. */
  readonly seconds: number | bigint;
  readonly micros: number;
  /** The event's `data`, parsed; null when it had none (or it is not JSON, then see `detailsJson`). */
  readonly details: unknown;
  /** The `data` as the daemon sent it (JSON text), or null. */
  readonly detailsJson: string | null;
}

/** The daemon-side filter of a QEMU monitor registration. */
export interface QemuMonitorFilter {
  dom: remote.remote_nonnull_domain | null;
  event: string | null;
  flags: number;
}

function parseDetails(json: string | null): unknown {
  if (json === null) return null;
  try {
    return Bourne.parse(json, { protoAction: 'remove' }) as unknown;
  } catch {
    return null;
  }
}

export const QEMU_FAMILY: FamilySpec = {
  name: 'qemu',
  register: Q.connectDomainMonitorEventRegister as FamilySpec['register'],
  deregister: Q.connectDomainMonitorEventDeregister,
  registerArgs: (_id, filter) => filter,
  events: [
    {
      id: 0,
      name: 'monitor-event',
      message: Q.domainMonitorEvent as FamilySpec['events'][number]['message'],
      since: '1.2.3',
      transform: (m: never, conn: Connect): QemuMonitorEvent => {
        const msg = m as qemu.qemu_domain_monitor_event_msg;
        return {
          family: 'qemu', type: 'monitor-event', domain: new Domain(conn, msg.dom), event: msg.event,
          seconds: exact(msg.seconds), micros: msg.micros, details: parseDetails(msg.details), detailsJson: msg.details,
        };
      },
    },
  ],
};
