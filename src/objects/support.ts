/**
 * Small helpers shared by the object classes: call options for operations made of several calls, flag
 * checks, pipelining with a bounded window, UUIDs, and recognising the daemon's errors.
 */
import { InvalidArgumentError, RemoteError, TimeoutError } from '../errors.js';
import type { CallOptions } from '../protocol/program.js';

export type { CallOptions };

/**
 * Options for an operation made of several calls (e.g. `listSnapshots`: count, names, one lookup per name):
 * `timeout` bounds the whole operation, not each call, and `signal` cancels whatever call is in flight.
 */
export class Deadline {
  readonly #end: number | null;
  readonly #timeout: number | undefined;
  readonly #signal: AbortSignal | undefined;

  constructor(opts: CallOptions = {}) {
    this.#timeout = opts.timeout;
    this.#signal = opts.signal;
    this.#end = opts.timeout !== undefined && opts.timeout > 0 ? Date.now() + opts.timeout : null;
  }

  /** Options for the next call: what is left of the time, and the signal. */
  next(): CallOptions {
    if (this.#end === null) return { signal: this.#signal, timeout: this.#timeout };
    const left = this.#end - Date.now();
    if (left <= 0) throw new TimeoutError(`the operation took longer than ${this.#timeout} ms`);
    return { signal: this.#signal, timeout: left };
  }
}

/**
 * For a method that checks its arguments and makes one call: a check that throws becomes a rejection, as in an
 * async method, without the async method's own promise and microtask hop on every call.
 */
export function oneCall<T>(start: () => Promise<T>): Promise<T> {
  try {
    return start();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Picks the `xml` out of a reply (the XML calls' result). */
export const xmlOf = (r: { xml: string }): string => r.xml;

/** Checks a libvirt `unsigned int flags` argument; nothing is sent when it is not one. */
export function checkFlags(flags: number, what = 'flags'): number {
  if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
    throw new InvalidArgumentError(`${what} must be an unsigned 32-bit integer, not ${String(flags)}`);
  }
  return flags;
}

/** Checks a name argument (a snapshot, checkpoint or domain name). */
export function checkName(name: string, what: string): string {
  if (typeof name !== 'string' || name === '') throw new InvalidArgumentError(`${what} must be a non-empty string`);
  return name;
}

/** Calls in flight at once for operations that issue one call per item (the daemon works on 5 at a time). */
export const PIPELINE_WINDOW = 64;

/**
 * Maps `items` through `fn` with up to `window` calls in flight, keeping order. Stops issuing calls after the
 * first failure and rejects with it (calls already in flight finish, their results dropped).
 */
export async function pipelined<T, R>(items: readonly T[], fn: (item: T, index: number) => Promise<R>, window = PIPELINE_WINDOW): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const workers = Array.from({ length: Math.min(window, items.length) }, worker);
  await Promise.all(workers);
  return out;
}

/**
 * Names the legacy way (libvirt's C API asks for the count, then for that many names) in one round trip where
 * it can: asked for as many names as the protocol carries, the daemon answers with all of them when there are
 * fewer (remoteDispatchDomainSnapshotListNames in libvirt's generated dispatcher makes `maxnames` slots and the
 * driver fills what it has). Only a full answer needs the count, to fail past the maximum as libvirt does: the
 * names are then asked for again with maxnames = the count, which the daemon refuses. One call also cannot
 * race with a snapshot made or deleted between the two.
 */
export async function namesUpTo(
  max: number,
  list: (maxnames: number) => Promise<string[]>,
  count: () => Promise<number>,
): Promise<string[]> {
  const names = await list(max);
  if (names.length < max) return names;
  const n = await count();
  return n <= max ? names : list(n);
}

/** Whether `e` is the daemon's error with this `VIR_ERR_*` name. */
export function isRemoteError(e: unknown, codeName: string): e is RemoteError {
  return e instanceof RemoteError && e.remote.codeName === codeName;
}

const HEX = /^[0-9a-fA-F]$/;

/**
 * Parses a UUID string the way libvirt's virUUIDParse does: surrounding spaces ignored, 32 hex digits, dashes
 * allowed between them. Raw 16 bytes are taken as they are.
 */
export function uuidBytes(uuid: string | Uint8Array): Uint8Array {
  if (uuid instanceof Uint8Array) {
    if (uuid.length !== 16) throw new InvalidArgumentError(`a raw UUID has 16 bytes, not ${uuid.length}`);
    return uuid;
  }
  if (typeof uuid !== 'string') throw new InvalidArgumentError('a UUID is a string or 16 bytes');
  const digits: string[] = [];
  for (const c of uuid.trim()) {
    if (c === '-') continue;
    if (!HEX.test(c)) throw new InvalidArgumentError(`not a UUID: '${uuid}'`);
    digits.push(c);
  }
  if (digits.length !== 32) throw new InvalidArgumentError(`not a UUID: '${uuid}' (expected 32 hex digits)`);
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(digits[2 * i] + digits[2 * i + 1], 16);
  return out;
}

/** Formats 16 bytes as libvirt's virUUIDFormat does: lower-case, 8-4-4-4-12. */
export function uuidString(bytes: Uint8Array): string {
  const h = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
