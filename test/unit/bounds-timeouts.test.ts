/**
 * Every timeout a caller gives is validated the same way (src/protocol/durations.ts checkTimeout): a number of
 * ms from 1 to 2^31-1, or 0 for "none" where a bound may be left out. Timers fire after 1 ms for anything above
 * 2^31-1, so Infinity, 2^31 and 1e308 are refused rather than turned into an immediate timeout; negative and NaN
 * are refused rather than silently meaning "no timeout". Nothing is sent for a refused call.
 */
import { Connect } from '../../src/objects/connect';
import { InvalidArgumentError, TimeoutError } from '../../src/errors';
import { RemoteConnection } from '../../src/protocol/connection';
import { KeepaliveSender } from '../../src/protocol/keepalive';
import { RpcClient } from '../../src/protocol/rpc-client';
import { openTransport } from '../../src/transport';
import * as gen from '../../generated';
import { FakePeer } from '../helpers/fake-peer';
import { playDaemon } from '../helpers/fake-daemon';

const R = gen.remote_program;
const HOSTNAME = R.procedures.find((p) => p.method === 'connectGetHostname')!;
const BAD: unknown[] = [Infinity, -Infinity, 2 ** 31, 1e308, -1, -0.5, NaN, '5000', null, 0.5];
const GOOD_OR_NONE = [0, 1, 2 ** 31 - 1];

async function open(peer = new FakePeer(), extra: object = {}): Promise<{ conn: RemoteConnection; peer: FakePeer }> {
  playDaemon(peer);
  return { conn: await RemoteConnection.open(peer, { name: null, keepalive: false, ...extra }), peer };
}

describe('a call timeout', () => {
  test.each(BAD)('%p is refused with InvalidArgumentError, and nothing is sent', async (bad) => {
    const peer = new FakePeer();
    const client = new RpcClient(peer, [R]);
    const err = await client.call(HOSTNAME, undefined, { timeout: bad as number }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(/^timeout must be a number of ms 0 \(none\) or between 1 and 2147483647/);
    expect(peer.received).toHaveLength(0);
    expect(client.pendingCalls).toBe(0);
  });

  test('Infinity is refused with a hint: 0 means no timeout', async () => {
    const client = new RpcClient(new FakePeer(), [R]);
    await expect(client.call(HOSTNAME, undefined, { timeout: Infinity })).rejects.toThrow(/not Infinity \(0 means no timeout\)/);
  });

  test.each(GOOD_OR_NONE)('%p is accepted and the call waits for its reply', async (ok) => {
    const peer = new FakePeer();
    const client = new RpcClient(peer, [R]);
    let settled = false;
    const p = client.call(HOSTNAME, undefined, { timeout: ok }).then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(settled).toBe(ok === 1);
    expect(peer.received).toHaveLength(1);
    client.destroy();
    await p;
  });

  test('a valid timeout still fires', async () => {
    const client = new RpcClient(new FakePeer(), [R]);
    await expect(client.call(HOSTNAME, undefined, { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
  });
});

describe('the default call timeout (callTimeout)', () => {
  test.each(BAD)('%p is refused when the client is made', (bad) => {
    expect(() => new RpcClient(new FakePeer(), [R], { callTimeout: bad as number })).toThrow(InvalidArgumentError);
  });

  test.each(BAD)('%p is refused by RemoteConnection.open before anything is sent', async (bad) => {
    const peer = new FakePeer();
    await expect(RemoteConnection.open(peer, { name: null, callTimeout: bad as number })).rejects.toThrow(/^callTimeout must be a number of ms/);
    expect(peer.received).toHaveLength(0);
  });
});

describe('the open timeout', () => {
  test.each([...BAD, 0])('%p is refused by RemoteConnection.open, Connect.openWith and openTransport', async (bad) => {
    await expect(RemoteConnection.open(new FakePeer(), { name: null, timeout: bad as number })).rejects.toThrow(/^timeout must be a number of ms between 1 and 2147483647/);
    await expect(Connect.openWith(new FakePeer(), { timeout: bad as number })).rejects.toThrow(InvalidArgumentError);
    await expect(openTransport('qemu+tcp://127.0.0.1:1/system', { timeout: bad as number })).rejects.toThrow(InvalidArgumentError);
  });
});

describe('the close timeout', () => {
  test.each([...BAD, 0])('%p is refused by close(), and the connection stays open', async (bad) => {
    const { conn } = await open();
    await expect(conn.close({ timeout: bad as number })).rejects.toThrow(/^timeout must be a number of ms between 1 and 2147483647/);
    expect(conn.isOpen).toBe(true);
    await expect(new Connect(conn).close({ timeout: bad as number })).rejects.toThrow(InvalidArgumentError);
    await expect(conn.rpc.close(bad as number)).rejects.toThrow(InvalidArgumentError);
    await expect(conn.rpc.drain(bad as number)).rejects.toThrow(InvalidArgumentError);
    expect(conn.isOpen).toBe(true);
    conn.destroy();
  });
});

describe('keepalive options', () => {
  test.each([
    [{ interval: Infinity, count: 5 }, /keepalive\.interval must be a number of ms between 1/],
    [{ interval: 2 ** 31, count: 5 }, /keepalive\.interval/],
    [{ interval: 0, count: 5 }, /keepalive\.interval/],
    [{ interval: NaN, count: 5 }, /keepalive\.interval/],
    [{ interval: 5000, count: -1 }, /keepalive\.count must be a whole number/],
    [{ interval: 5000, count: 1.5 }, /keepalive\.count/],
    [{ interval: 5000, count: NaN }, /keepalive\.count/],
  ])('%p is refused with InvalidArgumentError', async (ka, message) => {
    const client = new RpcClient(new FakePeer(), [R]);
    expect(() => new KeepaliveSender(client, ka)).toThrow(InvalidArgumentError);
    expect(() => new KeepaliveSender(client, ka)).toThrow(message);
    const peer = new FakePeer();
    await expect(RemoteConnection.open(peer, { name: null, keepalive: ka })).rejects.toThrow(InvalidArgumentError);
    expect(peer.received).toHaveLength(0);
  });
});
