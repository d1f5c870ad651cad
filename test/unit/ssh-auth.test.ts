/**
 * SSH authentication against an in-process ssh2 server: the `sshauth` order, passwords and keyboard-interactive
 * answers from the credentials callback (accepted, refused, retried, declined), key files (plain, encrypted with
 * the right or a wrong passphrase, unusable), default identities, and `no_tty`.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import type { Transport } from '../../src/protocol/transport';
import { openSshTransport, SshError, type SshCredentialRequest, type SshOpenOptions } from '../../src/transport/ssh';
import { parseUri } from '../../src/transport/uri';
import { makeKey, startAgent, startSshServer, type SshServer, type SshServerOptions, type TestKey } from '../helpers/ssh-server';

let dir: string;
let home: string;
const servers: SshServer[] = [];
const transports: Transport[] = [];
let plainKey: TestKey;
let encKey: TestKey;
let otherKey: TestKey;
const PASSPHRASE = 'correct horse battery';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-auth-'));
  home = join(dir, 'home');
  mkdirSync(home);
  plainKey = makeKey('ed25519');
  encKey = makeKey('ed25519', PASSPHRASE);
  otherKey = makeKey('ecdsa');
  writeFileSync(join(dir, 'plain'), plainKey.private, { mode: 0o600 });
  writeFileSync(join(dir, 'enc'), encKey.private, { mode: 0o600 });
  writeFileSync(join(dir, 'garbage'), 'this is not a key\n');
  writeFileSync(join(dir, 'plain.pub-only'), `${plainKey.line} comment\n`);
});
afterEach(async () => {
  for (const t of transports.splice(0)) t.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function server(options: SshServerOptions): Promise<SshServer> {
  const s = await startSshServer(options);
  servers.push(s);
  writeFileSync(join(dir, `kh-${s.port}`), `[127.0.0.1]:${s.port} ${s.hostKeys[0].line}\n`);
  return s;
}

async function open(s: SshServer, params = '', extra: Partial<SshOpenOptions> = {}): Promise<Transport> {
  const uri = parseUri(`qemu+ssh://tester@127.0.0.1:${s.port}/system?proxy=netcat&socket=/s&known_hosts=${join(dir, `kh-${s.port}`)}${params}`);
  const t = await openSshTransport(uri, { env: { HOME: home }, timeout: 8000, readOnly: false, uid: 1000, exists: existsSync, ...extra });
  transports.push(t);
  return t;
}

/** Sends bytes and waits for the echo server to send them back. */
async function roundTrip(t: Transport): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    t.attach({ data: (c) => { got += Buffer.from(c).toString(); if (got === 'ping') resolve(got); }, closed: (e) => reject(e ?? new Error('closed')) });
    t.write(Buffer.from('ping'));
  });
}

function recorder(answers: Partial<Record<SshCredentialRequest['type'], (r: SshCredentialRequest) => unknown>>) {
  const requests: SshCredentialRequest[] = [];
  const credentials = (r: SshCredentialRequest) => {
    requests.push(r);
    return (answers[r.type]?.(r) ?? null) as string | null;
  };
  return { requests, credentials };
}

const failure = (p: Promise<unknown>): Promise<SshError> => p.then(() => { throw new Error('expected a failure'); }, (e: unknown) => e as SshError);

describe('password', () => {
  it('asks the callback for the password of user@host and logs in with it', async () => {
    const s = await server({ password: 'pw-1' });
    const { requests, credentials } = recorder({ password: () => 'pw-1' });
    const t = await open(s, '', { credentials });
    expect(requests).toEqual([{ type: 'password', prompt: `tester@127.0.0.1:${s.port}'s password: `, user: 'tester', host: `127.0.0.1:${s.port}`, attempt: 1 }]);
    await expect(roundTrip(t)).resolves.toBe('ping');
    expect(s.requests).toEqual([{ kind: 'exec', command: expect.stringContaining('-U /s') }]);
  });

  it('asks again after a wrong password, three times at most, then fails with ERR_SSH_AUTH', async () => {
    const s = await server({ password: 'right' });
    const { requests, credentials } = recorder({ password: () => 'wrong' });
    const err = await failure(open(s, '', { credentials }));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.message).toMatch(/refused every authentication method tried \(password\)/);
    expect(requests.map((r) => (r as { attempt: number }).attempt)).toEqual([1, 2, 3]);
    expect(s.attempts.filter((a) => a.method === 'password')).toHaveLength(3);
  });

  it('succeeds on a later attempt', async () => {
    const s = await server({ password: 'right' });
    const { credentials } = recorder({ password: (r) => ((r as { attempt: number }).attempt === 2 ? 'right' : 'wrong') });
    await expect(open(s, '', { credentials })).resolves.toBeDefined();
  });

  it('gives up on the method when the callback declines, and says so', async () => {
    const s = await server({ password: 'right' });
    const { requests, credentials } = recorder({});
    const err = await failure(open(s, '', { credentials }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.message).toMatch(/password: declined by the credentials callback/);
    expect(requests).toHaveLength(1);
    expect(s.attempts.filter((a) => a.method === 'password')).toHaveLength(0);
  });

  it('without a callback, notes that there was no way to ask', async () => {
    const s = await server({ password: 'right' });
    const err = await failure(open(s));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.message).toMatch(/password: no credentials callback/);
  });

  it('with no_tty=1 never calls the callback (batch mode)', async () => {
    const s = await server({ password: 'right' });
    const { requests, credentials } = recorder({ password: () => 'right' });
    const err = await failure(open(s, '&no_tty=1', { credentials }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(requests).toEqual([]);
  });

  it('turns a throwing callback into ERR_SSH_AUTH with the thrown error as cause', async () => {
    const s = await server({ password: 'right' });
    const boom = new Error('user closed the dialog');
    const err = await failure(open(s, '', { credentials: () => { throw boom; } }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.cause).toBe(boom);
  });
});

describe('keyboard-interactive', () => {
  const keyboard = { prompts: [{ prompt: 'Code: ', echo: true }, { prompt: 'PIN: ', echo: false }], answers: ['123', '4567'] };

  it('passes each prompt with its echo flag, name and instructions, and logs in with the answers', async () => {
    const s = await server({ keyboard });
    const { requests, credentials } = recorder({ 'keyboard-interactive': (r) => ((r as { prompt: string }).prompt === 'Code: ' ? '123' : '4567') });
    await open(s, '', { credentials });
    expect(requests).toEqual([
      { type: 'keyboard-interactive', prompt: 'Code: ', echo: true, name: 'Test login', instructions: 'Answer the questions', user: 'tester', host: `127.0.0.1:${s.port}`, attempt: 1 },
      expect.objectContaining({ prompt: 'PIN: ', echo: false }),
    ]);
  });

  it('fails with ERR_SSH_AUTH after three wrong rounds', async () => {
    const s = await server({ keyboard });
    const { requests, credentials } = recorder({ 'keyboard-interactive': () => 'nope' });
    const err = await failure(open(s, '', { credentials }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(new Set(requests.map((r) => (r as { attempt: number }).attempt))).toEqual(new Set([1, 2, 3]));
  });
});

describe('key files', () => {
  it('logs in with an unencrypted keyfile=, without asking anything', async () => {
    const s = await server({ authorizedKeys: [plainKey] });
    const { requests, credentials } = recorder({});
    await open(s, `&keyfile=${join(dir, 'plain')}`, { credentials });
    expect(requests).toEqual([]);
    expect(s.attempts).toEqual([{ method: 'none', ok: false }, { method: 'publickey', ok: true, signed: false }, { method: 'publickey', ok: true, signed: true }]);
  });

  it.each(['rsa', 'ecdsa'] as const)('logs in with an unencrypted %s key file', async (type) => {
    const key = makeKey(type);
    writeFileSync(join(dir, `key-${type}`), key.private, { mode: 0o600 });
    const s = await server({ authorizedKeys: [key] });
    await open(s, `&keyfile=${join(dir, `key-${type}`)}`);
    expect(s.attempts.at(-1)).toEqual({ method: 'publickey', ok: true, signed: true });
  });

  it('opens an encrypted key with the passphrase from the callback, asked only once the server would accept the key', async () => {
    const s = await server({ authorizedKeys: [encKey] });
    const { requests, credentials } = recorder({ passphrase: () => PASSPHRASE });
    await open(s, `&keyfile=${join(dir, 'enc')}`, { credentials });
    expect(requests).toEqual([{ type: 'passphrase', prompt: `Enter passphrase for key '${join(dir, 'enc')}': `, keyFile: join(dir, 'enc'), attempt: 1 }]);
    expect(s.attempts.filter((a) => a.method === 'publickey')).toEqual([{ method: 'publickey', ok: true, signed: false }, { method: 'publickey', ok: true, signed: true }]);
  });

  it.each([
    ['with its .pub file', true],
    ['without a .pub file (the key is opened first, as libvirt does)', false],
  ])('opens an encrypted PEM key made by ssh-keygen -m PEM, %s', async (_what, withPub) => {
    const file = join(dir, `pem-${withPub}`);
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-m', 'PEM', '-N', PASSPHRASE, '-f', file]);
    const pub = utils.parseKey(readFileSync(`${file}.pub`, 'utf8'));
    if (pub instanceof Error) throw pub;
    if (!withPub) rmSync(`${file}.pub`);
    const s = await server({ authorizedKeys: [{ private: '', blob: pub.getPublicSSH(), line: '', parsed: pub }] });
    const { requests, credentials } = recorder({ passphrase: () => PASSPHRASE });
    await open(s, `&keyfile=${file}`, { credentials });
    expect(requests.map((r) => r.type)).toEqual(['passphrase']);
    expect(s.attempts.at(-1)).toEqual({ method: 'publickey', ok: true, signed: true });
  });

  it('fails with ERR_SSH_PASSPHRASE after three wrong passphrases, and never signs', async () => {
    const s = await server({ authorizedKeys: [encKey], password: 'unused' });
    const { requests, credentials } = recorder({ passphrase: () => 'wrong passphrase' });
    const err = await failure(open(s, `&keyfile=${join(dir, 'enc')}`, { credentials }));
    expect(err).toBeInstanceOf(SshError);
    expect(err.code).toBe('ERR_SSH_PASSPHRASE');
    expect(err.keyFile).toBe(join(dir, 'enc'));
    expect(requests.filter((r) => r.type === 'passphrase')).toHaveLength(3);
    expect(s.attempts.some((a) => a.signed === true)).toBe(false);
  });

  it('does not ask for the passphrase of a key the server would not accept', async () => {
    const s = await server({ authorizedKeys: [plainKey] });
    const { requests, credentials } = recorder({ passphrase: () => PASSPHRASE });
    const err = await failure(open(s, `&keyfile=${join(dir, 'enc')}&sshauth=privkey`, { credentials }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(requests).toEqual([]);
    expect(err.message).toContain(`privkey ${join(dir, 'enc')}`);
  });

  it('refuses an encrypted keyfile= it cannot ask a passphrase for with ERR_SSH_PASSPHRASE', async () => {
    const s = await server({ authorizedKeys: [encKey] });
    const err = await failure(open(s, `&keyfile=${join(dir, 'enc')}`));
    expect(err.code).toBe('ERR_SSH_PASSPHRASE');
    expect(err.message).toMatch(/no way to ask for its passphrase/);
  });

  it.each([
    ['a missing file', 'missing', /cannot read SSH key file .*missing: ENOENT/],
    ['a file that is no key', 'garbage', /is not a private key this client can use/],
    ['a public key', 'plain.pub-only', /holds a public key/],
  ])('refuses %s with ERR_SSH_KEY_FILE before connecting', async (_what, name, message) => {
    const s = await server({ authorizedKeys: [plainKey] });
    const err = await failure(open(s, `&keyfile=${join(dir, name)}`));
    expect(err.code).toBe('ERR_SSH_KEY_FILE');
    expect(err.message).toMatch(message);
    expect(s.attempts).toEqual([]);
  });

  it('uses the default identities in ~/.ssh when no keyfile is given', async () => {
    const s = await server({ authorizedKeys: [otherKey] });
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'id_ed25519'), plainKey.private, { mode: 0o600 });
    writeFileSync(join(home, '.ssh', 'id_ecdsa'), otherKey.private, { mode: 0o600 });
    try {
      await open(s);
      // id_ed25519 first (refused at the query), then id_ecdsa (accepted and signed).
      expect(s.attempts.filter((a) => a.method === 'publickey')).toEqual([
        { method: 'publickey', ok: false, signed: false },
        { method: 'publickey', ok: true, signed: false },
        { method: 'publickey', ok: true, signed: true },
      ]);
    } finally {
      rmSync(join(home, '.ssh'), { recursive: true, force: true });
    }
  });
});

describe('the sshauth order', () => {
  it('tries methods in the order given', async () => {
    const s = await server({ authorizedKeys: [plainKey], password: 'pw' });
    const { credentials } = recorder({ password: () => 'bad' });
    await open(s, `&keyfile=${join(dir, 'plain')}&sshauth=password,privkey`, { credentials });
    expect(s.attempts.map((a) => a.method)).toEqual(['none', 'password', 'password', 'password', 'publickey', 'publickey']);
  });

  it('skips methods the server does not offer and says when none is supported', async () => {
    const s = await server({ password: 'pw' });
    const err = await failure(open(s, `&keyfile=${join(dir, 'plain')}&sshauth=privkey,keyboard-interactive`, { credentials: () => 'x' }));
    expect(err.code).toBe('ERR_SSH_AUTH');
    expect(err.message).toMatch(/supports none of the requested authentication methods \(privkey, keyboard-interactive\) \(the server offers: password\)/);
    expect(s.attempts.map((a) => a.method)).toEqual(['none']);
  });

  it('uses the agent at SSH_AUTH_SOCK first by default, before key files', async () => {
    const s = await server({ authorizedKeys: [otherKey, plainKey] });
    const agent = await startAgent(join(dir, 'agent.sock'), [otherKey]);
    try {
      const { requests, credentials } = recorder({});
      await open(s, `&keyfile=${join(dir, 'plain')}`, { credentials, env: { HOME: home, SSH_AUTH_SOCK: join(dir, 'agent.sock') } });
      expect(agent.signatures).toBe(1);
      expect(requests).toEqual([]);
    } finally {
      await agent.close();
    }
  });

  it('goes on to the key file when the agent has no key the server takes', async () => {
    const s = await server({ authorizedKeys: [plainKey] });
    const agent = await startAgent(join(dir, 'agent2.sock'), [otherKey]);
    try {
      await open(s, `&keyfile=${join(dir, 'plain')}`, { env: { HOME: home, SSH_AUTH_SOCK: join(dir, 'agent2.sock') } });
      expect(agent.signatures).toBe(0);
      expect(s.attempts.filter((a) => a.method === 'publickey').map((a) => a.ok)).toEqual([false, true, true]);
    } finally {
      await agent.close();
    }
  });

  it('goes on when SSH_AUTH_SOCK names no agent', async () => {
    const s = await server({ authorizedKeys: [plainKey] });
    await expect(open(s, `&keyfile=${join(dir, 'plain')}`, { env: { HOME: home, SSH_AUTH_SOCK: join(dir, 'no-agent.sock') } })).resolves.toBeDefined();
  });

  it('notes an agent that cannot be used (no SSH_AUTH_SOCK)', async () => {
    const s = await server({ password: 'pw' });
    const err = await failure(open(s, '&sshauth=agent'));
    expect(err.message).toMatch(/agent: SSH_AUTH_SOCK is not set/);
  });

  it('is done after "none" when the server accepts it', async () => {
    const s = await server({ acceptNone: true });
    const { requests, credentials } = recorder({});
    await open(s, '', { credentials });
    expect(s.attempts).toEqual([{ method: 'none', ok: true }]);
    expect(requests).toEqual([]);
  });
});
