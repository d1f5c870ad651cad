/**
 * Emits what the engine needs to call each RPC program: a descriptor per procedure, the program's table, and
 * the typed API interfaces built from it.
 *
 * The output is laid out per use, so a bundler keeps only what a program imports:
 * - `<prog>-procedures.ts`: the program's identity (`<prog>_program_id`) and one exported descriptor per
 *   procedure, named after its method (`domainLookupByName`), each naming only its own codecs. The object layer
 *   imports the few it calls.
 * - `<prog>-table.ts`: `<prog>_procedures` (every descriptor, by number), `<prog>_program`, and the typed
 *   interfaces `<Prog>Procedures` / `<Prog>Messages`. Only the full typed API (`libvirt-rpc/raw`) imports it.
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

/** One procedure, as the emitters need it. */
export interface ProcedureRow {
  number: number;
  name: string;
  method: string;
  args: string | null;
  ret: string | null;
  msg: string | null;
  priority: 'high' | 'low';
  stream: 'read' | 'write' | null;
  sparseFlag: string | null;
  generate: string | null;
  acl: string[];
  aclFilter: string[];
}

/** One program of a `.x` file: `remote` with its number, version and procedures by ascending number. */
export interface ProgramRows {
  prefix: string;
  PREFIX: string;
  procs: ProcedureRow[];
}

/** Finds every program defined in `defs` (an enum `<prog>_procedure` with `<PROG>_PROGRAM` and a version). */
export function collectPrograms(w: ModuleWriter, defs: Definition[]): ProgramRows[] {
  const m = w.model;
  const found: ProgramRows[] = [];
  for (const d of defs) {
    if (d.kind !== 'enum' || !d.name.endsWith('_procedure')) continue;
    const prefix = d.name.slice(0, -'_procedure'.length); // e.g. remote
    const PREFIX = prefix.toUpperCase();
    if (m.constants.get(`${PREFIX}_PROGRAM`) === undefined || m.constants.get(`${PREFIX}_PROTOCOL_VERSION`) === undefined) continue;
    const procs = d.members.map((mem): ProcedureRow => {
      const procPrefix = `${PREFIX}_PROC_`;
      if (!mem.name.startsWith(procPrefix)) throw new Error(`${d.name}: ${mem.name} does not start with ${procPrefix}`);
      const rest = mem.name.slice(procPrefix.length);
      const base = `${prefix}_${rest.toLowerCase()}`;
      const a = mem.annotations;
      return {
        number: m.value(mem.value, mem.name),
        name: mem.name,
        method: methodName(rest),
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
    found.push({ prefix, PREFIX, procs });
  }
  return found;
}

const q = (s: string | null): string => (s === null ? 'null' : `'${s}'`);
const list = (xs: string[]): string => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/**
 * The descriptor object literal of one procedure. `codec(T)` returns the expression naming `xdr_T` in the
 * module being written (importing it where needed).
 */
function descriptor(p: ProcedureRow, programId: string, codec: (t: string) => string): string {
  return (
    `{ program: ${programId}, number: ${p.number}, name: '${p.name}', method: '${p.method}', ` +
    `args: ${p.args ? codec(p.args) : 'null'}, ret: ${p.ret ? codec(p.ret) : 'null'}, message: ${p.msg ? codec(p.msg) : 'null'}, ` +
    `priority: '${p.priority}', stream: ${q(p.stream)}, sparseFlag: ${q(p.sparseFlag)}, generate: ${q(p.generate)}, ` +
    `acl: ${list(p.acl)}, aclFilter: ${list(p.aclFilter)} }`
  );
}

/** `ProcedureInfo<A, R, M>` for a procedure: its argument, reply and message types (void when absent). */
function procedureType(p: ProcedureRow): string {
  return `ProcedureInfo<${p.args ?? 'void'}, ${p.ret ?? 'void'}, ${p.msg ?? 'void'}>`;
}

/**
 * The program as a whole, spelled out rather than spread from `<prog>_program_id`: bundlers treat an object
 * spread as a possible side effect, and the table module must stay droppable when nothing uses it.
 */
function programLiteral(prog: ProgramRows, programConst: (c: string) => string): string {
  return (
    `{ name: '${prog.PREFIX}', program: ${programConst(`${prog.PREFIX}_PROGRAM`)}, ` +
    `version: ${programConst(`${prog.PREFIX}_PROTOCOL_VERSION`)}, procedures: ${prog.prefix}_procedures }`
  );
}

/** A function that imports a symbol of `module` into the module `w` writes and returns its name. */
function importer(w: ModuleWriter, module: string): (symbol: string) => string {
  return (symbol) => {
    let set = w.imports.get(module);
    if (!set) w.imports.set(module, (set = new Set()));
    set.add(symbol);
    return symbol;
  };
}

/** The program's identity: what the engine needs to frame and route its messages. */
function emitProgramId(w: ModuleWriter, prog: ProgramRows, programConst: (c: string) => string): void {
  w.push(
    `/** The ${prog.PREFIX} program's number and version on the wire. */`,
    `export const ${prog.prefix}_program_id: ProgramId = { name: '${prog.PREFIX}', program: ${programConst(`${prog.PREFIX}_PROGRAM`)}, version: ${programConst(`${prog.PREFIX}_PROTOCOL_VERSION`)} };`,
    '',
  );
}

/**
 * `<prog>-procedures.ts`: the program id and one descriptor per procedure, named after its method. Types and
 * codecs come from the program's protocol module.
 */
export function emitProcedureDescriptors(w: ModuleWriter, prog: ProgramRows, protocolModule: string): void {
  emitProgramId(w, prog, importer(w, protocolModule));
  for (const p of prog.procs) {
    for (const t of [p.args, p.ret, p.msg]) if (t) w.use(t, t);
    const flags = [`${p.name} = ${p.number}`, `priority ${p.priority}`];
    if (p.stream) flags.push(`${p.stream} stream`);
    if (p.msg) flags.push('event (sent by the daemon)');
    w.push(
      `/** ${flags.join(', ')}. */`,
      `export const ${p.method}: ${procedureType(p)} = ${descriptor(p, `${prog.prefix}_program_id`, (t) => w.use(t, `xdr_${t}`))};`,
    );
  }
  w.push('');
}

/** The typed call API and the event payload map of a program. */
function emitInterfaces(w: ModuleWriter, prog: ProgramRows): void {
  const P = pascal(prog.prefix);
  // The typed call API: one method per procedure the client may call (events are received, not called).
  w.push(`/** Typed methods for every callable procedure of the ${prog.PREFIX} program. Built at run time from \`${prog.prefix}_procedures\`. */`);
  w.push(`export interface ${P}Procedures {`);
  for (const p of prog.procs) {
    if (p.msg) continue;
    const ret = p.ret ?? 'void';
    const flags = [`${p.name} = ${p.number}`, `priority ${p.priority}`];
    if (p.stream) flags.push(`${p.stream} stream`);
    w.push(`  /** ${flags.join(', ')}. */`);
    if (p.args) w.push(`  ${p.method}(args: ${w.use(p.args, p.args)}, options?: CallOptions): Promise<${p.ret ? w.use(p.ret, p.ret) : ret}>;`);
    else w.push(`  ${p.method}(options?: CallOptions): Promise<${p.ret ? w.use(p.ret, p.ret) : ret}>;`);
  }
  w.push('}', '');
  w.push(`/** Payload types of the ${prog.PREFIX} program's server-sent messages (events), by method name. */`);
  w.push(`export interface ${P}Messages {`);
  for (const p of prog.procs) if (p.msg) w.push(`  /** ${p.name} = ${p.number}. */`, `  ${p.method}: ${w.use(p.msg, p.msg)};`);
  w.push('}', '');
}

/**
 * `<prog>-table.ts`: every descriptor by number, the program, and the typed interfaces. It imports every
 * descriptor, so only code that wants the whole program (the typed `raw` API, tools) should import it.
 */
export function emitTable(w: ModuleWriter, prog: ProgramRows, proceduresModule: string, protocolModule: string): void {
  const fromProcedures = importer(w, proceduresModule);
  w.push(`/** Every procedure of the ${prog.PREFIX} program, by ascending number. */`, `export const ${prog.prefix}_procedures: readonly ProcedureInfo[] = [`);
  for (const p of prog.procs) w.push(`  ${fromProcedures(p.method)},`);
  w.push('];', '');
  w.push(
    `/** The ${prog.PREFIX} program: number, version and procedures. */`,
    `export const ${prog.prefix}_program: ProgramInfo = ${programLiteral(prog, importer(w, protocolModule))};`,
    '',
  );
  emitInterfaces(w, prog);
}

/**
 * Everything of a program in the module being written (standalone `.x` files such as rpcgen's demo, which
 * have no sibling modules): the program id, `<prog>_procedures` with inline descriptors, the program and the
 * typed interfaces.
 */
export function emitProgramInline(w: ModuleWriter, prog: ProgramRows): void {
  emitProgramId(w, prog, (c) => c);
  w.push(`/** Every procedure of the ${prog.PREFIX} program, by ascending number. */`, `export const ${prog.prefix}_procedures: readonly ProcedureInfo[] = [`);
  for (const p of prog.procs) w.push(`  ${descriptor(p, `${prog.prefix}_program_id`, (t) => w.use(t, `xdr_${t}`))},`);
  w.push('];', '');
  w.push(
    `/** The ${prog.PREFIX} program: number, version and procedures. */`,
    `export const ${prog.prefix}_program: ProgramInfo = ${programLiteral(prog, (c) => c)};`,
    '',
  );
  emitInterfaces(w, prog);
}
