/**
 * The RPC engine against a scripted fake peer: replies matched by serial, every failure mode ending in its
 * typed error with all pending calls rejected, no unhandled rejection and no hang.
 */
import { AbortError, ConnectionClosedError, ProtocolError, RemoteError, TimeoutError, XdrError } from '../../src/errors';
import { encodeFrame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { RpcClient } from '../../src/protocol/rpc-client';
import { xdrEncode } from '../../src/protocol/xdr';
import { remote, virnet } from '../../generated';
import * as gen from '../../generated';
import { failOnUnhandledRejections, FakePeer, messageFrame, replyFrame, until } from '../helpers/fake-peer';

const R = gen.remote_program;
const proc = (m: string) => R.procedures.find((p) => p.method === m)!;
const LIBVER = proc('connectGetLibVersion');
const HOSTNAME = proc('connectGetHostname');

failOnUnhandledRejections();

function setup() {
  const peer = new FakePeer();
  const client = new RpcClient(peer, [R]);
  return { peer, client };
}

test('a call is framed as libvirt frames it and resolves with the decoded reply', async () => {
  const { peer, client } = setup();
  peer.autoReply((f) => replyFrame(f.header, remote.xdr_remote_connect_get_lib_version_ret, { lib_ver: 11003000n }));
  await expect(client.call(LIBVER, undefined)).resolves.toEqual({ lib_ver: 11003000n });
  const h = peer.received[0].header;
  expect(h).toEqual({ prog: 0x20008086, vers: 1, proc: 157, type: MessageType.VIR_NET_CALL, serial: 1, status: 0 });
  expect(Buffer.from(peer.writes[0].subarray(0, 4)).readUInt32BE(0)).toBe(28);
});

test('replies out of order are matched by serial', async () => {
  const { peer, client } = setup();
  const a = client.call(HOSTNAME, undefined);
  const b = client.call(HOSTNAME, undefined);
  const [fa, fb] = peer.received;
  peer.deliver(replyFrame(fb.header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'b' }));
  peer.deliver(replyFrame(fa.header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'a' }));
  await expect(a).resolves.toEqual({ hostname: 'a' });
  await expect(b).resolves.toEqual({ hostname: 'b' });
});

test('a reply cut at every byte position still resolves', async () => {
  for (let cut = 1; cut < 40; cut++) {
    const { peer, client } = setup();
    const p = client.call(HOSTNAME, undefined);
    const bytes = replyFrame(peer.received[0].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'host.example' });
    peer.deliver(bytes.subarray(0, cut));
    peer.deliver(bytes.subarray(cut));
    await expect(p).resolves.toEqual({ hostname: 'host.example' });
  }
});

test('an error reply becomes RemoteError with the whole remote_error and its names', async () => {
  const { peer, client } = setup();
  peer.autoReply((f) =>
    encodeFrame(
      { ...f.header, type: MessageType.VIR_NET_REPLY, status: MessageStatus.VIR_NET_ERROR },
      xdrEncode(virnet.xdr_virNetMessageError, {
        code: 72, domain: 10, message: 'no snapshot', level: 2, dom: null, str1: 'a', str2: null, str3: null, int1: 1, int2: -1, net: null,
      }),
    ),
  );
  const err = (await client.call(HOSTNAME, undefined).catch((e: unknown) => e)) as RemoteError;
  expect(err).toBeInstanceOf(RemoteError);
  expect(err.remote).toMatchObject({ code: 72, codeName: 'VIR_ERR_NO_DOMAIN_SNAPSHOT', domainName: 'VIR_FROM_QEMU', str1: 'a', int2: -1 });
  expect(err.procedure).toBe('REMOTE_PROC_CONNECT_GET_HOSTNAME');
  expect(client.isOpen).toBe(true);
});

async function expectFatal(peer: FakePeer, client: RpcClient, pending: Promise<unknown>[], kind: new (...a: never[]) => Error) {
  const info = await client.closed;
  expect(info.reason).toBe('error');
  expect(info.error).toBeInstanceOf(kind);
  for (const p of pending) {
    const e = await p.catch((x) => x);
    expect(e).toBeInstanceOf(Error);
  }
  expect(peer.destroyed).toBeInstanceOf(kind);
  await expect(client.call(HOSTNAME, undefined)).rejects.toBeInstanceOf(ConnectionClosedError);
}

test.each([
  ['undersize length', () => Uint8Array.of(0, 0, 0, 27)],
  ['oversize length', () => Uint8Array.of(0x02, 0, 0, 0x05)],
  ['wrong program', () => encodeFrame({ prog: 0x1234, vers: 1, proc: 59, type: 1, serial: 1, status: 0 })],
  ['wrong version', () => encodeFrame({ prog: R.program, vers: 9, proc: 59, type: 1, serial: 1, status: 0 })],
  ['unknown serial', () => encodeFrame({ prog: R.program, vers: 1, proc: 59, type: 1, serial: 999, status: 0 })],
  ['reply for another procedure', () => encodeFrame({ prog: R.program, vers: 1, proc: 1, type: 1, serial: 1, status: 0 })],
  ['garbage payload', () => encodeFrame({ prog: R.program, vers: 1, proc: 59, type: 1, serial: 1, status: 0 }, Uint8Array.of(0, 0, 0, 200, 1, 2))],
  ['unknown message type', () => encodeFrame({ prog: R.program, vers: 1, proc: 59, type: 42, serial: 1, status: 0 })],
  ['a CALL from the server', () => encodeFrame({ prog: R.program, vers: 1, proc: 59, type: 0, serial: 1, status: 0 })],
  ['an unknown status', () => encodeFrame({ prog: R.program, vers: 1, proc: 59, type: 1, serial: 1, status: 7 })],
])('%s closes the connection with ProtocolError and rejects every pending call', async (_name, bytes) => {
  const { peer, client } = setup();
  const pending = [client.call(HOSTNAME, undefined), client.call(LIBVER, undefined), client.call(HOSTNAME, undefined)];
  peer.deliver(bytes());
  await expectFatal(peer, client, pending, ProtocolError);
  for (const p of pending) await expect(p).rejects.toBeInstanceOf(LibvirtOrProtocol);
});

// Pending calls reject with ConnectionClosedError (cause: the ProtocolError) or, for the call whose reply was
// undecodable, with the XdrError itself.
class LibvirtOrProtocol {
  static [Symbol.hasInstance](e: unknown) {
    return e instanceof ConnectionClosedError || e instanceof XdrError || e instanceof ProtocolError;
  }
}

test('the peer closing mid-reply rejects every pending call with ConnectionClosedError', async () => {
  const { peer, client } = setup();
  const pending = [client.call(HOSTNAME, undefined), client.call(LIBVER, undefined)];
  const bytes = replyFrame(peer.received[0].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' });
  peer.deliver(bytes.subarray(0, 20));
  peer.hangUp();
  for (const p of pending) await expect(p).rejects.toBeInstanceOf(ConnectionClosedError);
  expect((await client.closed).reason).toBe('eof');
});

test('a timeout rejects with TimeoutError; the late reply is dropped and the connection stays usable', async () => {
  const { peer, client } = setup();
  const p = client.call(HOSTNAME, undefined, { timeout: 20 });
  await expect(p).rejects.toBeInstanceOf(TimeoutError);
  peer.deliver(replyFrame(peer.received[0].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'late' }));
  const q = client.call(HOSTNAME, undefined);
  peer.deliver(replyFrame(peer.received[1].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'ok' }));
  await expect(q).resolves.toEqual({ hostname: 'ok' });
  expect(client.isOpen).toBe(true);
  expect(client.pendingCalls).toBe(0);
});

test('abort rejects with AbortError, before and after sending', async () => {
  const { peer, client } = setup();
  const ctl = new AbortController();
  const p = client.call(HOSTNAME, undefined, { signal: ctl.signal });
  ctl.abort(new Error('user gave up'));
  await expect(p).rejects.toBeInstanceOf(AbortError);
  await expect(client.call(HOSTNAME, undefined, { signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
  expect(peer.received).toHaveLength(1); // the pre-aborted call was never sent
  peer.deliver(replyFrame(peer.received[0].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'late' }));
  expect(client.isOpen).toBe(true);
});

test('arguments that do not fit their XDR type reject before anything is sent', async () => {
  const { peer, client } = setup();
  const err = (await client.call(proc('domainLookupByName'), { name: 42 }).catch((e: unknown) => e)) as XdrError;
  expect(err).toBeInstanceOf(XdrError);
  expect(err.message).toContain('remote_domain_lookup_by_name_args.name: expected a string, got number 42');
  expect(peer.writes).toHaveLength(0);
});

test('writes wait for the transport to drain, in order', async () => {
  const { peer, client } = setup();
  peer.blocked = true;
  const calls = [1, 2, 3].map(() => client.call(HOSTNAME, undefined));
  expect(peer.writes).toHaveLength(1); // the first write reported a full buffer; the rest wait
  peer.release();
  await until(() => peer.writes.length === 3);
  expect(peer.received.map((f) => f.header.serial)).toEqual([1, 2, 3]);
  for (const f of peer.received) peer.deliver(replyFrame(f.header, remote.xdr_remote_connect_get_hostname_ret, { hostname: String(f.header.serial) }));
  await expect(Promise.all(calls)).resolves.toEqual([{ hostname: '1' }, { hostname: '2' }, { hostname: '3' }]);
});

test('a reply with file descriptors fails that call with a clear error; the connection stays usable', async () => {
  const { peer, client } = setup();
  const p = client.call(HOSTNAME, undefined);
  // One descriptor: its count leads the payload, and libvirt sends it with one zero byte after the frame.
  peer.deliver(encodeFrame({ ...peer.received[0].header, type: MessageType.VIR_NET_REPLY_WITH_FDS, status: 0 }, Uint8Array.of(0, 0, 0, 1)));
  peer.deliver(Uint8Array.of(0));
  await expect(p).rejects.toThrow(/descriptor passing is not supported/);
  expect(client.isOpen).toBe(true);
  const q = client.call(HOSTNAME, undefined);
  peer.deliver(replyFrame(peer.received[1].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'ok' }));
  await expect(q).resolves.toEqual({ hostname: 'ok' });
});

test('MESSAGE frames go to the route of their program; with no route they are dropped', async () => {
  const { peer, client } = setup();
  const ev = proc('domainEventCallbackLifecycle');
  const msg = { callbackID: 3, msg: { dom: { name: 'vm', uuid: new Uint8Array(16), id: 1 }, event: 2, detail: 0 } };
  const frame = messageFrame(R, ev, xdrEncode(remote.xdr_remote_domain_event_callback_lifecycle_msg, msg));
  peer.deliver(frame); // no route yet: dropped
  const got: unknown[] = [];
  const remove = client.setMessageRoute(R, (f) => got.push([f.header.proc, f.header.type, f.payload.length]));
  peer.deliver(frame);
  expect(got).toEqual([[ev.number, MessageType.VIR_NET_MESSAGE, frame.length - 28]]);
  remove();
  peer.deliver(frame);
  expect(got).toHaveLength(1);
  expect(client.isOpen).toBe(true);
});

test('close() lets pending calls finish, then ends the transport', async () => {
  const { peer, client } = setup();
  const p = client.call(HOSTNAME, undefined);
  const closing = client.close();
  await expect(client.call(HOSTNAME, undefined)).rejects.toBeInstanceOf(ConnectionClosedError);
  expect(peer.ended).toBe(false);
  peer.deliver(replyFrame(peer.received[0].header, remote.xdr_remote_connect_get_hostname_ret, { hostname: 'h' }));
  await expect(p).resolves.toEqual({ hostname: 'h' });
  await expect(closing).resolves.toEqual({ reason: 'closed' });
  expect(peer.ended).toBe(true);
});

test('destroy(err) rejects everything at once and reports the reason', async () => {
  const { client } = setup();
  const p = client.call(HOSTNAME, undefined);
  const boom = new Error('boom');
  client.destroy(boom);
  const e = (await p.catch((x: unknown) => x)) as ConnectionClosedError;
  expect(e).toBeInstanceOf(ConnectionClosedError);
  expect(e.cause).toBe(boom);
  await expect(client.closed).resolves.toEqual({ reason: 'error', error: boom });
});
