/**
 * Durations given by users, validated in one place. Timers in Node and browsers take at most 2^31-1 ms (about
 * 24.8 days) and fire after 1 ms for anything larger, so a bound above that is refused where it bounds one
 * timer, and long waits sleep in steps ({@link sleep}).
 */
import { AbortError, InvalidArgumentError } from '../errors.js';

/** The longest delay one timer honours: 2^31-1 ms. */
export const MAX_TIMER_MS = 0x7fffffff;

/**
 * Checks a timeout in ms that bounds one timer: a finite number in [1, 2^31-1], or 0 for "no timeout" when
 * `allowNone`. Returns it. Throws {@link InvalidArgumentError} naming `what` otherwise (NaN, negative, Infinity,
 * too large, not a number). Infinity is refused, not taken as "none": 0 is the one way to say no timeout.
 */
export function checkTimeout(ms: unknown, what = 'timeout', allowNone = false): number {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms <= MAX_TIMER_MS && (ms >= 1 || (allowNone && ms === 0))) return ms;
  const range = allowNone ? `0 (none) or between 1 and ${MAX_TIMER_MS}` : `between 1 and ${MAX_TIMER_MS}`;
  // Infinity is refused rather than read as "none": one spelling of "no timeout" (0), and a bound the caller
  // meant to be long is never silently dropped.
  const hint = ms === Infinity && allowNone ? ' (0 means no timeout)' : '';
  throw new InvalidArgumentError(`${what} must be a number of ms ${range}, not ${describe(ms)}${hint}`);
}

/**
 * A timeout option: `fallback` when left out (undefined), else checked by {@link checkTimeout}. `null` is not
 * "left out": it is refused like any other non-number.
 */
export function timeoutOption(ms: unknown, fallback: number, what = 'timeout', allowNone = false): number {
  return checkTimeout(ms === undefined ? fallback : ms, what, allowNone);
}

/**
 * Checks a duration in ms that is slept in steps (a schedule's interval, a daemon's lifetime): a finite number
 * in [`min`, `max`]. Returns it.
 */
export function checkDuration(ms: unknown, what: string, min = 0, max = 2 ** 53): number {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms >= min && ms <= max) return ms;
  throw new InvalidArgumentError(`${what} must be a number of ms between ${min} and ${max}, not ${describe(ms)}`);
}

/**
 * Waits `ms` (any finite length: long waits are slept in steps of at most 2^31-1 ms). Rejects with
 * {@link AbortError} when `signal` fires first.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  checkDuration(ms, 'sleep');
  if (signal?.aborted) return Promise.reject(new AbortError('the wait was aborted', { cause: signal.reason }));
  return new Promise((resolve, reject) => {
    const end = Date.now() + ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      if (timer !== undefined) clearTimeout(timer);
      reject(new AbortError('the wait was aborted', { cause: signal!.reason }));
    };
    const step = () => {
      const left = end - Date.now();
      if (left <= 0) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      timer = setTimeout(step, Math.min(left, MAX_TIMER_MS));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    step();
  });
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === null ? 'null' : typeof v;
}
