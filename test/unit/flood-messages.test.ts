/**
 * A daemon flooding MESSAGE frames nobody asked for (events of a program with no route, unknown keepalive
 * procedures) must not grow the client: they are dropped as they arrive. Measured on the heap, with the
 * garbage collector run before each reading.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { RemoteConnection } from '../../src/protocol/connection';
import { xdrEncode } from '../../src/protocol/xdr';
import * as gen from '../../generated';
import { FakePeer, messageFrame, replyFrame } from '../helpers/fake-peer';
import { playDaemon } from '../helpers/fake-daemon';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const R = gen.remote_program;
const K = gen.keepalive_program;
const FRAMES = 200_000;
const PER_CHUNK = 500;

function heapMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function repeat(frame: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(frame.length * n);
  for (let i = 0; i < n; i++) out.set(frame, i * frame.length);
  return out;
}

test.each([
  ['REMOTE lifecycle events with no listener', () => {
    const ev = R.procedures.find((p) => p.method === 'domainEventCallbackLifecycle')!;
    const msg = { callbackID: 1, msg: { dom: { name: 'vm', uuid: new Uint8Array(16), id: 1 }, event: 2, detail: 0 } };
    return messageFrame(R, ev, xdrEncode(gen.remote.xdr_remote_domain_event_callback_lifecycle_msg, msg));
  }],
  ['keepalive MESSAGE frames of an unknown procedure', () => messageFrame(K, 99)],
])(`${FRAMES} %s: dropped, the heap does not grow, calls go on`, async (_name, make) => {
  const peer = new FakePeer();
  playDaemon(peer, { other: (f) => replyFrame(f.header, gen.remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' }) });
  const conn = await RemoteConnection.open(peer, { name: null, keepalive: false });
  const chunk = repeat(make(), PER_CHUNK);
  const before = heapMiB();
  for (let sent = 0; sent < FRAMES; sent += PER_CHUNK) peer.deliver(chunk);
  const after = heapMiB();
  expect(after - before).toBeLessThan(4);
  expect(conn.isOpen).toBe(true);
  await expect(conn.call(R.procedures.find((p) => p.method === 'connectGetHostname')!, undefined, { timeout: 5000 })).resolves.toEqual({ hostname: 'h' });
  conn.destroy();
});
