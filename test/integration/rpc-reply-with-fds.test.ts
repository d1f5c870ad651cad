/**
 * REPLY_WITH_FDS, against the real daemon: DOMAIN_OPEN_GRAPHICS_FD answers with a file descriptor, which
 * libvirtd passes only over a unix socket (SCM_RIGHTS). This client cannot receive descriptors: that one call
 * fails with a ProtocolError saying so, and the connection goes on: the descriptor travels beside the byte
 * stream, and the one zero byte libvirt sends with it is dropped, so frame sync is kept. Over TCP the daemon
 * cannot pass the descriptor at all, and hangs up after the reply.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, ProtocolError, remoteProcedures as R } from '../../src';
import { guestXml, virsh } from '../../scripts/sandbox/guest';
import { removeGuest, sandbox } from '../helpers/sandbox';

jest.setTimeout(120_000);
const sb = sandbox();
const GUEST = `fds-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

beforeAll(async () => {
  // A guest with a VNC server on a unix socket (no TCP port to collide with anyone's), in its own folder.
  const dir = path.join(sb.root, 'guests', GUEST);
  fs.mkdirSync(dir, { recursive: true });
  fs.chownSync(path.dirname(dir), sb.uid, sb.gid);
  const disk = path.join(dir, 'disk.qcow2');
  const xml = guestXml(GUEST, disk).replace('</devices>', `  <graphics type='vnc' socket='${dir}/vnc.sock'/>\n  </devices>`);
  const { execFileSync } = await import('node:child_process');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '64M']);
  for (const p of [dir, disk]) fs.chownSync(p, sb.uid, sb.gid);
  fs.writeFileSync(path.join(dir, 'domain.xml'), xml);
  await virsh(sb, ['define', path.join(dir, 'domain.xml')]);
  await virsh(sb, ['start', GUEST], 60_000);
});
afterAll(() => removeGuest(GUEST));

test('over unix: the call fails with a ProtocolError naming REPLY_WITH_FDS; the connection goes on', async () => {
  const conn = await connect(sb.unixUri);
  try {
    const { dom } = await conn.raw.call(R.domainLookupByName, { name: GUEST });
    const err = await conn.raw.call(R.domainOpenGraphicsFd, { dom, idx: 0, flags: 0 }, { timeout: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/with file descriptors \(REPLY_WITH_FDS\); descriptor passing is not supported/);
    // The same connection serves the next calls.
    expect(conn.isAlive()).toBe(true);
    expect((await conn.getDomainByName(GUEST)).getName()).toBe(GUEST);
    const again = await conn.raw.call(R.domainOpenGraphicsFd, { dom, idx: 0, flags: 0 }, { timeout: 30_000 }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ProtocolError);
    expect(await conn.getHostname()).toBeTruthy();
  } finally {
    await conn.close();
  }
});

test('over TCP: the call fails the same way, then the daemon itself hangs up (it cannot send a descriptor there)', async () => {
  const conn = await connect(sb.tcpUri);
  try {
    const { dom } = await conn.raw.call(R.domainLookupByName, { name: GUEST });
    const err = await conn.raw.call(R.domainOpenGraphicsFd, { dom, idx: 0, flags: 0 }, { timeout: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toMatch(/REPLY_WITH_FDS/);
    // libvirtd 9.0 sends the reply, then fails in virNetSocketSendFD ("Sending file descriptors is not supported
    // on this socket") and closes the client: an end of file, reported as such, and nothing hangs.
    const info = await conn.closed;
    expect(info.reason).toBe('eof');
    expect(conn.isAlive()).toBe(false);
  } finally {
    conn.destroy();
  }
});
