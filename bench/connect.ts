/**
 * bench:connect — time to open a connection and make one call (connectGetLibVersion), then close, per transport
 * (unix, tcp, tls, ssh), for this client and for libvirt's C client (python3-libvirt) on the same URIs, in one run.
 * Prints medians, the 10th-90th percentile spread and ratios (C time / our time: above 1.0 means we are faster).
 * The two clients take turns in rounds (BENCH_CONNECT_ROUNDS, default 5), so that a load change on the machine
 * during the run falls on both. The SASL rows run against the
 * sandbox's SASL daemon, both clients reading the same auth.conf ($LIBVIRT_AUTH_FILE): libvirt's C client with a
 * credentials callback registered (Cyrus SASL needs one to offer SCRAM at all; auth.conf answers before it is asked).
 */
import { execFile } from 'node:child_process';
import { startSandbox } from '../scripts/sandbox/sandbox';
import { connect } from '../src/index';
import { openUri } from '../test/helpers/open';

const N = Number(process.env.BENCH_CONNECT_N ?? 30);
const ROUNDS = Math.max(1, Number(process.env.BENCH_CONNECT_ROUNDS ?? 5));
const PER_ROUND = Math.max(1, Math.ceil(N / ROUNDS));

interface Stats {
  median: number;
  p10: number;
  p90: number;
}

function stats(times: number[]): Stats {
  const t = [...times].sort((a, b) => a - b);
  const at = (q: number) => t[Math.min(t.length - 1, Math.floor(t.length * q))];
  return { median: at(0.5), p10: at(0.1), p90: at(0.9) };
}

const PY = String.raw`
import json, sys, time, libvirt
uri, n, sasl = sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3
# The C client asks for credentials through a callback; none are needed here (SASL: auth.conf has them all).
def ask(creds, data):
    return -1
auth = [[libvirt.VIR_CRED_AUTHNAME, libvirt.VIR_CRED_PASSPHRASE], ask, None]
times = []
for i in range(n + 2):
    t0 = time.perf_counter()
    c = libvirt.openAuth(uri, auth, 0) if sasl else libvirt.open(uri)
    c.getLibVersion()
    c.close()
    if i >= 2: times.append((time.perf_counter() - t0) * 1000)
print(json.dumps(times))
`;

function cClient(uri: string, env: NodeJS.ProcessEnv, sasl: boolean, n: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', PY, uri, String(n), ...(sasl ? ['sasl'] : [])], { timeout: 300000, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python3-libvirt failed on ${uri}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as number[]);
    });
  });
}

async function ours(uri: string, env: NodeJS.ProcessEnv | undefined, n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 2; i++) {
    const t0 = performance.now();
    if (env) {
      // SASL: the whole path a user takes (auth.conf found through the environment, read at each open).
      const conn = await connect(uri, { env, keepalive: false });
      await conn.getLibVersion();
      await conn.close();
    } else {
      const conn = await openUri(uri, { keepalive: false });
      await conn.remote.connectGetLibVersion();
      await conn.close();
    }
    if (i >= 2) times.push(performance.now() - t0);
  }
  return times;
}

async function main(): Promise<void> {
  const { info } = await startSandbox({ log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  // libvirt's C client reaches ssh:// through the ssh program, which reads ~/.ssh/known_hosts and ignores the
  // known_hosts URI parameter (FIELD-NOTES); the sandbox's `command` wrapper points ssh at its own known_hosts.
  const sshOurs = `${info.ssh.uri}?keyfile=${info.ssh.keyFile}&known_hosts=${info.ssh.knownHosts}`;
  const saslEnv = { ...process.env, LIBVIRT_AUTH_FILE: info.sasl.authFile };
  const cases: { transport: string; ours: string; c: string; env?: NodeJS.ProcessEnv }[] = [
    { transport: 'unix', ours: info.unixUri, c: info.unixUri },
    { transport: 'tcp', ours: info.tcpUri, c: info.tcpUri },
    { transport: 'tls', ours: info.tls.uri, c: info.tls.uri },
    { transport: 'ssh', ours: sshOurs, c: info.ssh.libvirtUri },
    { transport: 'sasl+unix SCRAM-SHA-256', ours: info.sasl.unixUri, c: info.sasl.unixUri, env: saslEnv },
    { transport: 'sasl+tls SCRAM-SHA-256', ours: info.sasl.tlsUri, c: info.sasl.tlsUri, env: saslEnv },
    { transport: 'sasl+unix PLAIN', ours: `${info.sasl.unixUri}&auth=sasl.PLAIN`, c: `${info.sasl.unixUri}&auth=sasl.PLAIN`, env: saslEnv },
    { transport: 'sasl+tls PLAIN', ours: `${info.sasl.tlsUri}&auth=sasl.PLAIN`, c: `${info.sasl.tlsUri}&auth=sasl.PLAIN`, env: saslEnv },
  ];
  process.stdout.write(`bench:connect: open + connectGetLibVersion + close, ${PER_ROUND * ROUNDS} times per transport and client in ${ROUNDS} alternating rounds (2 warm-ups each), libvirt ${info.libvirtVersion}\n\n`);
  const rows = [['transport', 'ours median ms', 'C median ms', 'ratio (C/ours)', 'ours p10-p90 ms', 'C p10-p90 ms']];
  const spread = (x: Stats) => `${x.p10.toFixed(2)}-${x.p90.toFixed(2)}`;
  for (const c of cases) {
    const ourTimes: number[] = [];
    const cTimes: number[] = [];
    let note = '';
    for (let round = 0; round < ROUNDS && !note; round++) {
      const runOurs = () => ours(c.ours, c.env, PER_ROUND).then((t) => void ourTimes.push(...t), (e: Error) => void (note += ` ours failed: ${e.message}`));
      const runC = () => cClient(c.c, c.env ?? process.env, c.env !== undefined, PER_ROUND).then((t) => void cTimes.push(...t), (e: Error) => void (note += ` C failed: ${e.message.split('\n')[0]}`));
      if (round % 2 === 0) await runOurs().then(runC);
      else await runC().then(runOurs);
    }
    const o = ourTimes.length ? stats(ourTimes) : null;
    const p = cTimes.length ? stats(cTimes) : null;
    rows.push([c.transport, o ? o.median.toFixed(2) : '-', p ? p.median.toFixed(2) : '-', o && p ? `${(p.median / o.median).toFixed(2)}x` : '-', o ? spread(o) : '-', p ? spread(p) : '-']);
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
