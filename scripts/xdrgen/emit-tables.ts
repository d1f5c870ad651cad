/**
 * Emits the procedure table of each RPC program in a file (an enum `<prog>_procedure` with constants
 * `<PROG>_PROGRAM` and `<PROG>_PROTOCOL_VERSION`), and the typed API interface built from it.
 *
 * Argument and reply structs are found by libvirt's naming rule (src/rpc/gendispatch.pl): procedure
 * `REMOTE_PROC_DOMAIN_GET_XML_DESC` uses `remote_domain_get_xml_desc_args` / `_ret`; an event the server sends
 * unasked uses `_msg`. A missing struct means the call sends or returns nothing.
 */
import type { Definition } from './ast';
import type { ModuleWriter } from './emit-codecs';

/** `DOMAIN_SNAPSHOT_LIST_ALL_SNAPSHOTS` -> `domainSnapshotListAllSnapshots`. */
export function methodName(rest: string): string {
  return rest
    .toLowerCase()
    .split('_')
    .map((p, i) => (i === 0 ? p : p.charAt(0).toUpperCase() + p.slice(1)))
    .join('');
}

/** `remote` -> `Remote`. */
function pascal(s: string): string {
  return methodName(s).replace(/^./, (c) => c.toUpperCase());
}

/** Emits tables for every program defined in `defs`; returns the program names found. */
export function emitPrograms(w: ModuleWriter, defs: Definition[]): string[] {
  const m = w.model;
  const found: string[] = [];
  for (const d of defs) {
    if (d.kind !== 'enum' || !d.name.endsWith('_procedure')) continue;
    const prefix = d.name.slice(0, -'_procedure'.length); // e.g. remote
    const PREFIX = prefix.toUpperCase();
    const progNum = m.constants.get(`${PREFIX}_PROGRAM`);
    const version = m.constants.get(`${PREFIX}_PROTOCOL_VERSION`);
    if (progNum === undefined || version === undefined) continue;
    found.push(prefix);
    const codec = (struct: string): string => {
      if (!m.types.has(struct)) return 'null';
      return w.use(struct, `xdr_${struct}`);
    };
    const procs = d.members.map((mem) => {
      const procPrefix = `${PREFIX}_PROC_`;
      if (!mem.name.startsWith(procPrefix)) throw new Error(`${d.name}: ${mem.name} does not start with ${procPrefix}`);
      const rest = mem.name.slice(procPrefix.length);
      const base = `${prefix}_${rest.toLowerCase()}`;
      const a = mem.annotations;
      return {
        number: m.value(mem.value, mem.name),
        name: mem.name,
        method: methodName(rest),
        base,
        args: m.types.has(`${base}_args`) ? `${base}_args` : null,
        ret: m.types.has(`${base}_ret`) ? `${base}_ret` : null,
        msg: m.types.has(`${base}_msg`) ? `${base}_msg` : null,
        priority: a?.priority === 'high' ? 'high' : 'low',
        stream: a?.readStream != null ? 'read' : a?.writeStream != null ? 'write' : null,
        sparseFlag: a?.sparseFlag ?? null,
        generate: a?.generate ?? null,
        acl: a?.acl ?? [],
        aclFilter: a?.aclFilter ?? [],
      };
    });
    procs.sort((x, y) => x.number - y.number);
    const P = pascal(prefix);
    const q = (s: string | null): string => (s === null ? 'null' : `'${s}'`);
    const list = (xs: string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}]`;
    w.push(`/** Every procedure of the ${PREFIX} program, by ascending number. */`, `export const ${prefix}_procedures: readonly ProcedureInfo[] = [`);
    for (const p of procs) {
      w.push(
        `  { number: ${p.number}, name: '${p.name}', method: '${p.method}', ` +
          `args: ${p.args ? codec(p.args) : 'null'} as XdrCodec<unknown> | null, ret: ${p.ret ? codec(p.ret) : 'null'} as XdrCodec<unknown> | null, ` +
          `message: ${p.msg ? codec(p.msg) : 'null'} as XdrCodec<unknown> | null, priority: '${p.priority}', stream: ${q(p.stream)}, ` +
          `sparseFlag: ${q(p.sparseFlag)}, generate: ${q(p.generate)}, acl: ${list(p.acl)}, aclFilter: ${list(p.aclFilter)} },`,
      );
    }
    w.push('];', '');
    w.push(
      `/** The ${PREFIX} program: number, version and procedures. */`,
      `export const ${prefix}_program: ProgramInfo = { name: '${PREFIX}', program: ${PREFIX}_PROGRAM, version: ${PREFIX}_PROTOCOL_VERSION, procedures: ${prefix}_procedures };`,
      '',
    );
    // The typed call API: one method per procedure the client may call (events are received, not called).
    w.push(`/** Typed methods for every callable procedure of the ${PREFIX} program. Built at run time from \`${prefix}_procedures\`. */`);
    w.push(`export interface ${P}Procedures {`);
    for (const p of procs) {
      if (p.msg) continue;
      const ret = p.ret ?? 'void';
      const flags = [`${p.name} = ${p.number}`, `priority ${p.priority}`];
      if (p.stream) flags.push(`${p.stream} stream`);
      w.push(`  /** ${flags.join(', ')}. */`);
      if (p.args) w.push(`  ${p.method}(args: ${p.args}, options?: CallOptions): Promise<${ret}>;`);
      else w.push(`  ${p.method}(options?: CallOptions): Promise<${ret}>;`);
    }
    w.push('}', '');
    w.push(`/** Payload types of the ${PREFIX} program's server-sent messages (events), by method name. */`);
    w.push(`export interface ${P}Messages {`);
    for (const p of procs) if (p.msg) w.push(`  /** ${p.name} = ${p.number}. */`, `  ${p.method}: ${p.msg};`);
    w.push('}', '');
  }
  return found;
}
