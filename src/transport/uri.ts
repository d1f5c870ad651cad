/**
 * libvirt connection URIs: `driver[+transport]://[user@][host][:port]/path[?params][#fragment]`.
 *
 * The parser follows what libvirt 9.0's client does with a URI (libxml2's RFC 3986 parser as wrapped by
 * src/util/viruri.c, then src/remote/remote_sockets.c and doRemoteOpen in src/remote/remote_driver.c), so that a
 * URI that works with `virsh -c` works here and sends the daemon the same name. Every rule that is a libvirt quirk
 * rather than plain RFC 3986 says so where it is implemented. This file is pure: no `node:` imports.
 */

import { UriError } from '../errors.js';

/** The transports this library can open. `libssh` and `libssh2` in a URI map to `ssh`. */
export type UriTransport = 'unix' | 'tcp' | 'tls' | 'ssh';
/** Values of the `mode` parameter: which daemon's socket to use (docs/uri.rst). */
export type RemoteMode = 'auto' | 'direct' | 'legacy';
/** Values of the `proxy` parameter: what runs on the far end of an SSH channel. */
/** `direct` is ours: a direct-streamlocal channel to the remote socket, for hosts with neither helper. */
export type RemoteProxy = 'auto' | 'netcat' | 'native' | 'direct';
/** Values of `known_hosts_verify` (libssh transports). */
export type KnownHostsVerify = 'normal' | 'auto' | 'ignore';
/** The SSH authentication methods `sshauth` may list. */
export type SshAuthMethod = 'agent' | 'privkey' | 'password' | 'keyboard-interactive';

/** One query parameter, percent-decoded, as libvirt's virURIParseParams splits them. */
export interface UriParam {
  readonly name: string;
  readonly value: string;
}

/** The parameters the remote driver consumes itself (they are not sent to the daemon). */
export interface RemoteParams {
  /** `name`: the exact name to send in REMOTE_PROC_CONNECT_OPEN. */
  name?: string;
  command?: string;
  socket?: string;
  netcat?: string;
  keyfile?: string;
  pkipath?: string;
  knownHosts?: string;
  knownHostsVerify?: KnownHostsVerify;
  sshauth?: SshAuthMethod[];
  proxy?: RemoteProxy;
  mode?: RemoteMode;
  /** A GnuTLS priority string; recorded, but OpenSSL cannot apply it (see tls.ts). */
  tlsPriority?: string;
  /** `auth`: the SASL/polkit method to ask the daemon for. */
  auth?: string;
  /** `authfile`: libvirt's credentials file (virauth.c). */
  authfile?: string;
  noVerify?: boolean;
  noTty?: boolean;
  noSanity?: boolean;
}

/** A parsed libvirt URI. */
export interface LibvirtUri {
  /** The string that was parsed. */
  readonly input: string;
  /** The scheme as written, e.g. `qemu+ssh`. */
  readonly scheme: string;
  /** The part before `+`, case as written, e.g. `qemu`. */
  readonly driver: string;
  /** The transport to open. */
  readonly transport: UriTransport;
  /** The transport as written after `+` (lower-cased), or `null` when implied by the host. */
  readonly transportName: 'unix' | 'tcp' | 'tls' | 'ssh' | 'libssh' | 'libssh2' | null;
  /** The user name (decoded), or null. */
  readonly user: string | null;
  /** The host (decoded, IPv6 without brackets), or null for a local URI. */
  readonly host: string | null;
  /** The port, or null (libvirt treats port 0 as unset too). */
  readonly port: number | null;
  /** The path (decoded), e.g. `/system`, or null. */
  readonly path: string | null;
  /** The fragment (decoded), or null. */
  readonly fragment: string | null;
  /** Every query parameter in order, repeats included. */
  readonly params: readonly UriParam[];
  /** The remote driver's own parameters, typed; for repeats the last one wins, as in libvirt. */
  readonly remote: Readonly<RemoteParams>;
  /** The parameters that are passed through to the daemon in the name. */
  readonly passthrough: readonly UriParam[];
  /** The name sent in REMOTE_PROC_CONNECT_OPEN, computed as doRemoteOpen does. */
  readonly remoteName: string;
  /**
   * The URI for virt-ssh-helper on the far side of SSH: the name but keeping `mode` and `socket`, as newer
   * libvirt does (remoteConnectFormatURI with unmask). libvirt 9.0's client still sends {@link remoteName} there.
   */
  readonly proxyName: string;
}

/** Default TCP port of libvirtd's plain TCP listener. */
export const LIBVIRTD_TCP_PORT = 16509;
/** Default TCP port of libvirtd's TLS listener. */
export const LIBVIRTD_TLS_PORT = 16514;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The URI libvirt uses when none is given: `LIBVIRT_DEFAULT_URI` when set and non-empty (libvirt.c,
 * virConnectGetDefaultURI), else null, meaning "let the daemon probe". The caller passes `process.env`.
 * (libvirt.conf's `uri_default` and `uri_aliases` are not read.)
 */
export function defaultUri(env: Env): string | null {
  const value = env['LIBVIRT_DEFAULT_URI'];
  return value !== undefined && value !== '' ? value : null;
}

/** Parses `input`, or the default from `env` when it is null/empty; null means no URI at all (probe). */
export function resolveUri(input: string | LibvirtUri | null | undefined, env: Env): LibvirtUri | null {
  if (input !== null && input !== undefined && typeof input !== 'string') return input;
  const text = input === null || input === undefined || input === '' ? defaultUri(env) : input;
  return text === null ? null : parseUri(text);
}

/** The name to send in REMOTE_PROC_CONNECT_OPEN; `''` (daemon probes) when there is no URI. */
export function remoteOpenName(uri: LibvirtUri | null): string {
  return uri === null ? '' : uri.remoteName;
}

// ---- RFC 3986 character classes, as libxml2 2.9 enforces them ----
// One bit per URI part in a table indexed by character code (ASCII only; anything else must be
// percent-encoded): a URI is checked once per open, and a regular expression per character was most of that.
const PARTS = ['userinfo', 'host', 'IPv6 host', 'path', 'query', 'fragment'] as const;
type UriPart = (typeof PARTS)[number];
const ALLOWED = /* @__PURE__ */ (() => {
  const t = new Uint8Array(128);
  const add = (chars: string, parts: readonly UriPart[]): void => {
    for (const c of chars) for (const p of parts) t[c.charCodeAt(0)] |= 1 << PARTS.indexOf(p);
  };
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  add(`${alnum}-._~`, PARTS); // unreserved
  add("!$&'()*+,;=", PARTS); // sub-delims
  add(':', ['userinfo', 'IPv6 host', 'path', 'query', 'fragment']);
  add('@/', ['path', 'query', 'fragment']);
  add('?', ['query', 'fragment']);
  return t;
})();

const TRANSPORTS: Record<string, UriTransport | 'ext'> = {
  unix: 'unix', tcp: 'tcp', tls: 'tls', ssh: 'ssh', libssh: 'ssh', libssh2: 'ssh', ext: 'ext',
};

/** URIs parsed lately: programs open the same few URIs again and again. */
const PARSED = /* @__PURE__ */ new Map<string, LibvirtUri>();
const PARSED_LIMIT = 32;

/**
 * Parses a libvirt URI. Throws {@link UriError} saying what is wrong. The result is frozen (arrays and
 * parameters included) and may be shared: a URI parsed before is answered from a small cache, since opening a
 * connection ran this parser's code cold, which took longer than the rest of the open's own work.
 */
export function parseUri(input: string): LibvirtUri {
  const hit = PARSED.get(input);
  if (hit !== undefined) return hit;
  const uri = freezeUri(parseUriUncached(input));
  if (PARSED.size >= PARSED_LIMIT) PARSED.delete(PARSED.keys().next().value!);
  PARSED.set(input, uri);
  return uri;
}

function freezeUri(u: LibvirtUri): LibvirtUri {
  for (const p of u.params) Object.freeze(p);
  Object.freeze(u.params);
  Object.freeze(u.passthrough);
  if (u.remote.sshauth) Object.freeze(u.remote.sshauth);
  Object.freeze(u.remote);
  return Object.freeze(u);
}

function parseUriUncached(input: string): LibvirtUri {
  // A password is found and redacted before anything is parsed: once parsing has begun, a `/`, `?` or `#` in
  // it would end the authority, and the failure would quote a piece of it. (Such a URI is refused, so it never
  // reaches parseUri's cache either.)
  const withoutPassword = maskPassword(input);
  if (withoutPassword !== null) {
    throw new UriError(`invalid libvirt URI '${withoutPassword}': a password in the URI is not supported (use an SSH key, agent or auth callback)`);
  }
  const fail = (what: string): never => {
    throw new UriError(`invalid libvirt URI '${input}': ${what}`);
  };
  if (input === '') fail('the URI is empty');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input);
  if (!scheme) {
    fail(/^[A-Za-z0-9_-]+$/.test(input)
      ? 'no scheme (URI aliases from libvirt.conf are not supported; write e.g. qemu:///system)'
      : 'it must start with a scheme such as qemu:// or qemu+ssh://');
  }
  let rest = input.slice(scheme![0].length);
  let fragment: string | null = null;
  const hash = rest.indexOf('#');
  if (hash >= 0) {
    fragment = decodePart(check(rest.slice(hash + 1), 'fragment', fail), 'fragment', fail);
    rest = rest.slice(0, hash);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = check(rest.slice(q + 1), 'query', fail);
    rest = rest.slice(0, q);
  }
  let user: string | null = null;
  let host: string | null = null;
  let port: number | null = null;
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash >= 0 ? rest.slice(2, slash) : rest.slice(2);
    rest = slash >= 0 ? rest.slice(slash) : '';
    ({ user, host, port } = parseAuthority(authority, fail));
  }
  const path = rest === '' ? null : decodePart(check(rest, 'path', fail), 'path', fail);
  const params = parseParams(query, fail);

  // remoteSplitURIScheme: the driver is what precedes the first '+'; the rest, lower-cased, names the transport.
  const plus = scheme![1].indexOf('+');
  const driver = plus >= 0 ? scheme![1].slice(0, plus) : scheme![1];
  let transport: UriTransport;
  let transportName: LibvirtUri['transportName'] = null;
  if (plus >= 0) {
    const named = scheme![1].slice(plus + 1).toLowerCase();
    const t = Object.hasOwn(TRANSPORTS, named) ? TRANSPORTS[named] : undefined;
    if (t === undefined) fail(`unknown transport '${named}' (expected unix, tcp, tls, ssh, libssh or libssh2)`);
    if (t === 'ext') {
      fail("the 'ext' transport runs a local command and is not supported; open the pipe yourself and pass it as options.transport");
    }
    if (t === 'unix' && host !== null) fail(`the unix transport cannot reach the remote host '${host}'`);
    transport = t as UriTransport;
    transportName = named as LibvirtUri['transportName'];
  } else {
    // libvirt's rule: TLS when a host is named, the local unix socket otherwise.
    transport = host !== null ? 'tls' : 'unix';
  }

  const { remote, passthrough, masked } = extractRemoteParams(params, fail);
  let remoteName: string;
  let proxyName: string;
  if (remote.name !== undefined) {
    remoteName = proxyName = remote.name;
  } else if (scheme![1] === 'remote' || scheme![1].startsWith('remote+')) {
    // doRemoteOpen: "remote" URIs send an empty name so the daemon picks its default driver (case-sensitive test).
    remoteName = proxyName = '';
  } else {
    remoteName = formatName(driver, path, passthrough, fragment);
    proxyName = formatName(driver, path, masked, fragment);
  }
  return {
    input, scheme: scheme![1], driver, transport, transportName, user, host, port, path, fragment,
    params, remote, passthrough, remoteName, proxyName,
  };
}

function parseAuthority(authority: string, fail: (what: string) => never) {
  let user: string | null = null;
  let hostport = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const raw = check(authority.slice(0, at), 'userinfo', fail);
    // libvirt would pass "user:secret" to ssh as a user name; a password in a URI is refused here instead.
    if (raw.includes(':')) fail('a password in the URI is not supported (use an SSH key, agent or auth callback)');
    user = decodePart(raw, 'user name', fail);
    hostport = authority.slice(at + 1);
  }
  let host: string;
  let portText: string | null = null;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) fail("IPv6 address has no closing ']'");
    host = decodePart(check(hostport.slice(1, close), 'IPv6 host', fail), 'host', fail);
    if (host === '') fail('empty IPv6 address []');
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail(`unexpected '${after}' after the IPv6 address`);
    if (after !== '') portText = after.slice(1);
  } else {
    const colon = hostport.indexOf(':');
    const rawHost = colon >= 0 ? hostport.slice(0, colon) : hostport;
    if (colon >= 0) portText = hostport.slice(colon + 1);
    if (rawHost.includes('[') || rawHost.includes(']')) fail("IPv6 addresses must be written in brackets, e.g. [::1]");
    host = decodePart(check(rawHost, 'host', fail), 'host', fail);
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^[0-9]+$/.test(portText)) {
      fail(portText === '' ? "empty port after ':'" : `port '${portText}' is not a number (IPv6 addresses need brackets)`);
    }
    const n = Number(portText);
    if (n > 65535) fail(`port ${portText} is out of range (1-65535)`);
    port = n === 0 ? null : n; // viruri.c: port 0 means "not given"
  }
  // viruri.c: an empty server is no server, and then the port is ignored too.
  if (host === '') return { user, host: null, port: null };
  return { user, host, port };
}

const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** Validates characters and percent-escapes of one URI part; returns it unchanged. */
function check(text: string, part: UriPart, fail: (what: string) => never): string {
  const bit = 1 << PARTS.indexOf(part);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 37 /* % */) {
      if (!(i + 2 < text.length && isHex(text.charCodeAt(i + 1)) && isHex(text.charCodeAt(i + 2)))) {
        fail(`bad percent-escape '${text.slice(i, i + 3)}' in the ${part}`);
      }
      i += 2;
    } else if (c > 0x7e || c < 0x21) {
      fail(`the ${part} contains ${JSON.stringify(text[i])}, which must be percent-encoded (as UTF-8)`);
    } else if ((ALLOWED[c] & bit) === 0) {
      fail(`the ${part} contains '${text[i]}', which must be percent-encoded`);
    }
  }
  return text;
}

const STRICT_UTF8 = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decodes. libvirt keeps decoded parts as C strings, so a decoded NUL ends the value (`a=%00` is `a=`);
 * bytes that are not UTF-8 are refused here (libvirt would carry them through raw).
 */
function decodePart(text: string, part: string, fail: (what: string) => never): string {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(text.charCodeAt(i));
    }
  }
  const nul = bytes.indexOf(0);
  try {
    return STRICT_UTF8.decode(new Uint8Array(nul >= 0 ? bytes.slice(0, nul) : bytes));
  } catch {
    return fail(`percent-encoded bytes in the ${part} are not valid UTF-8`);
  }
}

/** Splits a raw query the way viruri.c's virURIParseParams does, quirks included. */
function parseParams(query: string, fail: (what: string) => never): UriParam[] {
  const params: UriParam[] = [];
  let pos = 0;
  while (pos < query.length) {
    // The separator is the next '&'; only when there is none at all is the next ';' used.
    let end = query.indexOf('&', pos);
    if (end < 0) end = query.indexOf(';', pos);
    if (end < 0) end = query.length;
    let eq = query.indexOf('=', pos);
    if (eq >= end) eq = -1;
    if (end > pos) {
      if (eq < 0) {
        params.push({ name: decodePart(query.slice(pos, end), 'query', fail), value: '' }); // "name" alone
      } else if (eq + 1 === end) {
        // "name=": libxml2's unescape takes length 0 as "to the end of the string", so a lone "=" names the
        // whole rest of the query (libvirt turns "?a&=&b" into "a=&=&b=&b=").
        const name = eq === pos ? query.slice(pos) : query.slice(pos, eq);
        params.push({ name: decodePart(name, 'query', fail), value: '' });
      } else if (eq > pos) {
        params.push({
          name: decodePart(query.slice(pos, eq), 'query', fail),
          value: decodePart(query.slice(eq + 1, end), 'query', fail),
        });
      } // "=value" is ignored, as CGI.pm does
    }
    pos = end + 1;
  }
  return params;
}

type StringKey = 'name' | 'command' | 'socket' | 'netcat' | 'keyfile' | 'pkipath' | 'knownHosts' | 'tlsPriority' |
  'auth' | 'authfile';
const STRING_PARAMS: Record<string, StringKey> = {
  name: 'name', command: 'command', socket: 'socket', netcat: 'netcat', keyfile: 'keyfile', pkipath: 'pkipath',
  known_hosts: 'knownHosts', tls_priority: 'tlsPriority', auth: 'auth', authfile: 'authfile',
};
const BOOL_PARAMS: Record<string, 'noVerify' | 'noTty' | 'noSanity'> = {
  no_verify: 'noVerify', no_tty: 'noTty', no_sanity: 'noSanity',
};
const ENUM_PARAMS = {
  mode: ['auto', 'direct', 'legacy'],
  proxy: ['auto', 'netcat', 'native', 'direct'],
  known_hosts_verify: ['normal', 'auto', 'ignore'],
} as const;
const SSH_AUTH: readonly string[] = ['agent', 'privkey', 'password', 'keyboard-interactive'];

/** Takes out the remote driver's own parameters (names compared case-insensitively, as doRemoteOpen does). */
function extractRemoteParams(params: UriParam[], fail: (what: string) => never) {
  const remote: RemoteParams = {};
  const passthrough: UriParam[] = [];
  const masked: UriParam[] = []; // what virt-ssh-helper gets: passthrough plus mode and socket
  const enums: Record<string, string> = {};
  let sshauth: string | undefined;
  for (const p of params) {
    const key = p.name.toLowerCase();
    if (Object.hasOwn(STRING_PARAMS, key)) {
      remote[STRING_PARAMS[key]] = p.value;
    } else if (Object.hasOwn(BOOL_PARAMS, key)) {
      // EXTRACT_URI_ARG_BOOL: virStrToLong_i, so any whole decimal integer; non-zero means yes.
      if (!/^\s*[+-]?[0-9]+$/.test(p.value)) fail(`parameter ${p.name} must be an integer such as 0 or 1, not '${p.value}'`);
      remote[BOOL_PARAMS[key]] = Number(p.value) !== 0;
    } else if (Object.hasOwn(ENUM_PARAMS, key)) {
      enums[key] = p.value;
    } else if (key === 'sshauth') {
      sshauth = p.value;
    } else {
      passthrough.push(p);
      masked.push(p);
      continue;
    }
    if (key === 'mode' || key === 'socket') masked.push(p);
  }
  // Like libvirt, only the last value of mode/proxy/known_hosts_verify is checked; values are case-sensitive.
  for (const [key, allowed] of Object.entries(ENUM_PARAMS)) {
    const value = enums[key];
    if (value === undefined) continue;
    if (!(allowed as readonly string[]).includes(value)) fail(`parameter ${key} must be one of ${allowed.join(', ')}, not '${value}'`);
  }
  if (enums['mode'] !== undefined) remote.mode = enums['mode'] as RemoteMode;
  if (enums['proxy'] !== undefined) remote.proxy = enums['proxy'] as RemoteProxy;
  if (enums['known_hosts_verify'] !== undefined) remote.knownHostsVerify = enums['known_hosts_verify'] as KnownHostsVerify;
  if (sshauth !== undefined) {
    const methods = sshauth.split(',');
    for (const m of methods) {
      if (!SSH_AUTH.includes(m)) fail(`parameter sshauth lists '${m}'; allowed are ${SSH_AUTH.join(', ')} (comma-separated)`);
    }
    remote.sshauth = methods as SshAuthMethod[];
  }
  return { remote, passthrough, masked };
}

// ---- formatting the name, as virURIFormat (libxml2's xmlSaveUri) and virURIFormatParams do ----
/** The characters each part keeps as they are; everything else is percent-encoded (as UTF-8). */
function keepTable(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const PATH_KEEP = /* @__PURE__ */ keepTable(`${ALNUM}-_.!~*'()/;@&=+$,`);
const FRAGMENT_KEEP = /* @__PURE__ */ keepTable(`${ALNUM}-_.!~*'();/?:@&=+$,[]`);
const VALUE_KEEP = /* @__PURE__ */ keepTable(`${ALNUM}-_.~`);
const UTF8 = /* @__PURE__ */ new TextEncoder();

function escape(text: string, keep: Uint8Array): string {
  let i = 0;
  // Most names need no escaping at all: return the string itself.
  while (i < text.length && text.charCodeAt(i) < 128 && keep[text.charCodeAt(i)] === 1) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (const ch of text.slice(i)) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c < 128) out += keep[c] === 1 ? ch : HEX_ESCAPE[c];
    else for (const b of UTF8.encode(ch)) out += HEX_ESCAPE[b];
  }
  return out;
}

/** `%XX` for every byte value. */
const HEX_ESCAPE = /* @__PURE__ */ Array.from({ length: 256 }, (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'));

/**
 * remoteConnectFormatURI: scheme = driver, no user/host/port, same path and fragment, and the kept parameters.
 * Because the server is absent, virURIFormat always writes `//` (so a rootless path `qemu:system` becomes
 * `qemu://system`). Parameter names are written decoded and unescaped; values are escaped (virBufferURIEncodeString).
 */
function formatName(driver: string, path: string | null, params: readonly UriParam[], fragment: string | null): string {
  let name = `${driver}://${path === null ? '' : escape(path, PATH_KEEP)}`;
  if (params.length > 0) name += '?' + params.map((p) => `${p.name}=${escape(p.value, VALUE_KEEP)}`).join('&');
  if (fragment !== null) name += '#' + escape(fragment, FRAGMENT_KEEP);
  return name;
}

/** `scheme://user:` at the start of a URI (no IPv6 bracket: `[::1]:port` is a host). */
const USER_COLON = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/(?!\[)[^/?#@:]*):/;
/** What may follow `scheme://host:` in a URI without a password: a port, a path with no `@`, then anything. */
const PORT_THEN_PATH = /^[0-9]*\/[^?#@]*(?:[?#][^]*)?$/;

/**
 * When `input` may hold a password (`scheme://user:password@...`, the password holding anything at all, `/`,
 * `?`, `#` and `@` included), returns it with everything from the `:` to the last `@` shown as `***`; else null.
 * The one reading with no password, `scheme://host:port/path` with an `@` only in the query or fragment (a
 * socket or key path), is not one.
 */
function maskPassword(input: string): string | null {
  const m = USER_COLON.exec(input);
  if (m === null) return null;
  const at = input.lastIndexOf('@');
  if (at < m[0].length || PORT_THEN_PATH.test(input.slice(m[0].length))) return null;
  return `${m[1]}:***@${input.slice(at + 1)}`;
}
