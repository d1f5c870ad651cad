/**
 * SSH against the sandbox's real OpenSSH server, reaching its real libvirtd (9.0.0) each way libvirt does
 * (virt-ssh-helper, nc) and through a direct-streamlocal channel, with real calls over each; then every failure
 * (unknown or changed host key, bad key file, wrong passphrase, unauthorized key, refused password, missing remote
 * program, unreachable socket) ending in its typed error within a bound.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemoteConnection } from '../../src/protocol/connection';
import { openTransport } from '../../src/transport';
import { openSshTransport, SshError, type SshCredentialRequest, type SshOpenOptions } from '../../src/transport/ssh';
import { parseUri, remoteOpenName, type LibvirtUri } from '../../src/transport/uri';
import { sandbox } from '../helpers/sandbox';
// conn.remote.* is the typed procedure API, which src/raw installs (the Node entry imports it).
import '../../src/raw';

const sb = sandbox();
const ssh = sb.ssh;
const BOUND_MS = 10_000;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-int-'));
  writeFileSync(join(dir, 'empty_known_hosts'), '');
  writeFileSync(join(dir, 'not-a-key'), 'not a key\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The sandbox URI with our parameters; `proxy=direct` is set on the parsed URI (this library's own value). */
function uri(params: string, direct = false): LibvirtUri {
  const parsed = parseUri(`${ssh.uri}?${params}`);
  return direct ? { ...parsed, remote: { ...parsed.remote, proxy: 'direct' as never } } : parsed;
}

const base = (extra = '') => `keyfile=${ssh.keyFile}&known_hosts=${ssh.knownHosts}${extra}`;

function options(extra: Partial<SshOpenOptions> = {}): SshOpenOptions {
  return { env: { HOME: dir }, timeout: BOUND_MS, readOnly: false, uid: 0, exists: () => false, globalKnownHosts: [], ...extra };
}

async function connect(u: LibvirtUri, extra: Partial<SshOpenOptions> = {}): Promise<RemoteConnection> {
  const transport = await openSshTransport(u, options(extra));
  return RemoteConnection.open(transport, { name: remoteOpenName(u), timeout: BOUND_MS });
}

/**
 * Real calls over a connection, then a close within the bound. Through nc or a direct channel the close is clean.
 * libvirt 9.0's virt-ssh-helper races with the daemon's close after CONNECT_CLOSE and sometimes drops that last
 * reply (it exits 0 at the daemon's EOF without relaying it); the connection then ends by end of file, which is
 * still an orderly end and never an error of the SSH transport.
 */
async function exercise(conn: RemoteConnection, helper = false): Promise<void> {
  try {
    const { lib_ver } = await conn.remote.connectGetLibVersion();
    expect(lib_ver).toBe(9_000_000n);
    const { domains } = await conn.remote.connectListAllDomains({ need_results: 1, flags: 0 });
    expect(domains.map((d) => d.name)).toContain(sb.guest.name);
  } finally {
    // Even when virt-ssh-helper hangs up before relaying CONNECT_CLOSE's reply, the close was ours.
    const info = await conn.close({ timeout: BOUND_MS });
    expect(info).toEqual({ reason: 'closed' });
    void helper;
  }
}

/** Runs `open` and returns its error, checking it came within the bound. */
async function failure(open: () => Promise<unknown>): Promise<Error> {
  const started = Date.now();
  const err = await open().then(
    () => { throw new Error('opened, but should have failed'); },
    (e: unknown) => e as Error,
  );
  expect(Date.now() - started).toBeLessThan(BOUND_MS);
  return err;
}

describe('reaching the daemon', () => {
  test('through virt-ssh-helper (the default for this URI: proxy=auto finds the helper)', async () => {
    await exercise(await connect(uri(base())), true);
  });

  test('through virt-ssh-helper (proxy=native)', async () => {
    await exercise(await connect(uri(base('&proxy=native'))), true);
  });

  test('through nc -U (proxy=netcat, socket=)', async () => {
    await exercise(await connect(uri(base(`&proxy=netcat&socket=${ssh.remoteSocket}`))));
  });

  test('through a direct-streamlocal channel to the socket (proxy=direct)', async () => {
    await exercise(await connect(uri(base(`&socket=${ssh.remoteSocket}`), true)));
  });

  test('through openTransport (index.ts), with a hashed known_hosts file', async () => {
    const u = uri(`keyfile=${ssh.keyFile}&known_hosts=${ssh.hashedKnownHosts}`);
    const transport = await openTransport(u, { timeout: BOUND_MS, env: { HOME: dir } });
    await exercise(await RemoteConnection.open(transport, { name: remoteOpenName(u), timeout: BOUND_MS }), true);
  });

  test('with the encrypted key, its passphrase asked through the callback', async () => {
    const asked: SshCredentialRequest[] = [];
    const conn = await connect(uri(`keyfile=${ssh.encryptedKeyFile}&known_hosts=${ssh.knownHosts}`), {
      credentials: (r) => {
        asked.push(r);
        return r.type === 'passphrase' ? ssh.passphrase : null;
      },
    });
    await exercise(conn, true);
    expect(asked.map((r) => r.type)).toEqual(['passphrase']);
  });

  test('read-only (virt-ssh-helper -r): the daemon refuses changes', async () => {
    const u = uri(base('&proxy=native'));
    const transport = await openSshTransport(u, options({ readOnly: true }));
    const conn = await RemoteConnection.open(transport, { name: remoteOpenName(u), readOnly: true, timeout: BOUND_MS });
    try {
      await expect(conn.remote.connectGetLibVersion()).resolves.toBeDefined();
      await expect(conn.remote.domainDefineXml({ xml: '<domain type="qemu"><name>ro-test</name></domain>' }))
        .rejects.toMatchObject({ remote: { codeName: 'VIR_ERR_OPERATION_DENIED' } });
    } finally {
      await conn.close({ timeout: BOUND_MS });
    }
  });
});

describe('failures, each a typed error within the bound', () => {
  test('an unknown host key: ERR_SSH_HOST_KEY_UNKNOWN with the SHA256 fingerprint', async () => {
    const err = await failure(() => openSshTransport(uri(`keyfile=${ssh.keyFile}&known_hosts=${join(dir, 'empty_known_hosts')}`), options()));
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
    expect((err as SshError).fingerprint).toBe(ssh.hostKeyFingerprint);
    expect(err.message).toContain(ssh.hostKeyFingerprint);
  });

  test('a changed host key: ERR_SSH_HOST_KEY_CHANGED, even with known_hosts_verify=auto', async () => {
    for (const extra of ['', '&known_hosts_verify=auto']) {
      const err = await failure(() => openSshTransport(uri(`keyfile=${ssh.keyFile}&known_hosts=${ssh.wrongKnownHosts}${extra}`), options()));
      expect((err as SshError).code).toBe('ERR_SSH_HOST_KEY_CHANGED');
      expect(err.message).toContain(ssh.hostKeyFingerprint);
    }
  });

  test('a bad key file: ERR_SSH_KEY_FILE', async () => {
    for (const file of [join(dir, 'not-a-key'), join(dir, 'missing-key')]) {
      const err = await failure(() => openSshTransport(uri(`keyfile=${file}&known_hosts=${ssh.knownHosts}`), options()));
      expect((err as SshError).code).toBe('ERR_SSH_KEY_FILE');
      expect(err.message).toContain(file);
    }
  });

  test('a wrong passphrase: ERR_SSH_PASSPHRASE, and the passphrase is in no message', async () => {
    const err = await failure(() => openSshTransport(uri(`keyfile=${ssh.encryptedKeyFile}&known_hosts=${ssh.knownHosts}`),
      options({ credentials: (r) => (r.type === 'passphrase' ? 'not-the-passphrase' : null) })));
    expect((err as SshError).code).toBe('ERR_SSH_PASSPHRASE');
    expect(`${err.message}\n${err.stack}`).not.toContain('not-the-passphrase');
  });

  test('an unauthorized key: ERR_SSH_AUTH', async () => {
    const err = await failure(() => openSshTransport(uri(`keyfile=${ssh.unauthorizedKeyFile}&known_hosts=${ssh.knownHosts}`), options()));
    expect((err as SshError).code).toBe('ERR_SSH_AUTH');
    expect(err.message).toContain(`privkey ${ssh.unauthorizedKeyFile}`);
  });

  test('a refused password (three attempts): ERR_SSH_AUTH', async () => {
    const asked: number[] = [];
    const err = await failure(() => openSshTransport(uri(`known_hosts=${ssh.knownHosts}&sshauth=password`),
      options({ credentials: (r) => (r.type === 'password' ? (asked.push(r.attempt), 'wrong-password') : null) })));
    expect((err as SshError).code).toBe('ERR_SSH_AUTH');
    expect(asked).toEqual([1, 2, 3]);
    expect(err.message).not.toContain('wrong-password');
  });

  /** Opens the transport (that succeeds: the failure shows when the remote command exits) and the connection. */
  async function remoteCommandError(params: string): Promise<SshError> {
    const u = uri(base(params));
    const err = await failure(async () => RemoteConnection.open(await openSshTransport(u, options()), { name: remoteOpenName(u), timeout: BOUND_MS }));
    // The open surfaces the transport's own typed error, not a generic "connection closed".
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('ERR_SSH_REMOTE_COMMAND');
    expect(err.message).toContain((err as SshError).stderr);
    return err as SshError;
  }

  test('a missing remote program (netcat=/nonexistent): ERR_SSH_REMOTE_COMMAND with its stderr', async () => {
    const cause = await remoteCommandError(`&netcat=/nonexistent&socket=${ssh.remoteSocket}`);
    expect(cause.exitCode).toBe(127);
    expect(cause.stderr).toMatch(/\/nonexistent: (not found|No such file)/);
  });

  test('nc that cannot reach the socket: ERR_SSH_REMOTE_COMMAND with nc\'s complaint', async () => {
    const cause = await remoteCommandError(`&proxy=netcat&socket=${join(dir, 'no-such-socket')}`);
    expect(cause.exitCode).not.toBe(0);
    expect(cause.stderr).toMatch(/no-such-socket|No such file/);
  });

  test('virt-ssh-helper for a daemon that is not there: ERR_SSH_REMOTE_COMMAND', async () => {
    const u = uri(base('&proxy=native&name=qemu:///system'));
    const err = await failure(async () => RemoteConnection.open(await openSshTransport(u, options()), { name: 'qemu:///system', timeout: BOUND_MS }));
    expect((err as SshError).code).toBe('ERR_SSH_REMOTE_COMMAND');
    expect((err as SshError).stderr).toMatch(/virt-ssh-helper|libvirt-sock|connect/i);
  });

  test('a stream-local channel to a socket that does not exist: ERR_SSH_CHANNEL', async () => {
    const err = await failure(() => openSshTransport(uri(base(`&socket=${join(dir, 'no-such-socket')}`), true), options()));
    expect((err as SshError).code).toBe('ERR_SSH_CHANNEL');
  });
});
