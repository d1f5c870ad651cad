/**
 * libvirt's keepalive protocol (src/rpc/virkeepalive.c, virkeepaliveprotocol.x). Both sides answer PING with
 * PONG. The client sends a PING after `interval` ms without receiving anything, and gives the peer up after
 * `count` unanswered PINGs in a row; any received message counts as an answer, as in libvirt.
 */
import { brandError, ConnectionClosedError, InvalidArgumentError } from '../errors.js';
import { keepalive_procedure as PROC } from '../../generated/keepalive-protocol.js';
import { keepalive_program_id } from '../../generated/keepalive-procedures.js';
import { checkTimeout } from './durations.js';
import { debug } from './observe.js';
import type { RpcClient } from './rpc-client.js';

/** libvirt's client defaults (keepalive_interval = 5, keepalive_count = 5 in libvirt.conf). */
export const DEFAULT_KEEPALIVE = { interval: 5000, count: 5 } as const;

/** The peer stopped answering keepalive PINGs. */
export class KeepaliveTimeoutError extends ConnectionClosedError {
  static {
    brandError(this, 'KeepaliveTimeoutError');
  }

  override readonly code: string = 'ERR_KEEPALIVE_TIMEOUT';
}

export interface KeepaliveOptions {
  /** Milliseconds of silence before a PING: 1 to 2^31-1. */
  interval: number;
  /** Unanswered PINGs before the connection is closed: a whole number, 0 or more. */
  count: number;
}

/** Checks keepalive options; throws InvalidArgumentError naming the bad field. */
export function checkKeepalive(opts: KeepaliveOptions): KeepaliveOptions {
  checkTimeout(opts.interval, 'keepalive.interval');
  if (!(typeof opts.count === 'number' && Number.isSafeInteger(opts.count) && opts.count >= 0)) {
    throw new InvalidArgumentError(`keepalive.count must be a whole number, 0 or more, not ${String(opts.count)}`);
  }
  return opts;
}

/**
 * Answers the daemon's PINGs on `client` (always needed once the daemon knows we speak keepalive). At most one
 * PONG waits for the socket: a daemon that floods PINGs while it reads nothing would otherwise grow the client
 * by one queued PONG per PING. One is enough, since virkeepalive.c takes any message as a sign of life.
 */
export function answerPings(client: RpcClient): void {
  let pongWaiting = false;
  client.setMessageRoute(keepalive_program_id, (f) => {
    if (f.header.proc !== PROC.KEEPALIVE_PROC_PING || !client.isOpen || pongWaiting) return;
    client.sendMessage(keepalive_program_id, PROC.KEEPALIVE_PROC_PONG);
    if (client.writable) return;
    // The PONG is queued behind a full pipe: it answers every PING until it (and what is before it) is written.
    pongWaiting = true;
    client.whenWritable().then(() => (pongWaiting = false), () => undefined);
  });
}

/**
 * One interval timer per tick length, shared by every connection's keepalive. A timer of its own per
 * connection (created at open, cleared at close) was a good part of the CPU of opening a connection: Node
 * builds and tears down a timer list for each. The shared timer is unref'd and stops at the first tick that
 * finds nobody to check.
 */
const clocks = /* @__PURE__ */ new Map<number, { timer: ReturnType<typeof setInterval>; senders: Set<KeepaliveSender> }>();

function subscribe(tick: number, sender: KeepaliveSender): void {
  let clock = clocks.get(tick);
  if (!clock) {
    const senders = new Set<KeepaliveSender>();
    const timer = setInterval(() => {
      if (senders.size === 0) {
        clearInterval(timer);
        clocks.delete(tick);
        return;
      }
      for (const s of senders) {
        try {
          s.check();
        } catch {
          // one connection's failure never stops the others' checks
        }
      }
    }, tick);
    (timer as { unref?: () => void }).unref?.();
    clock = { timer, senders };
    clocks.set(tick, clock);
  }
  clock.senders.add(sender);
}

function unsubscribe(tick: number, sender: KeepaliveSender): void {
  clocks.get(tick)?.senders.delete(sender);
}

/** Sends PINGs when the line is silent and closes the connection when the peer stops answering. */
export class KeepaliveSender {
  readonly #client: RpcClient;
  readonly #opts: KeepaliveOptions;
  /** Check a few times per interval so silence is noticed within about one interval. */
  readonly #tick: number;
  #running = false;
  #lastReceived = Date.now();
  #unanswered = 0;

  constructor(client: RpcClient, opts: KeepaliveOptions = DEFAULT_KEEPALIVE) {
    checkKeepalive(opts);
    this.#client = client;
    this.#opts = opts;
    this.#tick = Math.max(10, Math.floor(opts.interval / 4));
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#client.onActivity = () => {
      this.#lastReceived = Date.now();
      this.#unanswered = 0;
    };
    // A connection that closes without stop() (the daemon went away) leaves at its next check.
    subscribe(this.#tick, this);
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    unsubscribe(this.#tick, this);
  }

  /** One look at the line (the shared clock calls it every tick). */
  check(): void {
    this.#check();
  }

  /**
   * A stream's slow reader holds the daemon back (src/protocol/stream.ts): nothing is read, so silence proves
   * nothing about the peer. A PING still goes out every interval, so that the daemon's own keepalive
   * (virKeepAliveTimer counts any message from the client) keeps the connection, but none counts as unanswered.
   */
  #pausedTick(): void {
    const now = Date.now();
    if (now - this.#lastReceived < this.#opts.interval) return;
    this.#lastReceived = now;
    this.#unanswered = 0;
    try {
      this.#client.sendMessage(keepalive_program_id, PROC.KEEPALIVE_PROC_PING);
    } catch {
      this.stop();
    }
  }

  #check(): void {
    if (!this.#client.isOpen) return this.stop();
    if (this.#client.readPaused) return this.#pausedTick();
    const silent = Date.now() - this.#lastReceived;
    if (silent < this.#opts.interval * (this.#unanswered + 1)) return;
    if (this.#unanswered >= this.#opts.count) {
      this.stop();
      const secs = Math.round(silent / 1000);
      debug(() => `connection ${this.#client.id}: keepalive gave up after ${this.#opts.count} unanswered PINGs (${secs} s silent)`);
      this.#client.destroy(new KeepaliveTimeoutError(`the daemon did not answer ${this.#opts.count} keepalive PINGs; no data for ${secs} s`));
      return;
    }
    this.#unanswered++;
    debug(() => `connection ${this.#client.id}: keepalive PING ${this.#unanswered}/${this.#opts.count} after ${silent} ms of silence`);
    try {
      this.#client.sendMessage(keepalive_program_id, PROC.KEEPALIVE_PROC_PING);
    } catch {
      this.stop();
    }
  }
}
