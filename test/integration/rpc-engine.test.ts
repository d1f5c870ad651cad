/**
 * The RPC engine against the sandbox's real libvirtd (9.0.0) over unix and TCP, with virsh (libvirt's own
 * client) as the oracle for what the same URI returns.
 */
import { AbortError, ConnectionClosedError, RemoteError, TimeoutError, UnsupportedProcedureError } from '../../src/errors';
import { formatVersion, RemoteConnection } from '../../src/protocol/connection';
import { KeepaliveTimeoutError } from '../../src/protocol/keepalive';
import { openUri, virsh } from '../helpers/open';
import { startPrivateDaemon } from '../helpers/private-daemon';
import { sandbox } from '../helpers/sandbox';
import { startProxy } from '../helpers/tcp-proxy';
// conn.remote.* is the typed procedure API, which src/raw installs (the Node entry imports it).
import '../../src/raw';

const sb = sandbox();

describe.each([
  ['unix', () => sb.unixUri],
  ['tcp', () => sb.tcpUri],
])('over %s', (_t, uri) => {
  let conn: RemoteConnection;
  beforeAll(async () => (conn = await openUri(uri())));
  afterAll(() => conn?.close());

  test('version, hostname, domain list and domain XML match virsh for the same URI', async () => {
    const ver = formatVersion((await conn.remote.connectGetLibVersion()).lib_ver);
    expect(await virsh(uri(), 'version', '--daemon')).toContain(`Running against daemon: ${ver}`);
    expect((await conn.remote.connectGetHostname()).hostname).toBe((await virsh(uri(), 'hostname')).trim());
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    const names = domains.map((d) => d.name).sort();
    expect(names).toEqual((await virsh(uri(), 'list', '--all', '--name')).split('\n').filter(Boolean).sort());
    const dom = domains.find((d) => d.name === sb.guest.name)!;
    const { xml } = await conn.remote.domainGetXmlDesc({ dom, flags: 0 });
    expect(xml.trim()).toBe((await virsh(uri(), 'dumpxml', sb.guest.name)).trim());
  });

  test('1,000 concurrent calls on one connection all get their own answers', async () => {
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    const dom = domains[0];
    const [{ lib_ver }, { hostname }, { xml }] = await Promise.all([
      conn.remote.connectGetLibVersion(),
      conn.remote.connectGetHostname(),
      conn.remote.domainGetXmlDesc({ dom, flags: 0 }),
    ]);
    const results = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        i % 3 === 0 ? conn.remote.connectGetLibVersion() : i % 3 === 1 ? conn.remote.connectGetHostname() : conn.remote.domainGetXmlDesc({ dom, flags: 0 }),
      ),
    );
    results.forEach((r, i) => expect(r).toEqual(i % 3 === 0 ? { lib_ver } : i % 3 === 1 ? { hostname } : { xml }));
    expect(conn.rpc.pendingCalls).toBe(0);
  });

  test('an aborted call rejects with AbortError and the connection goes on', async () => {
    const ctl = new AbortController();
    const p = conn.remote.connectGetCapabilities({ signal: ctl.signal });
    ctl.abort();
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await expect(conn.remote.connectGetLibVersion()).resolves.toHaveProperty('lib_ver');
  });
});

test('a read-only connection is refused writes by the daemon', async () => {
  const ro = await openUri(sb.unixUri, { readOnly: true });
  try {
    expect((await ro.remote.connectGetLibVersion()).lib_ver).toBeGreaterThan(0n);
    const err = await ro.remote.domainDefineXml({ xml: '<domain/>' }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.remote.codeName).toBe('VIR_ERR_OPERATION_DENIED');
  } finally {
    await ro.close();
  }
});

test('a procedure the 9.0.0 daemon does not have gives UnsupportedProcedureError naming it and the version', async () => {
  const conn = await openUri(sb.unixUri);
  try {
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    const err = await conn.remote.domainSetThrottleGroup({ dom: domains[0], group: 'g', params: [], flags: 0 }).catch((e) => e);
    expect(err).toBeInstanceOf(UnsupportedProcedureError);
    expect(err.procedure).toBe('REMOTE_PROC_DOMAIN_SET_THROTTLE_GROUP');
    expect(err.daemonVersion).toBe(sb.libvirtVersion);
    expect(err.message).toContain(`libvirt ${sb.libvirtVersion}`);
    await expect(conn.remote.connectGetLibVersion()).resolves.toBeDefined();
  } finally {
    await conn.close();
  }
});

test('a call whose reply is held past its timeout rejects with TimeoutError; the late reply is dropped', async () => {
  const proxy = await startProxy(sb.tcpPort);
  const conn = await openUri(`qemu+tcp://127.0.0.1:${proxy.port}/session`);
  try {
    proxy.hold();
    await expect(conn.remote.connectGetHostname({ timeout: 200 })).rejects.toBeInstanceOf(TimeoutError);
    proxy.release();
    await expect(conn.remote.connectGetLibVersion()).resolves.toBeDefined();
    expect(conn.isOpen).toBe(true);
  } finally {
    await conn.close();
    await proxy.close();
  }
});

test('keepalive closes the connection when the daemon stops answering', async () => {
  const proxy = await startProxy(sb.tcpPort);
  const conn = await openUri(`qemu+tcp://127.0.0.1:${proxy.port}/session`, { keepalive: { interval: 200, count: 2 } });
  try {
    expect(conn.keepaliveSupported).toBe(true);
    await new Promise((r) => setTimeout(r, 700)); // PINGs are answered while traffic flows
    expect(conn.isOpen).toBe(true);
    const t0 = Date.now();
    proxy.blackhole();
    const pending = conn.remote.connectGetHostname();
    const info = await conn.closed;
    expect(info.error).toBeInstanceOf(KeepaliveTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000);
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
  } finally {
    await proxy.close();
  }
});

test('the daemon killed mid-call (SIGKILL): every pending call rejects within one second', async () => {
  const daemon = await startPrivateDaemon();
  try {
    const conn = await openUri(`qemu+unix:///session?socket=${daemon.socket}`);
    // Capabilities probe QEMU on first use: slow enough to be in flight when the daemon dies.
    const calls = Array.from({ length: 20 }, (_, i) => (i % 2 ? conn.remote.connectGetCapabilities() : conn.remote.connectGetLibVersion()));
    await new Promise((r) => setTimeout(r, 50));
    expect(conn.rpc.pendingCalls).toBeGreaterThan(0);
    const t0 = Date.now();
    daemon.kill();
    const outcomes = await Promise.allSettled(calls);
    expect(Date.now() - t0).toBeLessThan(1000);
    const rejected = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected.length).toBeGreaterThan(0);
    for (const r of rejected) expect(r.reason).toBeInstanceOf(ConnectionClosedError);
    expect((await conn.closed).reason).toMatch(/eof|error/);
  } finally {
    await daemon.cleanup();
  }
});
