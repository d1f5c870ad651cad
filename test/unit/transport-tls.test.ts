/**
 * The TLS transport against an in-process Node TLS server that behaves like libvirtd: it asks for a client
 * certificate, and after the handshake either sends the one status byte '\1' or closes the connection
 * (virNetServerClientCheckAccess). Certificates are made with openssl in a temporary folder.
 */

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { AbortError, TimeoutError, TransportError } from '../../src/errors';
import type { Transport } from '../../src/protocol/transport';
import { openTransport } from '../../src/transport/index';
import { TlsError, locateTlsCredentials, openTlsTransport, type TlsTransportOptions } from '../../src/transport/tls';

let dir: string;
const pem = (name: string): Buffer => readFileSync(join(dir, name));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

function makeLeaf(name: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n${ext}\n`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial',
    String(Math.floor(Math.random() * 1e9)), '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`]);
}

/** A pki folder as libvirt's pkipath expects: cacert.pem, and optionally clientcert.pem + clientkey.pem. */
function pkiDir(name: string, ca: string, client?: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  copyFileSync(join(dir, `${ca}.pem`), join(d, 'cacert.pem'));
  if (client) {
    copyFileSync(join(dir, `${client}.pem`), join(d, 'clientcert.pem'));
    copyFileSync(join(dir, `${client}.key`), join(d, 'clientkey.pem'));
  }
  return d;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-tls-'));
  makeCa('ca');
  makeCa('otherca');
  makeLeaf('server', 'ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost');
  makeLeaf('wronghost', 'ca', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:wrong.example');
  makeLeaf('foreignserver', 'otherca', 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1');
  makeLeaf('client', 'ca', 'extendedKeyUsage=clientAuth');
  makeLeaf('foreignclient', 'otherca', 'extendedKeyUsage=clientAuth');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface FakeDaemon {
  port: number;
  close(): Promise<void>;
}

const daemons: FakeDaemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

/**
 * A libvirtd look-alike. `check: 'libvirt'` accepts the handshake, then closes without the status byte when the
 * client's certificate is missing or untrusted; `check: 'tls'` makes OpenSSL refuse during the handshake.
 */
async function fakeDaemon(options: {
  server?: string;
  check?: 'libvirt' | 'tls';
  status?: number | null;
  after?: Buffer;
  echo?: boolean;
} = {}): Promise<FakeDaemon> {
  const { server = 'server', check = 'libvirt', status = 1, after, echo = true } = options;
  const sockets = new Set<net.Socket>();
  const srv = tls.createServer({
    key: pem(`${server}.key`), cert: pem(`${server}.pem`), ca: pem('ca.pem'),
    requestCert: true, rejectUnauthorized: check === 'tls',
  }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    if (check === 'libvirt' && !socket.authorized) return void socket.destroy();
    if (status !== null) socket.write(Buffer.concat([Buffer.from([status]), after ?? Buffer.alloc(0)]));
    if (echo) socket.on('data', (d) => socket.write(d));
  });
  srv.on('tlsClientError', () => undefined);
  srv.on('connection', (s) => sockets.add(s));
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const d = {
    port: (srv.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      srv.close(() => resolve());
    }),
  };
  daemons.push(d);
  return d;
}

function options(port: number, pkipath: string, extra: Partial<TlsTransportOptions> = {}): TlsTransportOptions {
  return { host: '127.0.0.1', port, pkipath, uid: 0, env: {}, timeout: 5000, ...extra };
}

/** Sends bytes and collects what comes back until `want` bytes arrived. */
function exchange(t: Transport, send: string, want: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    t.attach({
      data: (c) => {
        got.push(Buffer.from(c));
        n += c.length;
        if (n >= want) resolve(Buffer.concat(got).toString('latin1'));
      },
      closed: (err) => reject(err ?? new Error('closed early')),
    });
    t.write(Buffer.from(send));
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

describe('a good connection', () => {
  it('verifies the server, consumes the status byte, then carries RPC bytes', async () => {
    const d = await fakeDaemon();
    const t = await openTlsTransport(options(d.port, pkiDir('good', 'ca', 'client')));
    expect(t.description).toBe(`tls:127.0.0.1:${d.port}`);
    expect(await exchange(t, 'ping', 4)).toBe('ping'); // the '\1' was not passed on
    t.destroy();
  });

  it('passes on bytes that arrive in the same record as the status byte', async () => {
    const d = await fakeDaemon({ after: Buffer.from('early'), echo: false });
    const t = await openTlsTransport(options(d.port, pkiDir('early', 'ca', 'client')));
    expect(await exchange(t, '', 5)).toBe('early');
    t.destroy();
  });

  it('opens through openTransport from a qemu+tls URI with pkipath', async () => {
    const d = await fakeDaemon();
    const pki = pkiDir('viauri', 'ca', 'client');
    const t = await openTransport(`qemu+tls://127.0.0.1:${d.port}/system?pkipath=${pki}`, { uid: 0, env: {} });
    expect(await exchange(t, 'xyz', 3)).toBe('xyz');
    t.destroy();
  });
});

describe('checking the server', () => {
  it('refuses a server whose certificate another CA signed', async () => {
    const d = await fakeDaemon({ server: 'foreignserver' });
    const err = await failure(openTlsTransport(options(d.port, pkiDir('wrongca', 'ca', 'client'))));
    expect(err).toBeInstanceOf(TlsError);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as TlsError).code).toBe('ERR_TLS_UNTRUSTED_SERVER');
    expect(err.message).toMatch(/not trusted by the CA in .*wrongca\/cacert\.pem.*no_verify=1/);
  });

  it('refuses a certificate for another host name', async () => {
    const d = await fakeDaemon({ server: 'wronghost' });
    const err = await failure(openTlsTransport(options(d.port, pkiDir('wronghost', 'ca', 'client'))));
    expect((err as TlsError).code).toBe('ERR_TLS_HOSTNAME_MISMATCH');
    expect(err.message).toMatch(/certificate is for DNS:wrong\.example, not 127\.0\.0\.1/);
  });

  it('no_verify=1 skips both checks, as libvirt skips the whole server certificate check', async () => {
    const foreign = await fakeDaemon({ server: 'foreignserver' });
    const t1 = await openTlsTransport(options(foreign.port, pkiDir('nv1', 'ca', 'client'), { noVerify: true }));
    expect(await exchange(t1, 'a', 1)).toBe('a');
    t1.destroy();
    const wrong = await fakeDaemon({ server: 'wronghost' });
    const t2 = await openTransport(`qemu+tls://127.0.0.1:${wrong.port}/system?no_verify=1&pkipath=${pkiDir('nv2', 'ca', 'client')}`,
      { uid: 0, env: {} });
    expect(await exchange(t2, 'b', 1)).toBe('b');
    t2.destroy();
  });
});

describe('the daemon checking us', () => {
  it('names the missing client certificate when the daemon closes without the status byte', async () => {
    const d = await fakeDaemon({ check: 'libvirt' });
    const pki = pkiDir('nocert', 'ca');
    const err = await failure(openTlsTransport(options(d.port, pki)));
    expect((err as TlsError).code).toBe('ERR_TLS_CLIENT_CERT_REQUIRED');
    expect(err.message).toContain(`${pki}/clientcert.pem`);
    expect(err.message).toContain(`${pki}/clientkey.pem`);
  });

  it('also recognises a TLS-level refusal of a missing certificate', async () => {
    const d = await fakeDaemon({ check: 'tls' });
    const err = await failure(openTlsTransport(options(d.port, pkiDir('nocert2', 'ca'))));
    expect((err as TlsError).code).toBe('ERR_TLS_CLIENT_CERT_REQUIRED');
  });

  it('reports a refused client certificate as ERR_TLS_REJECTED', async () => {
    const d = await fakeDaemon({ check: 'libvirt' });
    // no_sanity: our own check would otherwise stop this certificate before connecting.
    const err = await failure(openTlsTransport(options(d.port, pkiDir('foreign', 'ca', 'foreignclient'), { noSanity: true })));
    expect((err as TlsError).code).toBe('ERR_TLS_REJECTED');
    expect(err.message).toMatch(/refused our client certificate .*foreign\/clientcert\.pem/);
  });

  it('treats a status byte other than 1 as a refusal', async () => {
    const d = await fakeDaemon({ status: 0 });
    const err = await failure(openTlsTransport(options(d.port, pkiDir('status0', 'ca', 'client'))));
    expect((err as TlsError).code).toBe('ERR_TLS_REJECTED');
    expect(err.message).toMatch(/status byte was 0, not 1/);
  });

  it('bounds the wait for the status byte', async () => {
    const d = await fakeDaemon({ status: null });
    const started = Date.now();
    const err = await failure(openTlsTransport(options(d.port, pkiDir('silent', 'ca', 'client'), { timeout: 400 })));
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err.message).toMatch(/no progress within 400 ms while waiting for the daemon's status byte/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('broken connections', () => {
  it('reports a handshake cut off by the server', async () => {
    const srv = net.createServer((s) => s.once('data', () => s.destroy()));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const err = await failure(openTlsTransport(options(port, pkiDir('cut', 'ca', 'client'))));
      expect((err as TlsError).code).toBe('ERR_TLS_HANDSHAKE');
      expect(err.message).toMatch(/TLS handshake with 127\.0\.0\.1:\d+ was cut off/);
    } finally {
      srv.close();
    }
  });

  it('reports a server that never answers the handshake as a timeout of that step', async () => {
    const srv = net.createServer(() => undefined);
    const held: net.Socket[] = [];
    srv.on('connection', (s) => held.push(s));
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const err = await failure(openTlsTransport(options(port, pkiDir('mute', 'ca', 'client'), { timeout: 300 })));
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err.message).toMatch(/no progress within 300 ms while in the TLS handshake/);
    } finally {
      held.forEach((s) => s.destroy());
      srv.close();
    }
  });

  it('reports a refused TCP connection as a plain TransportError', async () => {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    const err = await failure(openTlsTransport(options(port, pkiDir('refused', 'ca', 'client'))));
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(TlsError);
    expect(err.message).toMatch(/cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('stops on abort', async () => {
    const d = await fakeDaemon({ status: null });
    const ac = new AbortController();
    const p = openTlsTransport(options(d.port, pkiDir('abort', 'ca', 'client'), { signal: ac.signal }));
    setTimeout(() => ac.abort(), 50);
    const err = await failure(p);
    expect(err).toBeInstanceOf(AbortError);
    expect(err.message).toMatch(/aborted while waiting for the daemon's status byte/);
  });
});

describe('credentials', () => {
  it('names the CA file it looked for when it is missing', async () => {
    const err = await failure(openTlsTransport(options(1, join(dir, 'nowhere'))));
    expect((err as TlsError).code).toBe('ERR_TLS_MISSING_FILE');
    expect((err as TlsError).path).toBe(join(dir, 'nowhere', 'cacert.pem'));
    expect(err.message).toContain(`looked for ${join(dir, 'nowhere', 'cacert.pem')}`);
  });

  it('says when a file exists but cannot be read', async () => {
    const pki = join(dir, 'unreadable');
    mkdirSync(join(pki, 'cacert.pem'), { recursive: true }); // a folder where the file should be
    const err = await failure(openTlsTransport(options(1, pki)));
    expect((err as TlsError).code).toBe('ERR_TLS_UNREADABLE_FILE');
    expect(err.message).toMatch(/cannot read TLS CA certificate .*unreadable\/cacert\.pem: EISDIR/);
  });

  it('checks our own certificate against our CA before connecting (no_sanity=1 skips it: see ERR_TLS_REJECTED above)', async () => {
    const err = await failure(openTlsTransport(options(1, pkiDir('insane', 'ca', 'foreignclient'))));
    expect((err as TlsError).code).toBe('ERR_TLS_BAD_CREDENTIALS');
    expect(err.message).toMatch(/clientcert\.pem was not issued by the CA in .*insane\/cacert\.pem/);
  });

  it('refuses a key that does not belong to the certificate', async () => {
    const pki = pkiDir('mismatch', 'ca', 'client');
    copyFileSync(join(dir, 'server.key'), join(pki, 'clientkey.pem'));
    const err = await failure(openTlsTransport(options(1, pki)));
    expect((err as TlsError).code).toBe('ERR_TLS_BAD_CREDENTIALS');
    expect(err.message).toMatch(/clientkey\.pem does not belong to the certificate/);
    expect(err.message).not.toMatch(/PRIVATE KEY/);
  });

  it('refuses a CA file that is not a CA', async () => {
    const pki = pkiDir('notca', 'ca');
    copyFileSync(join(dir, 'client.pem'), join(pki, 'cacert.pem'));
    const err = await failure(openTlsTransport(options(1, pki)));
    expect((err as TlsError).code).toBe('ERR_TLS_BAD_CREDENTIALS');
    expect(err.message).toMatch(/is not a CA/);
  });

  it('locates files as libvirt does: root uses /etc/pki', () => {
    const all = (): boolean => true;
    expect(locateTlsCredentials({ uid: 0, env: { HOME: '/home/u' }, exists: all })).toMatchObject({
      cacert: '/etc/pki/CA/cacert.pem', cacrl: '/etc/pki/CA/cacrl.pem',
      cert: '/etc/pki/libvirt/clientcert.pem', key: '/etc/pki/libvirt/private/clientkey.pem',
    });
  });

  it('locates files as libvirt does: users use ~/.pki/libvirt file by file, cert and key as a pair', () => {
    const user = (p: string): boolean => p.startsWith('/home/u/.pki/libvirt/');
    expect(locateTlsCredentials({ uid: 1000, env: { HOME: '/home/u' }, exists: user })).toMatchObject({
      cacert: '/home/u/.pki/libvirt/cacert.pem', cacrl: '/home/u/.pki/libvirt/cacrl.pem',
      cert: '/home/u/.pki/libvirt/clientcert.pem', key: '/home/u/.pki/libvirt/clientkey.pem',
    });
    const onlyCaAndCert = (p: string): boolean => p.endsWith('/.pki/libvirt/cacert.pem') || p.endsWith('/.pki/libvirt/clientcert.pem');
    const mixed = locateTlsCredentials({ uid: 1000, env: {}, homeDir: '/home/v', exists: onlyCaAndCert });
    expect(mixed).toMatchObject({
      cacert: '/home/v/.pki/libvirt/cacert.pem', cacrl: '/etc/pki/CA/cacrl.pem',
      cert: '/etc/pki/libvirt/clientcert.pem', key: '/etc/pki/libvirt/private/clientkey.pem',
    });
    expect(mixed.searched.cert).toEqual(['/home/v/.pki/libvirt/clientcert.pem', '/etc/pki/libvirt/clientcert.pem']);
    expect(locateTlsCredentials({ uid: 1000, env: { HOME: '/home/u' }, exists: () => false }).searched.cacert)
      .toEqual(['/home/u/.pki/libvirt/cacert.pem', '/etc/pki/CA/cacert.pem']);
  });

  it('locates files as libvirt does: pkipath is used whether or not the files exist', () => {
    expect(locateTlsCredentials({ pkipath: '/p/', uid: 1000, env: { HOME: '/h' }, exists: () => false })).toMatchObject({
      cacert: '/p/cacert.pem', cacrl: '/p/cacrl.pem', cert: '/p/clientcert.pem', key: '/p/clientkey.pem',
    });
  });

  it('loads a revocation list when present, and a revoked server is untrusted', async () => {
    // A CRL from our CA that revokes the server certificate.
    writeFileSync(join(dir, 'ca.cnf'), [
      '[ca]', 'default_ca=d', '[d]', `database=${join(dir, 'index.txt')}`, 'default_md=sha256', 'default_crl_days=2', '',
    ].join('\n'));
    writeFileSync(join(dir, 'index.txt'), '');
    openssl(['ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-revoke', 'server.pem']);
    openssl(['ca', '-config', 'ca.cnf', '-keyfile', 'ca.key', '-cert', 'ca.pem', '-gencrl', '-out', 'crl.pem']);
    const pki = pkiDir('crl', 'ca', 'client');
    copyFileSync(join(dir, 'crl.pem'), join(pki, 'cacrl.pem'));
    const d = await fakeDaemon();
    const err = await failure(openTlsTransport(options(d.port, pki)));
    expect((err as TlsError).code).toBe('ERR_TLS_UNTRUSTED_SERVER');
    expect(err.message).toMatch(/CERT_REVOKED/);
  });
});
