/**
 * Reconnect against a real daemon of the test's own (never the shared sandbox daemon): SIGKILL it while
 * subscriptions are live, start it again on the same socket; the connection reopens by its policy, every
 * iterator sees a gap, then new events. Nothing leaks: the daemon's live callback registrations are counted from
 * its own debug log (libvirtd logs every virConnect*EventRegisterAny / DeregisterAny its dispatcher makes for a
 * client, including the ones it makes when a client goes away), before the kill, after the reconnection, and
 * after the subscriptions close.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as R from '../../generated/remote-procedures';
import { connect, type Connect } from '../../src/index';
import type { EventGap, EventSubscription } from '../../src/events/index';
import { startPrivateDaemon, type PrivateDaemon } from '../helpers/private-daemon';
import { sandbox } from '../helpers/sandbox';

let daemon: PrivateDaemon;
let log: string;
let conn: Connect | undefined;

beforeAll(async () => {
  const sb = sandbox();
  const dir = fs.mkdtempSync('/tmp/lvrpc-events-log-');
  fs.chownSync(dir, sb.uid, sb.gid);
  log = path.join(dir, 'libvirtd.log');
  // Debug level for the public API entry points only: libvirt.domain, libvirt.secret, ... and libvirt-qemu.
  const filters = ['libvirt.domain', 'libvirt.network', 'libvirt.storage', 'libvirt.nodedev', 'libvirt.secret', 'libvirt-qemu'].map((m) => `1:${m}`).join(' ');
  daemon = await startPrivateDaemon({ libvirtdConf: `log_filters = "${filters} 4:*"\nlog_outputs = "1:file:${log}"\n` });
}, 60_000);

afterAll(async () => {
  conn?.destroy();
  await daemon?.cleanup();
  if (log) fs.rmSync(path.dirname(log), { recursive: true, force: true });
});

/** Live registrations in the daemon's log from byte `from` on: registrations minus deregistrations. */
function liveRegistrations(from: number): number {
  const text = fs.readFileSync(log, 'utf8').slice(from);
  const count = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;
  return count(/ virConnect\w*Event(RegisterAny|Register):\d+ /) - count(/ virConnect\w*Event(DeregisterAny|Deregister):\d+ /);
}

async function eventually(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function next<T>(sub: EventSubscription<T>, ms = 30_000): Promise<T | EventGap> {
  let t: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (t = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms)));
  try {
    const r = await Promise.race([sub.next(), timeout]);
    if (r.done) throw new Error('the subscription ended');
    return r.value;
  } finally {
    clearTimeout(t);
  }
}

const secretXml = (n: string) => `<secret ephemeral='no' private='yes'><usage type='volume'><volume>/var/lib/reconnect/${n}.img</volume></usage></secret>`;
const domainXml = `<domain type='qemu'><name>reconnect-probe</name><memory unit='MiB'>32</memory><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices></domain>`;

test('SIGKILL and restart: reconnected, every iterator sees a gap then new events, and no registration leaks', async () => {
  const reconnected: number[] = [];
  conn = await connect(`qemu+unix:///session?socket=${daemon.socket}`, {
    reconnect: { initialDelay: 100, maxDelay: 1000, onReconnect: (i) => reconnected.push(i.attempts) },
  });
  const lifecycle = conn.events.domain('lifecycle');
  const lifecycle2 = conn.events.domain('lifecycle'); // shares the daemon registration
  const secrets = conn.events.secret('*');
  const qmp = conn.events.qemuMonitor();
  await Promise.all([lifecycle.ready, lifecycle2.ready, secrets.ready, qmp.ready]);
  expect(conn.events.registrations).toBe(4);
  await eventually(() => liveRegistrations(0) === 4, 'the first daemon to hold 4 registrations');

  await conn.raw.call(R.secretDefineXml, { xml: secretXml('before'), flags: 0 });
  expect(await next(secrets)).toMatchObject({ type: 'lifecycle', event: 'defined' });

  const before = fs.statSync(log).size;
  daemon.kill();
  await eventually(() => conn!.state === 'reconnecting', 'the client to notice');
  const waiting = conn.getLibVersion({ timeout: 60_000 }); // made while the daemon is down: waits
  await daemon.restart();
  await eventually(() => conn!.state === 'open', 'the reconnection');
  expect(await waiting).toBeGreaterThanOrEqual(9_000_000);
  expect(reconnected).toHaveLength(1);

  for (const sub of [lifecycle, lifecycle2, secrets, qmp] as EventSubscription<unknown>[]) {
    expect(await next(sub)).toMatchObject({ type: 'gap', code: 'EVENT_GAP', reason: 'reconnect', lost: null, closeReason: 'eof' });
  }
  await eventually(() => liveRegistrations(before) === 4, 'the new daemon to hold the same 4 registrations');

  // New events, from the new daemon.
  const again = await conn.raw.call(R.secretDefineXml, { xml: secretXml('after'), flags: 0 });
  expect(await next(secrets)).toMatchObject({ type: 'lifecycle', event: 'defined', secret: { usageID: '/var/lib/reconnect/after.img' } });
  const dom = await conn.defineDomain(domainXml, 0, { timeout: 60_000 });
  await dom.undefine();
  expect(await next(lifecycle)).toMatchObject({ type: 'lifecycle', event: 'defined', detail: 'added' });
  expect(await next(lifecycle)).toMatchObject({ type: 'lifecycle', event: 'undefined', detail: 'removed' });
  expect(await next(lifecycle2)).toMatchObject({ type: 'lifecycle', event: 'defined' });
  await conn.raw.call(R.secretUndefine, { secret: again.secret });

  await Promise.all([lifecycle.close(), lifecycle2.close(), secrets.close(), qmp.close()]);
  expect(conn.events.registrations).toBe(0);
  expect(liveRegistrations(before)).toBe(0);
  await conn.close();
  expect(await conn.closed).toEqual({ reason: 'closed' });
  await new Promise((r) => setTimeout(r, 200));
  expect(liveRegistrations(before)).toBe(0);
}, 120_000);
