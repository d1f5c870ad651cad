/**
 * One bounded operation: a timer, an optional AbortSignal, and a result that settles exactly once. Opening a
 * socket, a TLS handshake, an SSH session and the RPC open sequence all follow this one shape, so the timer
 * is always cleared, the abort listener always removed, and what was half-built always torn down.
 *
 * No `node:` imports: the engine uses it too.
 */
import { checkTimeout } from './durations.js';

/** How a bounded operation ends itself and registers its clean-up. */
export interface Settle<T> {
  /** Ends the operation with a value (ignored once it has ended). */
  ok(value: T): void;
  /** Ends the operation with an error (ignored once it has ended). */
  fail(err: Error): void;
  /** Whether the operation has ended: by ok/fail, its bound, or its signal. */
  readonly settled: boolean;
  /**
   * Runs `fn` once when the operation ends, with its error (null on success); at once if it already has.
   * Clean-ups run newest first: tear down on failure what was built, or drop listeners that are no longer needed.
   */
  finally(fn: (err: Error | null) => void): void;
}

/** The bound of a {@link bounded} operation. */
export interface Bound {
  /** Milliseconds, 1 to 2^31-1 (checked). */
  timeout: number;
  signal?: AbortSignal;
  /** The error when the bound runs out; built then, so it can name the step in progress. */
  onTimeout(): Error;
  /** The error when `signal` fires. */
  onAbort(reason: unknown): Error;
}

/**
 * Runs `start` under `bound`. It settles the operation through the {@link Settle} it is given (event-driven
 * code), or returns a promise whose outcome settles it (step-by-step code); whichever comes first of that,
 * the timer and the signal wins, and the others are ignored. A signal that has already fired fails the
 * operation before `start` runs; a bad `timeout` rejects with InvalidArgumentError.
 */
export function bounded<T>(bound: Bound, start: (settle: Settle<T>) => Promise<T> | void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timeout = checkTimeout(bound.timeout, 'timeout'); // a throw here rejects the promise
    const cleanups: ((err: Error | null) => void)[] = [];
    let settled = false;
    let outcome: Error | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined = undefined;
    const onAbort = (): void => end(bound.onAbort(bound.signal?.reason));
    const end = (err: Error | null, value?: T): void => {
      if (settled) return;
      settled = true;
      outcome = err;
      clearTimeout(timer);
      bound.signal?.removeEventListener('abort', onAbort);
      for (const fn of cleanups.splice(0).reverse()) {
        try {
          fn(err);
        } catch {
          // A clean-up that throws must not keep the others from running, nor change the outcome.
        }
      }
      if (err === null) resolve(value as T);
      else reject(err);
    };
    const settle: Settle<T> = {
      ok: (value) => end(null, value),
      fail: (err) => end(err),
      get settled() {
        return settled;
      },
      finally: (fn) => {
        if (settled) fn(outcome);
        else cleanups.push(fn);
      },
    };
    if (bound.signal?.aborted) return onAbort();
    timer = setTimeout(() => end(bound.onTimeout()), timeout);
    bound.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const p = start(settle);
      if (p) p.then(settle.ok, (err: unknown) => settle.fail(err instanceof Error ? err : new Error(String(err))));
    } catch (err) {
      settle.fail(err instanceof Error ? err : new Error(String(err)));
    }
  });
}
