/**
 * Every daemon call a command makes is bounded by `--timeout` and cancelled by SIGINT/SIGTERM, also after the
 * connection is open. A TCP proxy to the sandbox daemon goes silent right after the CLI has connected (a
 * daemon that hangs mid-session); snapshot-list must then fail within its bound (exit 1, virsh-style error)
 * or, when interrupted, end at once with 130/143. A probe command opens the connection, silences the proxy
 * and hands over to the real snapshot-list with the same context.
 */
import type { CliCommand } from '../../src/cli/command';
import { InterruptReason, runCli } from '../../src/cli/main';
import { defaultRegistry } from '../../src/cli/registry';
import { snapshotList } from '../../src/cli/snapshot-list';
import { sandbox } from '../helpers/sandbox';
import { startProxy, type TcpProxy } from '../helpers/tcp-proxy';

let proxy: TcpProxy;
let uri: string;

beforeEach(async () => {
  const sb = sandbox();
  proxy = await startProxy(sb.tcpPort);
  uri = `qemu+tcp://127.0.0.1:${proxy.port}/session`;
});

afterEach(async () => {
  await proxy.close();
});

/** snapshot-list behind a connection that goes silent once it is open. */
const stalledList: CliCommand = {
  ...snapshotList,
  name: 'stalled-list',
  async run(ctx, args) {
    await ctx.connect();
    proxy.blackhole();
    return snapshotList.run(ctx, args);
  },
};

async function run(argv: string[], interrupt?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  let stdout = '';
  let stderr = '';
  const t0 = Date.now();
  const code = await runCli(argv, {
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    env: process.env,
  }, { registry: defaultRegistry([stalledList]), interrupt });
  return { code, stdout, stderr, ms: Date.now() - t0 };
}

test('the proxy itself passes a normal command through', async () => {
  const r = await run(['-c', uri, 'snapshot-list', sandbox().guest.name, '--name']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
});

test('--timeout bounds each call after the connection is open', async () => {
  const r = await run(['-c', uri, '--timeout', '700', 'stalled-list', sandbox().guest.name]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME did not complete within \d+ ms\n$/);
  expect(r.ms).toBeLessThan(10_000);
});

test.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)('%s cancels the call in flight and exits %d', async (signal, code) => {
  const interrupt = new AbortController();
  setTimeout(() => interrupt.abort(new InterruptReason(signal)), 500);
  const r = await run(['-c', uri, 'stalled-list', sandbox().guest.name], interrupt.signal);
  expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code, stdout: '', stderr: '' });
  expect(r.ms).toBeLessThan(10_000);
});
