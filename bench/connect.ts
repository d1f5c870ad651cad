/**
 * bench:connect — time to open a connection and make one call (connectGetLibVersion), then close, per transport
 * (unix, tcp, tls, ssh), for this client and for libvirt's C client (python3-libvirt) on the same URIs, in one run.
 * Prints medians and ratios (C time / our time: above 1.0 means we are faster).
 */
import { execFile } from 'node:child_process';
import { startSandbox } from '../scripts/sandbox/sandbox';
import { openUri } from '../test/helpers/open';

const N = Number(process.env.BENCH_CONNECT_N ?? 30);

const PY = String.raw`
import json, sys, time, libvirt
uri, n = sys.argv[1], int(sys.argv[2])
# The C client asks for credentials through a callback; none are needed here.
times = []
for i in range(n + 2):
    t0 = time.perf_counter()
    c = libvirt.open(uri)
    c.getLibVersion()
    c.close()
    if i >= 2: times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({'median': times[len(times) // 2], 'p90': times[int(len(times) * 0.9)]}))
`;

function cClient(uri: string, env: NodeJS.ProcessEnv): Promise<{ median: number; p90: number }> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', PY, uri, String(N)], { timeout: 300000, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3-libvirt failed on ${uri}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

async function ours(uri: string): Promise<{ median: number; p90: number }> {
  const times: number[] = [];
  for (let i = 0; i < N + 2; i++) {
    const t0 = performance.now();
    const conn = await openUri(uri, { keepalive: false });
    await conn.remote.connectGetLibVersion();
    await conn.close();
    if (i >= 2) times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p90: times[Math.floor(times.length * 0.9)] };
}

async function main(): Promise<void> {
  const { info } = await startSandbox({ log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  // libvirt's C client reaches ssh:// through the ssh program, which reads ~/.ssh/known_hosts and ignores the
  // known_hosts URI parameter (FIELD-NOTES); the sandbox's `command` wrapper points ssh at its own known_hosts.
  const sshOurs = `${info.ssh.uri}?keyfile=${info.ssh.keyFile}&known_hosts=${info.ssh.knownHosts}`;
  const cases: { transport: string; ours: string; c: string }[] = [
    { transport: 'unix', ours: info.unixUri, c: info.unixUri },
    { transport: 'tcp', ours: info.tcpUri, c: info.tcpUri },
    { transport: 'tls', ours: info.tls.uri, c: info.tls.uri },
    { transport: 'ssh', ours: sshOurs, c: info.ssh.libvirtUri },
  ];
  process.stdout.write(`bench:connect: open + connectGetLibVersion + close, ${N} times per transport (2 warm-ups), libvirt ${info.libvirtVersion}\n\n`);
  const rows = [['transport', 'ours median ms', 'C median ms', 'ratio (C/ours)', 'ours p90 ms', 'C p90 ms']];
  for (const c of cases) {
    let o: { median: number; p90: number } | null = null;
    let p: { median: number; p90: number } | null = null;
    let note = '';
    try {
      o = await ours(c.ours);
    } catch (e) {
      note += ` ours failed: ${(e as Error).message}`;
    }
    try {
      p = await cClient(c.c, process.env);
    } catch (e) {
      note += ` C failed: ${(e as Error).message.split('\n')[0]}`;
    }
    rows.push([c.transport, o ? o.median.toFixed(2) : '-', p ? p.median.toFixed(2) : '-', o && p ? `${(p.median / o.median).toFixed(2)}x` : '-', o ? o.p90.toFixed(2) : '-', p ? p.p90.toFixed(2) : '-']);
    if (note) process.stdout.write(`${c.transport}:${note}\n`);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) process.stdout.write(r.map((x, i) => x.padStart(widths[i])).join('  ') + '\n');
  process.stdout.write('\ntarget: no slower than the C client on any transport (ratio >= 1.0x)\n');
}

main().catch((e) => {
  process.stderr.write(`bench:connect failed: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
