/**
 * `libvirt-rpc schedule daemon` lives through a daemon restart, as a real process: on a PRIVATE libvirtd of this
 * test's own (never the shared sandbox daemon), it makes a snapshot, the daemon is SIGKILLed, the scheduler
 * says it lost the connection and runs no pass meanwhile, the daemon starts again in the same folder, and the
 * scheduler reconnects by itself (the connection's reconnect policy, with the scheduler's backoff bounds) and
 * makes the next snapshot there. SIGTERM then ends it with exit code 0.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect } from '../../src/index';
import { guestXml } from '../../scripts/sandbox/guest';
import { startPrivateDaemon, type PrivateDaemon } from '../helpers/private-daemon';
import { sandbox } from '../helpers/sandbox';

jest.setTimeout(150_000);

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = [path.join(ROOT, 'scripts', 'ts-run.cjs'), path.join(ROOT, 'src', 'cli', 'main.ts')];
const GUEST = 'sched-reconnect';

interface Line {
  at: number;
  type: string;
  name?: string;
  step?: string;
}

let daemon: PrivateDaemon;
let uri: string;

beforeAll(async () => {
  daemon = await startPrivateDaemon();
  uri = `qemu+unix:///session?socket=${daemon.socket}`;
  // A shut-off guest with a real qcow2 disk: internal snapshots of it are qemu-img's work, no QEMU runs.
  const disk = path.join(daemon.root, 'data', 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
  const sb = sandbox();
  if (process.geteuid?.() === 0) fs.chownSync(disk, sb.uid, sb.gid);
  const conn = await connect(uri, { timeout: 30_000 });
  try {
    await conn.defineDomain(guestXml(GUEST, disk));
  } finally {
    await conn.close();
  }
}, 60_000);

afterAll(async () => {
  await daemon?.cleanup();
});

/** Waits for `ok` (polling every 50 ms), at most `ms`. */
async function until(what: string, ok: () => boolean, ms: number, log: () => string): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; the scheduler said:\n${log()}`);
  }
}

test('schedule daemon reconnects after the daemon restarts and makes the next snapshot there', async () => {
  const config = path.join(daemon.root, 'schedule.json');
  // Backoff 1 s to 2 s: the reconnect policy tries again every 1-2 s while the daemon is down.
  fs.writeFileSync(config, JSON.stringify({ every: '2s', backoff: { minMs: '1s', maxMs: '2s' }, policy: { baseMs: '2s', levels: 2, slots: 1, keepLast: 3 } }));
  const p = spawn(process.execPath, [...CLI, '-c', uri, 'schedule', 'daemon', GUEST, '--config', config, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (err += d));
  const lines = (): Line[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  const log = () => `${out}${err}`;
  try {
    await until('a first snapshot', () => lines().some((l) => l.type === 'created'), 60_000, log);
    const firstPid = daemon.pid;
    daemon.kill();
    const downAt = Date.now();
    await until('the scheduler to notice', () => lines().some((l) => l.type === 'failed' && l.at >= downAt), 20_000, log);
    // Down for a few seconds (more than a slot): no snapshot can be made, and the scheduler keeps running.
    await new Promise((r) => setTimeout(r, 3000));
    expect(p.exitCode).toBeNull();
    expect(lines().filter((l) => l.type === 'created' && l.at > downAt + 500)).toEqual([]);
    await daemon.restart();
    const upAt = Date.now();
    expect(daemon.pid).not.toBe(firstPid);
    await until('a snapshot made on the restarted daemon', () => lines().some((l) => l.type === 'created' && l.at >= upAt), 60_000, log);
    expect(lines().some((l) => l.type === 'reconnected')).toBe(true);

    const code = await new Promise<number | null>((resolve) => {
      p.once('exit', (c) => resolve(c));
      p.kill('SIGTERM');
    });
    expect(code).toBe(0);

    // The restarted daemon has the snapshot the scheduler reported making after the restart.
    const made = lines().filter((l) => l.type === 'created' && l.at >= upAt).map((l) => l.name!);
    const conn = await connect(uri, { timeout: 30_000 });
    try {
      const names = (await (await conn.getDomainByName(GUEST)).listAllSnapshots()).map((s) => s.getName());
      expect(names).toEqual(expect.arrayContaining(made.slice(-1)));
    } finally {
      await conn.close();
    }
  } finally {
    if (p.exitCode === null) p.kill('SIGKILL');
  }
});
