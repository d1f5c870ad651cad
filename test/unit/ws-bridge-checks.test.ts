/**
 * The bridge's checks on their own: listen addresses, token files, constant-time comparison, Origins, where a
 * request's token comes from, and the gate that splits client bytes into frames (and checks CONNECT_OPEN when
 * read-only), on bytes cut at every position or merged.
 */
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectGetLibVersion, connectOpen, remote_program_id } from '../../generated/remote-procedures';
import { xdr_remote_connect_open_args } from '../../generated/remote-protocol';
import { InvalidArgumentError } from '../../src/errors';
import { ClientFrameGate, GateRefusal } from '../../src/node/ws-bridge-gate';
import {
  checkListen, checkRequest, generateTokenFile, isLoopback, normalizeOrigin, parseListen, presentedToken, readTokenFile,
  removeGeneratedToken, tokensEqual,
} from '../../src/node/ws-bridge-security';
import { encodeFrame, MessageStatus, MessageType } from '../../src/protocol/frame';
import { xdrEncode } from '../../src/protocol/xdr';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-ws-checks-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('listen addresses: HOST:PORT and [v6]:PORT; loopback only unless allowed', () => {
  expect(parseListen('127.0.0.1:8765')).toEqual({ host: '127.0.0.1', port: 8765 });
  expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
  expect(parseListen('localhost:1')).toEqual({ host: 'localhost', port: 1 });
  for (const bad of ['127.0.0.1', ':80', '127.0.0.1:99999', '[nothex]:1', '::1:80']) expect(() => parseListen(bad)).toThrow(InvalidArgumentError);
  for (const h of ['127.0.0.1', '127.3.4.5', '::1', 'localhost', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com']) expect(isLoopback(h)).toBe(false);
  expect(() => checkListen({ host: '0.0.0.0', port: 1 }, false)).toThrow(/pass --allow-remote/);
  expect(() => checkListen({ host: '0.0.0.0', port: 1 }, true)).not.toThrow();
});

test('a generated token: 32 random bytes in a 0600 file inside a 0700 folder, removed afterwards', () => {
  const t = generateTokenFile({ XDG_RUNTIME_DIR: tmp });
  expect(t.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(fs.statSync(t.file).mode & 0o777).toBe(0o600);
  expect(fs.statSync(path.dirname(t.file)).mode & 0o777).toBe(0o700);
  expect(readTokenFile(t.file).token).toBe(t.token);
  expect(generateTokenFile({ XDG_RUNTIME_DIR: tmp }).token).not.toBe(t.token);
  removeGeneratedToken(t);
  expect(fs.existsSync(path.dirname(t.file))).toBe(false);
});

test('token files others can read, short tokens and tokens a subprotocol cannot carry are refused', () => {
  const write = (name: string, text: string, mode: number) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, text, { mode });
    fs.chmodSync(f, mode);
    return f;
  };
  expect(() => readTokenFile(write('open', 'a'.repeat(20), 0o640))).toThrow(/mode 0640\): chmod 600 it/);
  expect(() => readTokenFile(write('short', 'abc\n', 0o600))).toThrow(/shorter than 16/);
  expect(() => readTokenFile(write('spaces', 'abc def ghi jkl mno\n', 0o600))).toThrow(/subprotocol cannot carry/);
  expect(() => readTokenFile(path.join(tmp, 'missing'))).toThrow(/cannot read the token file .*ENOENT/);
  expect(readTokenFile(write('ok', '  0123456789abcdef  \nignored\n', 0o600)).token).toBe('0123456789abcdef');
});

test('tokens compare equal only when equal, whatever their lengths', () => {
  expect(tokensEqual('0123456789abcdef', '0123456789abcdef')).toBe(true);
  expect(tokensEqual('0123456789abcdeF', '0123456789abcdef')).toBe(false);
  expect(tokensEqual('', '0123456789abcdef')).toBe(false);
  expect(tokensEqual('0123456789abcdef0', '0123456789abcdef')).toBe(false);
});

test('origins normalize to scheme://host[:port]; anything else is refused', () => {
  expect(normalizeOrigin('HTTP://LocalHost:80')).toBe('http://localhost');
  expect(normalizeOrigin('https://a.example:8443/')).toBe('https://a.example:8443');
  for (const bad of ['a.example', 'ftp://a.example', 'http://a.example/path', 'http://u@a.example']) expect(() => normalizeOrigin(bad)).toThrow(InvalidArgumentError);
});

function req(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

test('requests: Origin is checked first, then the token from the header or the first bearer subprotocol', () => {
  const check = { token: 'the-right-token-123', origins: new Set(['http://127.0.0.1:8080']) };
  expect(checkRequest(req({ 'sec-websocket-protocol': 'binary, bearer.the-right-token-123' }), check)).toBeNull();
  expect(checkRequest(req({ authorization: 'Bearer the-right-token-123', origin: 'http://127.0.0.1:8080' }), check)).toBeNull();
  expect(checkRequest(req({ authorization: 'bearer the-right-token-123' }), check)).toBeNull();
  expect(checkRequest(req({}), check)).toEqual({ code: 4401, reason: 'bearer token missing' });
  expect(checkRequest(req({ authorization: 'Basic eDp5' }), check)).toEqual({ code: 4401, reason: 'bearer token missing' });
  expect(checkRequest(req({ 'sec-websocket-protocol': 'binary, bearer.nope' }), check)).toEqual({ code: 4401, reason: 'bearer token wrong' });
  expect(checkRequest(req({ origin: 'http://127.0.0.1:8081', authorization: 'Bearer the-right-token-123' }), check)).toEqual({
    code: 4403, reason: 'origin http://127.0.0.1:8081 is not allowed (--origin)',
  });
  expect(checkRequest(req({ origin: 'null', authorization: 'Bearer the-right-token-123' }), check)?.code).toBe(4403);
  expect(checkRequest(req({ origin: 'http://x\u0007\u00ff.example' }), check)?.reason).toBe('origin http://x??.example is not allowed (--origin)');
  expect(presentedToken(req({ 'sec-websocket-protocol': 'bearer.a, bearer.b' }))).toBe('a');
});

const call = (proc: number, serial: number, payload?: Uint8Array) =>
  encodeFrame({ prog: remote_program_id.program, vers: remote_program_id.version, proc, type: MessageType.VIR_NET_CALL, serial, status: MessageStatus.VIR_NET_OK }, payload);
const open = (flags: number) => call(connectOpen.number, 3, xdrEncode(xdr_remote_connect_open_args, { name: 'qemu:///session', flags }));
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test('the gate hands on whole frames, one by one, however the bytes were cut or joined', () => {
  const frames = [call(66, 1), call(60, 2, new Uint8Array(4)), open(0), call(connectGetLibVersion.number, 4)];
  const stream = concat(...frames);
  const cuts: Uint8Array[][] = [[stream], Array.from(stream, (b) => Uint8Array.of(b))];
  for (let at = 1; at < stream.length; at++) cuts.push([stream.subarray(0, at), stream.subarray(at)]);
  for (const pieces of cuts) {
    const out: Uint8Array[] = [];
    const gate = new ClientFrameGate(false);
    for (const p of pieces) gate.push(p, (f) => out.push(f.slice()));
    expect(out).toEqual(frames);
  }
});

test('the read-only gate: a read-only CONNECT_OPEN passes whatever the cuts, a read-write one is refused', () => {
  const stream = concat(call(66, 1), call(60, 2, new Uint8Array(4)), open(1), call(connectGetLibVersion.number, 4));
  for (let at = 0; at <= stream.length; at++) {
    const gate = new ClientFrameGate(true);
    let n = 0;
    gate.push(stream.subarray(0, at), () => n++);
    gate.push(stream.subarray(at), () => n++);
    expect(gate.opened).toBe(true);
    expect(n).toBe(4);
  }

  const rw = concat(call(66, 1), open(0));
  for (let at = 0; at <= rw.length; at++) {
    const gate = new ClientFrameGate(true);
    const out: Uint8Array[] = [];
    let refused: GateRefusal | null = null;
    try {
      gate.push(rw.subarray(0, at), (f) => out.push(f));
      gate.push(rw.subarray(at), (f) => out.push(f));
    } catch (e) {
      refused = e as GateRefusal;
    }
    expect(refused).toBeInstanceOf(GateRefusal);
    expect(refused!.refusal).toEqual({ code: 4403, reason: 'read-only bridge: open the connection read-only (VIR_CONNECT_RO)' });
    expect(gate.opened).toBe(false);
    expect(out).toHaveLength(1); // AUTH_LIST went on; the refused CONNECT_OPEN did not
  }
});

test('the gate refuses what it cannot check: a mangled CONNECT_OPEN (read-only), bytes that are not frames', () => {
  expect(() => new ClientFrameGate(true).push(call(connectOpen.number, 1, Uint8Array.of(0, 0)), () => undefined)).toThrow('read-only bridge: undecodable CONNECT_OPEN');
  expect(() => new ClientFrameGate(false).push(new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n'), () => undefined)).toThrow(/^not libvirt RPC: frame length/);
});
