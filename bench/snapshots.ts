/**
 * bench:snapshots — the object layer against libvirt's C client (python3-libvirt) on the same sandbox daemon,
 * same URI (test:///default through the daemon), in one run: a domain with 5,000 snapshots, then
 * listAllSnapshots, listSnapshotNames (count + names, as libvirt's C API does) and 1,000 getXMLDescription
 * calls. Prints times and ratios (C time / our time: above 1.0x means we are faster).
 *
 * test:///default keeps its state per connection (FIELD-NOTES), so each client defines its own 5,000 snapshots
 * on its own connection, from the same generated XML, before it measures: both sides measure the same daemon,
 * the same driver and the same tree, just not literally the same objects. The snapshots are made with
 * CREATE_REDEFINE (metadata only, no guest work): a binary tree, created level by level (a child's parent must
 * exist first), each level pipelined on our side and a plain loop on the C side (set-up, not a target).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect, Domain, DomainSnapshot } from '../src/index';
import { releaseSandbox, startSandbox } from '../scripts/sandbox/sandbox';

const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 5000);
const XML_CALLS = Number(process.env.BENCH_XML_CALLS ?? 1000);
const LIST_REPS = Number(process.env.BENCH_LIST_REPS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const THREADS = 8;

/** Milliseconds per operation, per measurement. */
type Times = Record<string, number>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Snapshot i's parent in a binary tree (i = 0 is the root), and the tree's levels in creation order. */
function levels(n: number): number[][] {
  const out: number[][] = [];
  for (let start = 0, size = 1; start < n; start += size, size *= 2) {
    out.push(Array.from({ length: Math.min(size, n - start) }, (_, k) => start + k));
  }
  return out;
}

/** The REDEFINE XML of snapshot i: a shut-off snapshot with the domain's definition, like a real one. */
function snapshotXml(i: number, domainXml: string): string {
  const parent = i === 0 ? '' : `<parent><name>snap${Math.floor((i - 1) / 2)}</name></parent>`;
  return `<domainsnapshot><name>snap${i}</name><description>benchmark snapshot ${i}</description><state>shutoff</state>`
    + `${parent}<creationTime>${1_700_000_000 + i}</creationTime><memory snapshot='no'/>`
    + `<disks><disk name='vda' snapshot='internal'/></disks>${domainXml}</domainsnapshot>`;
}

async function timeIt(reps: number, fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await fn();
  return (performance.now() - t0) / reps;
}

/** Our side: one connection with its snapshots made, and one measurement round at a time. */
async function oursSide(uri: string): Promise<{ setupMs: number; round: () => Promise<Times>; close: () => Promise<void> }> {
  const conn = await connect(uri);
  const dom: Domain = await conn.getDomainByName('test');
  const domainXml = await dom.getXMLDescription(Domain.XML_INACTIVE);
  const t0 = performance.now();
  for (const level of levels(SNAPSHOTS)) {
    await Promise.all(level.map((i) => dom.createSnapshot(snapshotXml(i, domainXml), DomainSnapshot.CREATE_REDEFINE)));
  }
  const setupMs = performance.now() - t0;
  if ((await dom.numOfSnapshots()) !== SNAPSHOTS) throw new Error('snapshot set-up failed');
  const snaps = await dom.listAllSnapshots();
  const sample = Array.from({ length: XML_CALLS }, (_, i) => snaps[(i * 7919) % snaps.length]);
  const round = async (): Promise<Times> => ({
    listAllSnapshots: await timeIt(LIST_REPS, () => dom.listAllSnapshots()),
    listSnapshotNames: await timeIt(LIST_REPS, () => dom.listSnapshotNames()),
    xml1000: await timeIt(1, () => Promise.all(sample.map((s) => s.getXMLDescription()))),
    xml1000Sequential: await timeIt(1, async () => {
      for (const s of sample) await s.getXMLDescription();
    }),
  });
  return { setupMs, round, close: () => conn.close() };
}

const PY = String.raw`
import json, sys, time, libvirt
from concurrent.futures import ThreadPoolExecutor
uri, n, xml_calls, reps, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
conn = libvirt.open(uri)
dom = conn.lookupByName('test')
domain_xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
def snapshot_xml(i):
    parent = '' if i == 0 else '<parent><name>snap%d</name></parent>' % ((i - 1) // 2)
    return ("<domainsnapshot><name>snap%d</name><description>benchmark snapshot %d</description><state>shutoff</state>"
            "%s<creationTime>%d</creationTime><memory snapshot='no'/>"
            "<disks><disk name='vda' snapshot='internal'/></disks>%s</domainsnapshot>") % (i, i, parent, 1700000000 + i, domain_xml)
t0 = time.perf_counter()
for i in range(n):
    dom.snapshotCreateXML(snapshot_xml(i), libvirt.VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE)
setup_ms = (time.perf_counter() - t0) * 1000
assert dom.snapshotNum(0) == n
snaps = dom.listAllSnapshots(0)
sample = [snaps[(i * 7919) % len(snaps)] for i in range(xml_calls)]
def time_it(k, fn):
    t = time.perf_counter()
    for _ in range(k): fn()
    return (time.perf_counter() - t) * 1000 / k
pool = ThreadPoolExecutor(max_workers=threads)
print(json.dumps({'setupMs': setup_ms}), flush=True)
for line in sys.stdin:
    if line.strip() != 'round':
        break
    print(json.dumps({
        'listAllSnapshots': time_it(reps, lambda: dom.listAllSnapshots(0)),
        'listSnapshotNames': time_it(reps, lambda: dom.snapshotListNames(0)),
        'xml1000': time_it(1, lambda: [s.getXMLDesc(0) for s in sample]),
        'xml1000Threads': time_it(1, lambda: list(pool.map(lambda s: s.getXMLDesc(0), sample))),
    }), flush=True)
conn.close()
`;

/**
 * The C client's side: a python3-libvirt process that makes its snapshots, then runs one measurement round per
 * `round` line on stdin and answers with a JSON line, so that rounds of the two clients can alternate.
 */
function cSide(uri: string): Promise<{ setupMs: number; round: () => Promise<Times>; close: () => Promise<void> }> {
  const args = ['-c', PY, uri, String(SNAPSHOTS), String(XML_CALLS), String(LIST_REPS), String(THREADS)];
  const child = spawn('/usr/bin/python3', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (what: string): Promise<string> => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`python3-libvirt: no answer for ${what} in 300 s`)), 300_000);
    });
    try {
      const r = await Promise.race([lines.next(), limit]);
      if (r.done) throw new Error(`python3-libvirt ended during ${what}: ${stderr}`);
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  };
  const close = async () => {
    child.stdin.end();
    const exited = new Promise((r) => child.once('exit', r));
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  return next('set-up').then(
    (line) => ({
      setupMs: (JSON.parse(line) as { setupMs: number }).setupMs,
      round: async () => {
        child.stdin.write('round\n');
        return JSON.parse(await next('a round')) as Times;
      },
      close,
    }),
    async (e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    },
  );
}

async function main(): Promise<void> {
  const holder = process.pid;
  const { info } = await startSandbox({ holder, log: (l) => process.stderr.write(`sandbox: ${l}\n`) });
  try {
    const uri = info.testUri;
    const out = (s: string) => process.stdout.write(`${s}\n`);
    out(`bench:snapshots against libvirt ${info.libvirtVersion} at ${uri}, domain 'test'`);
    out(`${SNAPSHOTS} snapshots (binary tree, CREATE_REDEFINE, each with the domain XML); ${LIST_REPS} list calls and ${XML_CALLS} XML calls per round, ${ROUNDS} alternating rounds, median shown`);
    out('test:///default state is per connection: each client makes its own identical snapshots on its own connection.\n');
    const ourSide = await oursSide(uri);
    const theirSide = await cSide(uri);
    const o = { setupMs: ourSide.setupMs, rounds: [] as Times[] };
    const c = { setupMs: theirSide.setupMs, rounds: [] as Times[] };
    try {
      // Alternate the clients' rounds so that load from elsewhere on the machine hits both alike.
      for (let r = 0; r < ROUNDS; r++) {
        o.rounds.push(await ourSide.round());
        c.rounds.push(await theirSide.round());
      }
    } finally {
      await ourSide.close();
      await theirSide.close();
    }
    const m = (rs: Times[], k: string) => median(rs.map((r) => r[k]));
    const rows: string[][] = [['measurement', 'ours ms', 'C ms', 'ratio (C/ours)']];
    const row = (label: string, ourMs: number, cMs: number) => rows.push([label, ourMs.toFixed(2), cMs.toFixed(2), `${(cMs / ourMs).toFixed(2)}x`]);
    row('listAllSnapshots (5,000 handles), per call', m(o.rounds, 'listAllSnapshots'), m(c.rounds, 'listAllSnapshots'));
    row('listSnapshotNames (num + names), per call', m(o.rounds, 'listSnapshotNames'), m(c.rounds, 'listSnapshotNames'));
    row(`${XML_CALLS} getXMLDescription: ours pipelined vs C loop`, m(o.rounds, 'xml1000'), m(c.rounds, 'xml1000'));
    row(`${XML_CALLS} getXMLDescription: ours pipelined vs C ${THREADS} threads`, m(o.rounds, 'xml1000'), m(c.rounds, 'xml1000Threads'));
    row(`${XML_CALLS} getXMLDescription: both one at a time`, m(o.rounds, 'xml1000Sequential'), m(c.rounds, 'xml1000'));
    row(`set-up: ${SNAPSHOTS} REDEFINEs (ours pipelined per level, C loop)`, o.setupMs, c.setupMs);
    const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) out(r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '));
    out('\ntarget: >= 1.0x for listAllSnapshots, listSnapshotNames and the 1,000 XML calls');
  } finally {
    await releaseSandbox({ holder, stop: false });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:snapshots failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
