/**
 * `libvirt-rpc ws-bridge` (the command, as a process) refuses: no token, a wrong token, a foreign Origin, a
 * read-write open under --readonly, a non-loopback --listen without --allow-remote. Each gets a clear error,
 * and the daemon never sees the refused connection: the bridge forwards to a daemon of this test's own, and
 * that daemon's admin interface shows that the first connection it ever accepted is the one allowed afterwards.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { Connect, WebSocketError } from '../../src/index';
import { openWebSocketTransport, type WebSocketConstructor, type WebSocketLike } from '../../src/protocol/websocket-transport';
import { daemonClientIds } from '../helpers/daemon-clients';
import { openUri } from '../helpers/open';
import { until } from '../helpers/fake-peer';
import { startPrivateDaemon, type PrivateDaemon } from '../helpers/private-daemon';
import { sandbox } from '../helpers/sandbox';
import { runBridgeToExit, startBridgeProcess, type BridgeProcess } from '../helpers/ws-bridge-process';

const Ws = WebSocket as unknown as WebSocketConstructor;
const ORIGIN = 'http://127.0.0.1:9999';
let daemon: PrivateDaemon;
let bridge: BridgeProcess;
let tokenDir: string;
let token: string;
let uri: string;

beforeAll(async () => {
  daemon = await startPrivateDaemon();
  uri = `qemu+unix:///session?socket=${daemon.socket}`;
  tokenDir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-ws-token-'));
  token = 'refusal-test-token-0123456789';
  fs.writeFileSync(path.join(tokenDir, 'token'), `${token}\n`, { mode: 0o600 });
  bridge = await startBridgeProcess(['--listen', '127.0.0.1:0', '--connect', uri, '--token-file', path.join(tokenDir, 'token'), '--origin', ORIGIN, '--readonly']);
}, 120_000);

afterAll(async () => {
  await bridge?.stop();
  await daemon?.cleanup();
  fs.rmSync(tokenDir, { recursive: true, force: true });
}, 60_000);

/** Tries to open a connection; resolves to the error it fails with. */
async function refusal(protocols: string[], headers: Record<string, string> = {}, readOnly = true): Promise<WebSocketError> {
  const socket = new WebSocket(bridge.url, protocols, { headers }) as unknown as WebSocketLike;
  const err = await openWebSocketTransport(socket, { WebSocket: Ws, timeout: 20_000 })
    .then((t) => Connect.openWith(t, { name: 'qemu:///session', readOnly, timeout: 20_000 }))
    .then(
      (c) => {
        c.destroy();
        throw new Error('the bridge let the connection through');
      },
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(WebSocketError);
  return err as WebSocketError;
}

test('no token, a wrong token, a foreign Origin, a read-write open: each refused with its reason', async () => {
  expect(await refusal(['binary'])).toMatchObject({ code: 'ERR_WEBSOCKET_REFUSED', closeCode: 4401, closeReason: 'bearer token missing' });
  expect(await refusal(['binary', 'bearer.not-the-token-at-all'])).toMatchObject({ closeCode: 4401, closeReason: 'bearer token wrong' });
  expect(await refusal(['binary'], { authorization: 'Bearer not-the-token-at-all' })).toMatchObject({ closeCode: 4401, closeReason: 'bearer token wrong' });
  expect(await refusal(['binary', `bearer.${token}`], { origin: 'http://evil.example' })).toMatchObject({
    closeCode: 4403,
    closeReason: 'origin http://evil.example is not allowed (--origin)',
  });
  const rw = await refusal(['binary', `bearer.${token}`], { origin: ORIGIN }, false);
  expect(rw).toMatchObject({ closeCode: 4403, closeReason: 'read-only bridge: open the connection read-only (VIR_CONNECT_RO)' });
  expect(rw.message).toMatch(/the bridge refused the connection \(close code 4403\): read-only bridge/);
  // The access log says why each was refused, and never holds the token (the close line may follow the client's).
  await until(() => /closed 4403/.test(bridge.log()), 10_000);
  const log = bridge.log();
  expect(log.match(/refused: 4401 bearer token missing/g)).toHaveLength(1);
  expect(log.match(/refused: 4401 bearer token wrong/g)).toHaveLength(2);
  expect(log).toMatch(/refused: 4403 origin http:\/\/evil\.example/);
  expect(log).toMatch(/closed 4403 \(read-only bridge: open the connection read-only \(VIR_CONNECT_RO\)\)/);
  expect(log).not.toContain(token);
}, 120_000);

test('a non-loopback --listen without --allow-remote exits at once with an error, listening nowhere', async () => {
  const r = await runBridgeToExit(['--listen', '0.0.0.0:0', '--connect', uri, '--token-file', path.join(tokenDir, 'token')]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: refusing to listen on 0\.0\.0\.0: .*pass --allow-remote/m);
  expect(r.stderr).not.toMatch(/listening on/);
}, 120_000);

test('a token file others can read is refused before listening', async () => {
  const loose = path.join(tokenDir, 'loose');
  fs.writeFileSync(loose, `${token}\n`, { mode: 0o644 });
  fs.chmodSync(loose, 0o644);
  const r = await runBridgeToExit(['--listen', '127.0.0.1:0', '--connect', uri, '--token-file', loose]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/is accessible to group or others \(mode 0644\): chmod 600 it/);
}, 120_000);

test('the daemon never saw a refused connection: the first client it ever accepted is the one allowed now', async () => {
  const sb = sandbox();
  const runtime = path.dirname(path.dirname(daemon.socket));
  expect(await daemonClientIds(runtime, sb)).toEqual([]);
  const socket = new WebSocket(bridge.url, ['binary', `bearer.${token}`], { origin: ORIGIN }) as unknown as WebSocketLike;
  const conn = await Connect.openWith(await openWebSocketTransport(socket, { WebSocket: Ws, timeout: 20_000 }), { name: 'qemu:///session', readOnly: true, timeout: 20_000 });
  expect(await conn.getType()).toBe('QEMU');
  expect(await daemonClientIds(runtime, sb)).toEqual([1]);
  await conn.close();
  // The control: a connection that came and went is counted (the next one gets id 3, not 2).
  await (await openUri(uri, { readOnly: true })).close();
  const again = await openUri(uri, { readOnly: true });
  expect(await daemonClientIds(runtime, sb)).toEqual([3]);
  await again.close();
}, 120_000);

test('without --token-file a token is generated into a 0600 file; SIGTERM stops the bridge (exit 0) and removes it', async () => {
  const b = await startBridgeProcess(['--listen', '127.0.0.1:0', '--connect', uri]);
  try {
    const file = /token file (\S+) \(generated, mode 0600/.exec(b.log())![1];
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    const generated = fs.readFileSync(file, 'utf8').trim();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.log()).not.toContain(generated);
    const t = await openWebSocketTransport(b.url, { WebSocket: Ws, token: generated, timeout: 20_000 });
    const conn = await Connect.openWith(t, { name: 'qemu:///session', readOnly: true, timeout: 20_000 });
    expect(await conn.getType()).toBe('QEMU');
    expect(await b.stop()).toBe(0);
    expect(fs.existsSync(file)).toBe(false);
    expect(b.log()).toMatch(/stopping/);
    expect(await conn.closed).toMatchObject({ reason: 'error', error: { code: 'ERR_WEBSOCKET_CLOSED', closeCode: 1001 } });
  } finally {
    await b.stop();
  }
}, 120_000);
