/**
 * REPLY_WITH_FDS against a fake peer that sends what libvirtd sends over a unix socket: the frame (its payload
 * led by the descriptor count), then one zero byte per descriptor in the byte stream (the descriptors
 * themselves travel beside it). The call fails, those bytes are dropped wherever the chunks are cut, and the
 * next frames decode; anything else is a ProtocolError that closes the connection.
 */
import { ProtocolError } from '../../src/errors';
import { encodeFrame, MessageType } from '../../src/protocol/frame';
import { RpcClient } from '../../src/protocol/rpc-client';
import { concatBytes } from '../../src/protocol/xdr';
import { remote } from '../../generated';
import * as gen from '../../generated';
import { FakePeer, replyFrame } from '../helpers/fake-peer';

const R = gen.remote_program;
const HOSTNAME = R.procedures.find((p) => p.method === 'connectGetHostname')!;

function withFds(header: import('../../src/protocol/frame').FrameHeader, nfds: number): Uint8Array {
  const payload = new Uint8Array(4 + 8);
  new DataView(payload.buffer).setUint32(0, nfds);
  return encodeFrame({ ...header, type: MessageType.VIR_NET_REPLY_WITH_FDS, status: 0 }, payload);
}

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

test.each([0, 1, 2, 32])('%i descriptors: the call fails, their bytes are dropped at every cut, the next reply decodes', async (nfds) => {
  const stream = (peer: FakePeer) => {
    const [a, b] = peer.received;
    return concat(withFds(a.header, nfds), new Uint8Array(nfds), replyFrame(b.header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'next' }));
  };
  const probe = new FakePeer();
  const pc = new RpcClient(probe, [R]);
  void pc.call(HOSTNAME, undefined).catch(() => undefined);
  void pc.call(HOSTNAME, undefined).catch(() => undefined);
  const total = stream(probe).length;
  pc.destroy();
  for (let cut = 0; cut <= total; cut += nfds > 2 ? 3 : 1) {
    const peer = new FakePeer();
    const client = new RpcClient(peer, [R]);
    const first = client.call(HOSTNAME, undefined);
    const second = client.call(HOSTNAME, undefined);
    const bytes = stream(peer);
    peer.deliver(bytes.subarray(0, cut));
    peer.deliver(bytes.subarray(cut));
    await expect(first).rejects.toThrow(/REPLY_WITH_FDS\); descriptor passing is not supported/);
    await expect(second).resolves.toEqual({ hostname: 'next' });
    expect(client.isOpen).toBe(true);
  }
});

test('a byte after the frame that is not the zero byte of a descriptor is a ProtocolError', async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  const first = client.call(HOSTNAME, undefined);
  const second = client.call(HOSTNAME, undefined);
  peer.deliver(concat(withFds(peer.received[0].header, 1), Uint8Array.of(7)));
  await expect(first).rejects.toBeInstanceOf(ProtocolError);
  await expect(second).rejects.toThrow(/byte 7 where the zero byte sent with a file descriptor was expected/);
  expect(client.isOpen).toBe(false);
});

test.each([33, 2 ** 32 - 1])('a count of %i descriptors (more than libvirt ever sends) is a ProtocolError', async (nfds) => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  const p = client.call(HOSTNAME, undefined);
  peer.deliver(withFds(peer.received[0].header, nfds));
  await expect(p).rejects.toThrow(/announces \d+ file descriptors \(at most 32\)/);
  expect(client.isOpen).toBe(false);
});

test('a REPLY_WITH_FDS with no count at all is a ProtocolError', async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  const p = client.call(HOSTNAME, undefined);
  peer.deliver(encodeFrame({ ...peer.received[0].header, type: MessageType.VIR_NET_REPLY_WITH_FDS, status: 0 }));
  await expect(p).rejects.toThrow(/announces no file descriptors/);
});

test('a late REPLY_WITH_FDS for a call that timed out is dropped with its bytes', async () => {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  await expect(client.call(HOSTNAME, undefined, { timeout: 5 })).rejects.toThrow(/did not complete/);
  const next = client.call(HOSTNAME, undefined);
  const [a, b] = peer.received;
  peer.deliver(concat(withFds(a.header, 1), Uint8Array.of(0), replyFrame(b.header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' })));
  await expect(next).resolves.toEqual({ hostname: 'h' });
});
