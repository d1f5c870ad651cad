/**
 * The WebSocket bridge in front of the sandbox daemon, with Node clients over the ws package: tokens in a header
 * and as a subprotocol, Origins, TLS on both sides, read-only forwarding, the connection and message bounds,
 * and the access log (never a token). And websockify in front of the daemon's TCP port, for the same client.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import WebSocket from 'ws';
import { Connect, RemoteError, WebSocketError } from '../../src/index';
import { WsBridge, type WsBridgeOptions } from '../../src/node/ws-bridge';
import { openWebSocketTransport, type WebSocketConstructor, type WebSocketLike } from '../../src/protocol/websocket-transport';
import { until } from '../helpers/fake-peer';
import { virsh } from '../helpers/open';
import { startWebsockify } from '../helpers/websockify';
import { sandbox } from '../helpers/sandbox';

const TOKEN = 'tok-0123456789abcdefghij';
const Ws = WebSocket as unknown as WebSocketConstructor;
const lines: string[] = [];
const bridges: WsBridge[] = [];

async function bridge(over: Partial<WsBridgeOptions> = {}): Promise<WsBridge> {
  const b = await WsBridge.start({
    listen: { host: '127.0.0.1', port: 0 },
    connect: sandbox().unixUri,
    token: TOKEN,
    log: (l) => lines.push(l),
    ...over,
  });
  bridges.push(b);
  return b;
}

/** Opens a libvirt connection through `url`; `socket` lets a test build the ws instance (headers, TLS CA). */
async function open(url: string, opts: { token?: string; socket?: WebSocketLike; readOnly?: boolean } = {}): Promise<Connect> {
  const transport = await openWebSocketTransport(opts.socket ?? url, { WebSocket: Ws, token: opts.token, timeout: 20_000 });
  return Connect.openWith(transport, { name: 'qemu:///session', readOnly: opts.readOnly, timeout: 20_000 });
}

afterAll(async () => {
  await Promise.all(bridges.map((b) => b.close()));
});

test('the token as a subprotocol: the bridge forwards to the daemon and chooses the binary subprotocol', async () => {
  const b = await bridge();
  const transport = await openWebSocketTransport(b.url, { WebSocket: Ws, token: TOKEN });
  expect(transport.protocol).toBe('binary');
  const conn = await Connect.openWith(transport, { name: 'qemu:///session' });
  const names = (await conn.listAllDomains()).map((d) => d.getName());
  expect(names).toContain(sandbox().guest.name);
  const version = (await virsh(sandbox().unixUri, 'version', '--daemon')).match(/Running against daemon: (\d+)\.(\d+)\.(\d+)/)!;
  expect(await conn.getLibVersion()).toBe(Number(version[1]) * 1e6 + Number(version[2]) * 1e3 + Number(version[3]));
  await conn.close();
  await until(() => b.connections === 0, 10_000);
});

test('the token in an Authorization header, from a WebSocket the caller built', async () => {
  const b = await bridge();
  const socket = new WebSocket(b.url, ['binary'], { headers: { authorization: `Bearer ${TOKEN}` } }) as unknown as WebSocketLike;
  const conn = await open(b.url, { socket });
  expect(await conn.getHostname()).toBe(os.hostname());
  await conn.close();
});

test('an allowed Origin passes, another is refused with 4403 and a reason', async () => {
  const b = await bridge({ origins: ['http://127.0.0.1:8080'] });
  const ok = new WebSocket(b.url, ['binary', `bearer.${TOKEN}`], { origin: 'http://127.0.0.1:8080' }) as unknown as WebSocketLike;
  await (await open(b.url, { socket: ok })).close();
  const bad = new WebSocket(b.url, ['binary', `bearer.${TOKEN}`], { origin: 'http://evil.example' }) as unknown as WebSocketLike;
  const err = await open(b.url, { socket: bad }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WebSocketError);
  expect(err).toMatchObject({ code: 'ERR_WEBSOCKET_REFUSED', closeCode: 4403, closeReason: 'origin http://evil.example is not allowed (--origin)' });
});

test('TLS on both sides: wss to the bridge, TLS from the bridge to the daemon', async () => {
  const sb = sandbox();
  const serverDir = path.join(path.dirname(sb.tls.caCert), '..', 'server');
  const b = await bridge({
    connect: sb.tls.uri,
    tls: { cert: fs.readFileSync(path.join(serverDir, 'servercert.pem')), key: fs.readFileSync(path.join(serverDir, 'serverkey.pem')) },
  });
  expect(b.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/$/);
  const socket = new WebSocket(b.url, ['binary', `bearer.${TOKEN}`], { ca: fs.readFileSync(sb.tls.caCert) }) as unknown as WebSocketLike;
  const conn = await open(b.url, { socket });
  expect((await conn.listAllDomains()).length).toBeGreaterThan(0);
  await conn.close();
  expect(lines.some((l) => /forwarding to tls:127\.0\.0\.1:\d+/.test(l))).toBe(true);
  // A client that does not trust the certificate never gets through the TLS handshake.
  await expect(open(b.url, { token: TOKEN })).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_HANDSHAKE' });
});

test('read-only: a read-only open is forwarded, and the daemon then refuses writes on it', async () => {
  const b = await bridge({ readOnly: true });
  const conn = await open(b.url, { token: TOKEN, readOnly: true });
  const dom = await conn.getDomainByName(sandbox().guest.name);
  const err = await dom.createSnapshot({ name: 'never' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RemoteError);
  expect((err as RemoteError).errorName).toBe('VIR_ERR_OPERATION_DENIED');
  await conn.close();
});

test('the connection limit: one more than allowed is refused with 4429 while the others are open', async () => {
  const b = await bridge({ maxConnections: 1 });
  const first = await open(b.url, { token: TOKEN });
  await expect(open(b.url, { token: TOKEN })).rejects.toMatchObject({ code: 'ERR_WEBSOCKET_REFUSED', closeCode: 4429 });
  await first.close();
  await until(() => b.connections === 0, 10_000);
  await (await open(b.url, { token: TOKEN })).close();
});

test('the message bound: a larger message closes the connection with 1009, and the call fails', async () => {
  const b = await bridge({ maxMessageBytes: 2048 });
  const conn = await open(b.url, { token: TOKEN });
  const err = await conn.defineDomain(`<domain type='qemu'><name>x</name><description>${'x'.repeat(4000)}</description></domain>`).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'ERR_CONNECTION_CLOSED' });
  expect((err as Error).cause).toMatchObject({ code: 'ERR_WEBSOCKET_CLOSED', closeCode: 1009 });
  expect(await virsh(sandbox().unixUri, 'list', '--all', '--name')).not.toMatch(/^x$/m);
});

test('text messages are refused (1003): libvirt frames are binary', async () => {
  const b = await bridge();
  const socket = new WebSocket(b.url, ['binary', `bearer.${TOKEN}`]);
  await new Promise((r) => socket.once('open', r));
  socket.send('hello');
  const [code] = await new Promise<[number, string]>((r) => socket.once('close', (c, reason) => r([c, reason.toString()])));
  expect(code).toBe(1003);
});

test('plain HTTP requests get 426, and the access log has every connection but never the token', async () => {
  const b = await bridge();
  const res = await fetch(b.url.replace('ws:', 'http:'));
  expect(res.status).toBe(426);
  expect(lines.join('\n')).not.toContain(TOKEN);
  expect(lines.some((l) => / #\d+ 127\.0\.0\.1:\d+ accepted/.test(l))).toBe(true);
  expect(lines.some((l) => / refused: 4403 origin/.test(l))).toBe(true);
  expect(lines.some((l) => / #\d+ closed 1000 after [\d.]+ s, \d+ B in, \d+ B out/.test(l))).toBe(true);
});

test('websockify in front of the daemon\'s TCP port: the same client, no token', async () => {
  const relay = await startWebsockify({ tcp: `127.0.0.1:${sandbox().tcpPort}` });
  try {
    const conn = await open(relay.url);
    expect((await conn.listAllDomains()).map((d) => d.getName())).toContain(sandbox().guest.name);
    await conn.close();
  } finally {
    await relay.stop();
  }
});

test('options are checked before listening', async () => {
  await expect(bridge({ listen: { host: '0.0.0.0', port: 0 } })).rejects.toThrow(/refusing to listen on 0.0.0.0/);
  await expect(bridge({ maxConnections: 0 })).rejects.toThrow(/maxConnections must be an integer/);
  await expect(bridge({ origins: ['http://x/path'] })).rejects.toThrow(/an origin has no path/);
  await expect(bridge({ openTimeout: -5 })).rejects.toThrow(/openTimeout/);
});
