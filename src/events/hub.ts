/**
 * The event hub of one `Connect`: it owns the engine's MESSAGE routes of the REMOTE and QEMU programs, keeps
 * one daemon registration per (event, object filter) however many local subscriptions share it, and moves
 * every registration to the new connection when a reconnect policy reopens it.
 *
 * This is how libvirt's remote driver does it (src/remote/remote_driver.c with src/conf/object_event.c): the
 * first local callback for an event id and filter registers on the daemon with *_CALLBACK_REGISTER_ANY and
 * gets a callback id; later ones with the same id and filter share it; the last one to leave deregisters it;
 * each message names its callback id, and only the callbacks registered under it receive it. QEMU monitor
 * registrations also share when their domain, event name and flags are all equal (the daemon filters them).
 *
 * The routes run in the engine's read path: they decode the message (cheap, and needed to learn its callback
 * id) and push it into each subscription's bounded queue. Nothing else happens there.
 */
import { connectEventConnectionClosed, connectRegisterCloseCallback, remote_program_id } from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { qemu_program_id } from '../../generated/qemu-procedures.js';
import { ConnectionClosedError, ProtocolError, RemoteError, UnsupportedProcedureError } from '../errors.js';
import type { Connect } from '../objects/connect.js';
import type { ConnectCloseInfo, ConnectionLife } from '../objects/reconnect.js';
import { formatVersion, type RemoteConnection } from '../protocol/connection.js';
import type { Frame } from '../protocol/frame.js';
import { debug } from '../protocol/observe.js';
import { decodePayload } from '../protocol/rpc-client.js';
import { UnsupportedEventError } from './errors.js';
import type { EventSpec, FamilySpec } from './family.js';
import { connectionEndError, EventSubscription, type SubscriptionOptions } from './subscription.js';

/** Messages kept while a registration's reply is in flight (an event may overtake it on the wire). */
const LIMBO_MAX = 256;
/** Bound on waiting for the daemon to acknowledge a deregistration when a subscription closes. */
const DEREGISTER_TIMEOUT_MS = 10_000;

interface Entry {
  readonly family: FamilySpec;
  readonly spec: EventSpec;
}

/** What a subscription's queue holds: the event's spec and its decoded message (shared by subscribers). */
interface Item {
  readonly spec: EventSpec;
  readonly msg: { callbackID: number };
}

/** One daemon registration, shared by every local subscription with the same event and filter. */
class Registration {
  readonly members = new Set<Member>();
  callbackId: number | null = null;
  registering: Promise<void> | null = null;
  dropped: Promise<void> = Promise.resolve();
  dead = false;

  constructor(
    readonly key: string,
    readonly family: FamilySpec,
    readonly spec: EventSpec,
    readonly filter: unknown,
  ) {}
}

/** A subscription as the hub sees it: the registrations it listens to. */
class Member {
  readonly regs = new Set<Registration>();
  readonly waiting = new Set<Registration>();
  settled = false;
  sub!: EventSubscription<object>;
  resolve!: () => void;
  reject!: (e: Error) => void;

  /**
   * `drops`: how many times the connection had dropped when it subscribed. A reconnection only leaves a gap for
   * subscriptions made before the latest drop (a count, not a time: one made in the same millisecond as the
   * drop, while reconnecting, missed nothing).
   */
  constructor(readonly lenient: boolean, readonly drops: number) {}
}

export class EventHub {
  readonly #connect: Connect;
  readonly #life: ConnectionLife;
  #raw: RemoteConnection | null = null;
  #gen = 0;
  #pending = 0;
  #final: ConnectCloseInfo | null = null;
  #lostAt = new Date();
  /** How many times the connection has dropped. */
  #drops = 0;
  #lostReason: ConnectCloseInfo['reason'] = 'eof';
  readonly #byKey = new Map<string, Registration>();
  readonly #byId = new Map<string, Registration>();
  readonly #members = new Set<Member>();
  /** program number -> message procedure -> what it is. */
  readonly #entries = new Map<number, Map<number, Entry>>([[remote_program_id.program, new Map()], [qemu_program_id.program, new Map()]]);
  readonly #limbo: { entry: Entry; msg: { callbackID: number } }[] = [];

  constructor(connect: Connect, life: ConnectionLife) {
    this.#connect = connect;
    this.#life = life;
    life.listen({
      attached: (raw, reconnected) => this.#attach(raw, reconnected),
      detached: (info, final) => this.#detach(info, final),
    });
    this.#final = life.finalInfo;
  }

  /** Daemon registrations held now (one per event and filter, shared by subscriptions). */
  get registrations(): number {
    return this.#byKey.size;
  }

  /**
   * Subscribes to `specs` of `family` with a daemon-side `filter` (its wire form; `filterKey` tells filters
   * apart). With `lenient`, events the daemon does not know are left out (listed in `skipped`) instead of
   * failing the subscription, as virsh's `event --all` does.
   */
  subscribe<T>(family: FamilySpec, specs: readonly EventSpec[], filter: unknown, filterKey: string, opts: SubscriptionOptions, lenient: boolean): EventSubscription<T> {
    const member = new Member(lenient, this.#drops);
    const ready = new Promise<void>((resolve, reject) => {
      member.resolve = resolve;
      member.reject = reject;
    });
    const sub = new EventSubscription<object>(opts, (item) => (item as Item).spec.transform((item as Item).msg as never, this.#connect), ready);
    member.sub = sub;
    sub.attach(() => this.#leave(member));
    this.#learn(family);
    if (this.#final !== null) {
      this.#fail(member, new ConnectionClosedError(`cannot subscribe: the connection is closed (${this.#final.reason})`));
      return sub as unknown as EventSubscription<T>;
    }
    this.#members.add(member);
    for (const spec of specs) {
      const key = `${family.name}:${spec.id}:${filterKey}`;
      let reg = this.#byKey.get(key);
      if (reg === undefined) {
        reg = new Registration(key, family, spec, filter);
        this.#byKey.set(key, reg);
        this.#register(reg);
      }
      reg.members.add(member);
      member.regs.add(reg);
      if (reg.callbackId === null) member.waiting.add(reg); // not (yet, or again) registered on this connection
    }
    this.#settleIfReady(member);
    return sub as unknown as EventSubscription<T>;
  }

  /** Adds a family's message procedures to the routes' tables. */
  #learn(family: FamilySpec): void {
    for (const spec of family.events) {
      this.#entries.get(spec.message.program.program)!.set(spec.message.number, { family, spec });
    }
  }

  #attach(raw: RemoteConnection, reconnected: boolean): void {
    this.#raw = raw;
    this.#gen++;
    this.#pending = 0;
    this.#limbo.length = 0;
    raw.rpc.setMessageRoute(remote_program_id, this.#route);
    raw.rpc.setMessageRoute(qemu_program_id, this.#route);
    // Ask the daemon to tell us when its own connection to the driver closes (CONNECTION_CLOSED), as libvirt's
    // remote driver does once a close callback is registered; a daemon that cannot is not an error.
    raw.rpc.call(connectRegisterCloseCallback, undefined).catch(() => undefined);
    if (reconnected) for (const m of this.#members) if (m.drops < this.#drops) m.sub.gap(this.#lostAt, this.#lostReason);
    for (const reg of this.#byKey.values()) this.#register(reg);
  }

  #detach(info: ConnectCloseInfo, final: boolean): void {
    this.#raw = null;
    this.#gen++;
    this.#pending = 0;
    this.#limbo.length = 0;
    this.#byId.clear();
    for (const reg of this.#byKey.values()) reg.callbackId = null;
    this.#lostAt = new Date();
    this.#drops++;
    this.#lostReason = info.reason;
    if (!final) return;
    this.#final = info;
    const err = connectionEndError(info);
    for (const m of [...this.#members]) this.#fail(m, err ?? new ConnectionClosedError('the connection was closed'), err === undefined);
    this.#byKey.clear();
  }

  /** The MESSAGE route of the REMOTE and QEMU programs (engine read path: decode, queue, nothing more). */
  readonly #route = (f: Frame): void => {
    const h = f.header;
    if (h.prog === remote_program_id.program && h.proc === connectEventConnectionClosed.number) {
      const { reason } = this.#decode(connectEventConnectionClosed, f.payload) as remote.remote_connect_event_connection_closed_msg;
      const raw = this.#raw;
      // Not from inside the read path: closing the connection fails every pending call.
      if (raw !== null) queueMicrotask(() => this.#life.daemonClosed(raw, reason));
      return;
    }
    const entry = this.#entries.get(h.prog)?.get(h.proc);
    if (entry === undefined) return; // an event nobody here registered for (a newer daemon's, say)
    const msg = this.#decode(entry.spec.message, f.payload) as { callbackID: number };
    this.#deliver(entry, msg);
  };

  #decode(proc: EventSpec['message'], payload: Uint8Array): unknown {
    try {
      return decodePayload(proc.message, payload, proc.name);
    } catch (e) {
      throw new ProtocolError(`undecodable ${proc.name} event: ${(e as Error).message}`, { cause: e });
    }
  }

  #deliver(entry: Entry, msg: { callbackID: number }): void {
    const reg = this.#byId.get(`${entry.family.name}:${msg.callbackID}`);
    if (reg === undefined) {
      // The daemon may send an event for a callback before our side has read the reply that names it.
      if (this.#pending > 0 && this.#limbo.length < LIMBO_MAX) this.#limbo.push({ entry, msg });
      return;
    }
    if (reg.spec !== entry.spec) return;
    const item: Item = { spec: entry.spec, msg };
    for (const m of reg.members) m.sub.push(item);
  }

  #register(reg: Registration): void {
    const raw = this.#raw;
    if (raw === null || reg.dead || reg.registering !== null) return;
    const gen = this.#gen;
    this.#pending++;
    const args = reg.family.registerArgs(reg.spec.id, reg.filter) as never;
    // Straight to the engine: a call made on a closed connection must not wait for the next one (the hub
    // registers again there by itself).
    reg.registering = raw.rpc.call(reg.family.register, args).then(
      ({ callbackID }) => {
        if (gen !== this.#gen) return; // that connection is gone; attach() registers again on the next
        if (reg.dead) {
          reg.dropped = this.#deregister(raw, reg.family, callbackID);
          return;
        }
        reg.callbackId = callbackID;
        this.#byId.set(`${reg.family.name}:${callbackID}`, reg);
        debug(() => `connection ${raw.rpc.id}: ${reg.family.name} event ${reg.spec.name} registered as callback ${callbackID}`);
        this.#replay(reg);
        for (const m of reg.members) {
          m.waiting.delete(reg);
          this.#settleIfReady(m);
        }
      },
      async (e: unknown) => {
        if (gen !== this.#gen || !raw.isOpen) return; // lost with the connection: registered again, or failed at the final close
        await this.#failRegistration(reg, raw, e);
      },
    ).finally(() => {
      reg.registering = null;
      if (gen === this.#gen && --this.#pending === 0) this.#limbo.length = 0;
    });
  }

  /** Events that overtook their registration's reply. */
  #replay(reg: Registration): void {
    for (let i = 0; i < this.#limbo.length; ) {
      const l = this.#limbo[i];
      if (l.entry.family === reg.family && l.msg.callbackID === reg.callbackId) {
        this.#limbo.splice(i, 1);
        this.#deliver(l.entry, l.msg);
      } else {
        i++;
      }
    }
  }

  async #failRegistration(reg: Registration, raw: RemoteConnection, e: unknown): Promise<void> {
    let err = e instanceof Error ? e : new Error(String(e));
    // libvirtd refuses an event id past its own last one with VIR_ERR_INTERNAL_ERROR "unsupported event ID"
    // (remoteDispatchConnectDomainEventCallbackRegisterAny and its siblings in remote_daemon_dispatch.c); a
    // daemon older than the register procedure itself answers that the procedure is unknown.
    const unsupported =
      e instanceof UnsupportedProcedureError ||
      (e instanceof RemoteError && e.remote.codeName === 'VIR_ERR_INTERNAL_ERROR' && /unsupported .*event id/i.test(e.remote.message ?? ''));
    if (unsupported) {
      const remoteErr = e as RemoteError;
      const version = await raw.libVersion().then(formatVersion, () => null);
      err = new UnsupportedEventError(remoteErr.remote, remoteErr.procedure, version, reg.family.name, reg.spec.name, reg.spec.since);
    }
    reg.dead = true;
    if (this.#byKey.get(reg.key) === reg) this.#byKey.delete(reg.key);
    for (const m of [...reg.members]) {
      m.regs.delete(reg);
      m.waiting.delete(reg);
      if (m.lenient && err instanceof UnsupportedEventError && m.regs.size > 0) {
        m.sub.skipped.push(reg.spec.name);
        this.#settleIfReady(m);
      } else {
        this.#fail(m, err);
      }
    }
    reg.members.clear();
  }

  #settleIfReady(m: Member): void {
    if (m.settled || m.waiting.size > 0) return;
    m.settled = true;
    m.resolve();
  }

  /** Ends a subscription with `err` (or, with `clean`, without one) and leaves its registrations. */
  #fail(m: Member, err: Error, clean = false): void {
    if (!m.settled) {
      m.settled = true;
      m.reject(err);
    }
    m.sub.end(clean ? undefined : err);
    void this.#leave(m);
  }

  /** A subscription ended: leave its registrations, deregistering those it was the last member of. */
  #leave(m: Member): Promise<void> {
    if (!this.#members.delete(m)) return Promise.resolve();
    const done: Promise<void>[] = [];
    for (const reg of m.regs) {
      reg.members.delete(m);
      if (reg.members.size === 0) done.push(this.#drop(reg));
    }
    m.regs.clear();
    m.waiting.clear();
    return Promise.all(done).then(() => undefined);
  }

  #drop(reg: Registration): Promise<void> {
    reg.dead = true;
    if (this.#byKey.get(reg.key) === reg) this.#byKey.delete(reg.key);
    const raw = this.#raw;
    if (reg.callbackId !== null && raw !== null) {
      this.#byId.delete(`${reg.family.name}:${reg.callbackId}`);
      const id = reg.callbackId;
      reg.callbackId = null;
      return this.#deregister(raw, reg.family, id);
    }
    // Still registering: the reply handler deregisters once it knows the id.
    return reg.registering === null ? Promise.resolve() : reg.registering.then(() => reg.dropped);
  }

  #deregister(raw: RemoteConnection, family: FamilySpec, callbackID: number): Promise<void> {
    if (!raw.isOpen) return Promise.resolve();
    return raw.rpc.call(family.deregister, { callbackID }, { timeout: DEREGISTER_TIMEOUT_MS }).then(
      () => debug(() => `connection ${raw.rpc.id}: ${family.name} callback ${callbackID} deregistered`),
      () => undefined, // the connection went away, which deregisters everything on the daemon's side
    );
  }
}
