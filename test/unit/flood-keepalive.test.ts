/**
 * A daemon that floods keepalive PINGs while it reads nothing (its socket buffer full) must not grow the client
 * without limit: one PONG waiting for the socket answers every PING (libvirt's virkeepalive.c counts any message
 * as a sign of life), so at most one PONG is queued. Measured on the heap, with the garbage collector run before
 * each reading.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encodeFrame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { RemoteConnection } from '../../src/protocol/connection';
import * as gen from '../../generated';
import { FakePeer, replyFrame } from '../helpers/fake-peer';
import { playDaemon } from '../helpers/fake-daemon';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const K = gen.keepalive_program;
const PING = gen.keepalive.keepalive_procedure.KEEPALIVE_PROC_PING;
const PONG = gen.keepalive.keepalive_procedure.KEEPALIVE_PROC_PONG;
const PINGS = 300_000;
const PER_CHUNK = 1000;

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

test(`${PINGS} PINGs while the daemon reads nothing: at most one PONG queued, the heap does not grow, the connection goes on`, async () => {
  const peer = new FakePeer();
  playDaemon(peer, {
    other: (f) => replyFrame(f.header, gen.remote.xdr_remote_connect_get_hostname_ret, { hostname: 'still-here' }),
  });
  const conn = await RemoteConnection.open(peer, { name: null, keepalive: false });
  const ping = encodeFrame({ prog: K.program, vers: K.version, proc: PING, type: MessageType.VIR_NET_MESSAGE, serial: 0, status: MessageStatus.VIR_NET_OK });
  const chunk = new Uint8Array(ping.length * PER_CHUNK);
  for (let i = 0; i < PER_CHUNK; i++) chunk.set(ping, i * ping.length);
  const pongs = () => peer.received.filter((f) => f.header.prog === K.program && f.header.proc === PONG).length;

  peer.blocked = true; // the daemon stops reading: every write from now on reports a full buffer
  const before = heapMiB();
  for (let sent = 0; sent < PINGS; sent += PER_CHUNK) peer.deliver(chunk);
  const after = heapMiB();
  // The first PONG went to the (full) pipe; nothing else may have been written or piled up behind it.
  expect(pongs()).toBe(1);
  expect(after - before).toBeLessThan(4);
  expect(conn.isOpen).toBe(true);

  peer.release(); // the daemon reads again: the one queued PONG (if any) goes out, then calls work as before
  await new Promise((r) => setTimeout(r, 10));
  expect(pongs()).toBeLessThanOrEqual(2);
  await expect(conn.call(gen.remote_program.procedures.find((p) => p.method === 'connectGetHostname')!, undefined, { timeout: 5000 })).resolves.toEqual({ hostname: 'still-here' });
  // PINGs are answered again once the pipe takes bytes.
  const n = pongs();
  peer.deliver(ping);
  expect(pongs()).toBe(n + 1);
  conn.destroy();
});
