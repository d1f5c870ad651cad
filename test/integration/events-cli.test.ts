/**
 * `libvirt-rpc event` and `qemu-monitor-event` against virsh 9.0 on the sandbox's daemon: both listen at once
 * while a script of actions runs on a guest of this test's own; what they print is compared byte for byte
 * (from the first event both saw: each starts listening at its own moment, so the script begins with probes,
 * metadata changes with unique URIs or QMP STOP/RESUME with QEMU's own timestamps, until both print one), then
 * both are interrupted with SIGINT and print virsh's closing lines. Usage errors and the empty timeout compare
 * whole.
 */
import { spawn } from 'node:child_process';
import * as H from '../../generated/libvirt-headers';
import * as Q from '../../generated/qemu-procedures';
import * as R from '../../generated/remote-procedures';
import { runCli, InterruptReason } from '../../src/cli/main';
import { connect, type Connect, type Domain } from '../../src/index';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';
import { both, guestName } from './cli-peer';

const name = guestName('events-cli');
let conn: Connect;
let dom: Domain;

beforeAll(async () => {
  await createGuest(name);
  conn = await connect(sandbox().unixUri);
  dom = await conn.getDomainByName(name);
}, 120_000);

afterAll(async () => {
  await conn?.close();
  await removeGuest(name);
}, 120_000);

/** A listener running until SIGINT: virsh as a child process, or ours in-process. */
interface Listener {
  out(): string;
  interrupt(): Promise<number>;
}

function virshListener(args: string[]): Listener {
  const child = spawn('virsh', ['-c', sandbox().unixUri, ...args], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  return {
    out: () => out,
    interrupt: async () => {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exit;
      clearTimeout(t);
      return code;
    },
  };
}

function ourListener(args: string[]): Listener {
  let out = '';
  const ctl = new AbortController();
  const done = runCli(['-c', sandbox().unixUri, ...args], { stdout: { write: (t) => void (out += t) }, stderr: { write: () => undefined }, env: process.env }, { interrupt: ctl.signal });
  return {
    out: () => out,
    interrupt: async () => {
      ctl.abort(new InterruptReason('SIGINT'));
      return done;
    },
  };
}

/**
 * The event lines from the first one both printed on (the same normalisation for both); the closing lines are
 * compared apart, as their counts include the probes each saw.
 */
function aligned(a: string, b: string, norm: (l: string) => string = (l) => l): [string[], string[]] {
  const lines = (t: string) => t.split('\n').filter((l) => l !== '' && !l.startsWith('event loop') && !l.startsWith('events received')).map(norm);
  const la = lines(a);
  const lb = lines(b);
  const first = la.findIndex((l) => l.startsWith('event') && lb.includes(l));
  if (first < 0) return [la, []];
  return [la.slice(first), lb.slice(lb.indexOf(la[first]))];
}

async function eventually(cond: () => boolean, what: () => string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs `probe` until both listeners printed a line in common; the other lines come after. */
async function probeUntilBoth(v: Listener, o: Listener, probe: (i: number) => Promise<void>, norm?: (l: string) => string): Promise<void> {
  for (let i = 0; ; i++) {
    await probe(i);
    await new Promise((r) => setTimeout(r, 300));
    if (aligned(o.out(), v.out(), norm)[1].length > 0) return;
    if (i > 100) throw new Error(`the two listeners never printed the same event:\nours: ${o.out()}\nvirsh: ${v.out()}`);
  }
}

const TIMESTAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+0000: /;

test('event --all --loop --timestamp prints what virsh prints for the same actions', async () => {
  const args = ['event', '--domain', name, '--all', '--loop', '--timestamp'];
  const v = virshListener(args);
  const o = ourListener(args);
  let codes: number[] = [];
  const strip = (l: string) => l.replace(TIMESTAMP, '');
  const setMeta = (type: number, metadata: string | null, key: string | null, uri: string | null) =>
    conn.raw.call(R.domainSetMetadata, { dom: dom.handle, type, metadata, key, uri, flags: 0 });
  try {
    await probeUntilBoth(v, o, (i) => setMeta(H.VIR_DOMAIN_METADATA_ELEMENT, '<p/>', 'p', `http://probe.example/${i}`), strip);
    await dom.suspend();
    await dom.resume();
    await setMeta(H.VIR_DOMAIN_METADATA_TITLE, 'a title', null, null);
    await setMeta(H.VIR_DOMAIN_METADATA_DESCRIPTION, 'words', null, null);
    await conn.raw.call(Q.domainMonitorCommand, { dom: dom.handle, cmd: '{"execute":"system_reset"}', flags: 0 });
    await setMeta(H.VIR_DOMAIN_METADATA_ELEMENT, '<p/>', 'p', 'http://end.example/');
    const settled = () => {
      const [ours, theirs] = aligned(o.out(), v.out(), strip);
      return ours.some((l) => l.includes('http://end.example/')) && ours.join('\n') === theirs.join('\n');
    };
    await eventually(settled, () => `ours:\n${o.out()}\nvirsh:\n${v.out()}`);
  } finally {
    codes = await Promise.all([o.interrupt(), v.interrupt()]);
  }
  const [ours, theirs] = aligned(o.out(), v.out(), strip);
  expect(ours).toEqual(theirs);
  expect(ours).toEqual(expect.arrayContaining([
    `event 'lifecycle' for domain '${name}': Suspended Paused`,
    `event 'lifecycle' for domain '${name}': Resumed Unpaused`,
    `event 'metadata-change' for domain '${name}': type title, uri <null>`,
    `event 'metadata-change' for domain '${name}': type description, uri <null>`,
    `event 'reboot' for domain '${name}'`,
  ]));
  for (const out of [o.out(), v.out()]) {
    const lines = out.split('\n');
    const events = lines.filter((l) => l.includes(" for domain '"));
    expect(events.every((l) => TIMESTAMP.test(l))).toBe(true);
    expect(lines.slice(-4)).toEqual(['event loop interrupted', `events received: ${events.length}`, '', '']);
  }
  expect(codes).toEqual([0, 0]);
}, 180_000);

test('qemu-monitor-event --loop --pretty prints what virsh prints, QEMU timestamps and pretty JSON included', async () => {
  const args = ['qemu-monitor-event', '--domain', name, '--loop', '--pretty'];
  const v = virshListener(args);
  const o = ourListener(args);
  let codes: number[] = [];
  try {
    await probeUntilBoth(v, o, async () => {
      await dom.suspend();
      await dom.resume();
    });
    await conn.raw.call(Q.domainMonitorCommand, { dom: dom.handle, cmd: '{"execute":"system_reset"}', flags: 0 });
    await dom.suspend();
    await dom.resume();
    const settled = () => {
      const [ours, theirs] = aligned(o.out(), v.out());
      return ours.some((l) => l.includes('"reason": "host-qmp-system-reset"')) && ours.filter((l) => l.startsWith('event RESUME')).length >= 2 && ours.join('\n') === theirs.join('\n');
    };
    await eventually(settled, () => `ours:\n${o.out()}\nvirsh:\n${v.out()}`);
  } finally {
    codes = await Promise.all([o.interrupt(), v.interrupt()]);
  }
  const [ours, theirs] = aligned(o.out(), v.out());
  expect(ours).toEqual(theirs);
  expect(ours).toContain('  "reason": "host-qmp-system-reset"');
  expect(codes).toEqual([0, 0]);
}, 180_000);

test('usage errors, --list and a timeout with no events are virsh\'s', async () => {
  const uri = sandbox().unixUri;
  for (const args of [
    ['event'],
    ['event', '--event', 'nope'],
    ['event', '--all', '--event', 'lifecycle'],
    ['event', '--list', '--all'],
    ['event', '--all', '--timeout', '0'],
    ['event', '--all', '--timeout', '3000000'],
    ['event', '--all', '--domain', 'no-such-domain-anywhere'],
    ['event', '--all', '--domain', name, '--timeout', '1'],
    ['event', name, 'lifecycle', '1'],
    ['qemu-monitor-event', '--domain', name, '--event', 'NO_SUCH_EVENT', '--timeout', '1'],
  ]) {
    const [theirs, ours] = await both(uri, args);
    expect([args, ours]).toEqual([args, theirs]);
  }
  const [theirs, ours] = await both(uri, ['event', '--list']);
  // This build also knows nic-mac-change (libvirt 11.2), which virsh 9.0 does not list.
  expect(ours.stdout).toBe(theirs.stdout.replace(/\n\n$/, '\nnic-mac-change\n\n'));
}, 120_000);
