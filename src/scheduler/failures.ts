/**
 * Failure handling of the scheduler: which errors are worth retrying, and when to retry. Retries back off
 * exponentially with jitter and never come sooner than a minimum interval, so a failing daemon is never
 * busy-looped (DSS 0.1.1 stopped busy-looping on rsync's exit code 13 the same way).
 */
import { ConnectionClosedError, LibvirtRpcError, RemoteError, TimeoutError, TransportError } from '../errors.js';

/** How a failure is to be treated. */
export interface FailureClass {
  /** Worth retrying later (the daemon was busy, away, or the guest agent slow). */
  transient: boolean;
  /** A short description for the schedule's state and the CLI. */
  reason: string;
}

/** libvirt errors that say "not now" rather than "never". */
const TRANSIENT_CODES = new Set(['VIR_ERR_OPERATION_TIMEOUT', 'VIR_ERR_AGENT_UNRESPONSIVE', 'VIR_ERR_RPC', 'VIR_ERR_NO_CONNECT']);
const TRANSIENT_TEXT = /cannot acquire state change lock|another (?:migration|job)|timed out|guest agent is not responding|Resource temporarily unavailable/i;

/** Classifies an error from a scheduler step. */
export function classifyFailure(err: unknown): FailureClass {
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof RemoteError) {
    const transient = TRANSIENT_CODES.has(err.remote.codeName) || TRANSIENT_TEXT.test(err.remote.message ?? '');
    return { transient, reason };
  }
  // The daemon or the path to it went away, or a call ran out of time: try again later.
  if (err instanceof ConnectionClosedError || err instanceof TransportError || err instanceof TimeoutError) return { transient: true, reason };
  if (err instanceof LibvirtRpcError) return { transient: false, reason };
  return { transient: false, reason };
}

/** Retry timing. */
export interface BackoffOptions {
  /** The shortest wait before any retry, ms. */
  minMs: number;
  /** The longest wait, ms. */
  maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  factor?: number;
  /** Random spread, as a fraction of the delay (0.2 = ±20%). Default 0.2. */
  jitter?: number;
}

/**
 * A scheduler's retry timing for a slot width of `everyMs`: `backoff` over the defaults (min max(1 s, every/4),
 * at most 1 h; max 1 h; factor 2; jitter 0.2). The CLI's `schedule daemon` reopens a lost connection with the
 * same bounds.
 */
export function schedulerBackoff(everyMs: number, backoff: Partial<BackoffOptions> = {}): BackoffOptions {
  return { minMs: Math.min(3_600_000, Math.max(1000, everyMs / 4)), maxMs: 3_600_000, factor: 2, jitter: 0.2, ...backoff };
}

/** The wait before attempt `failures + 1`, given `failures` consecutive failures (at least `minMs`). */
export function backoffDelay(failures: number, o: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(o.maxMs, o.minMs * (o.factor ?? 2) ** Math.max(0, failures - 1));
  const jitter = o.jitter ?? 0.2;
  const delay = base * (1 + jitter * (2 * random() - 1));
  return Math.round(Math.max(o.minMs, Math.min(o.maxMs, delay)));
}
