/**
 * bench:rpc — this client against libvirt's own C client (python3-libvirt) on the same sandbox daemon, same URI,
 * same calls, in one run: connectGetLibVersion and domainGetXMLDesc, sequential (calls/s, p50, p99) and with 32
 * calls in flight (the C client with 32 threads sharing one connection). Prints ratios (ours / C).
 */
import { execFile } from 'node:child_process';
import { RemoteConnection } from '../src/protocol/connection';
import { openUri } from '../test/helpers/open';
import { startSandbox } from '../scripts/sandbox/sandbox';

interface Result {
  callsPerSec: number;
  p50us: number;
  p99us: number;
}

const SEQ_CALLS = Number(process.env.BENCH_SEQ ?? 5000);
const CONC_CALLS = Number(process.env.BENCH_CONC ?? 20000);
const INFLIGHT = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function stats(lat: number[], totalMs: number, n: number): Result {
  lat.sort((a, b) => a - b);
  return { callsPerSec: (n / totalMs) * 1000, p50us: lat[Math.floor(lat.length * 0.5)], p99us: lat[Math.floor(lat.length * 0.99)] };
}

async function oursSequential(fn: () => Promise<unknown>, n: number): Promise<Result> {
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    await fn();
    lat.push((performance.now() - s) * 1000);
  }
  return stats(lat, performance.now() - t0, n);
}

async function oursConcurrent(fn: () => Promise<unknown>, n: number, inflight: number): Promise<Result> {
  const lat: number[] = [];
  let issued = 0;
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
  return stats(lat, performance.now() - t0, n);
}

const PY = String.raw`
import json, sys, threading, time, libvirt
uri, dom_name, seq_n, conc_n, inflight = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
conn = libvirt.open(uri)
dom = conn.lookupByName(dom_name)
calls = {'getLibVersion': lambda: conn.getLibVersion(), 'domainGetXMLDesc': lambda: dom.XMLDesc(0)}
def stats(lat, total, n):
    lat.sort()
    return {'callsPerSec': n / total, 'p50us': lat[int(len(lat) * 0.5)] * 1e6, 'p99us': lat[int(len(lat) * 0.99)] * 1e6}
out = {}
for name, fn in calls.items():
    for _ in range(500): fn()
    lat = []
    t0 = time.perf_counter()
    for _ in range(seq_n):
        s = time.perf_counter(); fn(); lat.append(time.perf_counter() - s)
    seq = stats(lat, time.perf_counter() - t0, seq_n)
    lat = []; lock = threading.Lock(); left = [conc_n]
    def worker():
        while True:
            with lock:
                if left[0] <= 0: return
                left[0] -= 1
            s = time.perf_counter(); fn(); e = time.perf_counter() - s
            with lock: lat.append(e)
    ts = [threading.Thread(target=worker) for _ in range(inflight)]
    t0 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    out[name] = {'sequential': seq, 'concurrent': stats(lat, time.perf_counter() - t0, conc_n)}
conn.close()
print(json.dumps(out))
`;

function cClient(uri: string, dom: string): Promise<Record<string, { sequential: Result; concurrent: Result }>> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', PY, uri, dom, String(SEQ_CALLS), String(CONC_CALLS), String(INFLIGHT)], { timeout: 600000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3-libvirt run failed: ${stderr || err.message}\n(is python3-libvirt installed? apt-get install -y python3-libvirt)`));
      else resolve(JSON.parse(stdout));
    });
  });
}

async function ours(conn: RemoteConnection, domName: string): Promise<Record<string, { sequential: Result; concurrent: Result }>> {
  const dom = (await conn.remote.domainLookupByName({ name: domName })).dom;
  const calls: Record<string, () => Promise<unknown>> = {
    getLibVersion: () => conn.remote.connectGetLibVersion(),
    domainGetXMLDesc: () => conn.remote.domainGetXmlDesc({ dom, flags: 0 }),
  };
  const out: Record<string, { sequential: Result; concurrent: Result }> = {};
  for (const [name, fn] of Object.entries(calls)) {
    for (let i = 0; i < 500; i++) await fn();
    out[name] = { sequential: await oursSequential(fn, SEQ_CALLS), concurrent: await oursConcurrent(fn, CONC_CALLS, INFLIGHT) };
  }
  return out;
}

function median<T>(xs: T[], key: (x: T) => number): T {
  return [...xs].sort((a, b) => key(a) - key(b))[Math.floor(xs.length / 2)];
}

async function main(): Promise<void> {
  const { info } = await startSandbox({ log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  const uri = info.unixUri;
  const dom = info.guest.name;
  process.stdout.write(`bench:rpc against libvirt ${info.libvirtVersion} at ${uri}, domain ${dom}\n`);
  process.stdout.write(`sequential: ${SEQ_CALLS} calls; concurrent: ${CONC_CALLS} calls with ${INFLIGHT} in flight; ${ROUNDS} alternating rounds, median shown\n\n`);
  const oursRuns: Awaited<ReturnType<typeof ours>>[] = [];
  const cRuns: Awaited<ReturnType<typeof cClient>>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const conn = await openUri(uri, { keepalive: false });
    oursRuns.push(await ours(conn, dom));
    await conn.close();
    cRuns.push(await cClient(uri, dom));
  }
  const rows: string[][] = [['call', 'mode', 'ours calls/s', 'C calls/s', 'ratio', 'ours p50 µs', 'C p50 µs', 'ours p99 µs', 'C p99 µs']];
  for (const call of ['getLibVersion', 'domainGetXMLDesc']) {
    for (const mode of ['sequential', 'concurrent'] as const) {
      const o = median(oursRuns.map((x) => x[call][mode]), (x) => x.callsPerSec);
      const c = median(cRuns.map((x) => x[call][mode]), (x) => x.callsPerSec);
      rows.push([call, mode === 'concurrent' ? `${INFLIGHT} in flight` : mode, o.callsPerSec.toFixed(0), c.callsPerSec.toFixed(0), `${(o.callsPerSec / c.callsPerSec).toFixed(2)}x`, o.p50us.toFixed(0), c.p50us.toFixed(0), o.p99us.toFixed(0), c.p99us.toFixed(0)]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((c, i) => c.padStart(widths[i])).join('  ') + '\n');
  process.stdout.write('\ntargets: >= 1.0x sequential, >= 1.5x with 32 in flight\n');
}

main().catch((e) => {
  process.stderr.write(`bench:rpc failed: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
