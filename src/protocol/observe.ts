/**
 * Hooks through which a host environment observes the engine: a call tracer (the Node entry publishes it on
 * `node:diagnostics_channel`) and a debug log of connection life (the Node entry writes it under
 * `NODE_DEBUG=libvirt-rpc`). The core imports nothing from Node, so it only offers the hooks; with none
 * installed they cost one null check per call.
 *
 * Nothing passed to a hook carries call arguments, replies, credentials or XML: only names, numbers, sizes,
 * durations and error objects (whose messages never hold secrets).
 */

/** What a tracer learns about one call. */
export interface CallTrace {
  /** Which connection, as a small number unique in this process. */
  readonly connectionId: number;
  /** `REMOTE`, `QEMU`, ... */
  readonly program: string;
  /** The procedure's name, e.g. `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME`. */
  readonly procedure: string;
  readonly serial: number;
  /** Size of the CALL message on the wire, header included. */
  readonly requestBytes: number;
}

/** A call that ended. `durationMs` runs from sending to the reply (or the failure). */
export interface CallEndTrace extends CallTrace {
  readonly durationMs: number;
  /** Size of the reply's payload. */
  readonly replyBytes: number;
}

/** A call that failed: the daemon's error, a timeout, an abort or a closed connection. */
export interface CallErrorTrace extends CallTrace {
  readonly durationMs: number;
  readonly error: Error;
}

/** Receives call traces. `enabled` is read once per call; when false nothing else is called. */
export interface CallTracer {
  readonly enabled: boolean;
  start(trace: CallTrace): void;
  end(trace: CallEndTrace): void;
  error(trace: CallErrorTrace): void;
}

let tracer: CallTracer | null = null;

/** Installs (or with null removes) the process-wide call tracer. */
export function setCallTracer(t: CallTracer | null): void {
  tracer = t;
}

/** The tracer to use for a call starting now, or null. */
export function activeTracer(): CallTracer | null {
  return tracer !== null && tracer.enabled ? tracer : null;
}

/** A line of the connection-life debug log. */
export type DebugLog = (message: string) => void;

let debugLog: DebugLog | null = null;

/** Installs (or with null removes) the debug log of connection life (open, auth steps, keepalive, close). */
export function setDebugLog(log: DebugLog | null): void {
  debugLog = log;
}

/** Writes a debug line when a log is installed. `message` is built only then. */
export function debug(message: () => string): void {
  if (debugLog !== null) {
    try {
      debugLog(message());
    } catch {
      // a failing log never breaks the connection
    }
  }
}

/** A monotonic clock in ms where one exists, else the wall clock. */
export const now: () => number = /* @__PURE__ */ (() =>
  typeof performance !== 'undefined' && typeof performance.now === 'function' ? () => performance.now() : () => Date.now())();

let nextConnectionId = 1;

/** A process-unique connection number for traces and debug lines. */
export function newConnectionId(): number {
  return nextConnectionId++;
}
