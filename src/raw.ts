/**
 * `libvirt-rpc/raw`: the whole typed procedure API, and every generated table and codec.
 *
 * Importing this module makes `conn.raw.remote.*`, `conn.raw.qemu.*` and `conn.raw.lxc.*` available: one typed
 * method per procedure of each program, built at run time from the generated tables (nothing is written per
 * procedure). It carries every procedure's codecs, so browser bundles that only need a few calls skip it and
 * use `conn.raw.call(descriptor, args)` with the descriptors they import. The Node entry imports it.
 */
import { lxc_program } from '../generated/lxc-table.js';
import { qemu_program } from '../generated/qemu-table.js';
import { remote_program } from '../generated/remote-table.js';
import { installTypedApi, type RemoteConnection } from './protocol/connection.js';
import type { CallOptions, ProcedureInfo, ProgramInfo } from './protocol/program.js';

export * from '../generated/index.js';

const CONN = Symbol('connection');
type Holder = { [CONN]: RemoteConnection };

/** One prototype per program, holding a method per callable procedure; connections only add themselves. */
const PROTOTYPES = new WeakMap<ProgramInfo, object>();

function apiPrototype(program: ProgramInfo): object {
  let proto = PROTOTYPES.get(program);
  if (proto) return proto;
  const methods: Record<string, unknown> = {};
  for (const p of program.procedures) {
    if (p.message) continue; // events are received, not called
    const proc = p as ProcedureInfo;
    methods[p.method] = p.args
      ? function (this: Holder, args: unknown, opts?: CallOptions) {
          return this[CONN].call(proc, args, opts);
        }
      : function (this: Holder, opts?: CallOptions) {
          return this[CONN].call(proc, undefined, opts);
        };
  }
  proto = Object.freeze(methods);
  PROTOTYPES.set(program, proto);
  return proto;
}

const PROGRAMS = { remote: remote_program, qemu: qemu_program, lxc: lxc_program } as const;

/**
 * The typed API object of one program on one connection: one method per callable procedure. The methods live
 * on a prototype built once per program, so a connection does not build hundreds of closures.
 */
export function typedApi(conn: RemoteConnection, program: keyof typeof PROGRAMS): object {
  return Object.freeze(Object.create(apiPrototype(PROGRAMS[program]), { [CONN]: { value: conn } }));
}

installTypedApi(typedApi);
