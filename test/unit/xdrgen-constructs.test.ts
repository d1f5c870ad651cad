/** The generator on small `.x` snippets, one construct at a time; each generated module is run, not just read. */
import { XdrError } from '../../src/errors';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';
import { parseX } from '../../scripts/xdrgen/parser';
import { compileSnippet, snippetSource } from '../helpers/xdr-snippet';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('const: decimal, hex, octal, negative, and references', () => {
  const m = compileSnippet('const A = 25; const B = 0x27; const C = 031; const D = -7; const E = B;');
  expect([m.A, m.B, m.C, m.D, m.E]).toEqual([25, 39, 25, -7, 39]);
});

test('constants from C headers resolve; an unknown one is a clear error', () => {
  const m = compileSnippet('typedef opaque u[VIR_UUID_BUFLEN];', { VIR_UUID_BUFLEN: 16 });
  expect(() => xdrEncode(m.xdr_u, new Uint8Array(15))).toThrow('exactly 16 bytes');
  expect(() => compileSnippet('typedef opaque u[NOPE];')).toThrow('unknown constant NOPE');
});

test('enum: an as-const object, 4 bytes on the wire', () => {
  const m = compileSnippet('enum color { RED = 1, GREEN = 2 };');
  expect(m.color).toEqual({ RED: 1, GREEN: 2 });
  expect(hex(xdrEncode(m.xdr_color, 2))).toBe('00000002');
});

test('struct of every primitive, with char and short taking 4 bytes each', () => {
  const m = compileSnippet(`struct s { int a; unsigned int b; hyper c; unsigned hyper d; bool e; float f; double g;
    char h; unsigned char i; short j; unsigned short k; unsigned l; };`);
  const v = { a: -1, b: 4294967295, c: -(2n ** 63n), d: 2n ** 64n - 1n, e: true, f: 1.5, g: -2.25, h: -128, i: 255, j: -32768, k: 65535, l: 7 };
  const bytes = xdrEncode(m.xdr_s, v);
  expect(bytes.length).toBe(4 + 4 + 8 + 8 + 4 + 4 + 8 + 4 * 5);
  expect(xdrDecode(m.xdr_s, bytes)).toEqual(v);
  expect(() => xdrEncode(m.xdr_s, { ...v, b: -1 })).toThrow('s.b: expected a 32-bit unsigned integer');
  expect(() => xdrEncode(m.xdr_s, { ...v, c: 1 })).toThrow('s.c: expected a 64-bit signed bigint, got number 1');
  expect(() => xdrEncode(m.xdr_s, { ...v, d: -1n })).toThrow('s.d');
  expect(() => xdrEncode(m.xdr_s, null)).toThrow('s: expected an object, got null');
});

test('bool other than 0 or 1 is refused on decode', () => {
  const m = compileSnippet('struct s { int x; bool b; };');
  expect(() => xdrDecode(m.xdr_s, Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 2]))).toThrow('s.b: bool must be 0 or 1, got 2');
});

test('union: cases, shared cases, default arm, void arm, no default', () => {
  const m = compileSnippet(`
    union u switch (int kind) { case 1: case 2: int i; case 3: void; default: hyper h; };
    union n switch (unsigned int kind) { case 7: string s<4>; };`);
  for (const v of [{ kind: 1, i: 5 }, { kind: 2, i: -5 }, { kind: 3 }, { kind: 99, h: 3n }]) {
    expect(xdrDecode(m.xdr_u, xdrEncode(m.xdr_u, v))).toEqual(v);
  }
  expect(hex(xdrEncode(m.xdr_u, { kind: 3 }))).toBe('00000003');
  expect(() => xdrEncode(m.xdr_n, { kind: 8 })).toThrow('n.kind: union discriminant 8 has no arm and there is no default');
  expect(() => xdrDecode(m.xdr_n, Uint8Array.from([0, 0, 0, 8]))).toThrow(XdrError);
  expect(() => xdrEncode(m.xdr_n, { kind: 7, s: 'toolong' })).toThrow('n.s: string of at least 7 bytes exceeds 4');
});

test('typedef, fixed and variable arrays, unbounded arrays, optional data', () => {
  const m = compileSnippet(`
    typedef string name<8>;
    typedef name *maybe_name;
    struct item { name n; maybe_name m; int fixed[2]; int any<>; name names<3>; item *next; };`);
  const v = { n: 'a', m: null, fixed: [1, 2], any: [], names: ['x', 'y'], next: { n: 'b', m: 'c', fixed: [3, 4], any: [9], names: [], next: null } };
  expect(xdrDecode(m.xdr_item, xdrEncode(m.xdr_item, v))).toEqual(v);
  expect(() => xdrEncode(m.xdr_item, { ...v, fixed: [1] })).toThrow('item.fixed: fixed array needs exactly 2 items, got 1');
  expect(() => xdrEncode(m.xdr_item, { ...v, names: ['a', 'b', 'c', 'd'] })).toThrow('item.names: array of 4 items exceeds 3');
  expect(() => xdrEncode(m.xdr_item, { ...v, next: { ...v.next, names: ['123456789'] } })).toThrow('item.next.names[0]: string of at least 9 bytes exceeds 8');
});

test('opaque fixed and variable, with zero padding checked', () => {
  const m = compileSnippet('struct s { opaque f[3]; opaque v<5>; };');
  const bytes = xdrEncode(m.xdr_s, { f: Uint8Array.of(1, 2, 3), v: Uint8Array.of(9) });
  expect(hex(bytes)).toBe('01020300' + '00000001' + '09000000');
  const bad = bytes.slice();
  bad[3] = 1;
  expect(() => xdrDecode(m.xdr_s, bad)).toThrow('s.f: non-zero padding bytes');
});

test('strings are UTF-8 and the maximum counts bytes', () => {
  const m = compileSnippet('typedef string s<4>;');
  expect(xdrDecode(m.xdr_s, xdrEncode(m.xdr_s, 'é€'.slice(0, 1)))).toBe('é');
  expect(() => xdrEncode(m.xdr_s, 'é€')).toThrow('string of 5 bytes exceeds 4'); // 2 + 3 bytes
  expect(() => xdrDecode(m.xdr_s, Uint8Array.of(0, 0, 0, 2, 0xc3, 0x28, 0, 0))).toThrow('not valid UTF-8');
  expect(() => xdrEncode(m.xdr_s, 'a\ud800')).toThrow('lone UTF-16 surrogate');
  expect(xdrDecode(m.xdr_s, xdrEncode(m.xdr_s, '😀'))).toBe('😀');
});

test('anonymous inline struct, union and enum are hoisted to named types', () => {
  const m = compileSnippet(`struct outer { struct { int a; } inner; enum { X = 1, Y = 2 } e; union switch (int d) { case 0: void; } u; };`);
  expect(m.xdr_outer_inner).toBeDefined();
  expect(m.outer_e).toEqual({ X: 1, Y: 2 });
  const v = { inner: { a: 1 }, e: 2, u: { d: 0 } };
  expect(xdrDecode(m.xdr_outer, xdrEncode(m.xdr_outer, v))).toEqual(v);
});

test('% passthrough lines and comments are skipped; syntax errors name the line', () => {
  const x = parseX('%#include "x.h"\n/* c */\nconst A = 1;\n', 'a.x');
  expect(x.passthrough).toEqual(['#include "x.h"']);
  expect(() => parseX('const A = 1;\nstruct s { int };', 'b.x')).toThrow(/b\.x:2: expected an identifier/);
  expect(() => parseX('typedef string s;', 'c.x')).toThrow(/string must be declared with <max>/);
});

test('procedure annotations and naming build the program table', () => {
  const src = `
    struct demo_do_thing_args { int x; };
    struct demo_do_thing_ret { int y; };
    struct demo_event_fired_msg { int z; };
    const DEMO_PROGRAM = 0x1234;
    const DEMO_PROTOCOL_VERSION = 1;
    enum demo_procedure {
      /** @generate: both
       * @priority: high
       * @acl: domain:read
       * @acl: domain:write:FLAG */
      DEMO_PROC_DO_THING = 1,
      /** @generate: none
       * @readstream: 1
       * @sparseflag: VIR_SPARSE */
      DEMO_PROC_DOWNLOAD = 2,
      /** @generate: both */
      DEMO_PROC_EVENT_FIRED = 3
    };`;
  const m = compileSnippet(src);
  const [a, b, c] = m.demo_procedures;
  expect(a).toMatchObject({ number: 1, name: 'DEMO_PROC_DO_THING', method: 'doThing', priority: 'high', stream: null, acl: ['domain:read', 'domain:write:FLAG'], message: null });
  expect(a.args.name).toBe('demo_do_thing_args');
  expect(a.ret.name).toBe('demo_do_thing_ret');
  expect(b).toMatchObject({ method: 'download', stream: 'read', sparseFlag: 'VIR_SPARSE', priority: 'low', args: null, ret: null, generate: 'none' });
  expect(c.message.name).toBe('demo_event_fired_msg');
  expect(m.demo_program).toMatchObject({ name: 'DEMO', program: 0x1234, version: 1 });
  const text = snippetSource(src);
  expect(text).toContain('doThing(args: demo_do_thing_args, options?: CallOptions): Promise<demo_do_thing_ret>;');
  expect(text).toContain('download(options?: CallOptions): Promise<void>;');
  expect(text).toMatch(/export interface DemoMessages \{[^}]*eventFired: demo_event_fired_msg;/);
  expect(text.startsWith('// Code generated by scripts/xdrgen from libvirt test. DO NOT EDIT.')).toBe(true);
});

test('output is deterministic', () => {
  const src = 'struct a { int x<3>; string s<2>; }; union b switch (int t) { case 1: a v; default: void; };';
  expect(snippetSource(src)).toBe(snippetSource(src));
});

test('opaque values are copies, also when decoding from a Node Buffer that is later reused', () => {
  const m = compileSnippet('struct s { opaque f[4]; opaque v<8>; };');
  const buf = Buffer.from(xdrEncode(m.xdr_s, { f: Uint8Array.of(1, 2, 3, 4), v: Uint8Array.of(5, 6) }));
  const v = xdrDecode(m.xdr_s, buf) as { f: Uint8Array; v: Uint8Array };
  buf.fill(0);
  expect([...v.f, ...v.v]).toEqual([1, 2, 3, 4, 5, 6]);
  expect(Buffer.isBuffer(v.f)).toBe(false);
});
