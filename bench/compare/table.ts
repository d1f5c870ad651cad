/** The one table `npm run bench` prints, and the legend under it. */
import type { Row, Spread } from './rounds';

const x2 = (v: number) => `${v.toFixed(2)}x`;
const sp = (s: Spread) => `${x2(s.median)} [${s.min.toFixed(2)}-${s.max.toFixed(2)}]`;
const us = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));
const pct = (v: number) => `${Math.round(v * 100)}%`;
const perSec = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

export function printTable(rows: Row[], meta: { rounds: number; roundMs: number; cores: number; libvirt: string }): void {
  const head = ['case', 'daemon', 'client', 'ops/s', 'C ops/s', 'speed ours/C', 'cpu µs/op', 'C cpu µs/op', 'cpu ours/C', 'daemon µs/op', 'C daemon µs/op', 'busy', 'C busy', 'others', 'target', 'verdict'];
  const table: string[][] = [head];
  let last = '';
  for (const r of rows) {
    const f = r.f;
    const key = `${r.group.what}|${r.group.daemon}`;
    table.push([
      key === last ? '' : r.group.what, key === last ? '' : r.group.daemon, r.label,
      perSec(f.rate), perSec(f.cRate), sp(f.speed),
      us(f.cpuUs), us(f.cCpuUs), sp(f.cpu),
      us(f.daemonUs), us(f.cDaemonUs), pct(f.busy), pct(f.cBusy), pct(f.others),
      r.target, r.verdict,
    ]);
    last = key;
  }
  const widths = head.map((_, i) => Math.max(...table.map((t) => t[i].length)));
  const left = new Set([0, 1, 2, 14, 15]);
  const out = (s: string) => process.stdout.write(`${s}\n`);
  out(`\nlibvirt-rpc vs libvirt's C client (python3-libvirt), libvirt ${meta.libvirt}, ${meta.cores} cores; ${meta.rounds} alternating rounds of about ${meta.roundMs} ms per group\n`);
  for (const t of table) out(t.map((c, i) => (left.has(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
  out(`
ops/s: calls (or opens) per second, median of the rounds. speed ours/C: per-round throughput ratio, median [min-max];
above 1 we are faster. cpu: user + system time of the client process per call (ours: process.cpuUsage; C: getrusage
of the python process and its children), with the per-round ratio ours/C: below 1 we cost less. daemon: libvirtd's
CPU per call during that client's runs (/proc/<pid>/task/*/schedstat). busy: (client + daemon CPU) / (cores x wall).
others: CPU used by everything else on the machine during the group, as a share of all cores (noise).
daemon: "mcr N" is a private libvirtd with max_client_requests = N; "sandbox" is the sandbox's daemon.`);
}
