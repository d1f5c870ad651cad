/**
 * Time bounds of a scheduler operation. The caller's `{ signal, timeout }` bound the whole operation (a pass, a
 * plan, a cleanup); besides, every daemon call in it is bounded on its own: metadata and list calls by
 * `callMs`, creating or deleting a snapshot (which can take minutes with memory) by `stepMs`.
 */
import { TimeoutError } from '../errors.js';
import { checkTimeout } from '../protocol/durations.js';
import type { CallOptions } from '../protocol/program.js';

/** The bounds of one operation. */
export class Bounds {
  readonly #end: number | null;
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #callMs: number;
  readonly #stepMs: number;

  /** `opts.timeout` (if any) is checked here: a number of ms from 1 to 2^31-1. */
  constructor(opts: CallOptions | undefined, callMs: number, stepMs: number) {
    this.#timeout = opts?.timeout === undefined ? undefined : checkTimeout(opts.timeout, 'timeout');
    this.#signal = opts?.signal;
    this.#end = this.#timeout === undefined ? null : Date.now() + this.#timeout;
    this.#callMs = callMs;
    this.#stepMs = stepMs;
  }

  /** The operation's signal (aborts everything in flight). */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /** Options for a metadata or list call. */
  call(): CallOptions {
    return this.#bounded(this.#callMs);
  }

  /** Options for creating or deleting a snapshot. */
  step(): CallOptions {
    return this.#bounded(this.#stepMs);
  }

  /** Options for tidying up after the operation failed or was aborted (releasing the lease): no signal. */
  detached(): CallOptions {
    return { timeout: this.#callMs };
  }

  #bounded(ms: number): CallOptions {
    if (this.#end === null) return { signal: this.#signal, timeout: ms };
    const left = this.#end - Date.now();
    if (left <= 0) throw new TimeoutError(`the operation took longer than ${this.#timeout} ms`);
    return { signal: this.#signal, timeout: Math.min(ms, left) };
  }
}
