/**
 * libvirt's credentials file, auth.conf (docs/auth.rst "Client configuration"), parsed as libvirt parses it:
 * with GLib's GKeyFile (src/util/virauthconfig.c), and looked up as virAuthConfigLookup does:
 *
 *   [auth-SERVICE-HOST] (else [auth-SERVICE-default]) names, in its `credentials` key, a group
 *   [credentials-NAME], whose keys (`authname`, `username`, `password`, `realm`) are the credentials.
 *
 * The parser works on bytes so that values (passwords) stay in Uint8Arrays, which {@link AuthConfig.dispose}
 * zeroes; they never become strings here. It is stricter than GKeyFile where GKeyFile would silently drop a
 * value (a bad escape sequence, bytes that are not UTF-8): that is an error naming the line, never quoting it.
 * Pure: no `node:` imports; reading the file is the Node layer's job (src/transport/auth-file.ts).
 */
import { AuthConfigError } from './errors.js';

/** auth.conf files larger than this are refused (a credentials file is a few hundred bytes). */
export const AUTH_CONFIG_MAX_BYTES = 1024 * 1024;

const STRICT = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });
const SPACE = new Set([0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d]); // g_ascii_isspace

/** A parsed auth.conf. Values are kept as bytes; {@link dispose} zeroes them. */
export class AuthConfig {
  /** The file's path (for messages). */
  readonly path: string;
  readonly #groups = new Map<string, Map<string, Uint8Array>>();

  private constructor(path: string) {
    this.path = path;
  }

  /**
   * Parses the bytes of an auth.conf. Throws {@link AuthConfigError} naming the line of a syntax error. The
   * caller may zero `data` afterwards: values are copied.
   */
  static parse(path: string, data: Uint8Array): AuthConfig {
    const config = new AuthConfig(path);
    // A plain view even of a Node Buffer, whose slice() would share memory instead of copying.
    data = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data.length > AUTH_CONFIG_MAX_BYTES) throw new AuthConfigError(path, `the file is larger than ${AUTH_CONFIG_MAX_BYTES} bytes`);
    let current: Map<string, Uint8Array> | null = null;
    let lineNo = 0;
    for (let start = 0; start <= data.length; lineNo++) {
      let end = data.indexOf(0x0a, start);
      if (end < 0) end = data.length;
      // GKeyFile drops the '\r' of a "\r\n" line end.
      let line = data.subarray(start, end > start && data[end - 1] === 0x0d ? end - 1 : end);
      start = end + 1;
      const fail = (why: string): never => {
        config.dispose();
        throw new AuthConfigError(path, why, { line: lineNo + 1 });
      };
      if (line.includes(0)) fail('the line contains a NUL byte');
      if (!isUtf8(line)) fail('the line is not valid UTF-8');
      let i = 0;
      while (i < line.length && SPACE.has(line[i])) i++;
      line = line.subarray(i);
      if (line.length === 0 || line[0] === 0x23 /* # */) continue;
      if (line[0] === 0x5b /* [ */) {
        const close = line.indexOf(0x5d /* ] */);
        if (close < 0) fail("a group header has no closing ']'");
        for (let j = close + 1; j < line.length; j++) if (line[j] !== 0x20 && line[j] !== 0x09) fail("text follows a group header's ']'");
        const name = STRICT.decode(line.subarray(1, close));
        // g_key_file_is_group_name: not empty, no '[' or ']', no control characters.
        if (name === '' || /[[\]]/.test(name) || hasControl(name)) fail('invalid group name');
        current = config.#groups.get(name) ?? new Map<string, Uint8Array>();
        config.#groups.set(name, current); // GKeyFile merges repeated groups
        continue;
      }
      const eq = line.indexOf(0x3d /* = */);
      if (eq < 0) fail('the line is neither a group header, a key=value pair nor a comment');
      if (current === null) fail('a key=value pair comes before the first group');
      let keyEnd = eq;
      while (keyEnd > 0 && SPACE.has(line[keyEnd - 1])) keyEnd--;
      const key = STRICT.decode(line.subarray(0, keyEnd));
      // g_key_file_is_key_name: a name, optionally with a [locale] suffix.
      if (!/^[^[\]=]+(\[[^[\]=]+\])?$/.test(key) || hasControl(key)) fail('invalid key name');
      let v = eq + 1;
      while (v < line.length && SPACE.has(line[v])) v++;
      const value = unescape(line.subarray(v));
      if (value === null) fail('invalid escape sequence in a value (GKeyFile allows \\s \\n \\t \\r \\\\)');
      current!.get(key)?.fill(0);
      current!.set(key, value!); // the last of repeated keys wins, as in GKeyFile
    }
    return config;
  }

  /** Whether the file has `[name]`. */
  hasGroup(name: string): boolean {
    return this.#groups.has(name);
  }

  /**
   * virAuthConfigLookup: the credential `credname` for `service` on `host` (null: `localhost`), as a fresh copy
   * the caller zeroes, or undefined when the file has none. Throws {@link AuthConfigError} when the auth group
   * lacks `credentials` or names a missing group, as libvirt does.
   */
  lookup(service: string, host: string | null, credname: string): Uint8Array | undefined {
    let authGroup = `auth-${service}-${host ?? 'localhost'}`;
    if (!this.#groups.has(authGroup)) authGroup = `auth-${service}-default`;
    const auth = this.#groups.get(authGroup);
    if (auth === undefined) return undefined;
    const ref = auth.get('credentials');
    if (ref === undefined) throw new AuthConfigError(this.path, `group '${authGroup}' has no 'credentials' item`);
    const credGroup = `credentials-${STRICT.decode(ref)}`;
    const creds = this.#groups.get(credGroup);
    if (creds === undefined) throw new AuthConfigError(this.path, `group '${authGroup}' refers to '${credGroup}', which does not exist`);
    const value = creds.get(credname);
    return value === undefined ? undefined : value.slice();
  }

  /** Zeroes every value held. */
  dispose(): void {
    for (const group of this.#groups.values()) for (const v of group.values()) v.fill(0);
    this.#groups.clear();
  }
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** GKeyFile's value unescaping (g_key_file_parse_value_as_string); null on an invalid sequence. */
function unescape(raw: Uint8Array): Uint8Array | null {
  if (!raw.includes(0x5c)) return raw.slice();
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c) {
      out[n++] = raw[i];
      continue;
    }
    const next = raw[++i];
    const mapped = next === 0x73 ? 0x20 : next === 0x6e ? 0x0a : next === 0x74 ? 0x09 : next === 0x72 ? 0x0d : next === 0x5c ? 0x5c : -1;
    if (mapped < 0) {
      out.fill(0);
      return null;
    }
    out[n++] = mapped;
  }
  const value = out.slice(0, n);
  out.fill(0);
  return value;
}

/** Whether `bytes` is well-formed UTF-8 (checked without turning it into a string: it may be a password). */
function isUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    const n = b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= bytes.length) return false;
    for (let k = 1; k <= n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return false;
    if (n === 2) {
      const c = ((b & 0x0f) << 12) | ((bytes[i + 1] & 0x3f) << 6); // overlong forms and surrogates
      if (c < 0x800 || (c >= 0xd800 && c <= 0xdfff)) return false;
    } else if (n === 3) {
      const c = ((b & 0x07) << 18) | ((bytes[i + 1] & 0x3f) << 12);
      if (c < 0x10000 || c > 0x10ffff) return false;
    }
    i += n + 1;
  }
  return true;
}
