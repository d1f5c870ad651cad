/**
 * Benchmark of the retention function: 1,000,000 snapshots, one a minute for about two years with jitter, under
 * the aligned policy and DSS. Each case runs in its own child process (so its peak RSS is its own): the data is
 * built; 3 runs each bracketed by GCs measure memory and warm up: heap allocated by one run (heap used right
 * after it minus before; the typed arrays live outside the heap and show in RSS), heap retained by its result
 * (after a GC with the result alive), and peak RSS above the RSS with only the data loaded; then 7 timed runs
 * back to back, reported as median, min and max.
 *
 * The peer, measured in the same child: one `Array.prototype.sort` of the same 1M objects by creation time,
 * the least any retention function must do with unsorted input. Ratios are against it.
 *
 * Run: npm run bench:retention   (node --expose-gc scripts/ts-run.cjs bench/retention.ts)
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { computeRetention, type RetentionResult, type RetentionSnapshot } from '../src/scheduler/retention';
import type { RetentionPolicyInput } from '../src/scheduler/policy';

const N = 1_000_000;
const MINUTE = 60_000;
const DAY = 86_400_000;
const WARMUP = 2;
const RUNS = 7;
const TARGET_MS = 1000;

interface Case {
  name: string;
  policy: RetentionPolicyInput;
  shuffled: boolean;
}

const CASES: Case[] = [
  { name: 'aligned 1m x 2^20, sorted', policy: { baseMs: MINUTE, levels: 20, slots: 2, keepLast: 60, keepWithinMs: 3_600_000 }, shuffled: false },
  { name: 'aligned 1m x 2^20, shuffled', policy: { baseMs: MINUTE, levels: 20, slots: 2, keepLast: 60, keepWithinMs: 3_600_000 }, shuffled: true },
  { name: 'dss 4d x 5 (default), sorted', policy: { kind: 'dss', unitMs: 4 * DAY, intervals: 5 }, shuffled: false },
  { name: 'dss 64d x 12 (all thinned), sorted', policy: { kind: 'dss', unitMs: 64 * DAY, intervals: 12 }, shuffled: false },
  { name: 'dss 64d x 12 (all thinned), shuffled', policy: { kind: 'dss', unitMs: 64 * DAY, intervals: 12 }, shuffled: true },
];

interface Measured {
  name: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  peerMs: number;
  kept: number;
  deleted: number;
  allocatedMb: number;
  retainedMb: number;
  peakRssMb: number;
}

/** A deterministic generator, so every case sees the same snapshots. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function buildSnapshots(shuffled: boolean): { snapshots: RetentionSnapshot[]; now: number } {
  const random = lcg(42);
  const start = Date.UTC(2023, 0, 1);
  const snapshots: RetentionSnapshot[] = [];
  for (let i = 0; i < N; i++) {
    const created = start + i * MINUTE + Math.floor((random() - 0.5) * 40_000); // +-20 s of jitter
    const r = random();
    snapshots.push({
      id: `auto-${new Date(created).toISOString()}-${i}`,
      created,
      completed: r < 0.001 ? null : created + 5_000 + Math.floor(r * 25_000), // 0.1% never completed
      pinned: r > 0.9999,
    });
  }
  if (shuffled) {
    for (let i = N - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = snapshots[i];
      snapshots[i] = snapshots[j];
      snapshots[j] = t;
    }
  }
  return { snapshots, now: start + N * MINUTE };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with node --expose-gc (npm run bench:retention)');
  collect();
  collect();
}

const mb = (bytes: number): number => bytes / 2 ** 20;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function runCase(c: Case): Measured {
  const { snapshots, now } = buildSnapshots(c.shuffled);
  gc();
  const rssBase = process.memoryUsage().rss;
  // Memory first (these runs double as the warm-up), each run bracketed by GCs: heap allocated by one run and
  // retained by its result; the peak RSS is read before anything else can raise it.
  let allocated = 0;
  let retained = 0;
  let result: RetentionResult | undefined;
  for (let k = 0; k < WARMUP + 1; k++) {
    result = undefined;
    gc();
    const before = process.memoryUsage().heapUsed;
    result = computeRetention(snapshots, c.policy, { now });
    allocated = Math.max(allocated, process.memoryUsage().heapUsed - before);
    gc();
    retained = Math.max(retained, process.memoryUsage().heapUsed - before);
  }
  const peakRss = process.resourceUsage().maxRSS * 1024 - rssBase;
  // Timed runs back to back, as a caller makes them (a forced GC before each would make every run pay for
  // regrowing the heap, which no caller does).
  const times: number[] = [];
  for (let k = 0; k < RUNS; k++) {
    const t0 = performance.now();
    result = computeRetention(snapshots, c.policy, { now });
    times.push(performance.now() - t0);
  }
  const final = result as RetentionResult;
  result = undefined;
  const peers: number[] = [];
  for (let k = 0; k < 3; k++) {
    const copy = snapshots.slice();
    const t0 = performance.now();
    copy.sort((a, b) => a.created - b.created);
    peers.push(performance.now() - t0);
  }
  return {
    name: c.name,
    medianMs: median(times),
    minMs: Math.min(...times),
    maxMs: Math.max(...times),
    peerMs: median(peers),
    kept: final.keep.length,
    deleted: final.delete.length,
    allocatedMb: mb(allocated),
    retainedMb: mb(retained),
    peakRssMb: mb(Math.max(0, peakRss)),
  };
}

function main(): void {
  const at = process.argv.indexOf('--case');
  if (at >= 0) {
    const c = CASES[Number(process.argv[at + 1])];
    process.stdout.write(`${JSON.stringify(runCase(c))}\n`);
    return;
  }
  gc(); // fail early without --expose-gc
  const root = path.resolve(__dirname, '..');
  const rows: Measured[] = [];
  for (let i = 0; i < CASES.length; i++) {
    process.stderr.write(`running ${CASES[i].name} ...\n`);
    const child = spawnSync(process.execPath, [...process.execArgv, 'scripts/ts-run.cjs', 'bench/retention.ts', '--case', String(i)], {
      cwd: root,
      encoding: 'utf8',
      timeout: 600_000,
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) throw new Error(`case ${CASES[i].name} failed: ${child.error?.message ?? child.stderr}`);
    rows.push(JSON.parse(child.stdout.trim().split('\n').pop() as string) as Measured);
  }
  const header = ['case', 'median ms', 'min..max ms', 'peer ms', 'x peer', 'kept', 'deleted', 'alloc MB', 'retained MB', 'peak RSS +MB', '< 1 s'];
  const table = rows.map((r) => [
    r.name,
    r.medianMs.toFixed(0),
    `${r.minMs.toFixed(0)}..${r.maxMs.toFixed(0)}`,
    r.peerMs.toFixed(0),
    (r.medianMs / r.peerMs).toFixed(2),
    String(r.kept),
    String(r.deleted),
    r.allocatedMb.toFixed(1),
    r.retainedMb.toFixed(1),
    r.peakRssMb.toFixed(1),
    r.medianMs < TARGET_MS ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`retention of ${N.toLocaleString('en')} snapshots (1/min for ~1.9 years, +-20 s jitter), median of ${RUNS} runs after ${WARMUP + 1} warm-ups`);
  console.log('peer: Array.prototype.sort of the same objects, in the same input order, by creation time\n');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  const ok = rows.every((r) => r.medianMs < TARGET_MS);
  console.log(`\ntarget < ${TARGET_MS} ms per call: ${ok ? 'holds for every case' : 'MISSED'}`);
}

main();
