/**
 * One subscription: a bounded queue that the event hub fills from the engine's read path, read as an async
 * iterator. Filling never waits and never runs user code; the raw message is only turned into its typed event
 * when the consumer takes it. The queue holds at most `highWaterMark` events; what happens past that is the
 * subscription's overflow policy:
 * - `error` (default): the events already queued are delivered, then the iterator throws EventOverflowError
 *   with the number of events lost since the queue filled, and the subscription closes;
 * - `drop-oldest`: the oldest queued event is dropped for the new one, and a gap marker with the number dropped
 *   takes its place, so the consumer sees where events are missing.
 * Gap markers (`{ type: 'gap' }`) also mark a reconnection. They do not count against the bound: adjacent ones
 * merge, so there is at most one per queued event.
 */
import { AbortError, ConnectionClosedError, InvalidArgumentError } from '../errors.js';
import type { ConnectCloseInfo } from '../objects/reconnect.js';
import { EventOverflowError } from './errors.js';

/** What to do when a consumer falls `highWaterMark` events behind. */
export type OverflowPolicy = 'error' | 'drop-oldest';

/** Options every subscription takes. */
export interface SubscriptionOptions {
  /** Closes the subscription (the iterator throws AbortError) and deregisters it on the daemon. */
  signal?: AbortSignal;
  /** Events queued at most (default 1024, between 1 and 1,000,000). */
  highWaterMark?: number;
  /** Past the bound: `error` (default) or `drop-oldest`. */
  overflow?: OverflowPolicy;
}

/** Default bound of a subscription's queue. */
export const DEFAULT_HIGH_WATER_MARK = 1024;
/** Largest bound a subscription accepts. */
export const MAX_HIGH_WATER_MARK = 1_000_000;

/** A marker in an event stream: events may be missing here. */
export interface EventGap {
  readonly type: 'gap';
  /** Always `EVENT_GAP`. */
  readonly code: 'EVENT_GAP';
  /** `reconnect`: the connection dropped and was opened again; `overflow`: events were dropped (drop-oldest). */
  readonly reason: 'reconnect' | 'overflow';
  /** Events known to be lost: the exact count for `overflow`; null for `reconnect`, where it cannot be known. */
  readonly lost: number | null;
  /** When the gap began: the disconnection, or the first drop. */
  readonly since: Date;
  /** For `reconnect`: why the connection dropped. */
  readonly closeReason?: ConnectCloseInfo['reason'];
}

class Gap {
  constructor(
    readonly reason: 'reconnect' | 'overflow',
    public lost: number | null,
    readonly since: Date,
    readonly closeReason?: ConnectCloseInfo['reason'],
  ) {}

  marker(): EventGap {
    const g: EventGap = { type: 'gap', code: 'EVENT_GAP', reason: this.reason, lost: this.lost, since: this.since };
    return this.closeReason === undefined ? g : { ...g, closeReason: this.closeReason };
  }
}

/** Checks subscription options once; returns the bound and policy. */
export function checkSubscriptionOptions(opts: SubscriptionOptions): { hwm: number; policy: OverflowPolicy } {
  const hwm = opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  if (!Number.isSafeInteger(hwm) || hwm < 1 || hwm > MAX_HIGH_WATER_MARK) {
    throw new InvalidArgumentError(`highWaterMark must be an integer between 1 and ${MAX_HIGH_WATER_MARK}, not ${String(hwm)}`);
  }
  const policy = opts.overflow ?? 'error';
  if (policy !== 'error' && policy !== 'drop-oldest') throw new InvalidArgumentError(`overflow must be 'error' or 'drop-oldest', not ${String(policy)}`);
  return { hwm, policy };
}

interface Waiter<T> {
  resolve(r: IteratorResult<T | EventGap>): void;
  reject(e: Error): void;
}

const DONE = { done: true, value: undefined } as const;

/**
 * A subscription to one or more events of a family. Iterate it with `for await`; leaving the loop, `return()`,
 * `close()` or the signal deregisters it on the daemon (when it was the last local subscription sharing that
 * registration). `ready` resolves once the daemon has registered it.
 */
export class EventSubscription<T> implements AsyncIterableIterator<T | EventGap> {
  /** Resolves when every event is registered on the daemon; rejects with why not (the iterator throws it too). */
  readonly ready: Promise<void>;
  /** With `'*'`: the events the daemon does not know, left out (like virsh's `event --all`). */
  readonly skipped: string[] = [];
  readonly highWaterMark: number;
  readonly overflow: OverflowPolicy;
  readonly #transform: (raw: object) => T;
  readonly #items: (object | Gap)[] = [];
  #head = 0;
  #events = 0;
  #lost = 0;
  #dropped = 0;
  #overflowed = false;
  #ended: { error?: Error } | null = null;
  #closed: Promise<void> | null = null;
  #detach: (() => Promise<void>) | null = null;
  readonly #waiters: Waiter<T>[] = [];
  #wakeScheduled = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#abort();

  constructor(opts: SubscriptionOptions, transform: (raw: object) => T, ready: Promise<void>) {
    const { hwm, policy } = checkSubscriptionOptions(opts);
    this.highWaterMark = hwm;
    this.overflow = policy;
    this.#transform = transform;
    this.ready = ready;
    // The iterator reports a failed registration; `ready` is there for callers who want to wait for it.
    ready.catch(() => undefined);
    this.#signal = opts.signal;
    if (opts.signal?.aborted) queueMicrotask(this.#onAbort);
    else opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Events waiting in the queue (at most `highWaterMark`). */
  get queued(): number {
    return this.#events;
  }

  /** Events dropped so far (drop-oldest) or lost since the queue filled (error policy). */
  get dropped(): number {
    return this.#dropped + this.#lost;
  }

  /** Whether the subscription has ended (closed, aborted, failed or overflowed). */
  get ended(): boolean {
    return this.#closed !== null || this.#ended !== null;
  }

  /** @internal The hub's way to deregister; called once when the subscription ends. */
  attach(detach: () => Promise<void>): void {
    this.#detach = detach;
  }

  /** @internal An event for this subscription, from the engine's read path: never waits, never throws. */
  push(raw: object): void {
    if (this.#closed !== null || this.#ended !== null) return;
    if (this.#overflowed) {
      this.#lost++;
      return;
    }
    if (this.#events >= this.highWaterMark) {
      if (this.overflow === 'error') {
        this.#overflowed = true;
        this.#lost = 1;
        this.#wake();
        return;
      }
      this.#dropOldest();
    }
    this.#items.push(raw);
    this.#events++;
    this.#wake();
  }

  /** @internal Marks a reconnection: events between the disconnection and now may be missing. */
  gap(since: Date, closeReason: ConnectCloseInfo['reason']): void {
    if (this.#closed !== null || this.#ended !== null) return;
    const last = this.#items.length > this.#head ? this.#items[this.#items.length - 1] : null;
    if (last instanceof Gap && last.reason === 'reconnect') return;
    this.#items.push(new Gap('reconnect', null, since, closeReason));
    this.#wake();
  }

  /**
   * @internal Ends the subscription: queued events are still delivered, then the iterator throws `error` (or
   * ends, without one).
   */
  end(error?: Error): void {
    if (this.#ended !== null || this.#closed !== null) return;
    this.#ended = error === undefined ? {} : { error };
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#wake();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T | EventGap>> {
    let item: T | EventGap | null;
    try {
      item = this.#take();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    if (item !== null) return Promise.resolve({ done: false, value: item });
    const end = this.#endResult();
    if (end !== null) return end;
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Leaves the iteration: deregisters (waiting for the daemon's answer, bounded) and drops what is queued. */
  async return(): Promise<IteratorResult<T | EventGap>> {
    await this.close();
    return DONE;
  }

  /** Closes the subscription; resolves once it is deregistered on the daemon (or the connection is gone). */
  close(): Promise<void> {
    if (this.#closed !== null) return this.#closed;
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#clear();
    const detach = this.#detach;
    this.#detach = null;
    this.#closed = detach ? detach().catch(() => undefined) : Promise.resolve();
    const error = this.#ended?.error;
    for (const w of this.#waiters.splice(0)) {
      if (error) w.reject(error);
      else w.resolve(DONE);
    }
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #abort(): void {
    if (this.#closed !== null) return;
    const reason: unknown = this.#signal?.reason;
    const err = new AbortError('the event subscription was aborted', { cause: reason });
    this.#ended = { error: err };
    void this.close();
  }

  #endResult(): Promise<IteratorResult<T | EventGap>> | null {
    if (this.#overflowed) {
      const err = new EventOverflowError(this.#lost, this.highWaterMark);
      this.#ended ??= { error: err };
      void this.close();
      return Promise.reject(err);
    }
    if (this.#ended !== null) {
      void this.close();
      return this.#ended.error ? Promise.reject(this.#ended.error) : Promise.resolve(DONE);
    }
    if (this.#closed !== null) return Promise.resolve(DONE);
    return null;
  }

  #take(): T | EventGap | null {
    if (this.#head >= this.#items.length) return null;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined as unknown as object;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    if (item instanceof Gap) return item.marker();
    this.#events--;
    return this.#transform(item);
  }

  /** Drops the oldest queued event and counts it in an overflow gap standing where it was. */
  #dropOldest(): void {
    let i = this.#head;
    while (this.#items[i] instanceof Gap) i++;
    const before = i > this.#head ? this.#items[i - 1] : null;
    this.#events--;
    this.#dropped++;
    if (before instanceof Gap && before.reason === 'overflow') {
      before.lost!++;
      this.#items.splice(i, 1);
    } else {
      this.#items[i] = new Gap('overflow', 1, new Date());
    }
  }

  #clear(): void {
    this.#items.length = 0;
    this.#head = 0;
    this.#events = 0;
  }

  /** Hands queued items to waiting consumers, in a microtask: never inside the read path. */
  #wake(): void {
    if (this.#wakeScheduled || this.#waiters.length === 0) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      this.#wakeScheduled = false;
      while (this.#waiters.length > 0) {
        let item: T | EventGap | null;
        try {
          item = this.#take();
        } catch (e) {
          this.#waiters.shift()!.reject(e as Error);
          continue;
        }
        if (item === null) break;
        this.#waiters.shift()!.resolve({ done: false, value: item });
      }
      if (this.#waiters.length === 0) return;
      const end = this.#endResult();
      if (end === null) return;
      for (const w of this.#waiters.splice(0)) end.then(w.resolve, w.reject);
    });
  }
}

/** The error subscriptions end with when their connection closes for good other than by close(). */
export function connectionEndError(info: ConnectCloseInfo): Error | undefined {
  if (info.reason === 'closed') return undefined;
  return new ConnectionClosedError(`the connection closed (${info.reason}); no more events`, { cause: info.error });
}
