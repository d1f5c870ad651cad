/**
 * `npm start`: the demo. Starts the project's sandboxed libvirtd (installing Debian packages when run as root,
 * else printing the command), talks to it over unix and TCP, then runs the dyadic snapshot scheduler against a
 * real QEMU guest with a one-second base unit for about a minute (DEMO_SECONDS to change it) and prints the
 * snapshot tree with each snapshot's creation duration and the reasons it is kept.
 */
import { connect, formatVersion } from '../src';
import type { Domain } from '../src/objects/domain';
import { isComplete, retentionSnapshots } from '../src/scheduler/records';
import { computeRetention } from '../src/scheduler/retention';
import { describeReason, formatDuration } from '../src/scheduler/retention-reasons';
import { DomainScheduler } from '../src/scheduler/scheduler';
import { createGuest, removeGuest } from './sandbox/guest';
import { startSandbox } from './sandbox/sandbox';

const say = (s = '') => process.stdout.write(`${s}\n`);
const SECONDS = Number(process.env.DEMO_SECONDS ?? 60);
const GUEST = 'demo-guest';
const POLICY = { kind: 'aligned' as const, baseMs: 1000, levels: 5, slots: 2, keepLast: 3 };

async function client(uris: string[]): Promise<void> {
  for (const uri of uris) {
    const t0 = performance.now();
    const conn = await connect(uri);
    const opened = performance.now() - t0;
    const [ver, host, domains] = await Promise.all([conn.getLibVersion(), conn.getHostname(), conn.listAllDomains()]);
    say(`${uri}`);
    say(`  opened in ${opened.toFixed(1)} ms; libvirt ${formatVersion(ver)} on ${host}; domains: ${domains.map((d) => d.getName()).join(', ')}`);
    const c0 = performance.now();
    await Promise.all(Array.from({ length: 1000 }, () => conn.raw.remote.connectGetLibVersion()));
    say(`  1000 concurrent calls on one connection: ${(performance.now() - c0).toFixed(1)} ms`);
    await conn.close();
  }
}

async function tree(dom: Domain, scheduler: DomainScheduler): Promise<void> {
  const records = await scheduler.records();
  const byName = new Map(records.snapshots.map((r) => [r.name, r]));
  const snaps = await dom.listAllSnapshots();
  const parents = new Map<string, string | null>();
  for (const s of snaps) parents.set(s.getName(), (await s.getParent())?.getName() ?? null);
  const result = computeRetention(
    retentionSnapshots(records.snapshots),
    scheduler.policy,
    { now: Date.now() },
  );
  const reasons = new Map(result.keep.map((k) => [k.id, k.reasons.map(describeReason).join('; ')]));
  const children = (p: string | null) => [...parents].filter(([, q]) => q === p).map(([n]) => n).sort();
  const walk = (name: string, prefix: string, last: boolean, depth: number): void => {
    const r = byName.get(name);
    // Retention is computed a moment after the last prune: a snapshot kept then may be due now.
    const why = reasons.get(name) ?? 'no longer kept: deleted at the next pass';
    const info = r ? `${isComplete(r) ? formatDuration(r.completed! - r.started) : 'incomplete'}  ${why}` : '(not the scheduler\'s)';
    say(`${prefix}${depth ? (last ? '+- ' : '|- ') : ''}${name}  ${info}`);
    const kids = children(name);
    kids.forEach((k, i) => walk(k, prefix + (depth ? (last ? '   ' : '|  ') : ''), i === kids.length - 1, depth + 1));
  };
  say(`\nSnapshot tree of ${GUEST} (name, creation duration, why it is kept):`);
  for (const root of children(null)) walk(root, '', true, 0);
}

async function main(): Promise<void> {
  say('libvirt-rpc demo: starting the sandbox daemon ...');
  const { info, started } = await startSandbox({ log: (l) => say(`  sandbox: ${l}`) });
  say(`  ${started ? 'started' : 'reusing'} libvirt ${info.libvirtVersion} in ${info.root}\n`);
  await client([info.unixUri, info.tcpUri]);

  say(`\nA fresh QEMU guest (TCG, no OS) for the scheduler: ${GUEST}`);
  await removeGuest(info, GUEST);
  await createGuest(info, GUEST);
  const conn = await connect(info.unixUri);
  const dom = await conn.getDomainByName(GUEST);
  const scheduler = new DomainScheduler(dom, {
    policy: POLICY,
    owner: `demo/${process.pid}`,
    lockSettleMs: 50,
    onProgress: (e) => {
      const t = new Date().toISOString().slice(11, 19);
      if (e.type === 'created') say(`  ${t} created ${e.name} in ${formatDuration(e.durationMs)}`);
      else if (e.type === 'deleted') say(`  ${t} deleted ${e.name}`);
      else if (e.type === 'failed') say(`  ${t} ${e.step} failed: ${e.error}`);
    },
  });
  say(`Policy: aligned dyadic, base 1s, ${POLICY.levels} levels x ${POLICY.slots} slots, keep last ${POLICY.keepLast}; running for ${SECONDS}s ...`);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  await scheduler.runDaemon({ signal: stop.signal, timeout: SECONDS * 1000 });
  await tree(dom, scheduler);
  const r = await scheduler.records();
  say(`\n${r.snapshots.filter(isComplete).length} snapshots kept (bound: keep-last + slots x levels = ${POLICY.keepLast + POLICY.slots * POLICY.levels}).`);
  say(`Try: npm run cli -- -c '${info.unixUri}' snapshot-list ${GUEST} --tree`);
  say(`     npm run cli -- -c '${info.unixUri}' schedule list ${GUEST} --base 1s --levels ${POLICY.levels} --slots ${POLICY.slots} --keep-last ${POLICY.keepLast}`);
  await conn.close();
}

main().catch((e) => {
  process.stderr.write(`demo failed: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
