/**
 * Alternating rounds: every participant (the C client and each variant of ours) runs the same short round in
 * turn, the order rotating from round to round, so load from elsewhere on the machine falls on all of them
 * alike. Around each run the driver reads the daemon's CPU time and the machine's, and the client reports its
 * own wall and CPU time.
 */
import { CORES, machineCpuNs, processCpuNs } from './cpu';
import type { Peer, RunResult } from './peer';

/** One client in a group: a process, and the API it calls through (null for the C client). */
export interface Participant {
  /** e.g. `C`, `ours object`, `before raw` */
  label: string;
  peer: Peer;
  api: 'object' | 'raw' | null;
  isC: boolean;
}

/** One measured run of one participant. */
export interface Sample {
  calls: number;
  wallNs: number;
  cpuNs: number;
  /** The daemon's CPU time during the run. */
  daemonNs: number;
  /** CPU time of everything else on the machine during the run, as a share of all cores. */
  othersShare: number;
}

/** A group of rows measured together: the same calls, on the same daemon, by every participant. */
export interface Group {
  suite: 'rpc' | 'connect' | 'snapshots';
  /** What is called, e.g. `getLibVersion, sequential`. */
  what: string;
  /** Which daemon, e.g. `mcr 5`. */
  daemon: string;
  daemonPid: number;
  /** The command of one run of `n` calls for a participant. */
  command(p: Participant, n: number): Record<string, unknown>;
  /** Calls in a warm-up run; the rounds' size is then fitted to the round time from the C client's rate. */
  warmCalls: number;
  /** Bounds on calls per round. */
  minCalls: number;
  maxCalls: number;
  target: Target;
  /** Which participants the group measures (default all; the C client always). */
  takes?(p: Participant): boolean;
}

/** What a row must reach (the targets); absent parts are not judged. */
export interface Target {
  /** Minimum of ours/C throughput (median ratio). */
  speed?: number;
  /** Maximum of ours/C CPU time per call (median ratio). */
  cpu?: number;
  /** Minimum share of all cores busy with client + daemon (median). */
  busy?: number;
}

/** Every participant's samples of one group, in round order. */
export type GroupSamples = Map<Participant, Sample[]>;

async function measure(g: Group, p: Participant, n: number): Promise<Sample> {
  const d0 = processCpuNs(g.daemonPid);
  const m0 = machineCpuNs();
  const t0 = process.hrtime.bigint();
  const r: RunResult = await p.peer.run(g.command(p, n));
  const wall = Number(process.hrtime.bigint() - t0);
  const m1 = machineCpuNs();
  const daemonNs = processCpuNs(g.daemonPid) - d0;
  const others = Math.max(0, m1.busy - m0.busy - r.cpuNs - daemonNs);
  return { calls: r.calls, wallNs: r.wallNs, cpuNs: r.cpuNs, daemonNs, othersShare: others / (CORES * wall) };
}

/** Runs a group: warm-ups, then `rounds` alternating rounds of about `roundMs` each. */
export async function runGroup(g: Group, participants: Participant[], rounds: number, roundMs: number): Promise<GroupSamples> {
  const c = participants.find((p) => p.isC);
  if (!c) throw new Error('a group needs the C client');
  // Two warm-ups each: the first brings JIT compilers and caches up, the second measures the C client's rate.
  let cRate = 0;
  for (let w = 0; w < 2; w++) {
    for (const p of participants) {
      const s = await measure(g, p, g.warmCalls);
      if (p === c) cRate = s.calls / (s.wallNs / 1e9);
    }
  }
  const n = Math.max(g.minCalls, Math.min(g.maxCalls, Math.round((cRate * roundMs) / 1000)));
  const out: GroupSamples = new Map(participants.map((p) => [p, []]));
  for (let r = 0; r < rounds; r++) {
    const k = r % participants.length;
    const order = [...participants.slice(k), ...participants.slice(0, k)];
    if (Math.floor(r / participants.length) % 2 === 1) order.reverse();
    for (const p of order) out.get(p)!.push(await measure(g, p, n));
  }
  return out;
}

/** Median and range of a list of numbers. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

export function spread(xs: number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** What a row of the table says about one participant against the C client. */
export interface RowFigures {
  rate: number;
  cRate: number;
  /** ours/C throughput, per round. */
  speed: Spread;
  cpuUs: number;
  cCpuUs: number;
  /** ours/C CPU per call, per round. */
  cpu: Spread;
  daemonUs: number;
  cDaemonUs: number;
  busy: number;
  cBusy: number;
  others: number;
}

const rate = (s: Sample) => s.calls / (s.wallNs / 1e9);
const cpuPer = (s: Sample) => s.cpuNs / s.calls / 1000;
const daemonPer = (s: Sample) => s.daemonNs / s.calls / 1000;
const busy = (s: Sample) => (s.cpuNs + s.daemonNs) / (CORES * s.wallNs);

/** The figures of participant `p` against the C client's samples `c` of the same rounds. */
export function figures(p: Sample[], c: Sample[], all: Sample[]): RowFigures {
  return {
    rate: spread(p.map(rate)).median,
    cRate: spread(c.map(rate)).median,
    speed: spread(p.map((s, i) => rate(s) / rate(c[i]))),
    cpuUs: spread(p.map(cpuPer)).median,
    cCpuUs: spread(c.map(cpuPer)).median,
    cpu: spread(p.map((s, i) => cpuPer(s) / cpuPer(c[i]))),
    daemonUs: spread(p.map(daemonPer)).median,
    cDaemonUs: spread(c.map(daemonPer)).median,
    busy: spread(p.map(busy)).median,
    cBusy: spread(c.map(busy)).median,
    others: spread(all.map((s) => s.othersShare)).median,
  };
}

/** One printed row: a group, a participant, and its figures against the C client. */
export interface Row {
  group: Group;
  label: string;
  f: RowFigures;
  target: string;
  verdict: string;
}

/** The parts of `t` that `f` misses (empty: met). */
export function misses(t: Target, f: RowFigures): string[] {
  const m: string[] = [];
  if (t.speed !== undefined && f.speed.median < t.speed) m.push('speed');
  if (t.cpu !== undefined && f.cpu.median > t.cpu) m.push('cpu');
  if (t.busy !== undefined && f.busy < t.busy) m.push('busy');
  return m;
}

/** `>= 1.0x, cpu <= 0.7x, busy >= 90%` */
export function describeTarget(t: Target): string {
  const parts: string[] = [];
  if (t.speed !== undefined) parts.push(`>= ${t.speed.toFixed(1)}x`);
  if (t.cpu !== undefined) parts.push(`cpu <= ${t.cpu.toFixed(1)}x`);
  if (t.busy !== undefined) parts.push(`busy >= ${Math.round(t.busy * 100)}%`);
  return parts.join(', ') || '-';
}
