/**
 * The peer of bench:xdr: the same libvirt XDR types described with @stellar/js-xdr's `config` DSL (its runtime
 * interpreter of struct/union/typedef/varArray/opaque descriptions), plus converters from this project's plain
 * values to its class instances. Maxima come from the generated constants, so both sides enforce the same limits.
 */
import {
  REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX,
  REMOTE_DOMAIN_LIST_MAX,
  REMOTE_DOMAIN_SNAPSHOT_LIST_MAX,
  REMOTE_STRING_MAX,
  remote_connect_get_all_domain_stats_ret,
  remote_domain_list_all_snapshots_ret,
  remote_nonnull_domain,
  remote_typed_param_value,
} from '../generated/remote-protocol';
import { VIR_UUID_BUFLEN } from '../generated/libvirt-headers';

// @stellar/js-xdr ships no type declarations; the bench uses it through this small local interface.
const XDR = require('@stellar/js-xdr') as { config: (fn: (x: StellarBuilder) => void) => Record<string, StellarType> };

/** What the bench needs of a js-xdr type: a constructor with static toXDR/fromXDR. */
export interface StellarType {
  new (...args: unknown[]): unknown;
  toXDR(v: unknown): Buffer;
  fromXDR(b: Uint8Array): unknown;
}

/** The parts of js-xdr's TypeBuilder used here (its methods return opaque references). */
interface StellarBuilder {
  typedef(name: string, t: unknown): void;
  struct(name: string, fields: [string, unknown][]): void;
  union(name: string, cfg: { switchOn: unknown; switches: [number, string][]; arms: Record<string, unknown> }): void;
  lookup(name: string): unknown;
  string(max: number): unknown;
  opaque(n: number): unknown;
  varArray(t: unknown, max: number): unknown;
  int(): unknown;
  uint(): unknown;
  hyper(): unknown;
  uhyper(): unknown;
  double(): unknown;
}

/** remote_protocol.x's types used by the bench, as js-xdr types. */
export const stellar = XDR.config((x) => {
  x.typedef('remote_nonnull_string', x.string(REMOTE_STRING_MAX));
  x.typedef('remote_uuid', x.opaque(VIR_UUID_BUFLEN));
  x.struct('remote_nonnull_domain', [
    ['name', x.lookup('remote_nonnull_string')],
    ['uuid', x.lookup('remote_uuid')],
    ['id', x.int()],
  ]);
  x.struct('remote_nonnull_domain_snapshot', [
    ['name', x.lookup('remote_nonnull_string')],
    ['dom', x.lookup('remote_nonnull_domain')],
  ]);
  x.struct('remote_domain_list_all_snapshots_ret', [
    ['snapshots', x.varArray(x.lookup('remote_nonnull_domain_snapshot'), REMOTE_DOMAIN_SNAPSHOT_LIST_MAX)],
    ['ret', x.int()],
  ]);
  // VIR_TYPED_PARAM_INT .. VIR_TYPED_PARAM_STRING are 1..7 (libvirt-common.h.in).
  x.union('remote_typed_param_value', {
    switchOn: x.int(),
    switches: [
      [1, 'i'],
      [2, 'ui'],
      [3, 'l'],
      [4, 'ul'],
      [5, 'd'],
      [6, 'b'],
      [7, 's'],
    ],
    arms: { i: x.int(), ui: x.uint(), l: x.hyper(), ul: x.uhyper(), d: x.double(), b: x.int(), s: x.lookup('remote_nonnull_string') },
  });
  x.struct('remote_typed_param', [
    ['field', x.lookup('remote_nonnull_string')],
    ['value', x.lookup('remote_typed_param_value')],
  ]);
  x.struct('remote_domain_stats_record', [
    ['dom', x.lookup('remote_nonnull_domain')],
    ['params', x.varArray(x.lookup('remote_typed_param'), REMOTE_CONNECT_GET_ALL_DOMAIN_STATS_MAX)],
  ]);
  x.struct('remote_connect_get_all_domain_stats_ret', [['retStats', x.varArray(x.lookup('remote_domain_stats_record'), REMOTE_DOMAIN_LIST_MAX)]]);
});

const S = stellar;

function domain(d: remote_nonnull_domain): unknown {
  return new S.remote_nonnull_domain({ name: d.name, uuid: Buffer.from(d.uuid), id: d.id });
}

function paramValue(v: remote_typed_param_value): unknown {
  const arm = Object.keys(v).find((k) => k !== 'type')!;
  return new S.remote_typed_param_value(v.type, (v as unknown as Record<string, unknown>)[arm]);
}

/** The js-xdr instance of a `remote_domain_list_all_snapshots_ret` value. */
export function toStellarSnapshots(v: remote_domain_list_all_snapshots_ret): unknown {
  return new S.remote_domain_list_all_snapshots_ret({
    snapshots: v.snapshots.map((s) => new S.remote_nonnull_domain_snapshot({ name: s.name, dom: domain(s.dom) })),
    ret: v.ret,
  });
}

/** The js-xdr instance of a `remote_connect_get_all_domain_stats_ret` value. */
export function toStellarStats(v: remote_connect_get_all_domain_stats_ret): unknown {
  return new S.remote_connect_get_all_domain_stats_ret({
    retStats: v.retStats.map(
      (r) =>
        new S.remote_domain_stats_record({
          dom: domain(r.dom),
          params: r.params.map((p) => new S.remote_typed_param({ field: p.field, value: paramValue(p.value) })),
        }),
    ),
  });
}
