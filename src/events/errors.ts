/** The typed errors of event subscriptions. */
import { LibvirtRpcError, UnsupportedProcedureError, type RemoteErrorInfo, brandError } from '../errors.js';

/**
 * A subscription with the `error` overflow policy fell more than `highWaterMark` events behind: the iterator
 * delivered every event it had queued, then throws this. `lost` counts the events that arrived after the queue
 * was full, up to the moment it threw (the subscription is then closed and deregistered).
 */
export class EventOverflowError extends LibvirtRpcError {
  static {
    brandError(this, 'EventOverflowError');
  }

  override readonly code: string = 'ERR_EVENT_OVERFLOW';
  /** Events that did not fit and were dropped. */
  readonly lost: number;
  /** The queue's bound. */
  readonly highWaterMark: number;

  constructor(lost: number, highWaterMark: number) {
    super(`the event consumer fell behind: ${lost} event(s) lost after ${highWaterMark} queued (overflow policy 'error'; use a larger highWaterMark or overflow: 'drop-oldest')`);
    this.lost = lost;
    this.highWaterMark = highWaterMark;
  }
}

/**
 * The daemon does not know this event (it predates it). libvirtd answers a registration for an event id past
 * its own last one with VIR_ERR_INTERNAL_ERROR "unsupported event ID N" (remoteDispatchConnect*EventRegisterAny
 * in src/remote/remote_daemon_dispatch.c); this names the event and the daemon's version instead.
 */
export class UnsupportedEventError extends UnsupportedProcedureError {
  static {
    brandError(this, 'UnsupportedEventError');
  }

  override readonly code: string = 'ERR_UNSUPPORTED_EVENT';
  /** The event family, e.g. `domain`. */
  readonly family: string;
  /** The event's name, e.g. `nic-mac-change`. */
  readonly event: string;

  constructor(remote: RemoteErrorInfo, procedure: string, daemonVersion: string | null, family: string, event: string, since: string | null) {
    super(remote, procedure, daemonVersion);
    this.family = family;
    this.event = event;
    const need = since ? ` (it needs libvirt ${since} or later)` : '';
    this.message = `the daemon${daemonVersion ? ` (libvirt ${daemonVersion})` : ''} does not support the ${family} event '${event}'${need}: ${remote.message ?? remote.codeName}`;
  }
}
