/**
 * No secret ever leaves the SSH transport in an error or a debug line: passwords, passphrases, keyboard-interactive
 * answers and private key material are searched for in every error's message, stack, `cause` chain and inspected
 * form, and in every debug line, across the failures that handle them.
 */

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Transport } from '../../src/protocol/transport';
import { openSshTransport, type SshCredentialRequest, type SshOpenOptions } from '../../src/transport/ssh';
import { parseUri } from '../../src/transport/uri';
import { makeKey, startSshServer, type SshServer, type SshServerOptions, type TestKey } from '../helpers/ssh-server';

const PASSWORD = 'Pw-7f3a9c1e-secret';
const PASSPHRASE = 'Pp-91b2d4e8-secret';
const ANSWER = 'Kb-55aa77cc-secret';
let dir: string;
let encKey: TestKey;
let plainKey: TestKey;
const servers: SshServer[] = [];
const debugLines: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-secrets-'));
  encKey = makeKey('ed25519', PASSPHRASE);
  plainKey = makeKey('ed25519');
  writeFileSync(join(dir, 'enc'), encKey.private);
  writeFileSync(join(dir, 'plain'), plainKey.private);
  // A damaged key file: a real key's text with its body cut, so that a parser error could quote it.
  const body = plainKey.private.split('\n').slice(1, -2).join('\n');
  writeFileSync(join(dir, 'damaged'), `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.slice(0, 120)}\n-----END OPENSSH PRIVATE KEY-----\n`);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every string an error exposes: message, stack, own properties, inspect output, and the same for each cause. */
function exposed(err: unknown, depth = 0): string {
  if (depth > 8 || err === null || err === undefined) return '';
  if (typeof err !== 'object') return String(err);
  const e = err as Error & { cause?: unknown };
  const own = Object.getOwnPropertyNames(e).map((k) => {
    const v = (e as unknown as Record<string, unknown>)[k];
    return typeof v === 'object' ? '' : `${k}=${String(v)}`;
  });
  return [e.message, e.stack, ...own, inspect(e, { depth: 10, showHidden: true }), exposed(e.cause, depth + 1)].join('\n');
}

/** Pieces of the private keys' text (long enough to be unmistakable). */
function keyMaterial(): string[] {
  return [encKey, plainKey].flatMap((k) => k.private.split('\n').filter((l) => l.length > 40).map((l) => l.slice(8, 40)));
}

function expectNoSecrets(text: string): void {
  for (const secret of [PASSWORD, PASSPHRASE, ANSWER, ...keyMaterial()]) expect(text).not.toContain(secret);
}

async function attempt(serverOptions: SshServerOptions, params: string, extra: Partial<SshOpenOptions> = {}): Promise<{ error: unknown; transport?: Transport }> {
  const s = await startSshServer(serverOptions);
  servers.push(s);
  const uri = parseUri(`qemu+ssh://tester@127.0.0.1:${s.port}/system?proxy=netcat&socket=/s&known_hosts_verify=ignore${params}`);
  const credentials = (r: SshCredentialRequest) =>
    r.type === 'password' ? PASSWORD : r.type === 'passphrase' ? PASSPHRASE : r.type === 'keyboard-interactive' ? ANSWER : null;
  try {
    const transport = await openSshTransport(uri, {
      env: { HOME: '/nonexistent' }, timeout: 5000, readOnly: false, uid: 1000, exists: existsSync, credentials,
      debug: (l) => debugLines.push(l), ...extra,
    });
    return { error: undefined, transport };
  } catch (error) {
    return { error };
  }
}

describe('secrets stay out of errors and logs', () => {
  it('the search itself finds a secret hidden in a cause chain or an inspected property', () => {
    expect(() => expectNoSecrets(exposed(new Error('outer', { cause: new Error(`inner ${PASSWORD}`) })))).toThrow();
    expect(() => expectNoSecrets(exposed(Object.assign(new Error('x'), { detail: PASSPHRASE })))).toThrow();
    expect(() => expectNoSecrets(`...${keyMaterial()[0]}...`)).toThrow();
  });

  it('a refused password', async () => {
    const { error } = await attempt({ password: 'something else' }, '');
    expect((error as { code: string }).code).toBe('ERR_SSH_AUTH');
    expectNoSecrets(exposed(error));
  });

  it('refused keyboard-interactive answers', async () => {
    const { error } = await attempt({ keyboard: { prompts: [{ prompt: 'Token: ', echo: false }], answers: ['other'] } }, '');
    expect((error as { code: string }).code).toBe('ERR_SSH_AUTH');
    expectNoSecrets(exposed(error));
  });

  it('a wrong passphrase (the real one belongs to another key)', async () => {
    const other = makeKey('ed25519', 'another passphrase');
    writeFileSync(join(dir, 'other-enc'), other.private);
    const { error } = await attempt({ authorizedKeys: [other] }, `&keyfile=${join(dir, 'other-enc')}`);
    expect((error as { code: string }).code).toBe('ERR_SSH_PASSPHRASE');
    expectNoSecrets(exposed(error));
  });

  it('a damaged key file', async () => {
    const { error } = await attempt({ authorizedKeys: [plainKey] }, `&keyfile=${join(dir, 'damaged')}`);
    expect((error as { code: string }).code).toBe('ERR_SSH_KEY_FILE');
    expectNoSecrets(exposed(error));
  });

  it('a failing remote command after a login with an encrypted key', async () => {
    const { error, transport } = await attempt({
      authorizedKeys: [encKey],
      onChannel: (_r, ch) => { ch.stderr.write('nc: connect failed'); ch.exit(1); ch.end(); },
    }, `&keyfile=${join(dir, 'enc')}`);
    expect(error).toBeUndefined();
    const closed = await new Promise<Error | undefined>((resolve) => transport!.attach({ data: () => undefined, closed: resolve }));
    expect((closed as unknown as { code: string }).code).toBe('ERR_SSH_REMOTE_COMMAND');
    expectNoSecrets(exposed(closed));
  });

  it('a host key refusal after all methods were prepared', async () => {
    writeFileSync(join(dir, 'kh'), '');
    const { error } = await attempt({ password: 'x' }, `&known_hosts_verify=normal&known_hosts=${join(dir, 'kh')}&keyfile=${join(dir, 'enc')}`);
    expect((error as { code: string }).code).toBe('ERR_SSH_HOST_KEY_UNKNOWN');
    expectNoSecrets(exposed(error));
  });

  it('a successful password login leaves no secret in the debug lines either', async () => {
    const { error, transport } = await attempt({ password: PASSWORD }, '');
    expect(error).toBeUndefined();
    transport!.destroy();
    // Every test above logged through `debug`; none of it may hold a secret.
    expect(debugLines.length).toBeGreaterThan(10);
    expectNoSecrets(debugLines.join('\n'));
  });
});
