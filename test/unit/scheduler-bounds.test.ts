/**
 * Every scheduler operation is bounded against a daemon that accepts the connection and then never answers:
 * `runOnce`, `plan`, `resume`, `cleanup` and `records` take `{ signal, timeout }` last, and even without them
 * every daemon call inside is bounded (callTimeoutMs).
 */
import type { Frame } from '../../src/protocol/frame';
import { remote } from '../../generated';
import * as gen from '../../generated';
import { AbortError, Connect, TimeoutError } from '../../src/core';
import { DomainScheduler } from '../../src/scheduler/scheduler';
import { FakePeer, replyFrame } from '../helpers/fake-peer';

jest.setTimeout(30_000);
const R = gen.remote_program;
const DOM: remote.remote_nonnull_domain = { name: 'vm1', uuid: new Uint8Array(16).fill(7), id: 1 };

/** A daemon that opens the connection, finds the domain, and answers nothing else. */
async function silentDaemon() {
  const peer = new FakePeer();
  const unanswered: string[] = [];
  peer.autoReply((f: Frame) => {
    const name = R.procedures.find((p) => p.number === f.header.proc)?.name ?? '';
    switch (name) {
      case 'REMOTE_PROC_AUTH_LIST': return replyFrame(f.header, remote.xdr_remote_auth_list_ret, { types: [0] });
      case 'REMOTE_PROC_CONNECT_SUPPORTS_FEATURE': return replyFrame(f.header, remote.xdr_remote_connect_supports_feature_ret, { supported: 0 });
      case 'REMOTE_PROC_CONNECT_OPEN':
      case 'REMOTE_PROC_CONNECT_CLOSE': return replyFrame(f.header, null);
      case 'REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME': return replyFrame(f.header, remote.xdr_remote_domain_lookup_by_name_ret, { dom: DOM });
      default:
        unanswered.push(name);
        return null;
    }
  });
  const conn = await Connect.openWith(peer, { name: 'qemu:///session', keepalive: false });
  return { conn, dom: await conn.getDomainByName('vm1'), unanswered };
}

const POLICY = { baseMs: 1000, levels: 1, slots: 1, keepLast: 1 };

async function settles(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const t0 = Date.now();
  const error = await p.then(() => null, (e: unknown) => e);
  return { error, ms: Date.now() - t0 };
}

test('with no options, every daemon call of a pass is still bounded (callTimeoutMs)', async () => {
  const { conn, dom, unanswered } = await silentDaemon();
  const s = new DomainScheduler(dom, { policy: POLICY, owner: 'a', callTimeoutMs: 300 });
  const { error, ms } = await settles(s.runOnce());
  expect(error).toBeInstanceOf(TimeoutError);
  expect(ms).toBeLessThan(10_000);
  expect(unanswered[0]).toBe('REMOTE_PROC_DOMAIN_GET_METADATA');
  conn.destroy();
});

test.each([
  ['runOnce', (s: DomainScheduler, o: object) => s.runOnce(o)],
  ['plan', (s: DomainScheduler, o: object) => s.plan(o)],
  ['resume', (s: DomainScheduler, o: object) => s.resume(o)],
  ['cleanup', (s: DomainScheduler, o: object) => s.cleanup(o)],
  ['records', (s: DomainScheduler, o: object) => s.records(o)],
])('%s: { timeout } rejects with TimeoutError, { signal } with AbortError when it aborts', async (_n, op) => {
  const { conn, dom } = await silentDaemon();
  const s = new DomainScheduler(dom, { policy: POLICY, owner: 'a' });
  const timed = await settles(op(s, { timeout: 300 }));
  expect(timed.error).toBeInstanceOf(TimeoutError);
  expect(timed.ms).toBeLessThan(10_000);
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 200);
  const aborted = await settles(op(s, { signal: ctl.signal }));
  expect(aborted.error).toBeInstanceOf(AbortError);
  expect(aborted.ms).toBeLessThan(10_000);
  conn.destroy();
});

test('runDaemon({ signal }) ends at once when aborted during a pass, waiting no longer than the bound of the call in flight', async () => {
  const { conn, dom } = await silentDaemon();
  const s = new DomainScheduler(dom, { policy: POLICY, owner: 'a', callTimeoutMs: 500 });
  const ctl = new AbortController();
  setTimeout(() => ctl.abort(), 100);
  const { error, ms } = await settles(s.runDaemon({ signal: ctl.signal }));
  expect(error).toBeNull();
  expect(ms).toBeLessThan(10_000);
  conn.destroy();
});
