/**
 * Host key verification against an in-process ssh2 server, for each policy (known_hosts_verify=normal, auto,
 * ignore; no_verify=1): known, unknown, changed and revoked keys, hashed files, the callback that may trust a new
 * key, the default ~/.ssh/known_hosts, and the preference for key types known_hosts can check.
 */

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '../../src/protocol/transport';
import { formatKnownHostsLine, parseKnownHosts } from '../../src/transport/known-hosts';
import { openSshTransport, SshError, type SshCredentialRequest, type SshOpenOptions } from '../../src/transport/ssh';
import { hostKeyPolicy } from '../../src/transport/ssh-host-key';
import { parseUri } from '../../src/transport/uri';
import { makeKey, startSshServer, type SshServer, type TestKey } from '../helpers/ssh-server';

let dir: string;
let n = 0;
let hostKey: TestKey;
let ecHostKey: TestKey;
let otherKey: TestKey;
let s: SshServer;
const transports: Transport[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-hostkey-'));
  hostKey = makeKey('ed25519');
  ecHostKey = makeKey('ecdsa');
  otherKey = makeKey('ed25519');
  s = await startSshServer({ hostKeys: [hostKey, ecHostKey], password: 'pw' });
});
afterEach(() => {
  for (const t of transports.splice(0)) t.destroy();
});
afterAll(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const entry = (key: TestKey, host = `[127.0.0.1]:${s.port}`) => `${host} ${key.line}\n`;

function knownHosts(text: string): string {
  const file = join(dir, `known_hosts_${++n}`);
  writeFileSync(file, text);
  return file;
}

async function open(params: string, extra: Partial<SshOpenOptions> = {}): Promise<Transport> {
  const uri = parseUri(`qemu+ssh://tester@127.0.0.1:${s.port}/system?proxy=netcat&socket=/s${params}`);
  const t = await openSshTransport(uri, {
    env: { HOME: join(dir, 'nohome') }, timeout: 8000, readOnly: false, uid: 1000, exists: existsSync,
    credentials: (r) => (r.type === 'password' ? 'pw' : null), globalKnownHosts: [], ...extra,
  });
  transports.push(t);
  return t;
}

const failure = (p: Promise<unknown>): Promise<SshError> => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as SshError);

describe('policy', () => {
  it('is normal by default; known_hosts_verify wins over no_verify', () => {
    expect(hostKeyPolicy(parseUri('qemu+ssh://h/system'))).toBe('normal');
    expect(hostKeyPolicy(parseUri('qemu+ssh://h/system?no_verify=1'))).toBe('no-verify');
    expect(hostKeyPolicy(parseUri('qemu+ssh://h/system?no_verify=1&known_hosts_verify=normal'))).toBe('normal');
    expect(hostKeyPolicy(parseUri('qemu+ssh://h/system?known_hosts_verify=ignore'))).toBe('ignore');
  });
});

describe('known_hosts_verify=normal', () => {
  it('accepts a known key (plain and hashed lines)', async () => {
    await expect(open(`&known_hosts=${knownHosts(entry(hostKey))}`)).resolves.toBeDefined();
    const hashed = formatKnownHostsLine('127.0.0.1', s.port, hostKey.blob, { hash: true });
    await expect(open(`&known_hosts=${knownHosts(`${hashed}\n`)}`)).resolves.toBeDefined();
  });

  it('refuses an unknown key with ERR_SSH_HOST_KEY_UNKNOWN showing the SHA256 fingerprint, and writes nothing', async () => {
    const file = knownHosts(entry(hostKey, 'some.other.host'));
    const err = await failure(open(`&known_hosts=${file}`));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
    expect(err.fingerprint).toBe(s.fingerprint);
    expect(err.message).toContain(s.fingerprint);
    expect(err.message).toContain(file);
    expect(s.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(readFileSync(file, 'utf8')).toBe(entry(hostKey, 'some.other.host'));
  });

  it('treats a missing known_hosts file as empty', async () => {
    const err = await failure(open(`&known_hosts=${join(dir, 'does-not-exist')}`));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
  });

  it('asks the callback about an unknown key, and adds it when trusted', async () => {
    const file = join(dir, 'ask', 'known_hosts');
    const asked: SshCredentialRequest[] = [];
    await open(`&known_hosts=${file}`, {
      credentials: (r) => {
        asked.push(r);
        return r.type === 'host-key' ? 'yes' : 'pw';
      },
    });
    expect(asked[0]).toMatchObject({ type: 'host-key', host: '127.0.0.1', port: s.port, keyType: 'ssh-ed25519', fingerprint: s.fingerprint, knownHostsFile: file });
    expect(parseKnownHosts(readFileSync(file, 'utf8')).map((e) => e.hosts)).toEqual([`[127.0.0.1]:${s.port}`]);
    await expect(open(`&known_hosts=${file}`, { credentials: (r) => (r.type === 'host-key' ? false : 'pw') })).resolves.toBeDefined();
  });

  it('refuses when the callback does not trust the key', async () => {
    const err = await failure(open(`&known_hosts=${knownHosts('')}`, { credentials: (r) => (r.type === 'host-key' ? false : 'pw') }));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
  });

  it('refuses a changed key with ERR_SSH_HOST_KEY_CHANGED naming the line', async () => {
    const file = knownHosts(`# header\n${entry(otherKey)}`);
    const err = await failure(open(`&known_hosts=${file}`));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_CHANGED');
    expect(err.message).toContain(s.fingerprint);
    expect(err.message).toContain(`${file}:2`);
    expect(err.knownHostsFile).toBe(file);
  });

  it('refuses a key marked @revoked', async () => {
    const err = await failure(open(`&known_hosts=${knownHosts(`${entry(hostKey)}@revoked * ${hostKey.line}\n`)}`));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_REVOKED');
  });

  it('asks the server for a key type known_hosts has (the server has ed25519 and ecdsa keys)', async () => {
    await expect(open(`&known_hosts=${knownHosts(entry(ecHostKey))}`)).resolves.toBeDefined();
  });

  it('reads ~/.ssh/known_hosts when no file is given', async () => {
    const home = join(dir, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'known_hosts'), entry(hostKey));
    await expect(open('', { env: { HOME: home } })).resolves.toBeDefined();
    const err = await failure(open('', { env: { HOME: join(dir, 'emptyhome') } }));
    expect(err.message).toContain(join(dir, 'emptyhome', '.ssh', 'known_hosts'));
  });

  it('also reads the global files when no known_hosts parameter is given', async () => {
    const global = knownHosts(entry(hostKey));
    await expect(open('', { env: { HOME: join(dir, 'emptyhome') }, globalKnownHosts: [global] })).resolves.toBeDefined();
  });
});

describe('known_hosts_verify=auto', () => {
  it('adds an unknown key to the file and accepts it', async () => {
    const file = knownHosts(entry(otherKey, 'elsewhere'));
    await open(`&known_hosts=${file}&known_hosts_verify=auto`);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries.map((e) => [e.hosts, e.keyType])).toEqual([['elsewhere', 'ssh-ed25519'], [`[127.0.0.1]:${s.port}`, 'ssh-ed25519']]);
    expect(Buffer.from(entries[1].key).equals(hostKey.blob)).toBe(true);
  });

  it('still refuses a changed key', async () => {
    const err = await failure(open(`&known_hosts=${knownHosts(entry(otherKey))}&known_hosts_verify=auto`));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_CHANGED');
  });

  it('fails with ERR_SSH_KNOWN_HOSTS when the key cannot be added', async () => {
    const blocker = knownHosts('');
    const err = await failure(open(`&known_hosts=${join(blocker, 'known_hosts')}&known_hosts_verify=auto`));
    expect(err.code).toBe('ERR_SSH_KNOWN_HOSTS');
  });
});

describe('known_hosts_verify=ignore and no_verify=1', () => {
  it('ignore accepts a changed key and does not even read the file', async () => {
    await expect(open(`&known_hosts=${knownHosts(entry(otherKey))}&known_hosts_verify=ignore`)).resolves.toBeDefined();
    await expect(open(`&known_hosts=${dir}&known_hosts_verify=ignore`)).resolves.toBeDefined(); // a folder: unreadable
  });

  it('no_verify adds an unknown key, as OpenSSH with StrictHostKeyChecking=no', async () => {
    const file = knownHosts('');
    await open(`&known_hosts=${file}&no_verify=1`);
    expect(readFileSync(file, 'utf8')).toContain(hostKey.blob.toString('base64'));
  });

  it('no_verify accepts a changed key but then refuses to send a password', async () => {
    const lines: string[] = [];
    const err = await failure(open(`&known_hosts=${knownHosts(entry(otherKey))}&no_verify=1`, { debug: (l) => lines.push(l) }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.message).toMatch(/password: disabled because the host key changed/);
    expect(lines.join('\n')).toContain('accepted because no_verify=1');
  });

  it('no_verify still refuses a revoked key', async () => {
    const err = await failure(open(`&known_hosts=${knownHosts(`@revoked 127.0.0.1,[127.0.0.1]:* ${hostKey.line}\n`)}&no_verify=1`));
    expect(err.code).toBe('ERR_SSH_HOST_KEY_REVOKED');
  });
});
