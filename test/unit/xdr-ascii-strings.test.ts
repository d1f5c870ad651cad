/**
 * Long strings go through the Node entry's ASCII decoder (src/node/ascii-strings.ts) when they are plain ASCII,
 * and through the fatal UTF-8 decoder otherwise: the decoded values are the same either way, and bad UTF-8 is
 * still refused.
 */
import { XdrError } from '../../src/errors';
import { setAsciiDecoder, setLatin1Decoder, XdrReader, XdrWriter } from '../../src/protocol/xdr';
import { decodeAscii, decodeLatin1 } from '../../src/node/ascii-strings';

function encoded(s: string): Uint8Array {
  const w = new XdrWriter();
  w.string(s, 1 << 20);
  return w.finish();
}

function rawString(bytes: number[]): Uint8Array {
  const out = new Uint8Array(4 + bytes.length + ((4 - (bytes.length & 3)) & 3));
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

const xml = `<domain type='qemu'>${'<disk><source file="/var/lib/x.qcow2"/></disk>'.repeat(100)}</domain>`;
const samples = [xml, `${xml}é€😀`, 'x'.repeat(255), 'y'.repeat(256), `${'z'.repeat(300)}\u0000\u007f`];

test('long ASCII and non-ASCII strings decode to the same values as without the Node decoder', () => {
  for (const s of samples) {
    expect(new XdrReader(encoded(s)).string(1 << 20)).toBe(s);
    setAsciiDecoder(null);
    try {
      expect(new XdrReader(encoded(s)).string(1 << 20)).toBe(s);
    } finally {
      setAsciiDecoder(decodeAscii);
    }
  }
});

test('the ASCII decoder takes only ASCII', () => {
  expect(decodeAscii(Buffer.from(xml))).toBe(xml);
  expect(decodeAscii(Buffer.from(`${xml}é`))).toBeNull();
  expect(decodeAscii(new Uint8Array([0x61, 0x80]))).toBeNull();
});

test('a long string that is not valid UTF-8 is still refused', () => {
  const bad = [...Buffer.from('a'.repeat(300)), 0xc3, 0x28];
  expect(() => new XdrReader(rawString(bad)).string(1 << 20)).toThrow(XdrError);
  const lone = [...Buffer.from('b'.repeat(300)), 0x80];
  expect(() => new XdrReader(rawString(lone)).string(1 << 20)).toThrow(XdrError);
});

test('the decoded string does not change when the read buffer is reused', () => {
  const bytes = encoded(xml);
  const s = new XdrReader(bytes).string(1 << 20);
  bytes.fill(0x41, 4);
  expect(s).toBe(xml);
});

describe('lists of short names in a large message (decoded from one string of the message)', () => {
  const { xdr_remote_domain_snapshot_list_names_ret: codec } = require('../../generated/remote-protocol') as typeof import('../../generated/remote-protocol');
  const decodeWith = (bytes: Uint8Array, on: boolean) => {
    setAsciiDecoder(on ? decodeAscii : null);
    setLatin1Decoder(on ? decodeLatin1 : null);
    try {
      const r = new XdrReader(bytes);
      const v = codec.decode(r);
      r.done();
      return v;
    } finally {
      setAsciiDecoder(decodeAscii);
      setLatin1Decoder(decodeLatin1);
    }
  };
  const encode = (names: string[]) => {
    const w = new XdrWriter();
    codec.encode(w, { names });
    return w.finish();
  };

  test('every length around the copy limit, empty names, NULs and a count above 127 decode the same as without the Node decoder', () => {
    const names = Array.from({ length: 3000 }, (_, i) => `${'n'.repeat(i % 20)}${i % 7 === 0 ? '\u0000' : ''}`);
    const bytes = encode(names);
    expect(bytes.length).toBeGreaterThan(4096);
    expect(decodeWith(bytes, true).names).toEqual(names);
    expect(decodeWith(bytes, false).names).toEqual(names);
  });

  test('a message with one non-ASCII name is decoded name by name, and bad UTF-8 is still refused', () => {
    const names = Array.from({ length: 2000 }, (_, i) => (i === 1500 ? 'snapé' : `snap${i}`));
    expect(decodeWith(encode(names), true).names).toEqual(names);
    const bad = encode(Array.from({ length: 2000 }, (_, i) => `s${i}`));
    // Replace the bytes of one name with an invalid UTF-8 sequence of the same length ("s10" -> 0xc3 0x28 0x41).
    const at = Buffer.from(bad).indexOf(Buffer.from('s10\u0000', 'latin1'));
    bad.set([0xc3, 0x28, 0x41], at);
    expect(() => decodeWith(bad, true)).toThrow(XdrError);
  });
});
