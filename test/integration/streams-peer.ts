/**
 * Shared by the streams-* integration tests: sparse files with data where the test says, allocated blocks,
 * file comparison in bounded memory, volumes in the sandbox's pool, and virsh as the oracle.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Connect, StoragePool, StorageVol } from '../../src/index';
import { sandbox } from '../helpers/sandbox';

/** A unique name for a test file's volumes and files, e.g. `streams-vol-3fa9c1`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A folder of the test's own under the system's temporary folder; removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** One run of data in a sparse file: `length` bytes at `offset`, never a whole zero block. */
export interface Extent {
  offset: number;
  length: number;
}

/** Deterministic non-zero bytes for position `at` of a file (so no 4 KiB block of data is all zero). */
export function pattern(at: number, length: number, seed = 7): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = ((at + i) * 31 + seed) % 251 + 1;
  return b;
}

/** Creates a sparse file of `size` bytes with data only in `extents` (everything else is a hole). */
export function sparseFile(file: string, size: number, extents: readonly Extent[], seed = 7): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    for (const e of extents) {
      for (let at = 0; at < e.length; at += 1 << 20) {
        const n = Math.min(1 << 20, e.length - at);
        fs.writeSync(fd, pattern(e.offset + at, n, seed), 0, n, e.offset + at);
      }
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes allocated on disk for `file` (st_blocks * 512), after flushing it. */
export function allocated(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
    return fs.fstatSync(fd).blocks * 512;
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether two files have the same bytes, read 4 MiB at a time. */
export function sameBytes(a: string, b: string): boolean {
  const sa = fs.statSync(a).size;
  if (sa !== fs.statSync(b).size) return false;
  const fa = fs.openSync(a, 'r');
  const fb = fs.openSync(b, 'r');
  const ba = Buffer.allocUnsafe(4 << 20);
  const bb = Buffer.allocUnsafe(4 << 20);
  try {
    for (let at = 0; at < sa; at += ba.length) {
      const n = fs.readSync(fa, ba, 0, ba.length, at);
      const m = fs.readSync(fb, bb, 0, bb.length, at);
      if (n !== m || !ba.subarray(0, n).equals(bb.subarray(0, m))) return false;
    }
    return true;
  } finally {
    fs.closeSync(fa);
    fs.closeSync(fb);
  }
}

/** The sandbox's directory pool. */
export function poolOf(conn: Connect): Promise<StoragePool> {
  return conn.getStoragePoolByName(sandbox().pool.name);
}

/** Creates a raw volume of `capacity` bytes with nothing allocated. */
export function createVolume(pool: StoragePool, name: string, capacity: number): Promise<StorageVol> {
  return pool.createVolume(`<volume><name>${name}</name><capacity>${capacity}</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>`);
}

/** Deletes every volume of the pool whose name starts with `prefix` (test cleanup). */
export async function deleteVolumes(pool: StoragePool, prefix: string): Promise<void> {
  await pool.refresh();
  for (const v of await pool.listAllVolumes()) if (v.getName().startsWith(prefix)) await v.delete().catch(() => undefined);
}

/** virsh -c <sandbox unix URI> ...args (bounded); rejects with its stderr when it fails. */
export function virsh(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', sandbox().unixUri, ...args], { timeout: 120_000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Percentiles of latencies in ms: p50, p95, max, count. */
export function latencySummary(ms: number[]): { count: number; p50: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { count: s.length, p50: round(at(0.5)), p95: round(at(0.95)), max: round(s[s.length - 1] ?? NaN) };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
