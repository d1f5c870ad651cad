/**
 * The SSH transport as a byte pipe, against an in-process ssh2 server: bytes both ways, backpressure, a clean
 * close (channel first, then the connection), the remote command's failure with its stderr, stream-local channels,
 * and every way opening can fail (refused port, a server that closes mid-handshake or never speaks, abort).
 */

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { ServerChannel } from 'ssh2';
import { AbortError, TimeoutError, TransportError } from '../../src/errors';
import type { Transport } from '../../src/protocol/transport';
import { openTransport } from '../../src/transport/index';
import { openSshTransport, SshError, type SshOpenOptions } from '../../src/transport/ssh';
import { STDERR_LIMIT } from '../../src/transport/ssh-errors';
import { parseUri, type LibvirtUri } from '../../src/transport/uri';
import { startRawServer, startSshServer, type ChannelRequest, type SshServer, type SshServerOptions } from '../helpers/ssh-server';

let dir: string;
const servers: { close(): Promise<void> }[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-transport-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(options: SshServerOptions = {}): Promise<SshServer> {
  const s = await startSshServer({ password: 'pw', ...options });
  servers.push(s);
  return s;
}

function uriFor(port: number, params = ''): LibvirtUri {
  return parseUri(`qemu+ssh://tester@127.0.0.1:${port}/system?proxy=netcat&socket=/s&known_hosts_verify=ignore${params}`);
}

const baseOptions: SshOpenOptions = {
  env: { HOME: '/nonexistent' }, timeout: 5000, readOnly: false, uid: 1000, exists: existsSync, credentials: () => 'pw',
};

/** Attaches a sink that collects data and the close. */
function collect(t: Transport) {
  const chunks: Buffer[] = [];
  let resolveClosed!: (err: Error | undefined) => void;
  const closed = new Promise<Error | undefined>((r) => (resolveClosed = r));
  t.attach({ data: (c) => chunks.push(Buffer.from(c)), closed: (err) => resolveClosed(err) });
  return { chunks, closed, text: () => Buffer.concat(chunks).toString() };
}

const failure = (p: Promise<unknown>): Promise<Error & { code?: string }> =>
  p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as Error);

describe('the pipe', () => {
  it('carries bytes both ways and describes itself without secrets', async () => {
    const s = await server();
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    expect(t.description).toBe(`ssh:tester@127.0.0.1:${s.port} (nc -U /s)`);
    const c = collect(t);
    const big = Buffer.alloc(300_000, 7);
    let ok = t.write(big);
    if (!ok) await t.whenWritable();
    ok = t.write(Buffer.from('end'));
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (Buffer.concat(c.chunks).length === big.length + 3) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    expect(Buffer.concat(c.chunks).subarray(-3).toString()).toBe('end');
    t.end();
    await expect(c.closed).resolves.toBeUndefined();
  });

  it('on end() closes the channel, then the SSH connection, then reports a clean close', async () => {
    const s = await server();
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const c = collect(t);
    t.end();
    await expect(c.closed).resolves.toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    expect(s.events.indexOf('channel-close')).toBeGreaterThanOrEqual(0);
    expect(s.events.indexOf('channel-close')).toBeLessThan(s.events.indexOf('connection-close'));
    await expect(t.whenWritable()).rejects.toThrow(/closed/);
    expect(t.write(Buffer.from('x'))).toBe(false);
  });

  it('reports a clean close when the remote end finishes with status 0', async () => {
    const s = await server({ onChannel: (_r, ch) => { ch.write('bye'); ch.exit(0); ch.end(); } });
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const c = collect(t);
    await expect(c.closed).resolves.toBeUndefined();
    expect(c.text()).toBe('bye');
  });

  it('destroy(err) closes at once and reports err', async () => {
    const s = await server();
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const c = collect(t);
    const err = new Error('gone');
    t.destroy(err);
    await expect(c.closed).resolves.toBe(err);
  });
});

describe('defaults', () => {
  it('the user is the local user and the port 22 when the URI names neither', async () => {
    const lines: string[] = [];
    const uri = parseUri('qemu+ssh://127.0.0.1/system?proxy=netcat&socket=/s&known_hosts_verify=ignore');
    await openSshTransport(uri, { ...baseOptions, timeout: 300, debug: (l) => lines.push(l) }).then((t) => t.destroy(), () => undefined);
    expect(lines[0]).toContain(`ssh:${userInfo().username}@127.0.0.1:22 `);
  });

  it('localUser stands in for the local user name', async () => {
    const s = await server({ user: 'someone', acceptNone: true });
    const uri = parseUri(`qemu+ssh://127.0.0.1:${s.port}/system?proxy=netcat&socket=/s&known_hosts_verify=ignore`);
    const t = await openSshTransport(uri, { ...baseOptions, localUser: 'someone' });
    expect(t.description).toContain('ssh:someone@');
    t.destroy();
  });
});

describe('a failing remote command', () => {
  const failWith = (code: number, stderr: string) => (_r: ChannelRequest, ch: ServerChannel) => {
    ch.stderr.write(stderr);
    ch.exit(code);
    ch.end();
  };

  it('closes the transport with ERR_SSH_REMOTE_COMMAND quoting its stderr', async () => {
    const s = await server({ onChannel: failWith(127, '\nsh: 1: virt-ssh-helper: not found\n\n') });
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const err = (await collect(t).closed) as SshError;
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_REMOTE_COMMAND');
    expect(err.exitCode).toBe(127);
    expect(err.stderr).toBe('sh: 1: virt-ssh-helper: not found');
    expect(err.message).toMatch(/exited with status 127: sh: 1: virt-ssh-helper: not found$/);
  });

  it('bounds the stderr it keeps', async () => {
    const s = await server({ onChannel: failWith(1, 'x'.repeat(50_000)) });
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const err = (await collect(t).closed) as SshError;
    expect(err.stderr!.length).toBeLessThanOrEqual(STDERR_LIMIT + 3);
    expect(err.message.length).toBeLessThan(STDERR_LIMIT + 200);
  });

  it('takes virt-ssh-helper\'s complaint about the daemon\'s end of file as a plain end (libvirt 9.0 quirk)', async () => {
    const s = await server({ onChannel: failWith(1, 'virt-ssh-helper: could not proxy traffic: End of file while reading data: Input/output error\n') });
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    await expect(collect(t).closed).resolves.toBeUndefined();
  });

  it('names a signal that killed the command', async () => {
    const s = await server({ onChannel: (_r, ch) => { ch.exit('KILL', false, 'killed'); ch.end(); } });
    const t = await openSshTransport(uriFor(s.port), baseOptions);
    const err = (await collect(t).closed) as SshError;
    expect(err.code).toBe('ERR_SSH_REMOTE_COMMAND');
    expect(err.message).toMatch(/killed by signal SIGKILL/);
  });

  it('is what openTransport (index.ts, loading ./ssh lazily) reports as the close reason', async () => {
    const s = await server({ acceptNone: true, onChannel: failWith(1, 'nc: unix connect failed: No such file or directory') });
    const t = await openTransport(uriFor(s.port), { env: baseOptions.env, timeout: 5000 });
    expect((await collect(t).closed)?.message).toContain('nc: unix connect failed');
  });
});

describe('stream-local channels (proxy=direct)', () => {
  const direct = (port: number, socket: string): LibvirtUri => {
    const uri = uriFor(port, '');
    return { ...uri, remote: { ...uri.remote, proxy: 'direct' as never, socket } };
  };

  it('opens a direct-streamlocal channel to the socket, with no command', async () => {
    const s = await server();
    const t = await openSshTransport(direct(s.port, '/run/x/libvirt-sock'), baseOptions);
    expect(s.requests).toEqual([{ kind: 'streamlocal', socketPath: '/run/x/libvirt-sock' }]);
    expect(t.description).toContain('direct-streamlocal /run/x/libvirt-sock');
    const c = collect(t);
    t.write(Buffer.from('hi'));
    await new Promise((r) => setTimeout(r, 100));
    expect(c.text()).toBe('hi');
    t.end();
    await expect(c.closed).resolves.toBeUndefined();
  });

  it('fails with ERR_SSH_CHANNEL when the server refuses it', async () => {
    const s = await server({ refuseStreamLocal: true });
    const err = await failure(openSshTransport(direct(s.port, '/nope'), baseOptions));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_CHANNEL');
    expect(err.message).toContain('/nope');
  });
});

describe('failures while opening', () => {
  it('ERR_SSH_CONNECT when nothing listens', async () => {
    const raw = await startRawServer(() => undefined);
    await raw.close();
    const err = await failure(openSshTransport(uriFor(raw.port), baseOptions));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_CONNECT');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('ERR_SSH_HANDSHAKE when the server closes mid-handshake', async () => {
    const raw = await startRawServer((sock) => {
      sock.write('SSH-2.0-OpenSSH_9.2\r\n');
      sock.once('data', () => setTimeout(() => sock.destroy(), 20));
    });
    servers.push(raw);
    const err = await failure(openSshTransport(uriFor(raw.port), baseOptions));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_HANDSHAKE');
  });

  it('ERR_SSH_HANDSHAKE when the peer is not an SSH server', async () => {
    const raw = await startRawServer((sock) => sock.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    servers.push(raw);
    const err = await failure(openSshTransport(uriFor(raw.port), baseOptions));
    expect(err.code).toBe('ERR_SSH_HANDSHAKE');
  });

  it('a TimeoutError naming the step when the server never speaks', async () => {
    const raw = await startRawServer(() => undefined);
    servers.push(raw);
    const started = Date.now();
    const err = await failure(openSshTransport(uriFor(raw.port), { ...baseOptions, timeout: 300 }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/the SSH handshake did not finish within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a TimeoutError while waiting for the credentials callback', async () => {
    const s = await server();
    const err = await failure(openSshTransport(uriFor(s.port), { ...baseOptions, timeout: 300, credentials: () => new Promise(() => undefined) }));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/waiting for the credentials callback \(password\)/);
  });

  it('an AbortError when the signal fires, and at once for an aborted signal', async () => {
    const raw = await startRawServer(() => undefined);
    servers.push(raw);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    await expect(openSshTransport(uriFor(raw.port), { ...baseOptions, signal: ctl.signal })).rejects.toBeInstanceOf(AbortError);
    await expect(openSshTransport(uriFor(raw.port), { ...baseOptions, signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
  });

  it('every SSH error is a TransportError', async () => {
    const raw = await startRawServer(() => undefined);
    await raw.close();
    await expect(openSshTransport(uriFor(raw.port), baseOptions)).rejects.toBeInstanceOf(TransportError);
  });

  it('a known_hosts file is needed unless checking is off', async () => {
    writeFileSync(join(dir, 'x'), '');
    const uri = parseUri('qemu+ssh://tester@127.0.0.1:1/system?proxy=netcat&socket=/s');
    const err = await failure(openSshTransport(uri, { ...baseOptions, env: {}, homeDir: undefined }));
    expect(err.code).toBe('ERR_SSH_KNOWN_HOSTS');
  });
});
