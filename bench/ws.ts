/**
 * bench:ws — the cost of the WebSocket bridge: getLibVersion and listAllSnapshots through `libvirt-rpc
 * ws-bridge` (a separate process, as users run it; this client over WebSocket with the ws package) against the
 * same calls on the daemon's unix socket, in one run. Sequential and with 32 calls in flight.
 *
 * The machine is shared, so throughput is measured in many short pairs (unix then ws, ws then unix, in turns)
 * and the ratio of each pair is kept: the median ratio and its interquartile range are the result. Latencies
 * are pooled over all pairs. CPU time per call (this client, and the bridge process) does not depend on what
 * else runs, and is printed beside.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { Connect, openWebSocketTransport, type WebSocketConstructor } from '../src/core';
import { connect } from '../src/index';
import { releaseSandbox, startSandbox } from '../scripts/sandbox/sandbox';
import { createGuest, removeGuest } from '../scripts/sandbox/guest';
import { startBridgeProcess } from '../test/helpers/ws-bridge-process';

const SEQ_CALLS = Number(process.env.BENCH_SEQ ?? 300);
const CONC_CALLS = Number(process.env.BENCH_CONC ?? 2000);
const INFLIGHT = 32;
const PAIRS = Number(process.env.BENCH_PAIRS ?? 15);
const SNAPSHOTS = 20;
const TICK_US = 1e6 / 100; // /proc/<pid>/stat counts clock ticks (USER_HZ = 100 on Linux)

type Fn = () => Promise<unknown>;
interface Sample {
  callsPerSec: number;
  lat: number[];
  /** CPU µs per call: this process, and the bridge process (ws only). */
  clientCpu: number;
  bridgeCpu: number;
}

/** CPU time of a process so far, in µs (utime + stime from /proc). */
function processCpuUs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

async function run(fn: Fn, n: number, inflight: number, bridgePid: number | null): Promise<Sample> {
  const lat: number[] = [];
  let issued = 0;
  const cpu0 = process.cpuUsage();
  const b0 = bridgePid === null ? 0 : processCpuUs(bridgePid);
  const t0 = performance.now();
  const worker = async () => {
    while (issued < n) {
      issued++;
      const s = performance.now();
      await fn();
      lat.push((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    callsPerSec: (n / ms) * 1000,
    lat,
    clientCpu: (cpu.user + cpu.system) / n,
    bridgeCpu: bridgePid === null ? 0 : (processCpuUs(bridgePid) - b0) / n,
  };
}

async function callsOf(conn: Connect, domName: string): Promise<Record<string, Fn>> {
  const dom = await conn.getDomainByName(domName);
  const calls: Record<string, Fn> = { getLibVersion: () => conn.getLibVersion(), listAllSnapshots: () => dom.listAllSnapshots() };
  for (const fn of Object.values(calls)) for (let i = 0; i < 300; i++) await fn();
  return calls;
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const median = (xs: number[]) => quantile(xs, 0.5);

async function main(): Promise<void> {
  const holder = process.pid;
  const { info } = await startSandbox({ holder, log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-bench-ws-'));
  const guest = `bench-ws-${process.pid}`;
  const token = 'bench-ws-token-0123456789abcdef';
  fs.writeFileSync(path.join(work, 'token'), `${token}\n`, { mode: 0o600 });
  let bridge: Awaited<ReturnType<typeof startBridgeProcess>> | null = null;
  try {
    // A guest of our own with a few snapshots (shut off: internal snapshots are made by qemu-img, quickly).
    await createGuest(info, guest, { start: false });
    const setup = await connect(info.unixUri);
    const dom = await setup.getDomainByName(guest);
    for (let i = 0; i < SNAPSHOTS; i++) await dom.createSnapshot({ name: `s${i}` });
    await setup.close();
    bridge = await startBridgeProcess(['--listen', '127.0.0.1:0', '--connect', info.unixUri, '--token-file', path.join(work, 'token')]);
    const out = (s: string) => process.stdout.write(`${s}\n`);
    out(`bench:ws against libvirt ${info.libvirtVersion}: unix socket vs ws-bridge (pid ${bridge.pid}, a separate process) in front of it`);
    out(`domain ${guest} with ${SNAPSHOTS} snapshots; ${PAIRS} pairs per line of ${SEQ_CALLS} sequential calls or ${CONC_CALLS} calls with ${INFLIGHT} in flight; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores\n`);
    const unixConn = await connect(info.unixUri, { keepalive: false });
    const t = await openWebSocketTransport(bridge.url, { WebSocket: WebSocket as unknown as WebSocketConstructor, token });
    const wsConn = await Connect.openWith(t, { name: 'qemu:///session', keepalive: false });
    const sides = { unix: await callsOf(unixConn, guest), ws: await callsOf(wsConn, guest) };
    const rows: string[][] = [[
      'call', 'mode', 'unix calls/s', 'ws calls/s', 'ratio', 'ratio IQR', 'unix p50/p99 µs', 'ws p50/p99 µs', 'client CPU µs/call unix/ws', 'bridge CPU µs/call',
    ]];
    for (const call of Object.keys(sides.unix)) {
      for (const [mode, n, inflight] of [['sequential', SEQ_CALLS, 1], [`${INFLIGHT} in flight`, CONC_CALLS, INFLIGHT]] as const) {
        const u: Sample[] = [];
        const w: Sample[] = [];
        for (let p = 0; p < PAIRS; p++) {
          // In turns, so that load from elsewhere falls on both sides alike.
          if (p % 2 === 0) {
            u.push(await run(sides.unix[call], n, inflight, null));
            w.push(await run(sides.ws[call], n, inflight, bridge.pid));
          } else {
            w.push(await run(sides.ws[call], n, inflight, bridge.pid));
            u.push(await run(sides.unix[call], n, inflight, null));
          }
        }
        const ratios = u.map((x, i) => w[i].callsPerSec / x.callsPerSec);
        const lat = (s: Sample[]) => {
          const all = s.flatMap((x) => x.lat);
          return `${quantile(all, 0.5).toFixed(0)}/${quantile(all, 0.99).toFixed(0)}`;
        };
        rows.push([
          call, mode,
          median(u.map((x) => x.callsPerSec)).toFixed(0), median(w.map((x) => x.callsPerSec)).toFixed(0),
          `${median(ratios).toFixed(2)}x`, `${quantile(ratios, 0.25).toFixed(2)}-${quantile(ratios, 0.75).toFixed(2)}`,
          lat(u), lat(w),
          `${median(u.map((x) => x.clientCpu)).toFixed(1)}/${median(w.map((x) => x.clientCpu)).toFixed(1)}`,
          median(w.map((x) => x.bridgeCpu)).toFixed(1),
        ]);
      }
    }
    await unixConn.close();
    await wsConn.close();
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) out(r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
    out(`\nratio: ws calls/s over unix calls/s, median of ${PAIRS} pairs (IQR: 25th-75th percentile of the pairs)`);
    out(`target: ws >= 0.7x the unix socket's throughput with ${INFLIGHT} calls in flight`);
  } finally {
    await bridge?.stop();
    await removeGuest(info, guest).catch((e: Error) => process.stderr.write(`bench:ws: could not remove ${guest}: ${e.message}\n`));
    fs.rmSync(work, { recursive: true, force: true });
    await releaseSandbox({ holder, stop: false });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:ws failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
