/** The frame decoder: real frames cut at every byte position, and lengths refused before buffering. */
import { ProtocolError } from '../../src/errors';
import { encodeFrame, Frame, FrameDecoder, MAX_FRAME, MIN_FRAME } from '../../src/protocol/frame';
import { concatBytes } from '../../src/protocol/xdr';

function frames(): Uint8Array[] {
  return [
    encodeFrame({ prog: 0x20008086, vers: 1, proc: 1, type: 1, serial: 1, status: 0 }),
    encodeFrame({ prog: 0x20008086, vers: 1, proc: 2, type: 1, serial: 2, status: 0 }, Uint8Array.from({ length: 37 }, (_, i) => i)),
    encodeFrame({ prog: 0x6b656570, vers: 1, proc: 1, type: 2, serial: 0, status: 0 }),
    encodeFrame({ prog: 0x20008086, vers: 1, proc: 3, type: 1, serial: 3, status: 1 }, new Uint8Array(300).fill(7)),
  ];
}


const summary = (fs: Frame[]) => fs.map((f) => [f.header.proc, f.header.serial, f.header.status, Buffer.from(f.payload).toString('hex')]);

test('a stream of frames cut into two pieces at every byte position decodes identically', () => {
  const stream = concatBytes(frames());
  const expected: Frame[] = [];
  new FrameDecoder((f) => expected.push({ header: f.header, payload: f.payload.slice() })).push(stream);
  expect(expected).toHaveLength(4);
  for (let cut = 0; cut <= stream.length; cut++) {
    const got: Frame[] = [];
    const d = new FrameDecoder((f) => got.push({ header: f.header, payload: f.payload.slice() }));
    d.push(stream.subarray(0, cut));
    d.push(stream.subarray(cut));
    expect(summary(got)).toEqual(summary(expected));
    expect(d.buffered).toBe(0);
  }
});

test('byte-by-byte delivery decodes identically, and reused input buffers do not corrupt frames', () => {
  const stream = concatBytes(frames());
  const got: Frame[] = [];
  const d = new FrameDecoder((f) => got.push({ header: f.header, payload: f.payload.slice() }));
  const scratch = new Uint8Array(1); // a transport that reuses its read buffer
  for (const b of stream) {
    scratch[0] = b;
    d.push(scratch);
  }
  const ref: Frame[] = [];
  new FrameDecoder((f) => ref.push({ header: f.header, payload: f.payload.slice() })).push(stream);
  expect(summary(got)).toEqual(summary(ref));
});

test('a chunk boundary inside a frame with a reused buffer keeps the first part intact', () => {
  const [, f2] = frames();
  const got: Frame[] = [];
  const d = new FrameDecoder((f) => got.push({ header: f.header, payload: f.payload.slice() }));
  const buf = new Uint8Array(f2.length);
  buf.set(f2.subarray(0, 40));
  d.push(buf.subarray(0, 40));
  buf.fill(0xee); // the transport overwrites its buffer with the next read
  buf.set(f2.subarray(40), 0);
  d.push(buf.subarray(0, f2.length - 40));
  expect(Buffer.from(got[0].payload).toString('hex')).toBe(Buffer.from(f2.subarray(MIN_FRAME)).toString('hex'));
});

test.each([
  [0, 'below the minimum'],
  [27, 'below the minimum'],
  [MAX_FRAME + 1, 'exceeds'],
  [0xffffffff, 'exceeds'],
])('length %d is refused as soon as the length word is complete', (len, msg) => {
  const d = new FrameDecoder(() => undefined);
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, len);
  d.push(word.subarray(0, 3));
  expect(() => d.push(word.subarray(3))).toThrow(ProtocolError);
  const d2 = new FrameDecoder(() => undefined);
  expect(() => d2.push(word)).toThrow(msg);
  expect(d2.buffered).toBe(0);
});

test('the largest legal length is accepted and buffered incrementally', () => {
  const d = new FrameDecoder(() => undefined);
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, MAX_FRAME);
  d.push(word);
  d.push(new Uint8Array(1000));
  expect(d.buffered).toBe(1004);
});

test('a reused Node Buffer (whose slice() is a view) does not leak into kept frames or decoded values', () => {
  const [, f2] = frames();
  const got: Frame[] = [];
  const d = new FrameDecoder((f) => got.push({ header: f.header, payload: f.payload.slice() }));
  const buf = Buffer.alloc(f2.length);
  buf.set(f2.subarray(0, 40));
  d.push(buf.subarray(0, 40));
  buf.fill(0xee);
  buf.set(f2.subarray(40), 0);
  d.push(buf.subarray(0, f2.length - 40));
  expect(Buffer.from(got[0].payload).equals(Buffer.from(f2.subarray(MIN_FRAME)))).toBe(true);
});
