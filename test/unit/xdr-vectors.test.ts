/**
 * libvirt's own rpcgen test vectors: every .bin decodes with the codec generated from demo.x, consuming every
 * byte, and re-encodes to the same bytes. The declared maxima are enforced both ways.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as demo from '../generated-demo/demo';
import { XdrError } from '../../src/errors';
import { xdrDecode, xdrEncode, XdrCodec } from '../../src/protocol/xdr';

const DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'protocol', 'rpcgen-vectors');
const codecs = demo as unknown as Record<string, XdrCodec<unknown>>;

/** `test_demo_struct_pointer_set.bin` -> `TestStructPointer`; `test_demo_union_case.bin` -> `TestUnion`. */
function typeOf(file: string): string {
  let stem = file.replace(/^test_demo_/, '').replace(/\.bin$/, '');
  stem = stem.replace(/_(set|null|empty)$/, '');
  if (stem.startsWith('union')) stem = stem.replace(/_(case|default)$/, '');
  if (!stem.startsWith('test_')) stem = `test_${stem}`;
  return stem
    .split('_')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}

const vectors = fs.readdirSync(DIR).filter((f) => f.endsWith('.bin')).sort();

test('the vector folder has the files the README describes', () => {
  expect(vectors.length).toBe(37);
});

describe.each(vectors)('%s', (file) => {
  const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, file)));
  const type = typeOf(file);

  test(`decodes as ${type} using every byte and re-encodes to the same bytes`, () => {
    const codec = codecs[`xdr_${type}`];
    expect(codec).toBeDefined();
    const value = xdrDecode(codec, bytes);
    expect(Buffer.from(xdrEncode(codec, value))).toEqual(Buffer.from(bytes));
  });

  test('every shorter prefix fails with XdrError', () => {
    const codec = codecs[`xdr_${type}`];
    for (let cut = 0; cut < bytes.length; cut++) {
      expect(() => xdrDecode(codec, bytes.subarray(0, cut))).toThrow(XdrError);
    }
  });

  test('one extra byte is refused as left over', () => {
    const codec = codecs[`xdr_${type}`];
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => xdrDecode(codec, longer)).toThrow(/left over/);
  });
});

describe('declared maxima', () => {
  const lenWord = (n: number, extra: number[] = []): Uint8Array => {
    const b = new Uint8Array(4 + extra.length);
    new DataView(b.buffer).setUint32(0, n);
    b.set(extra, 4);
    return b;
  };

  test('int<5>: 5 items round-trip, 6 fail both ways', () => {
    expect(xdrDecode(demo.xdr_TestIntVariableArray, xdrEncode(demo.xdr_TestIntVariableArray, [1, 2, 3, 4, 5]))).toEqual([1, 2, 3, 4, 5]);
    expect(() => xdrEncode(demo.xdr_TestIntVariableArray, [1, 2, 3, 4, 5, 6])).toThrow('TestIntVariableArray: array of 6 items exceeds 5');
    expect(() => xdrDecode(demo.xdr_TestIntVariableArray, lenWord(6, new Array(24).fill(0)))).toThrow('array of 6 items exceeds 5');
  });

  test('string<7>: 7 bytes round-trip, 8 fail both ways', () => {
    expect(xdrDecode(demo.xdr_TestStringVariableArray, xdrEncode(demo.xdr_TestStringVariableArray, 'abcdefg'))).toBe('abcdefg');
    expect(() => xdrEncode(demo.xdr_TestStringVariableArray, 'abcdefgh')).toThrow('string of at least 8 bytes exceeds 7');
    expect(() => xdrDecode(demo.xdr_TestStringVariableArray, lenWord(8, [...Buffer.from('abcdefgh')]))).toThrow('exceeds 7');
  });

  test('opaque<11> and opaque[9]', () => {
    expect(() => xdrEncode(demo.xdr_TestOpaqueVariableArray, new Uint8Array(12))).toThrow('opaque of 12 bytes exceeds 11');
    expect(() => xdrDecode(demo.xdr_TestOpaqueVariableArray, lenWord(12, new Array(12).fill(0)))).toThrow('exceeds 11');
    expect(() => xdrEncode(demo.xdr_TestOpaqueFixedArray, new Uint8Array(8))).toThrow('exactly 9 bytes');
  });

  test('a maximum violated deep inside a struct names the field path', () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(DIR, 'test_demo_test_struct_all_types.bin')));
    const v = xdrDecode(demo.xdr_TestStructAllTypes, bytes) as demo.TestStructAllTypes;
    v.sva[1] = { c1: 1, c2: 300 };
    expect(() => xdrEncode(demo.xdr_TestStructAllTypes, v)).toThrow('TestStructAllTypes.sva[1].c2: expected an integer in -128..127, got number 300');
  });
});
