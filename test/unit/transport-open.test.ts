/**
 * openTransport: from a URI (or none) to an open pipe over unix sockets and TCP on this machine, the caller's
 * own pipe, and the hand-off of SSH URIs to ./ssh (mocked here; its own tests cover it).
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { AbortError, InvalidArgumentError, TransportError, UriError } from '../../src/errors';
import type { Transport } from '../../src/protocol/transport';
import { DuplexTransport, openTransport, parseUri } from '../../src/transport/index';

const openSshTransport = jest.fn();
jest.mock('../../src/transport/ssh', () => ({ openSshTransport }));

let dir: string;
const servers: net.Server[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-open-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
  openSshTransport.mockReset();
});

/** An echo server on a unix path or a TCP port. */
async function echoServer(where: string | number): Promise<net.Server> {
  const s = net.createServer((c) => c.on('data', (d) => c.write(d)).on('error', () => undefined));
  await new Promise<void>((resolve) => (typeof where === 'string' ? s.listen(where, resolve) : s.listen(where, '127.0.0.1', resolve)));
  servers.push(s);
  return s;
}

function echo(t: Transport, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    t.attach({
      data: (c) => {
        got += Buffer.from(c).toString();
        if (got.length >= text.length) resolve(got);
      },
      closed: (err) => reject(err ?? new Error('closed')),
    });
    t.write(Buffer.from(text));
  });
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('unix sockets', () => {
  it('connects to socket= as given', async () => {
    const path = join(dir, 'sock');
    await echoServer(path);
    const t = await openTransport(`qemu+unix:///system?socket=${path}`, { env: {}, uid: 0 });
    expect(t.description).toBe(`unix:${path}`);
    expect(await echo(t, 'hi')).toBe('hi');
    t.destroy();
  });

  it('finds a session daemon\'s modular socket under XDG_RUNTIME_DIR', async () => {
    mkdirSync(join(dir, 'libvirt'));
    await echoServer(join(dir, 'libvirt', 'virtqemud-sock'));
    const t = await openTransport('qemu:///session', { env: { XDG_RUNTIME_DIR: dir }, uid: 1000 });
    expect(t.description).toBe(`unix:${dir}/libvirt/virtqemud-sock`);
    expect(await echo(t, 'ok')).toBe('ok');
    t.destroy();
  });

  it('with no URI, uses LIBVIRT_DEFAULT_URI, else probes through libvirt-sock', async () => {
    mkdirSync(join(dir, 'libvirt'));
    await echoServer(join(dir, 'libvirt', 'libvirt-sock'));
    const probe = await openTransport(undefined, { env: { XDG_RUNTIME_DIR: dir }, uid: 1000 });
    expect(probe.description).toBe(`unix:${dir}/libvirt/libvirt-sock`);
    probe.destroy();
    const other = join(dir, 'other-sock');
    await echoServer(other);
    const byEnv = await openTransport(null, { env: { LIBVIRT_DEFAULT_URI: `qemu+unix:///system?socket=${other}` }, uid: 0 });
    expect(byEnv.description).toBe(`unix:${other}`);
    byEnv.destroy();
  });

  it('says which socket it tried, for which daemon, when nothing listens there', async () => {
    const err = await failure(openTransport('qemu:///session', { env: { XDG_RUNTIME_DIR: dir }, uid: 1000 }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe(`cannot connect to unix:${dir}/libvirt/libvirt-sock: ENOENT `
      + '(session socket of libvirtd, mode=legacy): is libvirtd running?');
  });

  it('picks the -ro socket of a system daemon for read-only connections', async () => {
    const err = await failure(openTransport('qemu:///system?mode=direct', { env: {}, uid: 0, readOnly: true, exists: () => false }));
    expect(err.message).toContain('unix:/var/run/libvirt/virtqemud-sock-ro');
  });

  it('refuses a connection that is already aborted, and bad URIs, before touching the network', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(await failure(openTransport('qemu:///system', { signal: ac.signal }))).toBeInstanceOf(AbortError);
    expect(await failure(openTransport('qemu+ext:///system', { env: {} }))).toBeInstanceOf(UriError);
    expect(await failure(openTransport('qemu:///system', { timeout: 0 }))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(openTransport('qemu:///system', { timeout: 2 ** 31 }))).toBeInstanceOf(InvalidArgumentError);
    expect(await failure(openTransport('qemu:///system', { timeout: Number.NaN }))).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('TCP', () => {
  it('connects to the URI\'s host and port', async () => {
    const s = await echoServer(0);
    const port = (s.address() as net.AddressInfo).port;
    const t = await openTransport(`test+tcp://127.0.0.1:${port}/default`, { env: {} });
    expect(t.description).toBe(`tcp:127.0.0.1:${port}`);
    expect(await echo(t, 'tcp!')).toBe('tcp!');
    t.destroy();
  });

  it('brackets IPv6 hosts in descriptions and reports refusals', async () => {
    const s = await echoServer(0);
    const port = (s.address() as net.AddressInfo).port;
    await new Promise((resolve) => s.close(resolve));
    servers.length = 0;
    const err = await failure(openTransport(`qemu+tcp://127.0.0.1:${port}/system`, { env: {} }));
    expect(err).toBeInstanceOf(TransportError);
    expect(err.message).toBe(`cannot connect to tcp:127.0.0.1:${port}: ECONNREFUSED`);
    const v6 = await failure(openTransport(`qemu+tcp://[::1]:${port}/system`, { env: {} }));
    expect(v6.message).toMatch(new RegExp(`^cannot connect to tcp:\\[::1\\]:${port}: E`));
  });
});

describe('the caller\'s own pipe', () => {
  it('wraps a Duplex, without parsing the URI (so even an ext URI is fine)', async () => {
    const pipe = new PassThrough();
    const t = await openTransport('qemu+ext:///system?command=/bin/x', { transport: pipe });
    expect(t).toBeInstanceOf(DuplexTransport);
    expect(t.description).toBe('caller-supplied stream');
    expect(await echo(t, 'loop')).toBe('loop'); // a PassThrough hands back what is written
  });

  it('returns a Transport unchanged and refuses anything else', async () => {
    const mine = new DuplexTransport(new PassThrough(), 'mine');
    expect(await openTransport('qemu:///system', { transport: mine })).toBe(mine);
    const err = await failure(openTransport('qemu:///system', { transport: {} as unknown as Transport }));
    expect(err).toBeInstanceOf(InvalidArgumentError);
  });
});

describe('SSH URIs', () => {
  it('are handed to ./ssh with the parsed URI and every option filled in', async () => {
    const fake = new DuplexTransport(new PassThrough(), 'ssh:fake');
    openSshTransport.mockResolvedValue(fake);
    const env = { HOME: '/home/u' };
    const t = await openTransport('qemu+libssh2://u@h:2222/system?keyfile=/k', { env, uid: 1000, timeout: 1234, readOnly: true });
    expect(t).toBe(fake);
    expect(openSshTransport).toHaveBeenCalledTimes(1);
    const [uri, options] = openSshTransport.mock.calls[0];
    expect(uri).toEqual(parseUri('qemu+libssh2://u@h:2222/system?keyfile=/k'));
    expect(options).toMatchObject({ env, uid: 1000, timeout: 1234, readOnly: true });
    expect(typeof options.exists).toBe('function');
  });
});
