/**
 * `npm run bench:compare` (the first part of `npm run bench`): this client against libvirt's C client
 * (python3-libvirt) on the same daemons, URIs and calls, in one run, printed as one table. See README.md
 * "Benchmarks" for how to read it.
 *
 * Options (after `npm run bench --` or `npm run bench:compare --`):
 *   --suite rpc,connect,snapshots   which groups to run (default all)
 *   --before DIR                    also measure the library of another checkout (a "before"), in the same rounds
 *   --api object,raw                which of our APIs to measure (default both)
 *   --rounds N, --round-ms MS       alternating rounds per group (default 15) and their length (default 150 ms)
 *   --json FILE                     also write every sample and figure as JSON
 */
import * as fs from 'node:fs';
import { releaseSandbox, startSandbox, type SandboxInfo } from '../../scripts/sandbox/sandbox';
import { CORES } from './cpu';
import { startBenchDaemon, XML_DOMAIN, type BenchDaemon } from './daemons';
import { Peer } from './peer';
import { describeTarget, figures, misses, runGroup, type Group, type GroupSamples, type Participant, type Row } from './rounds';
import { printTable } from './table';

interface Options {
  suites: Set<string>;
  before: string | null;
  apis: ('object' | 'raw')[];
  rounds: number;
  roundMs: number;
  json: string | null;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { suites: new Set(['rpc', 'connect', 'snapshots']), before: null, apis: ['object', 'raw'], rounds: 15, roundMs: 150, json: null };
  for (let i = 0; i < argv.length; i++) {
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return x;
    };
    const num = (what: string, min: number): number => {
      const x = Number(v());
      if (!Number.isInteger(x) || x < min) throw new Error(`${what} must be an integer >= ${min}`);
      return x;
    };
    switch (argv[i]) {
      case '--suite':
        o.suites = new Set(v().split(','));
        for (const s of o.suites) if (!['rpc', 'connect', 'snapshots'].includes(s)) throw new Error(`unknown suite ${s}`);
        break;
      case '--before':
        o.before = v();
        if (!fs.existsSync(`${o.before}/src/index.ts`)) throw new Error(`--before ${o.before}: no src/index.ts there`);
        break;
      case '--api':
        o.apis = v().split(',') as Options['apis'];
        for (const a of o.apis) if (a !== 'object' && a !== 'raw') throw new Error(`unknown api ${a}`);
        break;
      case '--rounds':
        o.rounds = num('--rounds', 1);
        break;
      case '--round-ms':
        o.roundMs = num('--round-ms', 10);
        break;
      case '--json':
        o.json = v();
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (see bench/compare/main.ts)`);
    }
  }
  return o;
}

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Snapshots of the snapshot rows (a binary tree on test:///default), as in the first wave's bench. */
const SNAPSHOTS = 5000;
const INFLIGHT = 32;

/** The participants: the C client, and ours (and the "before" checkout's) through each API. */
function participantsOf(c: Peer, ours: Peer, before: Peer | null, apis: Options['apis']): Participant[] {
  const ps: Participant[] = [{ label: 'C', peer: c, api: null, isC: true }];
  for (const api of apis) ps.push({ label: `ours ${api}`, peer: ours, api, isC: false });
  if (before) for (const api of apis) ps.push({ label: `before ${api}`, peer: before, api, isC: false });
  return ps;
}

function rpcGroups(d: BenchDaemon, key: string): Group[] {
  const groups: Group[] = [];
  for (const call of ['libver', 'xml'] as const) {
    for (const conc of [1, INFLIGHT]) {
      const what = `${call === 'libver' ? 'getLibVersion' : `domain XML (${XML_DOMAIN})`}, ${conc === 1 ? 'sequential' : `${conc} in flight`}`;
      groups.push({
        suite: 'rpc', what, daemon: `mcr ${d.maxClientRequests}`, daemonPid: d.daemon.pid,
        command: (p, n) => ({ op: 'run', key, call, api: p.api, conc, n }),
        warmCalls: 1000, minCalls: 200, maxCalls: 20000,
        // The issue's targets: sequential rows always; 32 in flight with max_client_requests = 64.
        target: conc === 1 ? { speed: 1.0, cpu: 0.7 } : d.maxClientRequests >= 64 ? { speed: 1.0, cpu: 0.5, busy: 0.9 } : {},
      });
    }
  }
  return groups;
}

function connectGroups(info: SandboxInfo): { group: Group; uris: { ours: string; c: string } }[] {
  // libvirt's C client reaches ssh:// through the ssh program, which ignores the known_hosts URI parameter
  // (FIELD-NOTES); the sandbox's command= wrapper points it at the sandbox's known_hosts, ours takes it as is.
  // The SASL rows (issue 14's targets) open the sandbox's SASL daemon with the same credentials for both
  // clients: the auth.conf in $LIBVIRT_AUTH_FILE (set for every client process, see Peer), which ours finds
  // as a user's program would and libvirt's C client reads with a credentials callback registered (Cyrus SASL
  // needs one to offer SCRAM at all; auth.conf answers before it is asked).
  const sasl = (t: string, uri: string) => ({ t, ours: uri, c: uri, warm: 5, min: 5, sasl: true, daemonPid: info.sasl.libvirtdPid });
  const cases = [
    { t: 'unix', ours: info.unixUri, c: info.unixUri, warm: 20, min: 20, sasl: false, daemonPid: info.libvirtdPid },
    { t: 'tcp', ours: info.tcpUri, c: info.tcpUri, warm: 20, min: 20, sasl: false, daemonPid: info.libvirtdPid },
    { t: 'tls', ours: info.tls.uri, c: info.tls.uri, warm: 10, min: 10, sasl: false, daemonPid: info.libvirtdPid },
    { t: 'ssh', ours: `${info.ssh.uri}?keyfile=${info.ssh.keyFile}&known_hosts=${info.ssh.knownHosts}`, c: info.ssh.libvirtUri, warm: 1, min: 1, sasl: false, daemonPid: info.libvirtdPid },
    sasl('sasl+unix SCRAM-SHA-256', info.sasl.unixUri),
    sasl('sasl+tls SCRAM-SHA-256', info.sasl.tlsUri),
    sasl('sasl+unix PLAIN', `${info.sasl.unixUri}&auth=sasl.PLAIN`),
    sasl('sasl+tls PLAIN', `${info.sasl.tlsUri}&auth=sasl.PLAIN`),
  ];
  return cases.map((x) => ({
    uris: { ours: x.ours, c: x.c },
    group: {
      suite: 'connect' as const, what: `open + getLibVersion + close, ${x.t}`, daemon: x.sasl ? 'sandbox sasl' : 'sandbox', daemonPid: x.daemonPid,
      command: (p: Participant, n: number) => ({ op: 'connect', uri: p.isC ? x.c : x.ours, api: p.api, n, ...(x.sasl ? { sasl: true } : {}) }),
      warmCalls: x.warm, minCalls: x.min, maxCalls: 2000,
      target: x.t === 'ssh' ? {} : { speed: 1.0 },
      // The "before" of issue 15 (3d6d57b) predates SASL: its rows would only measure a refusal.
      ...(x.sasl ? { takes: (p: Participant) => !p.label.startsWith('before') } : {}),
    },
  }));
}

function snapshotGroups(d: BenchDaemon, key: string): Group[] {
  return (['listAll', 'listNames'] as const).map((call) => ({
    suite: 'snapshots' as const,
    what: `${call === 'listAll' ? 'listAllSnapshots' : 'listSnapshotNames'}, ${SNAPSHOTS} snapshots`,
    daemon: `mcr ${d.maxClientRequests}`, daemonPid: d.daemon.pid,
    command: (p: Participant, n: number) => ({ op: 'run', key, call, api: p.api, conc: 1, n }),
    warmCalls: 5, minCalls: 3, maxCalls: 200,
    target: { speed: 1.5 },
  }));
}

function rowsOf(g: Group, samples: GroupSamples): Row[] {
  const [c] = [...samples.keys()].filter((p) => p.isC);
  const all = [...samples.values()].flat();
  return [...samples.keys()].filter((p) => !p.isC).map((p) => {
    const f = figures(samples.get(p)!, samples.get(c)!, all);
    const m = misses(g.target, f);
    const judged = g.target.speed !== undefined || g.target.cpu !== undefined || g.target.busy !== undefined;
    return { group: g, label: p.label, f, target: describeTarget(g.target), verdict: !judged ? '' : m.length ? `MISS ${m.join('+')}` : 'met' };
  });
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const holder = process.pid;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const f of cleanups.reverse()) await f().catch((e: unknown) => log(`clean-up: ${String(e)}`));
    cleanups.length = 0;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => void cleanup().finally(() => process.exit(130)));
  }
  try {
    // The sandbox: its user runs the private daemons, its daemon serves the TCP, TLS and SSH opens.
    const { info } = await startSandbox({ holder, log: (l) => log(`sandbox: ${l}`) });
    cleanups.push(() => releaseSandbox({ holder, stop: false }).then(() => undefined));
    const daemons: BenchDaemon[] = [];
    if (o.suites.has('rpc') || o.suites.has('snapshots')) {
      for (const mcr of o.suites.has('rpc') ? [5, 64] : [5]) {
        log(`starting a private libvirtd with max_client_requests = ${mcr}`);
        const d = await startBenchDaemon(mcr);
        cleanups.push(() => d.stop());
        daemons.push(d);
      }
    }
    log('starting the clients');
    // Every client finds the SASL rows' credentials where libvirt looks first: $LIBVIRT_AUTH_FILE.
    const env = { ...process.env, LIBVIRT_AUTH_FILE: info.sasl.authFile };
    const c = await Peer.c(env);
    cleanups.push(() => c.stop());
    const ours = await Peer.ours('ours', undefined, env);
    cleanups.push(() => ours.stop());
    const before = o.before ? await Peer.ours('before', o.before, env) : null;
    if (before) cleanups.push(() => before.stop());
    const peers = [c, ours, ...(before ? [before] : [])];
    const participants = participantsOf(c, ours, before, o.apis);

    const groups: Group[] = [];
    if (o.suites.has('rpc')) {
      for (const d of daemons) {
        const key = `mcr${d.maxClientRequests}`;
        for (const p of peers) {
          await p.send({ op: 'open', key, uri: d.qemuUri });
          await p.send({ op: 'lookup', key, dom: XML_DOMAIN });
        }
        groups.push(...rpcGroups(d, key));
      }
    }
    if (o.suites.has('connect')) groups.push(...connectGroups(info).map((x) => x.group));
    if (o.suites.has('snapshots')) {
      const d = daemons[0];
      for (const p of peers) {
        await p.send({ op: 'open', key: 'snap', uri: d.testUri });
        await p.send({ op: 'lookup', key: 'snap', dom: 'test' });
        const r = await p.send<{ setupMs: number }>({ op: 'snapsetup', key: 'snap', count: SNAPSHOTS }, 600_000);
        log(`${p.name}: ${SNAPSHOTS} snapshots made in ${Math.round(r.setupMs)} ms`);
      }
      groups.push(...snapshotGroups(d, 'snap'));
    }

    const rows: Row[] = [];
    const dump: unknown[] = [];
    for (const g of groups) {
      const t0 = Date.now();
      const samples = await runGroup(g, participants.filter((p) => g.takes?.(p) ?? true), o.rounds, o.roundMs);
      const rs = rowsOf(g, samples);
      rows.push(...rs);
      dump.push({ suite: g.suite, what: g.what, daemon: g.daemon, samples: [...samples].map(([p, s]) => ({ label: p.label, s })), rows: rs.map((r) => ({ label: r.label, f: r.f })) });
      log(`${g.what} (${g.daemon}): ${rs.map((r) => `${r.label} ${r.f.speed.median.toFixed(2)}x`).join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    printTable(rows, { rounds: o.rounds, roundMs: o.roundMs, cores: CORES, libvirt: info.libvirtVersion });
    if (o.json) fs.writeFileSync(o.json, JSON.stringify({ options: { ...o, suites: [...o.suites] }, groups: dump }, null, 1));
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
