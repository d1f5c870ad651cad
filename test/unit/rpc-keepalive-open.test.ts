/** Keepalive and the remote open sequence, against a scripted fake peer. */
import { AbortError, AuthError, ConnectionClosedError, TimeoutError } from '../../src/errors';
import { Frame, MessageType } from '../../src/protocol/frame';
import { RemoteConnection } from '../../src/protocol/connection';
import { answerPings, KeepaliveSender, KeepaliveTimeoutError } from '../../src/protocol/keepalive';
import { RpcClient } from '../../src/protocol/rpc-client';
import { xdrDecode } from '../../src/protocol/xdr';
import { keepalive, remote } from '../../generated';
import * as gen from '../../generated';
import { FakePeer, messageFrame, replyFrame, until } from '../helpers/fake-peer';

const R = gen.remote_program;
const K = gen.keepalive_program;
const name = (f: Frame) => R.procedures.find((p) => p.number === f.header.proc)?.name;

/** A peer that plays libvirtd's part of the open sequence. */
function daemon(peer: FakePeer, auth: number[], keepaliveSupported = 1) {
  peer.autoReply((f) => {
    switch (name(f)) {
      case 'REMOTE_PROC_AUTH_LIST':
        return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: auth });
      case 'REMOTE_PROC_AUTH_SASL_INIT':
        return replyFrame(f.header, remote.xdr_remote_auth_sasl_init_ret, { mechlist: 'SCRAM-SHA-256,PLAIN' });
      case 'REMOTE_PROC_AUTH_POLKIT':
        return replyFrame(f.header, remote.xdr_remote_auth_polkit_ret, { complete: 1 });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE':
        return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: keepaliveSupported });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE':
        return replyFrame(f.header, null);
      default:
        return null;
    }
  });
}

test('open: AUTH_LIST, keepalive feature check, then CONNECT_OPEN with the name and read-only flag', async () => {
  const peer = new FakePeer();
  daemon(peer, [remote.remote_auth_type.REMOTE_AUTH_NONE]);
  const conn = await RemoteConnection.open(peer, { name: 'qemu:///session', readOnly: true, keepalive: false });
  const calls = peer.received.filter((f) => f.header.type === MessageType.VIR_NET_CALL);
  expect(calls.map(name)).toEqual(['REMOTE_PROC_AUTH_LIST', 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE', 'REMOTE_PROC_CONNECT_OPEN']);
  expect(xdrDecode(remote.xdr_remote_connect_supports_feature_args, calls[1].payload)).toEqual({ feature: 10 });
  expect(xdrDecode(remote.xdr_remote_connect_open_args, calls[2].payload)).toEqual({ name: 'qemu:///session', flags: 1 });
  expect(conn.keepaliveSupported).toBe(true);
  await conn.close();
  expect(peer.received.map(name)).toContain('REMOTE_PROC_CONNECT_CLOSE');
  expect(peer.ended).toBe(true);
});

test('polkit authentication calls AUTH_POLKIT', async () => {
  const peer = new FakePeer();
  daemon(peer, [remote.remote_auth_type.REMOTE_AUTH_POLKIT]);
  const conn = await RemoteConnection.open(peer, { name: null, keepalive: false });
  expect(peer.received.map(name)).toContain('REMOTE_PROC_AUTH_POLKIT');
  conn.destroy();
});

test('a daemon that demands SASL over a pipe not known to be confidential gets a clear AuthError and the transport is closed', async () => {
  const peer = new FakePeer();
  daemon(peer, [remote.remote_auth_type.REMOTE_AUTH_SASL]);
  const e: unknown = await RemoteConnection.open(peer, { name: null }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(AuthError);
  expect((e as Error).message).toMatch(/not encrypted \(plain TCP\)/);
  expect(peer.destroyed).not.toBeNull();
});

test('asking for an auth type the daemon does not offer is refused', async () => {
  const peer = new FakePeer();
  daemon(peer, [remote.remote_auth_type.REMOTE_AUTH_NONE]);
  await expect(RemoteConnection.open(peer, { name: null, auth: 'polkit' })).rejects.toThrow(/does not offer polkit/);
  // auth=sasl sends SASL_INIT ahead; this daemon never answers it, and the open still fails at once.
  const other = new FakePeer();
  daemon(other, [remote.remote_auth_type.REMOTE_AUTH_NONE]);
  await expect(RemoteConnection.open(other, { name: null, auth: 'sasl' })).rejects.toThrow(/does not offer sasl/);
  expect(other.received.map(name)).toEqual(['REMOTE_PROC_AUTH_LIST', 'REMOTE_PROC_AUTH_SASL_INIT']);
});

test('a daemon that never answers the open is bounded by the open timeout', async () => {
  const peer = new FakePeer();
  const t0 = Date.now();
  await expect(RemoteConnection.open(peer, { name: null, timeout: 50 })).rejects.toBeInstanceOf(TimeoutError);
  expect(Date.now() - t0).toBeLessThan(1000);
  const ctl = new AbortController();
  const p = RemoteConnection.open(new FakePeer(), { name: null, signal: ctl.signal });
  ctl.abort();
  await expect(p).rejects.toBeInstanceOf(AbortError);
});

test("the daemon's PINGs are answered with PONGs", async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  answerPings(client);
  peer.deliver(messageFrame(K, keepalive.keepalive_procedure.KEEPALIVE_PROC_PING));
  expect(peer.received).toHaveLength(1);
  expect(peer.received[0].header).toMatchObject({ prog: K.program, proc: keepalive.keepalive_procedure.KEEPALIVE_PROC_PONG, type: MessageType.VIR_NET_MESSAGE });
  client.destroy();
});

test('a peer that stops answering PINGs is given up after count PINGs, failing pending calls', async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  answerPings(client);
  const ka = new KeepaliveSender(client, { interval: 40, count: 3 });
  ka.start();
  const pending = client.call(R.procedures.find((p) => p.method === 'connectGetHostname')!, undefined);
  const t0 = Date.now();
  const info = await client.closed;
  const elapsed = Date.now() - t0;
  expect(info.error).toBeInstanceOf(KeepaliveTimeoutError);
  expect(info.error!.message).toMatch(/did not answer 3 keepalive PINGs/);
  const pings = peer.received.filter((f) => f.header.prog === K.program && f.header.proc === keepalive.keepalive_procedure.KEEPALIVE_PROC_PING);
  expect(pings).toHaveLength(3);
  expect(elapsed).toBeGreaterThanOrEqual(150);
  expect(elapsed).toBeLessThan(1000);
  await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
});

test('any traffic from the peer counts as an answer', async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  answerPings(client);
  new KeepaliveSender(client, { interval: 30, count: 1 }).start();
  const stop = Date.now() + 300;
  while (Date.now() < stop) {
    peer.deliver(messageFrame(K, keepalive.keepalive_procedure.KEEPALIVE_PROC_PONG));
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(client.isOpen).toBe(true);
  client.destroy();
  await until(() => !client.isOpen);
});
