/**
 * How {@link DomainScheduler.runDaemon} lives through a lost connection: with the connection's own reconnect
 * policy (it waits for the policy, runs no pass meanwhile, and ends once the connection is closed for good),
 * or with the caller's `reconnect` function (the older way: a new connection and domain, bounded).
 */
import { AbortError, ConnectionClosedError, TimeoutError } from '../errors.js';
import type { Domain } from '../objects/domain.js';
import type { SchedulerEvent } from './scheduler.js';

const MAX_TIMER_MS = 0x7fffffff;

/** The state of a domain's connection (`open` for connections that do not say, as test doubles). */
export function connState(domain: Domain): 'open' | 'reconnecting' | 'closed' {
  const state = (domain.getConnect() as { state?: unknown }).state;
  return state === 'reconnecting' || state === 'closed' ? state : 'open';
}

/**
 * Waits while the domain's connection is being reopened by its reconnect policy. True when it is open (a pass
 * may run); false when the daemon is to stop (its signal, or `stopAt`). Rejects with ConnectionClosedError once
 * the connection is closed for good.
 */
export async function untilConnected(
  domain: Domain,
  o: { stopAt: number; signal?: AbortSignal; now: () => number; emit: (e: SchedulerEvent) => void },
): Promise<boolean> {
  const state = connState(domain);
  if (state === 'open') return true;
  if (state === 'reconnecting') {
    o.emit({ type: 'failed', step: 'connection', error: 'the connection to the daemon was lost: waiting for it to be reopened', transient: true, nextAttempt: null, paused: null });
  }
  const t0 = o.now();
  try {
    // Bounded by the daemon's end; a span longer than one timer is waited in turns (the caller loops).
    const left = o.stopAt - o.now();
    await domain.getConnect().whenOpen({ signal: o.signal, timeout: left === Infinity ? undefined : Math.max(1, Math.min(left, MAX_TIMER_MS)) });
  } catch (e) {
    if (e instanceof AbortError || e instanceof TimeoutError) return false;
    // The daemon's signal (SIGTERM) also stops the reconnect policy, which closes the connection for good.
    if (o.signal?.aborted) return false;
    if (e instanceof ConnectionClosedError) throw new ConnectionClosedError(`the scheduler stops: ${e.message}`, { cause: e });
    throw e;
  }
  if (state === 'reconnecting') o.emit({ type: 'reconnected', downtimeMs: o.now() - t0 });
  return true;
}

/** Runs the caller's reconnect, bounded by `callMs` (its signal aborts then). */
export async function boundedReconnect(fn: (opts: { signal: AbortSignal; timeout: number }) => Promise<Domain>, callMs: number): Promise<Domain> {
  const ctl = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const e = new TimeoutError(`reconnecting took longer than ${callMs} ms`);
      ctl.abort(e);
      reject(e);
    }, callMs);
  });
  try {
    return await Promise.race([fn({ signal: ctl.signal, timeout: callMs }), bound]);
  } finally {
    clearTimeout(timer);
  }
}
