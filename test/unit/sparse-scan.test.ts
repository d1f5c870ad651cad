/**
 * The sparse upload's scan (src/objects/sparse-scan.ts) finds exactly the holes HoleFinder finds, whatever its
 * read size, reads in flight, read timing and short reads; it stops reading at the file's allocation only when
 * the data it saw accounts for all of it; and no read outlives it. Node's fileSource runs it over real files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { AbortError } from '../../src/errors';
import { fileSource } from '../../src/node/files';
import { SparseScan, type SparseReader } from '../../src/objects/sparse-scan';
import { HOLE_BLOCK, HoleFinder } from '../../src/objects/transfer';
import { isHole, type StreamHole } from '../../src/protocol/stream';

type Item = Uint8Array | StreamHole;

/** Items with adjacent data merged (data may be cut anywhere; holes may not): the form two scans must share. */
function canonical(items: Item[]): (number | string)[] {
  const out: (number | string)[] = [];
  let data: Uint8Array[] = [];
  const flush = () => {
    if (data.length) out.push(Buffer.concat(data).toString('hex'));
    data = [];
  };
  for (const i of items) {
    if (isHole(i)) {
      flush();
      out.push(i.hole);
    } else data.push(i);
  }
  flush();
  return out;
}

function finderItems(bytes: Uint8Array): Item[] {
  const f = new HoleFinder();
  const out: Item[] = [];
  for (const i of f.push(bytes)) out.push(isHole(i) ? i : i.slice());
  for (const i of f.end()) out.push(isHole(i) ? i : i.slice());
  return out;
}

interface MemReader extends SparseReader {
  inFlight: number;
  reads: number;
}

/** A reader over bytes: each read waits a few ticks and may come back short, as a real one may. */
function memReader(bytes: Uint8Array, opts: { delays?: number[]; short?: boolean; allocation?: { bytes: number; unit: number } } = {}): MemReader {
  let k = 0;
  const r: MemReader = {
    inFlight: 0,
    reads: 0,
    size: bytes.length,
    allocation: opts.allocation,
    async read(buf, pos) {
      r.inFlight++;
      r.reads++;
      const d = opts.delays?.[k++ % (opts.delays.length || 1)] ?? 0;
      for (let i = 0; i < d; i++) await Promise.resolve();
      if (d > 3) await new Promise((res) => setTimeout(res, 0));
      let n = Math.max(0, Math.min(buf.length, bytes.length - pos));
      if (opts.short && n > 1) n = Math.ceil(n / 2);
      buf.set(bytes.subarray(pos, pos + n));
      r.inFlight--;
      return n;
    },
  };
  return r;
}

async function collect(scan: AsyncIterable<Item>): Promise<Item[]> {
  const out: Item[] = [];
  for await (const i of scan) out.push(isHole(i) ? i : i.slice());
  return out;
}

/** Segments of zeros and data, some long enough to span several reads. */
const sourceArb = fc
  .array(
    fc.record({
      zero: fc.boolean(),
      len: fc.oneof(fc.integer({ min: 1, max: 5 * HOLE_BLOCK }), fc.constantFrom(HOLE_BLOCK, HOLE_BLOCK - 1, HOLE_BLOCK + 1, 70 * 1024, 200 * 1024)),
    }),
    { maxLength: 10 },
  )
  .map((segs) => {
    const b = new Uint8Array(segs.reduce((n, s) => n + s.len, 0));
    let at = 0;
    for (const s of segs) {
      if (!s.zero) for (let i = 0; i < s.len; i++) b[at + i] = ((at + i) % 251) + 1;
      at += s.len;
    }
    return b;
  });

test('the same holes as HoleFinder, for any read size, reads in flight, timing and short reads', async () => {
  await fc.assert(
    fc.asyncProperty(
      sourceArb,
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.nat(6), { maxLength: 6 }),
      fc.boolean(),
      async (bytes, blocks, depth, delays, short) => {
        const reader = memReader(bytes, { delays, short });
        const items = await collect(new SparseScan(reader, { chunkSize: blocks * HOLE_BLOCK, depth }));
        expect(canonical(items)).toEqual(canonical(finderItems(bytes)));
        for (let k = 1; k < items.length; k++) expect(isHole(items[k]) && isHole(items[k - 1])).toBe(false);
        expect(reader.inFlight).toBe(0);
      },
    ),
    { numRuns: 300 },
  );
});

test('data items stay valid until the next one is taken, even when every buffer is busy', async () => {
  // One buffer, many data runs separated by holes: each buffer is reused as soon as the consumer moves on.
  const bytes = new Uint8Array(64 * HOLE_BLOCK);
  for (let b = 0; b < 64; b += 3) bytes.fill(b + 1, b * HOLE_BLOCK, (b + 1) * HOLE_BLOCK);
  const scan = new SparseScan(memReader(bytes, { delays: [0, 5] }), { chunkSize: 4 * HOLE_BLOCK, depth: 1 });
  const seen: Item[] = [];
  for await (const item of scan) {
    if (!isHole(item)) {
      const copy = item.slice();
      await new Promise((res) => setTimeout(res, 1));
      expect(item).toEqual(copy);
    }
    seen.push(isHole(item) ? item : item.slice());
  }
  expect(canonical(seen)).toEqual(canonical(finderItems(bytes)));
});

describe('the early stop at the allocation', () => {
  // 1 MiB: three data blocks, then zeros to the end.
  const bytes = new Uint8Array(256 * HOLE_BLOCK);
  bytes.fill(7, 0, 3 * HOLE_BLOCK);

  test('stops reading once the data seen is all that was allocated; the rest is the same final hole', async () => {
    const reader = memReader(bytes, { allocation: { bytes: 3 * HOLE_BLOCK, unit: HOLE_BLOCK } });
    const scan = new SparseScan(reader, { chunkSize: 16 * HOLE_BLOCK, depth: 2 });
    const items = await collect(scan);
    expect(canonical(items)).toEqual(canonical(finderItems(bytes)));
    expect(items.at(-1)).toEqual({ hole: bytes.length - 3 * HOLE_BLOCK });
    expect(scan.stats.stoppedEarly).toBe(true);
    expect(scan.stats.bytesRead).toBeLessThanOrEqual(2 * 16 * HOLE_BLOCK);
    expect(reader.inFlight).toBe(0);
  });

  test('reads to the end when the allocation holds more than the data (metadata, allocated zeros)', async () => {
    const reader = memReader(bytes, { allocation: { bytes: 4 * HOLE_BLOCK, unit: HOLE_BLOCK } });
    const scan = new SparseScan(reader, { chunkSize: 16 * HOLE_BLOCK, depth: 2 });
    expect(canonical(await collect(scan))).toEqual(canonical(finderItems(bytes)));
    expect(scan.stats).toEqual({ bytesRead: bytes.length, stoppedEarly: false });
  });

  test('a block with data counts one allocation unit when units are smaller than a block', async () => {
    // With 1 KiB units, 3 data blocks prove only 3 KiB allocated: 12 KiB of allocation is not yet all seen.
    const scan = new SparseScan(memReader(bytes, { allocation: { bytes: 3 * HOLE_BLOCK, unit: 1024 } }), { chunkSize: 16 * HOLE_BLOCK });
    await collect(scan);
    expect(scan.stats.stoppedEarly).toBe(false);
  });

  test('a file with no allocation at all is one hole after its first read', async () => {
    const zeros = new Uint8Array(256 * HOLE_BLOCK);
    const scan = new SparseScan(memReader(zeros, { allocation: { bytes: 0, unit: HOLE_BLOCK } }), { chunkSize: 16 * HOLE_BLOCK, depth: 1 });
    expect(await collect(scan)).toEqual([{ hole: zeros.length }]);
    expect(scan.stats.bytesRead).toBe(16 * HOLE_BLOCK);
  });

  test('a property: with an allocation that covers the data exactly, the holes are still HoleFinder\'s', async () => {
    await fc.assert(
      fc.asyncProperty(sourceArb, fc.integer({ min: 1, max: 8 }), async (bytes, blocks) => {
        let dataBlocks = 0;
        for (let b = 0; b < bytes.length; b += HOLE_BLOCK) if (bytes.subarray(b, b + HOLE_BLOCK).some((x) => x !== 0)) dataBlocks++;
        const scan = new SparseScan(memReader(bytes, { allocation: { bytes: dataBlocks * HOLE_BLOCK, unit: HOLE_BLOCK } }), { chunkSize: blocks * HOLE_BLOCK, depth: 2 });
        expect(canonical(await collect(scan))).toEqual(canonical(finderItems(bytes)));
      }),
      { numRuns: 200 },
    );
  });
});

test('return() stops the scan and waits for the reads in flight', async () => {
  const bytes = new Uint8Array(100 * HOLE_BLOCK).fill(1);
  const reader = memReader(bytes, { delays: [8] });
  const scan = new SparseScan(reader, { chunkSize: HOLE_BLOCK, depth: 4 });
  const first = await scan.next();
  expect(first.done).toBe(false);
  await scan.return();
  expect(reader.inFlight).toBe(0);
  const readsAtReturn = reader.reads;
  expect((await scan.next()).done).toBe(true);
  expect(reader.reads).toBe(readsAtReturn);
});

test('a failed read rejects the scan once the other reads settled', async () => {
  let inFlight = 0;
  const reader: SparseReader = {
    async read(buf, pos) {
      inFlight++;
      await new Promise((res) => setTimeout(res, pos === 0 ? 0 : 5));
      inFlight--;
      if (pos === 2 * HOLE_BLOCK) throw new Error('EIO');
      buf.fill(0);
      return buf.length;
    },
  };
  const scan = new SparseScan(reader, { chunkSize: HOLE_BLOCK, depth: 4 });
  await expect(collect(scan)).rejects.toThrow('EIO');
  expect(inFlight).toBe(0);
});

test('an aborted signal ends the scan with an AbortError', async () => {
  const ac = new AbortController();
  const scan = new SparseScan(memReader(new Uint8Array(64 * HOLE_BLOCK).fill(1)), { chunkSize: HOLE_BLOCK, signal: ac.signal });
  await scan.next();
  ac.abort();
  await expect(scan.next()).rejects.toBeInstanceOf(AbortError);
});

test('options are checked', () => {
  const r = memReader(new Uint8Array(1));
  expect(() => new SparseScan(r, { chunkSize: 1000 })).toThrow(RangeError);
  expect(() => new SparseScan(r, { depth: 0 })).toThrow(RangeError);
});

describe('fileSource().sparseItems() on real files', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sparse-scan-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Writes `data` blocks at the given MiB offsets of a file of `sizeMiB`; the rest stays unallocated. */
  function sparseFile(name: string, sizeMiB: number, at: number[]): { file: string; bytes: Buffer } {
    const file = path.join(dir, name);
    const bytes = Buffer.alloc(sizeMiB << 20);
    const fd = fs.openSync(file, 'w');
    fs.ftruncateSync(fd, bytes.length);
    for (const mib of at) {
      const block = Buffer.alloc(64 * 1024, mib + 1);
      block.copy(bytes, mib << 20);
      fs.writeSync(fd, block, 0, block.length, mib << 20);
    }
    fs.closeSync(fd);
    return { file, bytes };
  }

  test('the holes are HoleFinder\'s, and a trailing hole is not read where the file system tells', async () => {
    const { file, bytes } = sparseFile('tail.img', 64, [0, 2]);
    const src = await fileSource(file);
    const items = src.sparseItems();
    expect(canonical(await collect(items))).toEqual(canonical(finderItems(bytes)));
    const fsType = Number((await fs.promises.statfs(file)).type);
    const blocks = fs.statSync(file).blocks * 512;
    // ext2/3/4, XFS and tmpfs vouch for their block counts; a file with 2 extents has no other blocks.
    if ([0xef53, 0x58465342, 0x01021994].includes(fsType) && blocks === 2 * 64 * 1024) {
      expect(items.stats.stoppedEarly).toBe(true);
      expect(items.stats.bytesRead).toBeLessThan(16 << 20);
    } else {
      expect(items.stats.bytesRead).toBe(bytes.length);
    }
  });

  test('data spread through the file is all found; the scan reads up to the last data', async () => {
    const { file, bytes } = sparseFile('spread.img', 40, [0, 9, 17, 31, 39]);
    const src = await fileSource(file);
    const items = src.sparseItems();
    expect(canonical(await collect(items))).toEqual(canonical(finderItems(bytes)));
    expect(items.stats.bytesRead).toBeGreaterThanOrEqual((39 << 20) + 64 * 1024);
  });

  test('a file of zeros that were written (allocated) is one hole, read in full', async () => {
    const file = path.join(dir, 'zeros.img');
    fs.writeFileSync(file, Buffer.alloc(3 << 20));
    const items = (await fileSource(file)).sparseItems();
    expect(await collect(items)).toEqual([{ hole: 3 << 20 }]);
    expect(items.stats).toEqual({ bytesRead: 3 << 20, stoppedEarly: false });
  });
});
