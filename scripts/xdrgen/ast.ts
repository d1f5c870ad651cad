/** The syntax tree of an XDR (RFC 4506) file with libvirt's rpcgen extensions. */

/** A constant reference as written: a literal number or the name of a constant. */
export type Value = { kind: 'num'; value: number } | { kind: 'ref'; name: string };

/** The primitive XDR types. `char` and `short` are 4 bytes on the wire, as libvirt's rpcgen encodes them. */
export type Primitive =
  | 'int'
  | 'uint'
  | 'hyper'
  | 'uhyper'
  | 'bool'
  | 'float'
  | 'double'
  | 'char'
  | 'uchar'
  | 'short'
  | 'ushort';

/** A type specifier: a primitive, `string`, `opaque`, or a named type. */
export type TypeSpec = { kind: 'prim'; prim: Primitive } | { kind: 'string' } | { kind: 'opaque' } | { kind: 'named'; name: string };

/** A declaration: `T x`, `T *x`, `T x[n]`, `T x<n>`, `T x<>`, or `void`. */
export type Declaration =
  | { form: 'void' }
  | { form: 'plain' | 'optional'; name: string; type: TypeSpec }
  | { form: 'fixed'; name: string; type: TypeSpec; size: Value }
  | { form: 'variable'; name: string; type: TypeSpec; max: Value | null };

/** A procedure annotation block (`/** @generate: both ... *\/`) attached to a procedure enum member. */
export interface Annotations {
  generate: string | null;
  priority: string | null;
  acl: string[];
  aclFilter: string[];
  readStream: number | null;
  writeStream: number | null;
  sparseFlag: string | null;
}

export interface EnumMember {
  name: string;
  value: Value;
  annotations: Annotations | null;
}

export type Definition =
  | { kind: 'const'; name: string; value: Value }
  | { kind: 'enum'; name: string; members: EnumMember[] }
  | { kind: 'struct'; name: string; fields: Declaration[] }
  | {
      kind: 'union';
      name: string;
      discriminant: Declaration;
      arms: { cases: Value[]; decl: Declaration }[];
      defaultArm: Declaration | null;
    }
  | { kind: 'typedef'; decl: Declaration };

/** One parsed `.x` file. */
export interface XFile {
  /** File name without folder, e.g. `remote_protocol.x`. */
  file: string;
  definitions: Definition[];
  /** `%` lines, passed through by rpcgen to C; kept for completeness, not emitted into TypeScript. */
  passthrough: string[];
}
