/**
 * Waiting inside a stream (./stream.ts): for a promise, or for the next change of the stream's state, bounded by
 * a call's `timeout` and cancelled by its `signal`, with nothing left behind once the wait ends.
 */
import { AbortError, TimeoutError } from '../errors.js';
import { checkTimeout } from './durations.js';
import type { CallOptions } from './program.js';

/** A promise with its settle functions (its rejection is handled: whoever awaits it sees it). */
export interface Pending {
  resolve: () => void;
  reject: (e: Error) => void;
  promise: Promise<void>;
}

/** A new {@link Pending}. */
export function pending(): Pending {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { resolve, reject, promise };
}

/** Who waits for the next change of one stream. */
export class Waiters {
  readonly #waiters = new Set<() => void>();

  /** Wakes every waiter (something changed: data arrived, the stream failed, ...). */
  notify(): void {
    if (this.#waiters.size === 0) return;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /**
   * Waits for `also` and, with `wakeOnChange`, at most until the next {@link notify} (so that a sender sees an
   * error at once), bounded by `opts.timeout` (validated) and cancelled by `opts.signal`; `what` names the wait
   * in the TimeoutError/AbortError.
   */
  wait(also: Promise<void> | null, opts: CallOptions | undefined, what: string, wakeOnChange: boolean): Promise<void> {
    const timeout = checkTimeout(opts?.timeout ?? 0, 'timeout', true);
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(`${what} was aborted`, { cause: signal.reason }));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        this.#waiters.delete(wake);
        if (timer !== undefined) clearTimeout(timer);
        if (onAbort) signal!.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const wake = () => finish();
      if (wakeOnChange) this.#waiters.add(wake);
      also?.then(() => finish(), (e: Error) => finish(e));
      if (timeout > 0) timer = setTimeout(() => finish(new TimeoutError(`${what} did not complete within ${timeout} ms`)), timeout);
      if (signal) {
        onAbort = () => finish(new AbortError(`${what} was aborted`, { cause: signal.reason }));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }
}
