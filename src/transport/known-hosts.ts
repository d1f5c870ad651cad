/**
 * OpenSSH known_hosts files (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): parsing, host matching and the host key
 * verdict, as OpenSSH's hostfile.c and match.c decide them.
 *
 * - A line is `[marker] hosts keytype base64-key [comment]`; `marker` is `@revoked` or `@cert-authority`.
 * - `hosts` is a comma-separated list of patterns (`*` and `?` wildcards, `!` negates: a matching negated pattern
 *   rejects the line even when another pattern matches), compared case-insensitively; or one hashed entry
 *   `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.
 * - The name looked up is the host name lower-cased for port 22, and `[host]:port` for any other port.
 */

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SshError } from './ssh-errors.js';

/** One usable line of a known_hosts file. */
export interface KnownHostsEntry {
  /** `revoked` for `@revoked`, `cert-authority` for `@cert-authority`, else null. */
  readonly marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written (a pattern list or one hashed entry). */
  readonly hosts: string;
  /** The key type as written, e.g. `ssh-ed25519`. */
  readonly keyType: string;
  /** The decoded public key blob (SSH wire format). */
  readonly key: Uint8Array;
  /** 1-based line number, for messages. */
  readonly line: number;
  /** The file the line came from, when known. */
  readonly file?: string;
}

/** The verdict on a host key. */
export type HostKeyStatus =
  /** A plain line for this host has exactly this key. */
  | { status: 'known'; entry: KnownHostsEntry }
  /** A `@revoked` line for this host has this key: never accept it. */
  | { status: 'revoked'; entry: KnownHostsEntry }
  /** Lines for this host exist, none with this key: same key type changed, or only other key types are known. */
  | { status: 'changed'; entries: KnownHostsEntry[]; sameType: boolean }
  /** No line for this host. `certAuthority` says a `@cert-authority` line matched (host certificates unsupported). */
  | { status: 'unknown'; certAuthority: boolean };

/** Parses known_hosts text. Comments, blank lines and malformed lines are skipped, as OpenSSH skips them. */
export function parseKnownHosts(text: string, file?: string): KnownHostsEntry[] {
  const entries: KnownHostsEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/[ \t]+/);
    let marker: KnownHostsEntry['marker'] = null;
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m === '@revoked') marker = 'revoked';
      else if (m === '@cert-authority') marker = 'cert-authority';
      else continue; // an unknown marker makes the line invalid (hostfile.c check_markers)
    }
    if (fields.length < 3) continue;
    const [hosts, keyType, b64] = fields;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) continue;
    const key = new Uint8Array(Buffer.from(b64, 'base64'));
    const blobType = keyTypeOf(key);
    if (blobType === null || blobType !== keyType) continue; // OpenSSH rejects a key whose type disagrees
    entries.push({ marker, hosts, keyType, key, line: i + 1, ...(file !== undefined ? { file } : {}) });
  }
  return entries;
}

/** The name OpenSSH looks a host up by: lower-cased, and `[host]:port` when the port is not 22. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** Whether a known_hosts host field matches `name` (from {@link knownHostName}). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) return hashedMatches(field, name);
  let matched = false;
  for (const raw of field.split(',')) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!wildcardMatch(pattern, name.toLowerCase())) continue;
    if (negated) return false; // match.c: a negated match wins over everything
    matched = true;
  }
  return matched;
}

/** `|1|salt|hash`: HMAC-SHA1 keyed with the salt over the name (hostfile.c host_hash). */
function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const want = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || want.length !== 20) return false;
  const got = createHmac('sha1', salt).update(name).digest();
  return timingSafeEqual(got, want);
}

/** OpenSSH's match_pattern: `*` any run of characters, `?` exactly one, everything else literal. */
export function wildcardMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Decides what known_hosts says about `key` for `host`:`port` (hostfile.c check_hostkeys_by_key_or_type). */
export function checkHostKey(entries: readonly KnownHostsEntry[], host: string, port: number, key: Uint8Array): HostKeyStatus {
  const name = knownHostName(host, port);
  const forHost = entries.filter((e) => hostFieldMatches(e.hosts, name));
  const revoked = forHost.find((e) => e.marker === 'revoked' && sameBytes(e.key, key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === null);
  const exact = plain.find((e) => sameBytes(e.key, key));
  if (exact) return { status: 'known', entry: exact };
  if (plain.length > 0) {
    // libvirt's libssh transport refuses both a changed key of the same type (SSH_KNOWN_HOSTS_CHANGED) and a key
    // of a type known_hosts has no line for (SSH_KNOWN_HOSTS_OTHER).
    const type = keyTypeOf(key);
    return { status: 'changed', entries: plain, sameType: plain.some((e) => e.keyType === type) };
  }
  // A @cert-authority line vouches only for host certificates, which this client does not negotiate.
  return { status: 'unknown', certAuthority: forHost.some((e) => e.marker === 'cert-authority') };
}

/** The key types known_hosts holds plain lines for, for this host (to prefer them in the key exchange). */
export function knownKeyTypes(entries: readonly KnownHostsEntry[], host: string, port: number): string[] {
  const name = knownHostName(host, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker === null && !types.includes(e.keyType) && hostFieldMatches(e.hosts, name)) types.push(e.keyType);
  }
  return types;
}

/** The key type named inside an SSH public key blob (its first string), or null if it is not one. */
export function keyTypeOf(blob: Uint8Array): string | null {
  if (blob.length < 4) return null;
  const len = ((blob[0] << 24) | (blob[1] << 16) | (blob[2] << 8) | blob[3]) >>> 0;
  if (len === 0 || len > 64 || 4 + len > blob.length) return null;
  const type = Buffer.from(blob.subarray(4, 4 + len)).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : null;
}

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and the base64 digest without padding. */
export function fingerprintSha256(blob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A known_hosts line for `host`:`port` and `key`; `hash` writes the host field hashed, as `HashKnownHosts yes`. */
export function formatKnownHostsLine(host: string, port: number, key: Uint8Array, options: { hash?: boolean; salt?: Uint8Array } = {}): string {
  const type = keyTypeOf(key);
  if (type === null) throw new SshError('ERR_SSH_KNOWN_HOSTS', 'cannot write a known_hosts line: the key blob names no key type');
  const name = knownHostName(host, port);
  let field = name;
  if (options.hash) {
    const salt = Buffer.from(options.salt ?? randomBytes(20));
    field = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  }
  return `${field} ${type} ${Buffer.from(key).toString('base64')}`;
}

/** Reads and parses a known_hosts file; a missing file is an empty one (null tells the caller it is missing). */
export async function readKnownHostsFile(file: string): Promise<KnownHostsEntry[] | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new SshError('ERR_SSH_KNOWN_HOSTS', `cannot read known_hosts file ${file}: ${code ?? (err as Error).message}`, {
      cause: err, knownHostsFile: file,
    });
  }
  return parseKnownHosts(text, file);
}

/**
 * Appends one line to a known_hosts file, making its folder (mode 0700, as ssh makes ~/.ssh) when missing. A file
 * that does not end in a newline gets one first, so the new line never merges into the last one.
 */
export async function appendKnownHostsLine(file: string, line: string): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let prefix = '';
    try {
      const old = await readFile(file);
      if (old.length > 0 && old[old.length - 1] !== 0x0a) prefix = '\n';
    } catch {
      // a missing file is created by appendFile
    }
    await appendFile(file, `${prefix}${line}\n`, { mode: 0o644 });
  } catch (err) {
    throw new SshError('ERR_SSH_KNOWN_HOSTS', `cannot add the host key to known_hosts file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err, knownHostsFile: file,
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}
