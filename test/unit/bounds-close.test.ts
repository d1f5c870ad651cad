/**
 * `close({ timeout: T })` is bounded as a whole: draining pending calls, CONNECT_CLOSE and ending the transport
 * share the one bound T, and when it runs out the transport is destroyed, never left open. Against fake peers
 * that never answer, never close, or both.
 */
import { ConnectionClosedError, TimeoutError } from '../../src/errors';
import { Connect } from '../../src/objects/connect';
import { RemoteConnection } from '../../src/protocol/connection';
import { RpcClient } from '../../src/protocol/rpc-client';
import * as gen from '../../generated';
import { FakePeer } from '../helpers/fake-peer';
import { playDaemon, procName, StuckPeer } from '../helpers/fake-daemon';

const R = gen.remote_program;
const HOSTNAME = R.procedures.find((p) => p.method === 'connectGetHostname')!;
const T = 400;
/** Generous slack over the bound for a loaded machine; the old close took 3T plus a fixed 5 s. */
const WITHIN = 2 * T + 1000;

async function open(peer: FakePeer, answerClose: boolean): Promise<RemoteConnection> {
  playDaemon(peer, { answerClose });
  return RemoteConnection.open(peer, { name: null, keepalive: false });
}

test('a call that never finishes, an unanswered CONNECT_CLOSE and a pipe that never closes: done within the bound, transport destroyed', async () => {
  const peer = new StuckPeer();
  const conn = await open(peer, false);
  const pending = conn.rpc.call(HOSTNAME, undefined).catch((e: unknown) => e);
  const t0 = Date.now();
  const info = await conn.close({ timeout: T });
  const took = Date.now() - t0;
  expect(took).toBeLessThan(WITHIN);
  expect(took).toBeGreaterThanOrEqual(T - 50);
  expect(info.reason).toBe('destroyed');
  expect(info.error).toBeInstanceOf(TimeoutError);
  expect(info.error!.message).toBe(`closing the connection did not finish within ${T} ms; the transport was destroyed`);
  expect(peer.destroyed).not.toBeNull();
  expect(conn.isOpen).toBe(false);
  expect(await pending).toBeInstanceOf(ConnectionClosedError);
});

test('a pending call may use the whole bound; no CONNECT_CLOSE goes out while it is pending', async () => {
  const peer = new StuckPeer();
  const conn = await open(peer, false);
  void conn.rpc.call(HOSTNAME, undefined).catch(() => undefined);
  await conn.close({ timeout: T });
  // The bound ran out while the call was pending: no goodbye was sent behind its back.
  expect(peer.received.map(procName)).not.toContain('REMOTE_PROC_CONNECT_CLOSE');
});

test('an unanswered CONNECT_CLOSE on an idle connection: done within the bound, transport destroyed', async () => {
  const peer = new StuckPeer();
  const conn = await open(peer, false);
  const t0 = Date.now();
  const info = await new Connect(conn).close({ timeout: T }).then(() => conn.closed);
  expect(Date.now() - t0).toBeLessThan(WITHIN);
  expect(peer.received.map(procName)).toContain('REMOTE_PROC_CONNECT_CLOSE');
  expect(info.reason).toBe('destroyed');
  expect(peer.destroyed).not.toBeNull();
});

test('RpcClient.close(T): a pipe that ignores end() is destroyed when the bound runs out', async () => {
  const peer = new StuckPeer();
  const client = new RpcClient(peer, [R]);
  const t0 = Date.now();
  const info = await client.close(T);
  expect(Date.now() - t0).toBeLessThan(WITHIN);
  expect(peer.endCalls).toBe(1);
  expect(peer.destroyed).not.toBeNull();
  expect(info.reason).toBe('destroyed');
});

test('a daemon that answers: a clean close well within the bound, reason closed, nothing destroyed with an error', async () => {
  const peer = new FakePeer();
  const conn = await open(peer, true);
  const info = await conn.close({ timeout: 10_000 });
  expect(info).toEqual({ reason: 'closed' });
  expect(peer.received.map(procName)).toContain('REMOTE_PROC_CONNECT_CLOSE');
});

test('a pending call that finishes inside the bound is answered, then the close is clean', async () => {
  const peer = new FakePeer();
  let answer: (() => void) | null = null;
  playDaemon(peer, {
    other: (f) => {
      answer = () => peer.deliver(require('../helpers/fake-peer').replyFrame(f.header, gen.remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' }));
      return null;
    },
  });
  const conn = await RemoteConnection.open(peer, { name: null, keepalive: false });
  const call = conn.rpc.call(HOSTNAME, undefined);
  const closing = conn.close({ timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 50));
  answer!();
  await expect(call).resolves.toEqual({ hostname: 'h' });
  await expect(closing).resolves.toEqual({ reason: 'closed' });
});
