/**
 * bench:events — event latency (daemon action to iterator) and throughput, for metadata-change events triggered
 * in a loop on the sandbox daemon (its test driver, test:///default, whose changes cost no disk write, so the
 * daemon emits events faster than a QEMU guest's config file can be rewritten; BENCH_EVENTS_QEMU=1 uses a
 * defined QEMU guest instead), received at the same time by this client (`conn.events.domain(...)`, in its
 * own process) and by libvirt's C client (python3-libvirt with virEventRegisterDefaultImpl and a thread running
 * virEventRunDefaultImpl, in its own process). A third party, this process, makes the changes: each one's
 * namespace URI carries its sequence number, and both listeners stamp arrival with CLOCK_MONOTONIC, the clock
 * the sender stamps with, so latency is arrival minus the moment the change was sent.
 *
 * The daemon sends each event to its clients in the order they registered, so the rounds alternate which
 * listener registers first. Each listener is a fresh process, so every round first sends N_WARM changes one at a
 * time, measured apart as the cold latency (the first events a new listener sees: ours runs them in V8's
 * interpreter and compiles as it goes; a listener that stays up sees the warm figures). Latency: one change at a
 * time (N_LAT). Throughput: changes pipelined 32 at a time (N_TPUT); each listener's
 * rate from its first to its last arrival, and how long after the daemon acknowledged the last change it
 * arrived (drain lag). Repeated ROUNDS times; prints each round and the spread. Target: at least the C
 * client's throughput, and a lower p99 latency.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as R from '../generated/remote-procedures';
import { VIR_DOMAIN_AFFECT_CONFIG, VIR_DOMAIN_METADATA_ELEMENT } from '../generated/libvirt-headers';
import { connect } from '../src/index';
import { startSandbox } from '../scripts/sandbox/sandbox';
import { createGuest, removeGuest } from '../scripts/sandbox/guest';

const N_WARM = Number(process.env.BENCH_EVENTS_WARM ?? 300);
const N_LAT = Number(process.env.BENCH_EVENTS_LAT ?? 300);
const N_TPUT = Number(process.env.BENCH_EVENTS_TPUT ?? 3000);
const ROUNDS = Number(process.env.BENCH_EVENTS_ROUNDS ?? 4);
const WINDOW = 32;
const SLOTS = 64;

const PY = String.raw`
import os, sys, threading, time, libvirt
uri, name = sys.argv[1], sys.argv[2]
libvirt.virEventRegisterDefaultImpl()
conn = libvirt.open(uri)
dom = conn.lookupByName(name)
got = []
def cb(c, d, mtype, nsuri, opaque):
    got.append((nsuri, time.monotonic_ns()))
conn.domainEventRegisterAny(dom, libvirt.VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, cb, None)
def loop():
    while True:
        libvirt.virEventRunDefaultImpl()
threading.Thread(target=loop, daemon=True).start()
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.read()
sys.stdout.write("".join("%s %d\n" % g for g in got)); sys.stdout.flush()
os._exit(0)
`;

/** The listener role: our client in its own process, same protocol as the Python one. */
async function listener(uri: string, name: string): Promise<void> {
  const conn = await connect(uri);
  const dom = await conn.getDomainByName(name);
  const sub = conn.events.domain('metadata-change', { domain: dom, highWaterMark: 1_000_000 });
  await sub.ready;
  const got: string[] = [];
  process.stdin.on('end', () => {
    process.stdout.write(got.join(''), () => process.exit(0));
  });
  process.stdin.resume();
  process.stdout.write('ready\n');
  for await (const ev of sub) {
    const t = process.hrtime.bigint();
    if (ev.type === 'metadata-change') got.push(`${ev.nsuri} ${t}\n`);
  }
}

interface Child {
  proc: ChildProcess;
  ready: Promise<void>;
  /** Closes its stdin and returns its arrivals, in order: (namespace slot, CLOCK_MONOTONIC ns). */
  finish(): Promise<[number, bigint][]>;
  /** CPU time the process's threads have used so far, in ns (/proc/PID/task/TID/schedstat). */
  cpu(): number;
}

function child(cmd: string, args: string[]): Child {
  const proc = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.startsWith('ready\n')) readyResolve();
  });
  const exited = new Promise<void>((r) => proc.on('exit', () => r()));
  return {
    proc,
    ready,
    cpu: () => fs.readdirSync(`/proc/${proc.pid}/task`).reduce((ns, tid) => {
      try {
        return ns + Number(fs.readFileSync(`/proc/${proc.pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        return ns; // a thread that just ended
      }
    }, 0),
    async finish() {
      proc.stdin!.end();
      await exited;
      const arrivals: [number, bigint][] = [];
      for (const line of out.split('\n').slice(1)) {
        const [uri, t] = line.split(' ');
        if (t) arrivals.push([Number(uri.slice(uri.lastIndexOf('/') + 1)), BigInt(t)]);
      }
      return arrivals;
    },
  };
}

/**
 * Arrival time of each change, by sequence number. Namespaces are reused (slot = seq % SLOTS, so the domain's
 * XML stays small): the k-th arrival in a slot is the k-th change sent to it, as fewer than SLOTS are in flight.
 */
function match(arrivals: [number, bigint][], sentSlots: number[][]): Map<number, bigint> {
  const next = sentSlots.map(() => 0);
  const m = new Map<number, bigint>();
  for (const [slot, t] of arrivals) {
    const seq = sentSlots[slot]?.[next[slot]++];
    if (seq !== undefined) m.set(seq, t);
  }
  return m;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

interface Round {
  /** CPU µs the listener process spent per event. */
  cpu?: number;
  p50: number;
  p99: number;
  /** p99 of the first N_WARM events (the listener's process is new). */
  coldP99: number;
  rate: number;
  lag: number;
  lost: number;
}

function summarise(sent: Map<number, bigint>, got: Map<number, bigint>, warmSeqs: number[], latSeqs: number[], tputSeqs: number[], lastAck: bigint): Round {
  const latencies = (seqs: number[]) => seqs.filter((s) => got.has(s)).map((s) => Number(got.get(s)! - sent.get(s)!) / 1e3).sort((a, b) => a - b);
  const lat = latencies(latSeqs);
  const cold = latencies(warmSeqs);
  const arrivals = tputSeqs.filter((s) => got.has(s)).map((s) => got.get(s)!).sort((a, b) => (a < b ? -1 : 1));
  const span = Number(arrivals[arrivals.length - 1] - arrivals[0]) / 1e9;
  const lost = warmSeqs.length + latSeqs.length + tputSeqs.length - cold.length - lat.length - arrivals.length;
  return { p50: pct(lat, 0.5), p99: pct(lat, 0.99), coldP99: pct(cold, 0.99), rate: (arrivals.length - 1) / span, lag: Number(arrivals[arrivals.length - 1] - lastAck) / 1e6, lost };
}

async function main(): Promise<void> {
  const { info } = await startSandbox({ log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  const qemu = process.env.BENCH_EVENTS_QEMU === '1';
  // test:///default through the daemon lives while a connection to it is open: this one holds it for the run.
  const uri = qemu ? info.unixUri : info.testUri;
  const name = qemu ? `bench-events-${process.pid}` : 'test';
  if (qemu) await createGuest(info, name, { start: false });
  const conn = await connect(uri);
  const dom = await conn.getDomainByName(name);
  let seq = 0;
  const sent = new Map<number, bigint>();
  let slots: number[][] = [];
  const change = () => {
    const n = seq++;
    const args = { dom: dom.handle, type: VIR_DOMAIN_METADATA_ELEMENT, metadata: '<b/>', key: 'b', uri: `http://bench.example/${n % SLOTS}`, flags: qemu ? VIR_DOMAIN_AFFECT_CONFIG : 0 };
    (slots[n % SLOTS] ??= []).push(n);
    sent.set(n, process.hrtime.bigint());
    return conn.raw.call(R.domainSetMetadata, args);
  };
  process.stdout.write(`bench:events: metadata-change events on ${qemu ? 'a QEMU guest' : 'test:///default'}, ${N_WARM} one at a time to new listeners (cold), ${N_LAT} one at a time (latency), then ${N_TPUT} pipelined ${WINDOW} at a time (throughput), ${ROUNDS} rounds, libvirt ${info.libvirtVersion}\n\n`);
  const rows: { ours: Round; c: Round; daemonRate: number }[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // The daemon sends an event to its clients' callbacks in the order they registered: alternate who is first.
      const oursFirst = round % 2 === 0;
      const startOurs = () => child(process.execPath, [path.join(__dirname, '..', 'scripts', 'ts-run.cjs'), __filename, '--listener', uri, name]);
      const startC = () => child('/usr/bin/python3', ['-c', PY, uri, name]);
      const first = oursFirst ? startOurs() : startC();
      await first.ready;
      const second = oursFirst ? startC() : startOurs();
      await second.ready;
      const [ours, c] = oursFirst ? [first, second] : [second, first];
      slots = [];
      const warmSeqs: number[] = [];
      for (let i = 0; i < N_WARM; i++) {
        warmSeqs.push(seq);
        await change();
        await new Promise((r) => setTimeout(r, 2));
      }
      const cpu0 = [ours.cpu(), c.cpu()];
      const latSeqs: number[] = [];
      for (let i = 0; i < N_LAT; i++) {
        latSeqs.push(seq);
        await change();
        await new Promise((r) => setTimeout(r, 2));
      }
      const tputSeqs: number[] = [];
      const t0 = process.hrtime.bigint();
      let issued = 0;
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (issued < N_TPUT) {
          issued++;
          tputSeqs.push(seq);
          await change();
        }
      }));
      const lastAck = process.hrtime.bigint();
      const daemonRate = N_TPUT / (Number(lastAck - t0) / 1e9);
      await new Promise((r) => setTimeout(r, 1000)); // let the last events arrive
      const cpu = [ours.cpu() - cpu0[0], c.cpu() - cpu0[1]].map((ns) => ns / 1e3 / (N_LAT + N_TPUT));
      const [o, p] = await Promise.all([ours.finish(), c.finish()]);
      const row = {
        ours: { ...summarise(sent, match(o, slots), warmSeqs, latSeqs, tputSeqs, lastAck), cpu: cpu[0] },
        c: { ...summarise(sent, match(p, slots), warmSeqs, latSeqs, tputSeqs, lastAck), cpu: cpu[1] },
        daemonRate,
      };
      rows.push(row);
      const f = (r: Round) => `p50 ${r.p50.toFixed(0)} µs, p99 ${r.p99.toFixed(0)} µs (cold ${r.coldP99.toFixed(0)}), ${r.rate.toFixed(0)} events/s, drain lag ${r.lag.toFixed(1)} ms, ${r.cpu!.toFixed(1)} µs CPU/event${r.lost ? `, LOST ${r.lost}` : ''}`;
      process.stdout.write(`round ${round + 1} (${oursFirst ? 'ours' : 'C'} registered first): daemon emitted ${daemonRate.toFixed(0)} changes/s\n  ours: ${f(row.ours)}\n  C:    ${f(row.c)}\n`);
    }
  } finally {
    await conn.close();
    if (qemu) await removeGuest(info, name);
  }
  const spread = (get: (r: (typeof rows)[number]) => number, digits = 2) => {
    const v = rows.map(get).sort((a, b) => a - b);
    return `${v[Math.floor(v.length / 2)].toFixed(digits)} (${v[0].toFixed(digits)}..${v[v.length - 1].toFixed(digits)})`;
  };
  process.stdout.write('\nmedian (min..max) over rounds:\n');
  process.stdout.write(`  p99 latency C/ours:        ${spread((r) => r.c.p99 / r.ours.p99)}x   (above 1: our p99 is lower)\n`);
  process.stdout.write(`  p50 latency C/ours:        ${spread((r) => r.c.p50 / r.ours.p50)}x\n`);
  process.stdout.write(`  cold p99 C/ours:           ${spread((r) => r.c.coldP99 / r.ours.coldP99)}x   (the first ${N_WARM} events of a new listener)\n`);
  process.stdout.write(`  throughput ours/C:         ${spread((r) => r.ours.rate / r.c.rate)}x   (above 1: we keep up better)\n`);
  process.stdout.write(`  CPU per event C/ours:       ${spread((r) => r.c.cpu! / r.ours.cpu!)}x   (above 1: we use less CPU per event)\n`);
  process.stdout.write(`  ours p99 µs:               ${spread((r) => r.ours.p99, 0)}\n  C p99 µs:                  ${spread((r) => r.c.p99, 0)}\n`);
  process.stdout.write('target: throughput ratio >= 1.0x and p99 ratio > 1.0x\n');
}

if (process.argv[2] === '--listener') {
  listener(process.argv[3], process.argv[4]).catch((e) => {
    process.stderr.write(`listener failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
} else {
  main().catch((e) => {
    process.stderr.write(`bench:events failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}
