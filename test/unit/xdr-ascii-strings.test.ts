/**
 * Long strings go through the Node entry's ASCII decoder (src/node/ascii-strings.ts) when they are plain ASCII,
 * and through the fatal UTF-8 decoder otherwise: the decoded values are the same either way, and bad UTF-8 is
 * still refused.
 */
import { XdrError } from '../../src/errors';
import { setAsciiDecoder, XdrReader, XdrWriter } from '../../src/protocol/xdr';
import { decodeAscii } from '../../src/node/ascii-strings';

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
