/**
 * Every connection's keepalive is checked by one shared timer per tick length: opening and closing
 * connections does not create a timer each, a closed connection leaves the clock, and a silent peer is still
 * given up on (the PING and give-up behaviour itself is in rpc-keepalive-open.test.ts).
 */
import { KeepaliveSender, KeepaliveTimeoutError } from '../../src/protocol/keepalive';
import { RpcClient } from '../../src/protocol/rpc-client';
import { keepalive_program_id } from '../../generated/keepalive-procedures';
import { remote_program_id } from '../../generated/remote-procedures';
import { FakePeer, until } from '../helpers/fake-peer';

afterEach(() => jest.restoreAllMocks());

test('many connections share one timer per tick length', async () => {
  const made = jest.spyOn(global, 'setInterval');
  const clients = Array.from({ length: 20 }, () => new RpcClient(new FakePeer(), [remote_program_id, keepalive_program_id]));
  const senders = clients.map((c) => new KeepaliveSender(c, { interval: 40_000, count: 5 }));
  for (const s of senders) s.start();
  expect(made).toHaveBeenCalledTimes(1);
  for (const s of senders) s.stop();
  for (const s of senders) s.start(); // the clock is still there: no new timer
  expect(made).toHaveBeenCalledTimes(1);
  const other = new KeepaliveSender(clients[0], { interval: 80_000, count: 5 });
  other.start();
  expect(made).toHaveBeenCalledTimes(2);
  other.stop();
  for (const s of senders) s.stop();
  for (const c of clients) c.destroy();
});

test('a silent peer is given up on, and one closed connection does not stop the others\' checks', async () => {
  const quiet = new RpcClient(new FakePeer(), [remote_program_id, keepalive_program_id]);
  const gone = new RpcClient(new FakePeer(), [remote_program_id, keepalive_program_id]);
  const a = new KeepaliveSender(quiet, { interval: 60, count: 1 });
  const b = new KeepaliveSender(gone, { interval: 60, count: 1 });
  a.start();
  b.start();
  gone.destroy(); // leaves at its next check, without stop()
  await until(() => quiet.closeInfo !== null, 5000);
  expect(quiet.closeInfo!.error).toBeInstanceOf(KeepaliveTimeoutError);
});
