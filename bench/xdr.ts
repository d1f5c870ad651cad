/**
 * bench:xdr — encode and decode throughput of the generated codecs against @stellar/js-xdr describing the same
 * types, in one run:
 *   (a) remote_domain_list_all_snapshots_ret with 10,000 snapshots;
 *   (b) remote_connect_get_all_domain_stats_ret with 100 domains of 50 typed parameters each (all 7 kinds).
 * Both sides must produce identical bytes (checked first). Then each operation is warmed up and timed in several
 * rounds of about ROUND_MS; the median ops/s is printed with the ratio ours / stellar. Target: decode >= 3x.
 *
 *   npm run bench:xdr                 # BENCH_ROUNDS=7 BENCH_ROUND_MS=400 by default
 */
import { strict as assert } from 'node:assert';
import { xdrDecode, xdrEncode } from '../src/protocol/xdr';
import type { XdrCodec } from '../src/protocol/xdr';
import {
  remote_connect_get_all_domain_stats_ret,
  remote_domain_list_all_snapshots_ret,
  remote_nonnull_domain,
  remote_typed_param,
  xdr_remote_connect_get_all_domain_stats_ret,
  xdr_remote_domain_list_all_snapshots_ret,
} from '../generated/remote-protocol';
import { stellar, StellarType, toStellarSnapshots, toStellarStats } from './peer-stellar';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 400);

function uuid(seed: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (seed * 31 + i * 17) & 0xff);
}

function dom(i: number): remote_nonnull_domain {
  return { name: `bench-vm-${i}`, uuid: uuid(i), id: i + 1 };
}

/** (a) 10,000 snapshots of one domain, named as a dyadic scheduler would name them. */
function snapshots(): remote_domain_list_all_snapshots_ret {
  const d = dom(0);
  const list = Array.from({ length: 10000 }, (_, i) => ({ name: `auto-2025-06-${String(i).padStart(5, '0')}`, dom: d }));
  return { snapshots: list, ret: list.length };
}

/** One typed parameter of kind 1..7 (int, uint, llong, ullong, double, boolean, string), cycling. */
function param(d: number, k: number): remote_typed_param {
  const field = `block.${k}.stat.${d}`;
  switch (k % 7) {
    case 0:
      return { field, value: { type: 1, i: -1000 * k - 1 } };
    case 1:
      return { field, value: { type: 2, ui: 4000000000 - k } };
    case 2:
      return { field, value: { type: 3, l: -(2n ** 40n) * BigInt(k) } };
    case 3:
      return { field, value: { type: 4, ul: 2n ** 63n + BigInt(k * d) } };
    case 4:
      return { field, value: { type: 5, d: k / 3 } };
    case 5:
      return { field, value: { type: 6, b: k & 1 } };
    default:
      return { field, value: { type: 7, s: `/var/lib/libvirt/images/disk-${d}-${k}.qcow2` } };
  }
}

/** (b) 100 domains with 50 typed parameters each. */
function stats(): remote_connect_get_all_domain_stats_ret {
  return { retStats: Array.from({ length: 100 }, (_, d) => ({ dom: dom(d), params: Array.from({ length: 50 }, (_, k) => param(d, k)) })) };
}

/**
 * Runs `fn` repeatedly for about `ms` of wall time and returns operations per CPU-second of this process (all
 * threads, so garbage collection on helper threads counts): other work on a shared machine does not skew it.
 */
function opsPerSec(fn: () => unknown, ms: number): number {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    fn();
    fn();
    n += 2;
  }
  const c = process.cpuUsage(c0);
  return n / ((c.user + c.system) / 1e6);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Row {
  name: string;
  ours: number;
  peer: number;
}

/** Times ours and the peer in alternating rounds after a warm-up of each. */
function compare(name: string, ours: () => unknown, peer: () => unknown): Row {
  opsPerSec(ours, ROUND_MS);
  opsPerSec(peer, ROUND_MS);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    a.push(opsPerSec(ours, ROUND_MS));
    b.push(opsPerSec(peer, ROUND_MS));
  }
  return { name, ours: median(a), peer: median(b) };
}

function benchCase<T>(label: string, codec: XdrCodec<T>, value: T, peerType: StellarType, peerValue: unknown): Row[] {
  const ours = xdrEncode(codec, value).slice();
  const theirs = peerType.toXDR(peerValue);
  // Identical bytes both ways, and each side decodes the other's output.
  assert.equal(Buffer.compare(Buffer.from(ours), theirs), 0, `${label}: encodings differ`);
  assert.deepEqual(xdrDecode(codec, new Uint8Array(theirs)), value);
  assert.equal(Buffer.compare(peerType.toXDR(peerType.fromXDR(ours)), theirs), 0);
  process.stdout.write(`${label}: ${ours.length} bytes, identical on both sides\n`);
  const wire = Buffer.from(ours);
  return [
    compare(`${label} encode`, () => xdrEncode(codec, value), () => peerType.toXDR(peerValue)),
    compare(`${label} decode`, () => xdrDecode(codec, ours), () => peerType.fromXDR(wire)),
  ];
}

function main(): void {
  process.stdout.write(`node ${process.version}; ${ROUNDS} alternating rounds of ~${ROUND_MS} ms after a warm-up; median ops per CPU-second\n\n`);
  const snaps = snapshots();
  const st = stats();
  const rows = [
    ...benchCase('(a) list_all_snapshots 10k', xdr_remote_domain_list_all_snapshots_ret, snaps, stellar.remote_domain_list_all_snapshots_ret, toStellarSnapshots(snaps)),
    ...benchCase('(b) all_domain_stats 100x50', xdr_remote_connect_get_all_domain_stats_ret, st, stellar.remote_connect_get_all_domain_stats_ret, toStellarStats(st)),
  ];
  const w = Math.max(...rows.map((r) => r.name.length));
  const fmt = (n: number): string => n.toFixed(1).padStart(12);
  process.stdout.write(`\n${'case'.padEnd(w)}  ${'ours ops/s'.padStart(12)}  ${'stellar ops/s'.padStart(13)}  ${'ratio'.padStart(7)}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.name.padEnd(w)}  ${fmt(r.ours)}  ${fmt(r.peer).padStart(13)}  ${(r.ours / r.peer).toFixed(2).padStart(6)}x\n`);
  }
  const decode = rows.filter((r) => r.name.endsWith('decode'));
  const worst = Math.min(...decode.map((r) => r.ours / r.peer));
  process.stdout.write(`\ndecode target >= 3.00x: ${worst >= 3 ? 'met' : 'MISSED'} (worst ${worst.toFixed(2)}x)\n`);
}

main();
