/**
 * `libvirt-rpc/events`: every event family of the REMOTE and QEMU programs as bounded async iterables on
 * `conn.events`. Importing this module installs `conn.events` (the Node entry does); a browser bundle that
 * never imports it carries none of the event decoders.
 *
 * ```ts
 * for await (const ev of conn.events.domain('lifecycle', { domain: dom })) {
 *   if (ev.type === 'gap') continue; // reconnected: events may be missing here
 *   console.log(ev.domain.getName(), ev.event, ev.detail); // e.g. vm1 stopped destroyed
 * }
 * ```
 */
import type * as remote from '../../generated/remote-protocol.js';
import { InvalidArgumentError } from '../errors.js';
import { installEvents, type Connect } from '../objects/connect.js';
import type { Domain } from '../objects/domain.js';
import type { ConnectionLife } from '../objects/reconnect.js';
import { uuidBytes, uuidString } from '../objects/support.js';
import { DOMAIN_FAMILY, type DomainEventMap, type DomainEventName } from './domain-events.js';
import type { EventSpec, FamilySpec } from './family.js';
import { EventHub } from './hub.js';
import {
  NETWORK_FAMILY, NODE_DEVICE_FAMILY, SECRET_FAMILY, STORAGE_POOL_FAMILY,
  type NetworkEventMap, type NetworkEventName, type NodeDeviceEventMap, type NodeDeviceEventName,
  type SecretEventMap, type SecretEventName, type StoragePoolEventMap, type StoragePoolEventName,
} from './object-events.js';
import { QEMU_FAMILY, type QemuMonitorEvent } from './qemu-events.js';
import type { EventSubscription, SubscriptionOptions } from './subscription.js';

export { EventOverflowError, UnsupportedEventError } from './errors.js';
export { EventSubscription, DEFAULT_HIGH_WATER_MARK, MAX_HIGH_WATER_MARK, type EventGap, type OverflowPolicy, type SubscriptionOptions } from './subscription.js';
export { DOMAIN_EVENT_NAMES, type DomainEvent, type DomainEventMap, type DomainEventName, type GraphicsAddress } from './domain-events.js';
export type { NamedObject, TypedParam, FamilyName } from './family.js';
export type {
  NetworkEventMap, NetworkEventName, NodeDeviceEventMap, NodeDeviceEventName, SecretEventMap, SecretEventName,
  SecretRef, StoragePoolEventMap, StoragePoolEventName,
} from './object-events.js';
export type { QemuMonitorEvent } from './qemu-events.js';

/** One event name, several, or `'*'` for every event of the family that the daemon knows. */
export type EventSelection<N extends string> = N | readonly N[] | '*';

/** An object named by name and UUID (string or 16 bytes), to filter network and storage pool events. */
export interface ObjectFilter {
  name: string;
  uuid: string | Uint8Array;
}

/** QEMU monitor event options: a domain, and an event name filter applied by the daemon. */
export interface QemuMonitorOptions extends SubscriptionOptions {
  domain?: Domain | remote.remote_nonnull_domain;
  /** Only events of this name (QMP names, e.g. `STOP`). */
  event?: string;
  /** `event` is a regular expression (VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX). */
  regex?: boolean;
  /** Compare `event` case-insensitively (..._REGISTER_NOCASE). */
  nocase?: boolean;
}

type Selected<M, N extends keyof M> = M[N];

/** `conn.events`: subscribe to any event family. Every method returns at once; `await sub.ready` to know it is registered. */
export class ConnectEvents {
  readonly #hub: EventHub;

  constructor(connect: Connect, life: ConnectionLife) {
    this.#hub = new EventHub(connect, life);
  }

  /** Daemon registrations held now: one per event and filter, however many subscriptions share it. */
  get registrations(): number {
    return this.#hub.registrations;
  }

  /** Domain events, for one domain (`domain`) or all. */
  domain<N extends DomainEventName>(events: EventSelection<N>, opts: SubscriptionOptions & { domain?: Domain | remote.remote_nonnull_domain } = {}): EventSubscription<Selected<DomainEventMap, N>> {
    const dom = opts.domain === undefined ? null : domainHandle(opts.domain);
    return this.#subscribe(DOMAIN_FAMILY, events, dom, dom === null ? '*' : uuidString(dom.uuid), opts);
  }

  /** Network events, for one network or all. */
  network<N extends NetworkEventName>(events: EventSelection<N>, opts: SubscriptionOptions & { network?: ObjectFilter } = {}): EventSubscription<Selected<NetworkEventMap, N>> {
    const net = opts.network === undefined ? null : objectHandle(opts.network, 'network');
    return this.#subscribe(NETWORK_FAMILY, events, net, net === null ? '*' : uuidString(net.uuid), opts);
  }

  /** Storage pool events, for one pool or all. */
  storagePool<N extends StoragePoolEventName>(events: EventSelection<N>, opts: SubscriptionOptions & { pool?: ObjectFilter } = {}): EventSubscription<Selected<StoragePoolEventMap, N>> {
    const pool = opts.pool === undefined ? null : objectHandle(opts.pool, 'pool');
    return this.#subscribe(STORAGE_POOL_FAMILY, events, pool, pool === null ? '*' : uuidString(pool.uuid), opts);
  }

  /** Node device events, for one device (by name) or all. */
  nodeDevice<N extends NodeDeviceEventName>(events: EventSelection<N>, opts: SubscriptionOptions & { device?: string } = {}): EventSubscription<Selected<NodeDeviceEventMap, N>> {
    if (opts.device !== undefined && (typeof opts.device !== 'string' || opts.device === '')) throw new InvalidArgumentError('device must be a node device name');
    const dev = opts.device === undefined ? null : { name: opts.device };
    return this.#subscribe(NODE_DEVICE_FAMILY, events, dev, dev === null ? '*' : `name=${dev.name}`, opts);
  }

  /** Secret events, for one secret (by UUID) or all. */
  secret<N extends SecretEventName>(events: EventSelection<N>, opts: SubscriptionOptions & { secret?: string | Uint8Array } = {}): EventSubscription<Selected<SecretEventMap, N>> {
    const secret = opts.secret === undefined ? null : { uuid: uuidBytes(opts.secret), usageType: 0, usageID: '' };
    return this.#subscribe(SECRET_FAMILY, events, secret, secret === null ? '*' : uuidString(secret.uuid), opts);
  }

  /** QEMU monitor (QMP) events of one domain or all, optionally only those named `event`. */
  qemuMonitor(opts: QemuMonitorOptions = {}): EventSubscription<QemuMonitorEvent> {
    const dom = opts.domain === undefined ? null : domainHandle(opts.domain);
    if (opts.event !== undefined && (typeof opts.event !== 'string' || opts.event === '')) throw new InvalidArgumentError('event must be a non-empty QMP event name');
    if (opts.event === undefined && (opts.regex || opts.nocase)) throw new InvalidArgumentError('regex and nocase need an event name to apply to');
    const flags = (opts.regex ? 1 : 0) | (opts.nocase ? 2 : 0);
    const filter = { dom, event: opts.event ?? null, flags };
    const key = `${dom === null ? '*' : uuidString(dom.uuid)}:${flags}:${opts.event ?? ''}`;
    return this.#hub.subscribe(QEMU_FAMILY, QEMU_FAMILY.events, filter, key, opts, false);
  }

  #subscribe<T>(family: FamilySpec, events: EventSelection<string>, filter: unknown, key: string, opts: SubscriptionOptions): EventSubscription<T> {
    if (events === '*') return this.#hub.subscribe(family, family.events, filter, key, opts, true);
    const names = typeof events === 'string' ? [events] : events;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError(`name one or more ${family.name} events, or '*'`);
    const specs: EventSpec[] = [];
    for (const n of names) {
      const spec = family.events.find((e) => e.name === n);
      if (spec === undefined) throw new InvalidArgumentError(`unknown ${family.name} event '${String(n)}'; known: ${family.events.map((e) => e.name).join(', ')}`);
      if (!specs.includes(spec)) specs.push(spec);
    }
    return this.#hub.subscribe(family, specs, filter, key, opts, false);
  }
}

function domainHandle(d: Domain | remote.remote_nonnull_domain): remote.remote_nonnull_domain {
  const h = 'handle' in d ? (d as Domain).handle : (d as remote.remote_nonnull_domain);
  if (typeof h !== 'object' || h === null || typeof h.name !== 'string') throw new InvalidArgumentError('domain must be a Domain or a domain handle { name, uuid, id }');
  return { name: h.name, uuid: uuidBytes(h.uuid), id: h.id ?? -1 };
}

function objectHandle(o: ObjectFilter, what: string): { name: string; uuid: Uint8Array } {
  if (typeof o !== 'object' || o === null || typeof o.name !== 'string') throw new InvalidArgumentError(`${what} must be { name, uuid }`);
  return { name: o.name, uuid: uuidBytes(o.uuid) };
}

installEvents((connect, life) => new ConnectEvents(connect, life));
