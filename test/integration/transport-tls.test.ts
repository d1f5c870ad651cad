/**
 * TLS against the sandbox's real TLS listener (libvirtd 9.0.0, client certificates demanded): real calls over
 * it, and each failure a typed error within a bound.
 */
import * as net from 'node:net';
import { TlsError } from '../../src/transport/tls';
import { openTransport } from '../../src/transport';
import { parseUri } from '../../src/transport/uri';
import { openUri, virsh } from '../helpers/open';
import { sandbox } from '../helpers/sandbox';
import { startProxy } from '../helpers/tcp-proxy';
// conn.remote.* is the typed procedure API, which src/raw installs (the Node entry imports it).
import '../../src/raw';

const sb = sandbox();
const tlsUri = (host: string, port: number, pki: string, extra = '') => `qemu+tls://${host}:${port}/session?pkipath=${pki}${extra}`;

async function tlsError(uri: string): Promise<TlsError> {
  const t0 = Date.now();
  const err = await openTransport(parseUri(uri), { timeout: 5000 }).then(
    (t) => {
      t.destroy();
      throw new Error('opened, but should have failed');
    },
    (e) => e,
  );
  expect(Date.now() - t0).toBeLessThan(5000);
  expect(err).toBeInstanceOf(TlsError);
  return err;
}

test.each(['127.0.0.1', 'localhost'])('real calls over TLS to %s, verified against the CA and the host name', async (host) => {
  const uri = tlsUri(host, sb.tls.port, sb.tls.pkiDir);
  const conn = await openUri(uri);
  try {
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    expect(domains.map((d) => d.name).sort()).toEqual((await virsh(uri, 'list', '--all', '--name')).split('\n').filter(Boolean).sort());
    expect((await conn.remote.connectGetHostname()).hostname).toBe((await virsh(uri, 'hostname')).trim());
  } finally {
    await conn.close();
  }
});

test('a server whose CA we do not trust is refused', async () => {
  const err = await tlsError(tlsUri('127.0.0.1', sb.tls.port, sb.tls.wrongCaPkiDir));
  expect(['ERR_TLS_UNTRUSTED_SERVER', 'ERR_TLS_REJECTED']).toContain(err.code);
});

test('a host name the certificate does not cover is refused, and no_verify=1 skips that check as libvirt does', async () => {
  // 127.0.0.2 reaches the daemon through a proxy but is not in the server certificate.
  const proxy = await startProxy(sb.tls.port);
  const server = net.createServer((c) => net.connect(proxy.port, '127.0.0.1', function (this: net.Socket) {
    c.pipe(this).pipe(c);
  }).on('error', () => c.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const err = await tlsError(tlsUri('127.0.0.2', port, sb.tls.pkiDir));
    expect(err.code).toBe('ERR_TLS_HOSTNAME_MISMATCH');
    expect(err.message).toContain('127.0.0.2');
    const conn = await openUri(tlsUri('127.0.0.2', port, sb.tls.pkiDir, '&no_verify=1'));
    await expect(conn.remote.connectGetLibVersion()).resolves.toBeDefined();
    await conn.close();
  } finally {
    server.close();
    await proxy.close();
  }
});

test('a daemon that demands a client certificate we lack gives a clear error', async () => {
  const err = await tlsError(tlsUri('127.0.0.1', sb.tls.port, sb.tls.caOnlyDir));
  expect(err.code).toBe('ERR_TLS_CLIENT_CERT_REQUIRED');
});

test('a missing PKI folder names the path and what was looked for', async () => {
  const err = await tlsError(tlsUri('127.0.0.1', sb.tls.port, '/nonexistent/pki'));
  expect(err.code).toBe('ERR_TLS_MISSING_FILE');
  expect(err.message).toContain('/nonexistent/pki/cacert.pem');
});

test('a server that closes mid-handshake gives ERR_TLS_HANDSHAKE', async () => {
  const server = net.createServer((c) => c.once('data', () => c.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const err = await tlsError(tlsUri('127.0.0.1', (server.address() as net.AddressInfo).port, sb.tls.pkiDir));
    expect(err.code).toBe('ERR_TLS_HANDSHAKE');
  } finally {
    server.close();
  }
});

test('pipelined calls over TLS do not stall (one TLS record per RPC message)', async () => {
  // libvirtd 9.0.0 leaves a second message of one TLS record unread until its 5 s keepalive fires.
  const t0 = Date.now();
  const conn = await openUri(tlsUri('127.0.0.1', sb.tls.port, sb.tls.pkiDir));
  try {
    const results = await Promise.all(Array.from({ length: 200 }, () => conn.remote.connectGetLibVersion()));
    expect(new Set(results.map((r) => r.lib_ver)).size).toBe(1);
    expect(Date.now() - t0).toBeLessThan(2500);
  } finally {
    await conn.close();
  }
});
