/**
 * `npm run bench:instructions`: the clients' own cost per call in instructions, counted by valgrind's callgrind.
 * Unlike time, an instruction count does not move with the load on the machine, so this table holds still on a
 * busy host; it leaves out what the kernel does for the client (system calls, wake-ups) and the daemon's work,
 * which `npm run bench` measures in time.
 *
 * Each client runs under `valgrind --tool=callgrind --instr-atstart=no` (ours with V8's optimizing compiler on
 * the main thread, so that compilation happens in a known place), warms up with the same run twice, and only the
 * third run is counted: the driver switches instrumentation on and off around it with `callgrind_control`.
 * For ours, TurboFan compilations that still land in that window are subtracted (a one-off cost, not a per-call
 * one); garbage collection is counted.
 *
 * Options: --before DIR (also the library of another checkout), --cases a,b (see CASES).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox, releaseSandbox } from '../../scripts/sandbox/sandbox';
import { startBenchDaemon, XML_DOMAIN } from './daemons';
import { Peer } from './peer';

interface Case {
  name: string;
  /** The run command for `n` calls (without `api`). */
  run: Record<string, unknown>;
  n: number;
  apis: ('object' | 'raw')[];
  /** Needs the open connection `key` with the XML domain looked up. */
  connection: boolean;
}

const CASES: Record<string, Case> = {
  // 20,000 calls: with 3,000, a one-off cost in the window (a major GC, say) added 18k instructions per call to
  // one API's figure or the other's, from run to run.
  'libver-seq': { name: 'getLibVersion, sequential', run: { op: 'run', key: 'k', call: 'libver', conc: 1 }, n: 20000, apis: ['object', 'raw'], connection: true },
  'xml-seq': { name: `domain XML (${XML_DOMAIN}), sequential`, run: { op: 'run', key: 'k', call: 'xml', conc: 1 }, n: 2000, apis: ['object', 'raw'], connection: true },
  'libver-32': { name: 'getLibVersion, 32 in flight', run: { op: 'run', key: 'k', call: 'libver', conc: 32 }, n: 4000, apis: ['object', 'raw'], connection: true },
  'connect-unix': { name: 'open + getLibVersion + close, unix', run: { op: 'connect' }, n: 200, apis: ['object', 'raw'], connection: false },
};

function sh(command: string, args: string[], timeout = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/** Program total, and TurboFan's share of it, from a callgrind output file. */
async function totals(file: string): Promise<{ total: number; compile: number }> {
  const out = await sh('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file]);
  const get = (re: RegExp) => Number(out.split('\n').find((l) => re.test(l))?.trim().split(/\s+/)[0].replace(/,/g, '') ?? 0);
  return { total: get(/PROGRAM TOTALS/), compile: get(/Runtime_CompileOptimized\(/) };
}

/** Instructions per call of one client on one case. */
async function measure(kind: 'ours' | 'C', lib: string | undefined, c: Case, api: 'object' | 'raw' | null, uri: string, dir: string): Promise<number> {
  const out = path.join(dir, `cg-${kind}-${process.hrtime.bigint()}.out`);
  const vg = ['--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${out}`];
  const peer = kind === 'C'
    ? await Peer.start('C', 'valgrind', [...vg, '/usr/bin/python3', path.join(__dirname, 'c-client.py')], process.env, 300_000)
    : await Peer.start('ours', 'valgrind', [...vg, '--smc-check=all-non-file', process.execPath, '--no-concurrent-recompilation',
      path.resolve(__dirname, '..', '..', 'scripts', 'ts-run.cjs'), path.join(__dirname, 'ours-client.ts'), ...(lib ? ['--lib', lib] : [])],
    { ...process.env, NODE_OPTIONS: '' }, 300_000);
  try {
    if (c.connection) {
      await peer.send({ op: 'open', key: 'k', uri }, 300_000);
      await peer.send({ op: 'lookup', key: 'k', dom: XML_DOMAIN }, 300_000);
    }
    const cmd = { ...c.run, api, n: c.n, ...(c.connection ? {} : { uri }) };
    for (let i = 0; i < 2; i++) await peer.send(cmd, 600_000);
    await sh('callgrind_control', ['-i', 'on', String(peer.pid)]);
    await peer.send(cmd, 600_000);
    await sh('callgrind_control', ['-i', 'off', String(peer.pid)]);
  } finally {
    await peer.stop();
  }
  const t = await totals(out);
  fs.rmSync(out, { force: true });
  return (t.total - (kind === 'ours' ? t.compile : 0)) / c.n;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const before = opt('--before');
  const names = (opt('--cases') ?? Object.keys(CASES).join(',')).split(',');
  for (const n of names) if (!CASES[n]) throw new Error(`unknown case ${n} (one of ${Object.keys(CASES).join(', ')})`);
  const holder = process.pid;
  await startSandbox({ holder, log: (l) => process.stderr.write(`bench: sandbox: ${l}\n`) });
  const daemon = await startBenchDaemon(64);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-instructions-'));
  const rows: string[][] = [['case', 'api', 'ours', ...(before ? ['before'] : []), 'C', 'ours/C', ...(before ? ['ours/before'] : [])]];
  try {
    for (const n of names) {
      const c = CASES[n];
      const cost = await measure('C', undefined, c, null, daemon.qemuUri, dir);
      for (const api of c.apis) {
        const ours = await measure('ours', undefined, c, api, daemon.qemuUri, dir);
        const was = before ? await measure('ours', before, c, api, daemon.qemuUri, dir) : null;
        const k = (x: number) => `${(x / 1000).toFixed(1)}k`;
        rows.push([c.name, api, k(ours), ...(was !== null ? [k(was)] : []), k(cost), `${(ours / cost).toFixed(2)}x`, ...(was !== null ? [`${(ours / was).toFixed(2)}x`] : [])]);
        process.stderr.write(`bench: ${c.name} (${api}): ours ${k(ours)}${was !== null ? `, before ${k(was)}` : ''}, C ${k(cost)}\n`);
      }
    }
  } finally {
    await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    await releaseSandbox({ holder, stop: false });
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write('\nclient instructions per call (callgrind; user space only, the same daemon for every client)\n\n');
  for (const r of rows) process.stdout.write(`${r.map((x, i) => (i < 2 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ')}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench:instructions failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
