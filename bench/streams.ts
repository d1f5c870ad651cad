/**
 * bench:streams — volume download and upload of a 1 GiB dense volume and a 1 GiB sparse one (10% data), this
 * client against libvirt's C client through python3-libvirt's stream API (recvAll/sendAll and their sparse
 * variants, SEEK_DATA/SEEK_HOLE for the upload's holes) and `virsh vol-download/vol-upload`, in one run,
 * interleaved. Every transfer runs in its own process (ours from a compiled build, as an installed package
 * runs), timed from outside with its peak RSS (getrusage of the child). Ours runs twice: importing the package's
 * main entry (`libvirt-rpc`) and importing only `libvirt-rpc/node` (connect, files). Each process also times
 * its transfer from inside (after start-up, package load, connect and volume lookup), so start-up and transfer
 * are reported apart. Prints medians, ranges and ratios, what the processes weigh before any transfer, then the
 * latency of ordinary calls made while a 1 GiB stream runs on the same connection.
 *
 * BENCH_STREAMS_REPS (default 3) sets the repetitions. Needs about 3 GiB free under the temporary folder while
 * it runs; everything it makes is removed at the end.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startSandbox } from '../scripts/sandbox/sandbox';
import { connect, type DownloadSink, type StorageVol } from '../src/index';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const REPS = Number(process.env.BENCH_STREAMS_REPS ?? 3);
const ROOT = path.resolve(__dirname, '..');
const BUILD = path.join(ROOT, 'node_modules', '.cache', 'libvirt-rpc-bench-streams');

/** Runs a command and reports its wall time, peak RSS (KiB) and last stdout line (the child's own figures). */
const WRAP = String.raw`
import json, resource, subprocess, sys, time
t = time.monotonic()
r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
secs = time.monotonic() - t
out = r.stdout.decode().strip().splitlines()
print(json.dumps({'code': r.returncode, 'secs': secs, 'rssKiB': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  'out': out[-1] if out else '', 'err': r.stderr.decode()[-2000:]}))
`;

/** libvirt's C client: python3-libvirt's stream API, as its documentation shows it. */
const PY = String.raw`
import errno, json, os, sys, time, libvirt
uri, op, pool, name, file, sparse = sys.argv[1:7]
sparse = sparse == '1'
c = libvirt.open(uri)
vol = c.storagePoolLookupByName(pool).storageVolLookupByName(name)
st = c.newStream(0)
t = time.monotonic()
if op == 'download':
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    vol.download(st, 0, 0, libvirt.VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM if sparse else 0)
    def hole(s, length, fd):
        os.ftruncate(fd, os.lseek(fd, length, os.SEEK_CUR))
    if sparse: st.sparseRecvAll(lambda s, d, fd: os.write(fd, d), hole, fd)
    else: st.recvAll(lambda s, d, fd: os.write(fd, d), fd)
    st.finish()
    os.ftruncate(fd, os.lseek(fd, 0, os.SEEK_CUR))
    os.close(fd)
else:
    fd = os.open(file, os.O_RDONLY)
    vol.upload(st, 0, 0, libvirt.VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM if sparse else 0)
    def in_data(s, fd):
        cur = os.lseek(fd, 0, os.SEEK_CUR)
        end = os.fstat(fd).st_size
        if cur >= end: return [False, 0]
        try:
            data = os.lseek(fd, cur, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO: raise
            data = end
        if data > cur:
            r = [False, data - cur]
        else:
            r = [True, os.lseek(fd, cur, os.SEEK_HOLE) - cur]
        os.lseek(fd, cur, os.SEEK_SET)
        return r
    if sparse: st.sparseSendAll(lambda s, n, fd: os.read(fd, n), in_data, lambda s, n, fd: os.lseek(fd, n, os.SEEK_CUR), fd)
    else: st.sendAll(lambda s, n, fd: os.read(fd, n), fd)
    st.finish()
    os.close(fd)
print(json.dumps({'secs': time.monotonic() - t}))
`;

/**
 * Ours, from the compiled build: the same work as PY, through StorageVol.upload/download and the file helpers,
 * with the entry named by the first argument (src/index.js: `libvirt-rpc`; src/node/index.js: `libvirt-rpc/node`).
 */
const OURS = `
const [entry, uri, op, pool, name, file, sparse] = process.argv.slice(1);
const lib = require(require('path').join(${JSON.stringify(BUILD)}, entry));
(async () => {
  const c = await lib.connect(uri);
  const vol = await (await c.getStoragePoolByName(pool)).getVolumeByName(name);
  const t = performance.now();
  if (op === 'download') await vol.download(await lib.fileSink(file), { sparse: sparse === '1' });
  else await vol.upload(await lib.fileSource(file), { sparse: sparse === '1' });
  const secs = (performance.now() - t) / 1000;
  await c.close();
  console.log(JSON.stringify({ secs }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

type Client = 'ours' | 'ours-node' | 'python' | 'virsh';
const ENTRY: Record<'ours' | 'ours-node', string> = { ours: 'src/index.js', 'ours-node': 'src/node/index.js' };
interface Case {
  op: 'download' | 'upload';
  kind: 'dense' | 'sparse';
}
interface Sample {
  secs: number;
  rssKiB: number;
  innerSecs: number | null;
}

function run(what: string, cmd: string[], env: NodeJS.ProcessEnv): Promise<Sample> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', WRAP, ...cmd], { env, timeout: 600_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      const r = JSON.parse(stdout) as { code: number; secs: number; rssKiB: number; out: string; err: string };
      if (r.code !== 0) return reject(new Error(`${what} exited ${r.code}: ${r.err}`));
      let innerSecs: number | null = null;
      try {
        innerSecs = (JSON.parse(r.out) as { secs: number }).secs;
      } catch {
        // virsh prints nothing of its own
      }
      resolve({ secs: r.secs, rssKiB: r.rssKiB, innerSecs });
    });
  });
}

/** Compiles src/ and generated/ once into node_modules/.cache (reused while no source is newer). */
function build(): void {
  const stamp = path.join(BUILD, 'src', 'index.js');
  const newest = (dir: string): number => Math.max(0, ...fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => fs.statSync(path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name)).mtimeMs));
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs > Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'generated')))) return;
  process.stderr.write('bench:streams: compiling the client (tsc) ...\n');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD], { stdio: 'inherit' });
}

/** The sparse image, as the report describes it. */
const LAYOUT = 'sparse image: 1 GiB, 1 MiB of data every 10 MiB from offset 0 (103 runs spread through the file, 103 MiB = 10.06%; no data byte is zero), the rest holes';

/** Writes `size` bytes: dense (every block data) or sparse (see LAYOUT). */
function makeSource(file: string, kind: 'dense' | 'sparse'): void {
  const fd = fs.openSync(file, 'w');
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i++) block[i] = ((i * 7919) % 251) + 1;
  try {
    fs.ftruncateSync(fd, GiB);
    for (let at = 0; at < GiB; at += kind === 'dense' ? MiB : 10 * MiB) {
      block.writeUInt32LE(at / MiB, 0); // no two blocks alike
      fs.writeSync(fd, block, 0, MiB, at);
    }
  } finally {
    fs.closeSync(fd);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mbs = (secs: number) => GiB / MiB / secs;

async function callLatency(vol: StorageVol, what: 'download' | 'upload', source: string, uri: string): Promise<string> {
  const conn = await connect(uri);
  try {
    const v = await (await conn.getStoragePoolByName(vol.getPoolName())).getVolumeByName(vol.getName());
    const sink: DownloadSink = { releasesData: true, write: () => undefined };
    const { fileSource } = await import('../src/index');
    let running = true;
    const t0 = performance.now();
    const transfer = (what === 'download' ? v.download(sink) : v.upload(await fileSource(source))).finally(() => (running = false));
    const lat: number[] = [];
    while (running) {
      const t = performance.now();
      await conn.getLibVersion();
      if (running) lat.push(performance.now() - t);
    }
    await transfer;
    const secs = (performance.now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(1);
    return `${what} 1 GiB in ${secs.toFixed(1)} s (${mbs(secs).toFixed(0)} MiB/s): ${lat.length} CONNECT_GET_LIB_VERSION calls meanwhile, p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, max ${q(1)} ms`;
  } finally {
    await conn.close();
  }
}

/** What a process weighs before it moves a byte: bare Node, Node with each entry loaded, and connected. */
async function baseline(env: NodeJS.ProcessEnv): Promise<string> {
  const uri = JSON.stringify(env.BENCH_STREAMS_URI);
  const probes: [string, string][] = [
    ['bare node', ''],
    ['libvirt-rpc loaded', `require(${JSON.stringify(path.join(BUILD, ENTRY.ours))})`],
    ['libvirt-rpc/node loaded', `require(${JSON.stringify(path.join(BUILD, ENTRY['ours-node']))})`],
    ['libvirt-rpc connected', `require(${JSON.stringify(path.join(BUILD, ENTRY.ours))}).connect(${uri}).then((c) => c.close())`],
    ['libvirt-rpc/node connected', `require(${JSON.stringify(path.join(BUILD, ENTRY['ours-node']))}).connect(${uri}).then((c) => c.close())`],
  ];
  const out: string[] = [];
  for (const [what, code] of probes) {
    const rss: number[] = [];
    for (let i = 0; i < REPS; i++) rss.push((await run(what, [process.execPath, '-e', code], env)).rssKiB / 1024);
    out.push(`${what} ${median(rss).toFixed(1)}`);
  }
  return out.join(', ');
}

async function main(): Promise<void> {
  const { info } = await startSandbox({ log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  build();
  const uri = info.unixUri;
  const pool = info.pool.name;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-streams-'));
  const conn = await connect(uri);
  const p = await conn.getStoragePoolByName(pool);
  const vols: Record<'dense' | 'sparse', string> = { dense: 'bench-streams-dense', sparse: 'bench-streams-sparse' };
  const cleanup = async () => {
    for (const v of await p.listAllVolumes()) if (v.getName().startsWith('bench-streams-')) await v.delete().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await cleanup();
    fs.mkdirSync(tmp, { recursive: true });
    const src = { dense: path.join(tmp, 'dense.src'), sparse: path.join(tmp, 'sparse.src') };
    for (const kind of ['dense', 'sparse'] as const) {
      makeSource(src[kind], kind);
      await p.createVolume(`<volume><name>${vols[kind]}</name><capacity>${GiB}</capacity><allocation>0</allocation><target><format type='raw'/></target></volume>`);
      execFileSync('virsh', ['-q', '-c', uri, 'vol-upload', '--sparse', '--pool', pool, vols[kind], src[kind]]);
    }
    const env = { ...process.env, LC_ALL: 'C', BENCH_STREAMS_URI: uri };
    const out = path.join(tmp, 'out');
    const cmd = (client: Client, c: Case): string[] => {
      const file = c.op === 'download' ? out : src[c.kind];
      const sparse = c.kind === 'sparse';
      if (client === 'python') return ['/usr/bin/python3', '-c', PY, uri, c.op, pool, vols[c.kind], file, sparse ? '1' : '0'];
      if (client === 'ours' || client === 'ours-node') return [process.execPath, '-e', OURS, ENTRY[client], uri, c.op, pool, vols[c.kind], file, sparse ? '1' : '0'];
      return ['virsh', '-q', '-c', uri, c.op === 'download' ? 'vol-download' : 'vol-upload', ...(sparse ? ['--sparse'] : []), '--pool', pool, vols[c.kind], file];
    };
    const cases: Case[] = [
      { op: 'download', kind: 'dense' }, { op: 'upload', kind: 'dense' },
      { op: 'download', kind: 'sparse' }, { op: 'upload', kind: 'sparse' },
    ];
    const clients: Client[] = ['ours', 'ours-node', 'python', 'virsh'];
    const samples = new Map<string, Sample[]>();
    process.stdout.write(`bench:streams: 1 GiB volumes (dense; sparse with 10% data), ${REPS} runs each, interleaved; libvirt ${info.libvirtVersion}, node ${process.version}, load ${os.loadavg()[0].toFixed(1)}\n${LAYOUT}\n` +
      'ours = the package\'s main entry (libvirt-rpc); ours-node = libvirt-rpc/node only (connect, files)\n');
    for (let rep = 0; rep < REPS; rep++) {
      for (const c of cases) {
        for (const client of rep % 2 ? [...clients].reverse() : clients) {
          const s = await run(`${client} ${c.op} ${c.kind}`, cmd(client, c), env);
          const key = `${c.op} ${c.kind}|${client}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
          fs.rmSync(out, { force: true });
        }
      }
    }
    process.stdout.write('\ncase              client     wall MiB/s median (min-max)  in-process MiB/s (min-max)  start-up s  peak RSS MiB median (min-max)\n');
    const get = (c: Case, client: Client) => samples.get(`${c.op} ${c.kind}|${client}`)!;
    const range = (xs: number[], digits = 0) => `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
    for (const c of cases) {
      for (const client of clients) {
        const ss = get(c, client);
        const inner = ss.filter((s) => s.innerSecs !== null);
        const startup = inner.map((s) => s.secs - s.innerSecs!);
        process.stdout.write(`${`${c.op} ${c.kind}`.padEnd(18)}${client.padEnd(11)}${range(ss.map((s) => mbs(s.secs))).padEnd(29)}` +
          `${inner.length ? range(inner.map((s) => mbs(s.innerSecs!))) : '-'}`.padEnd(28) + `${startup.length ? median(startup).toFixed(2) : '-'}`.padEnd(12) +
          `${range(ss.map((s) => s.rssKiB / 1024), 1)}\n`);
      }
    }
    const wall = (c: Case, client: Client) => median(get(c, client).map((s) => mbs(s.secs)));
    const inproc = (c: Case, client: Client) => median(get(c, client).filter((s) => s.innerSecs !== null).map((s) => mbs(s.innerSecs!)));
    process.stdout.write('\nratios of medians (above 1.0: ours is faster)\n');
    for (const c of cases) {
      process.stdout.write(`  ${`${c.op} ${c.kind}`.padEnd(16)} wall: ours/python ${(wall(c, 'ours') / wall(c, 'python')).toFixed(2)}, ours/virsh ${(wall(c, 'ours') / wall(c, 'virsh')).toFixed(2)}; ` +
        `in-process: ours/python ${(inproc(c, 'ours') / inproc(c, 'python')).toFixed(2)}\n`);
    }
    process.stdout.write('\nsparse vs dense (same client, same direction; the target is 5x)\n');
    for (const op of ['download', 'upload'] as const) {
      const sp = { op, kind: 'sparse' } as const;
      const de = { op, kind: 'dense' } as const;
      const x = (f: (c: Case, client: Client) => number, client: Client) => `${(f(sp, client) / f(de, client)).toFixed(1)}x`;
      process.stdout.write(`  ${op.padEnd(9)} wall: ours ${x(wall, 'ours')}, ours-node ${x(wall, 'ours-node')}, python ${x(wall, 'python')}, virsh ${x(wall, 'virsh')}; ` +
        `in-process: ours ${x(inproc, 'ours')}, ours-node ${x(inproc, 'ours-node')}, python ${x(inproc, 'python')}\n`);
    }
    process.stdout.write(`\nbefore any transfer (${REPS} runs, peak RSS MiB, median): ${await baseline(env)}\n`);
    process.stdout.write('\nordinary calls on the same connection while a 1 GiB stream runs (ours)\n');
    const dense = await p.getVolumeByName(vols.dense);
    process.stdout.write(`  ${await callLatency(dense, 'download', src.dense, uri)}\n`);
    process.stdout.write(`  ${await callLatency(dense, 'upload', src.dense, uri)}\n`);
  } finally {
    await cleanup().catch(() => undefined);
    await conn.close();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:streams failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
