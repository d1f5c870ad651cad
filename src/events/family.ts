/**
 * What the hub needs to know about an event family: how to register and deregister one of its events on the
 * daemon (the `*_CALLBACK_REGISTER_ANY` procedure with a callback id, as libvirt's remote driver does since
 * 1.2.1), and, per event, the message procedure the daemon sends it with and how to turn that message into a
 * typed event. Plus the small helpers the family tables share: enum names from libvirt's headers, handles,
 * typed parameters.
 */
import type * as remote from '../../generated/remote-protocol.js';
import type { Connect } from '../objects/connect.js';
import { uuidString } from '../objects/support.js';
import { typedParamsToRecord, type TypedValue } from '../objects/typed-params.js';
import type { ProcedureInfo } from '../protocol/program.js';

/** The event families of the REMOTE and QEMU programs. */
export type FamilyName = 'domain' | 'network' | 'storage-pool' | 'node-device' | 'secret' | 'qemu';

/** One event of a family. */
export interface EventSpec {
  /** The family's event id (`VIR_DOMAIN_EVENT_ID_*`, ...); 0 for QEMU monitor events. */
  readonly id: number;
  /** The event's name, as virsh names it (`lifecycle`, `block-job-2`, ...). */
  readonly name: string;
  /** The MESSAGE procedure the daemon sends it with (its codec decodes the message). */
  readonly message: ProcedureInfo<void, void, unknown>;
  /** The libvirt release that added it (from the headers' `Since:` notes). */
  readonly since: string;
  /** The typed event from a decoded message (runs in the consumer, never in the read path). */
  transform(msg: never, conn: Connect): object;
}

/** A family: its events and how to register them. */
export interface FamilySpec {
  readonly name: FamilyName;
  /** Registers one event (optionally for one object); the reply carries the daemon's callback id. */
  readonly register: ProcedureInfo<never, { callbackID: number }, unknown>;
  /** Deregisters by callback id. */
  readonly deregister: ProcedureInfo<{ callbackID: number }, void, unknown>;
  /** The register procedure's arguments for event `id`, filtered to `filter` (null: every object). */
  registerArgs(id: number, filter: unknown): unknown;
  readonly events: readonly EventSpec[];
}

/**
 * Names of an enum from libvirt's headers, by value: the constant's name after `prefix`, lower-case, with
 * dashes (`VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT` with prefix `VIR_DOMAIN_EVENT_STOPPED_` is `from-snapshot`).
 */
export function enumNames(values: Readonly<Record<string, number>>, prefix: string): readonly string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (k.startsWith(prefix) && !k.endsWith('_LAST')) out[v] = k.slice(prefix.length).toLowerCase().replace(/_/g, '-');
  }
  return out;
}

/** The name of `value` in `names`, or `unknown` for a value this release does not know (a newer daemon). */
export function nameOf(names: readonly string[], value: number): string {
  return names[value] ?? 'unknown';
}

/** A 64-bit value as a number when exact, else a bigint. */
export function exact(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A typed parameter with its libvirt type kept (virsh prints doubles with `%g`, the rest as integers). */
export interface TypedParam {
  readonly field: string;
  readonly type: 'int' | 'uint' | 'llong' | 'ullong' | 'double' | 'boolean' | 'string';
  readonly value: TypedValue;
}

const PARAM_TYPES = [undefined, 'int', 'uint', 'llong', 'ullong', 'double', 'boolean', 'string'] as const;

/** Typed parameters both ways: a plain record, and the list with types. */
export function typedParams(params: readonly remote.remote_typed_param[]): { params: Record<string, TypedValue>; typedParams: TypedParam[] } {
  const record = typedParamsToRecord(params);
  const list: TypedParam[] = [];
  for (const p of params) {
    const type = PARAM_TYPES[p.value.type];
    if (type !== undefined) list.push({ field: p.field, type, value: record[p.field] });
  }
  return { params: record, typedParams: list };
}

/** A network, storage pool or other object named by name and UUID. */
export interface NamedObject {
  readonly name: string;
  /** `xxxxxxxx-xxxx-...` */
  readonly uuid: string;
}

/** A wire handle with a UUID as a plain object. */
export function named(h: { name: string; uuid: Uint8Array }): NamedObject {
  return { name: h.name, uuid: uuidString(h.uuid) };
}
