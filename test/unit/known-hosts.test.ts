/**
 * known_hosts parsing and matching as OpenSSH does it: plain and hashed host fields, `[host]:port` for other
 * ports, wildcards and negation, @revoked and @cert-authority markers, and SHA256 fingerprints. Where OpenSSH's
 * own tools can answer (ssh-keygen -H, -F, -l), the test compares with them.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  appendKnownHostsLine, checkHostKey, fingerprintSha256, formatKnownHostsLine, hostFieldMatches, keyTypeOf,
  knownHostName, knownKeyTypes, parseKnownHosts, readKnownHostsFile, wildcardMatch,
} from '../../src/transport/known-hosts';
import { SshError } from '../../src/transport/ssh-errors';
import { preferredHostKeyAlgorithms } from '../../src/transport/ssh-host-key';
import { makeKey } from '../helpers/ssh-server';

let dir: string;
const keys: Record<string, { blob: Buffer; line: string }> = {};

function addKey(name: string, type: 'ed25519' | 'ecdsa' | 'rsa'): void {
  const k = makeKey(type);
  keys[name] = { blob: k.blob, line: k.line };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-known-hosts-'));
  addKey('a', 'ed25519');
  addKey('b', 'ed25519');
  addKey('ec', 'ecdsa');
  addKey('rsa', 'rsa');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('host names and patterns', () => {
  it('looks hosts up as OpenSSH does: lower case, [host]:port for ports other than 22', () => {
    expect(knownHostName('Example.COM', 22)).toBe('example.com');
    expect(knownHostName('example.com', 2222)).toBe('[example.com]:2222');
    expect(knownHostName('::1', 22)).toBe('::1');
    expect(knownHostName('::1', 2200)).toBe('[::1]:2200');
  });

  it.each([
    ['*', 'anything', true],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'example.com', false],
    ['host?', 'host1', true],
    ['host?', 'host12', false],
    ['h*t*x', 'hxxtyyx', true],
    ['h*t*x', 'hxxtyy', false],
    ['[*.lan]:2222', '[a.lan]:2222', true],
    ['[*.lan]:2222', '[a.lan]:22', false],
    ['', '', true],
  ])('wildcard %j against %j is %s', (pattern, text, want) => {
    expect(wildcardMatch(pattern, text)).toBe(want);
  });

  it('matches comma-separated lists case-insensitively, and a negated match wins', () => {
    expect(hostFieldMatches('alpha,Beta,gamma', 'beta')).toBe(true);
    expect(hostFieldMatches('alpha,gamma', 'beta')).toBe(false);
    expect(hostFieldMatches('*.example.com,!bad.example.com', 'good.example.com')).toBe(true);
    expect(hostFieldMatches('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false);
    expect(hostFieldMatches('!bad.example.com,*.example.com', 'bad.example.com')).toBe(false);
    // A list of only negations matches nothing.
    expect(hostFieldMatches('!bad', 'good')).toBe(false);
  });

  it('understands hashed entries written by ssh-keygen -H, for port 22 and for [host]:port', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `server.example.com ${keys.a.line}\n[127.0.0.1]:2222 ${keys.b.line}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'pipe' });
    const entries = parseKnownHosts(readFileSync(file, 'utf8'));
    expect(entries).toHaveLength(2);
    expect(entries.every((e) => e.hosts.startsWith('|1|'))).toBe(true);
    expect(checkHostKey(entries, 'server.example.com', 22, keys.a.blob).status).toBe('known');
    expect(checkHostKey(entries, 'SERVER.example.com', 22, keys.a.blob).status).toBe('known');
    expect(checkHostKey(entries, '127.0.0.1', 2222, keys.b.blob).status).toBe('known');
    expect(checkHostKey(entries, '127.0.0.1', 22, keys.b.blob).status).toBe('unknown');
    expect(checkHostKey(entries, 'other.example.com', 22, keys.a.blob).status).toBe('unknown');
  });

  it('writes hashed lines that ssh-keygen -F finds', () => {
    const file = join(dir, 'written-hashed');
    writeFileSync(file, `${formatKnownHostsLine('h.example', 2022, keys.ec.blob, { hash: true })}\n`);
    const out = execFileSync('ssh-keygen', ['-F', '[h.example]:2022', '-f', file], { encoding: 'utf8' });
    expect(out).toContain(keys.ec.blob.toString('base64'));
    expect(formatKnownHostsLine('h.example', 22, keys.a.blob)).toBe(`h.example ${keys.a.line}`);
  });
});

describe('parsing', () => {
  it('skips comments, blank and malformed lines, and keys whose type disagrees with the blob', () => {
    const text = [
      '# a comment',
      '',
      `good ${keys.a.line} comment words`,
      'short ssh-ed25519',
      `badb64 ssh-ed25519 !!!notbase64`,
      `mismatch ssh-rsa ${keys.a.blob.toString('base64')}`,
      `@unknown-marker host ${keys.a.line}`,
      `  indented\t${keys.b.line}  `,
    ].join('\n');
    const entries = parseKnownHosts(text, '/kh');
    expect(entries.map((e) => [e.hosts, e.line, e.file])).toEqual([['good', 3, '/kh'], ['indented', 8, '/kh']]);
  });

  it('reads markers', () => {
    const entries = parseKnownHosts(`@revoked * ${keys.a.line}\n@cert-authority *.lan ${keys.b.line}\n`);
    expect(entries.map((e) => e.marker)).toEqual(['revoked', 'cert-authority']);
  });

  it('reads the key type from a blob', () => {
    expect(keyTypeOf(keys.a.blob)).toBe('ssh-ed25519');
    expect(keyTypeOf(keys.rsa.blob)).toBe('ssh-rsa');
    expect(keyTypeOf(keys.ec.blob)).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOf(new Uint8Array([0, 0, 0, 200, 65]))).toBeNull();
  });
});

describe('verdicts', () => {
  it('says known, changed (same type), changed (other types only) and unknown', () => {
    const entries = parseKnownHosts(`host1 ${keys.a.line}\nhost2 ${keys.ec.line}\n`);
    expect(checkHostKey(entries, 'host1', 22, keys.a.blob)).toMatchObject({ status: 'known' });
    expect(checkHostKey(entries, 'host1', 22, keys.b.blob)).toMatchObject({ status: 'changed', sameType: true });
    expect(checkHostKey(entries, 'host2', 22, keys.a.blob)).toMatchObject({ status: 'changed', sameType: false });
    expect(checkHostKey(entries, 'host3', 22, keys.a.blob)).toEqual({ status: 'unknown', certAuthority: false });
  });

  it('accepts a key any matching line has, even when another line for the host has another key', () => {
    const entries = parseKnownHosts(`host1 ${keys.b.line}\nhost1,host9 ${keys.a.line}\n`);
    expect(checkHostKey(entries, 'host1', 22, keys.a.blob).status).toBe('known');
  });

  it('refuses a key marked @revoked for the host, even if a plain line also lists it', () => {
    const entries = parseKnownHosts(`host1 ${keys.a.line}\n@revoked *.lan,host1 ${keys.a.line}\n`);
    expect(checkHostKey(entries, 'host1', 22, keys.a.blob)).toMatchObject({ status: 'revoked', entry: { line: 2 } });
    // The revocation is for matching hosts only.
    expect(checkHostKey(parseKnownHosts(`@revoked other ${keys.a.line}\nhost1 ${keys.a.line}`), 'host1', 22, keys.a.blob).status).toBe('known');
  });

  it('does not let a @cert-authority line vouch for a plain key, and says it matched', () => {
    const entries = parseKnownHosts(`@cert-authority *.lan ${keys.a.line}\n`);
    expect(checkHostKey(entries, 'x.lan', 22, keys.a.blob)).toEqual({ status: 'unknown', certAuthority: true });
  });

  it('lists the key types known for a host, to prefer them in the key exchange', () => {
    const entries = parseKnownHosts(`h ${keys.rsa.line}\nh ${keys.ec.line}\n@revoked h ${keys.a.line}\nother ${keys.b.line}\n`);
    expect(knownKeyTypes(entries, 'h', 22)).toEqual(['ssh-rsa', 'ecdsa-sha2-nistp256']);
    expect(preferredHostKeyAlgorithms(['ssh-rsa', 'ecdsa-sha2-nistp256'])).toEqual([
      'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
      'ssh-ed25519', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
    ]);
  });
});

describe('fingerprints', () => {
  it.each(['a', 'ec', 'rsa'])('formats the %s key as ssh-keygen -l -E sha256 does', (name) => {
    const file = join(dir, `${name}.pub`);
    writeFileSync(file, `${keys[name].line}\n`);
    const out = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' });
    const want = /SHA256:[A-Za-z0-9+/]+/.exec(out)![0];
    expect(fingerprintSha256(keys[name].blob)).toBe(want);
    expect(fingerprintSha256(keys[name].blob)).not.toContain('=');
  });
});

describe('files', () => {
  it('reads a missing file as null and refuses an unreadable one with ERR_SSH_KNOWN_HOSTS', async () => {
    await expect(readKnownHostsFile(join(dir, 'missing'))).resolves.toBeNull();
    const err = await readKnownHostsFile(dir).catch((e: unknown) => e); // a folder: EISDIR
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('ERR_SSH_KNOWN_HOSTS');
  });

  it('appends lines, creating the folder, and never glues a line onto an unterminated last line', async () => {
    const file = join(dir, 'new', 'sub', 'known_hosts');
    await appendKnownHostsLine(file, `a ${keys.a.line}`);
    writeFileSync(file, readFileSync(file, 'utf8') + `b ${keys.b.line}`); // no final newline
    await appendKnownHostsLine(file, `c ${keys.ec.line}`);
    const entries = await readKnownHostsFile(file);
    expect(entries!.map((e) => e.hosts)).toEqual(['a', 'b', 'c']);
  });
});
