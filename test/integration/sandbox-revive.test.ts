/**
 * A second sandbox beside the shared one (as a second checkout would have): its daemon is killed with SIGKILL
 * (a crash), and the next start restarts it in place: the same ports, and the guest that was running still
 * runs, in the same QEMU process, reattached by libvirt. The shared sandbox is untouched throughout.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect } from '../../src';
import { isRunning } from '../../scripts/sandbox/proc';
import { readInfo, startSandbox, stopSandbox, type SandboxInfo } from '../../scripts/sandbox/sandbox';
import { sandbox } from '../helpers/sandbox';

jest.setTimeout(240_000);
const shared = sandbox();
// Beside our own sandbox folder, never anyone else's.
const root = `${shared.root}-revive`;
const log = (line: string) => process.stderr.write(`sandbox-revive: ${line}\n`);

function guestPid(info: SandboxInfo, name: string): number {
  return Number(fs.readFileSync(path.join(info.env.XDG_RUNTIME_DIR, 'libvirt', 'qemu', 'run', `${name}.pid`), 'utf8').trim());
}

function virsh(uri: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-q', '-c', uri, ...args], { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout.trim())));
  });
}

let first: SandboxInfo;
const sharedBefore = { libvirtd: shared.libvirtdPid, guest: guestPid(shared, shared.guest.name), tcp: shared.tcpPort };

beforeAll(async () => {
  await stopSandbox({ root, clean: true }).catch(() => undefined);
  first = (await startSandbox({ root, log })).info;
});
afterAll(async () => {
  await stopSandbox({ root, clean: true, log });
});

test('SIGKILL of libvirtd, then start: restarted in place, same ports, the running guest kept', async () => {
  const qemuBefore = guestPid(first, first.guest.name);
  expect(isRunning(qemuBefore, 'qemu')).toBe(true);
  process.kill(first.libvirtdPid, 'SIGKILL');
  for (let i = 0; i < 100 && isRunning(first.libvirtdPid, 'libvirtd'); i++) await new Promise((r) => setTimeout(r, 50));
  expect(isRunning(first.libvirtdPid, 'libvirtd')).toBe(false);

  const { info, started } = await startSandbox({ root, log });
  expect(started).toBe(false);
  expect(info.libvirtdPid).not.toBe(first.libvirtdPid);
  expect(isRunning(info.libvirtdPid, 'libvirtd')).toBe(true);
  expect([info.tcpPort, info.tls.port, info.ssh.port, info.unixSocket]).toEqual([first.tcpPort, first.tls.port, first.ssh.port, first.unixSocket]);
  // The same QEMU process, still running, and libvirt knows it as running.
  expect(guestPid(info, info.guest.name)).toBe(qemuBefore);
  expect(isRunning(qemuBefore, 'qemu')).toBe(true);
  expect(await virsh(info.unixUri, 'domstate', info.guest.name)).toBe('running');
  expect(info.guest.uuid).toBe(first.guest.uuid);
  expect(readInfo(root)?.libvirtdPid).toBe(info.libvirtdPid);
  // The URIs it had still work, with our client too.
  const conn = await connect(info.tcpUri, { timeout: 30_000 });
  expect(await (await conn.getDomainByName(info.guest.name)).isActive()).toBe(true);
  await conn.close();
});

test('a dead sshd alone is restarted on its port; the daemon is left alone', async () => {
  const before = readInfo(root)!;
  process.kill(before.sshdPid, 'SIGKILL');
  for (let i = 0; i < 100 && isRunning(before.sshdPid, 'sshd'); i++) await new Promise((r) => setTimeout(r, 50));
  const { info, started } = await startSandbox({ root, log });
  expect(started).toBe(false);
  expect(info.libvirtdPid).toBe(before.libvirtdPid);
  expect(info.sshdPid).not.toBe(before.sshdPid);
  expect(info.ssh.port).toBe(before.ssh.port);
  expect(await virsh(info.ssh.libvirtUri, 'domstate', info.guest.name)).toBe('running');
});

test('the shared sandbox was not touched by any of it', () => {
  const now = sandbox();
  expect({ libvirtd: now.libvirtdPid, guest: guestPid(now, now.guest.name), tcp: now.tcpPort }).toEqual(sharedBefore);
  expect(first.root).not.toBe(now.root);
});
