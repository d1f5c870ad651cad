/**
 * auth.conf as libvirt parses it (GLib's GKeyFile) and looks it up (virAuthConfigLookup): groups, keys,
 * whitespace, escapes, repeats, the [auth-SERVICE-HOST] / [auth-SERVICE-default] / [credentials-NAME] chain, and
 * strict, line-numbered errors that never quote the file. Where behaviour was in doubt it was checked with virsh
 * (test/integration/sasl-credentials.test.ts runs virsh on the same files).
 */
import { AuthConfig } from '../../src/protocol/sasl/auth-config';
import { AuthConfigError } from '../../src/protocol/sasl/errors';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const parse = (text: string) => AuthConfig.parse('/x/auth.conf', enc(text));
const get = (c: AuthConfig, host: string | null, key: string) => dec(c.lookup('libvirt', host, key));

function failure(text: string | Uint8Array): AuthConfigError {
  try {
    AuthConfig.parse('/x/auth.conf', typeof text === 'string' ? enc(text) : text);
  } catch (e) {
    expect(e).toBeInstanceOf(AuthConfigError);
    expect((e as AuthConfigError).code).toBe('ERR_AUTH_CONFIG');
    return e as AuthConfigError;
  }
  throw new Error('expected an AuthConfigError');
}

const BASIC = `
# comment
[credentials-test]
authname=fred
password=123456

[credentials-prod]
authname=bar
password=letmein

[auth-libvirt-test1.example.com]
credentials=test

[auth-libvirt-prod1.example.com]
credentials=prod

[auth-libvirt-default]
credentials=test
`;

test('a host\'s own group, else [auth-libvirt-default]; unknown keys are undefined', () => {
  const c = parse(BASIC);
  expect(get(c, 'prod1.example.com', 'authname')).toBe('bar');
  expect(get(c, 'prod1.example.com', 'password')).toBe('letmein');
  expect(get(c, 'test1.example.com', 'authname')).toBe('fred');
  expect(get(c, 'other.example.com', 'password')).toBe('123456');
  expect(get(c, 'prod1.example.com', 'realm')).toBeUndefined();
  expect(dec(c.lookup('esx', 'prod1.example.com', 'username'))).toBeUndefined();
});

test('no host (a unix socket) is looked up as localhost, as VIR_URI_SERVER does', () => {
  const c = parse('[credentials-a]\nauthname=local\n[auth-libvirt-localhost]\ncredentials=a\n[credentials-b]\nauthname=other\n[auth-libvirt-default]\ncredentials=b\n');
  expect(get(c, null, 'authname')).toBe('local');
  expect(get(c, 'localhost', 'authname')).toBe('local');
  expect(get(c, '127.0.0.1', 'authname')).toBe('other');
});

test('group names and host names compare exactly (case matters)', () => {
  const c = parse('[credentials-a]\nauthname=x\n[auth-libvirt-Host]\ncredentials=a\n');
  expect(get(c, 'Host', 'authname')).toBe('x');
  expect(get(c, 'host', 'authname')).toBeUndefined();
});

test('whitespace: leading on lines, around =, after ]; trailing spaces of a value are kept', () => {
  const c = parse('  [credentials-a]  \n  authname  =   alice\npassword=pw \n\t# indented comment\n[auth-libvirt-default]\ncredentials = a\n');
  expect(get(c, 'h', 'authname')).toBe('alice');
  expect(get(c, 'h', 'password')).toBe('pw ');
});

test('CRLF line ends', () => {
  expect(get(parse('[credentials-a]\r\npassword=pw\r\n[auth-libvirt-default]\r\ncredentials=a\r\n'), 'h', 'password')).toBe('pw');
});

test('escapes \\s \\n \\t \\r \\\\ in values', () => {
  const c = parse('[credentials-a]\npassword=\\s a\\\\b\\tc\\nd\\re\\s\n[auth-libvirt-default]\ncredentials=a\n');
  expect(get(c, 'h', 'password')).toBe('  a\\b\tc\nd\re ');
});

test('a repeated key: the last wins; a repeated group: merged', () => {
  const c = parse('[credentials-a]\npassword=one\npassword=two\n[auth-libvirt-default]\ncredentials=a\n[credentials-a]\nauthname=n\n');
  expect(get(c, 'h', 'password')).toBe('two');
  expect(get(c, 'h', 'authname')).toBe('n');
});

test('the credentials reference keeps its trailing space, as libvirt does', () => {
  const c = parse('[credentials-a]\npassword=pw\n[auth-libvirt-default]\ncredentials=a \n');
  expect(() => c.lookup('libvirt', 'h', 'password')).toThrow("refers to 'credentials-a ', which does not exist");
});

test('an auth group without credentials, or naming a missing group, is an error (VIR_ERR_CONF_SYNTAX in libvirt)', () => {
  expect(() => parse('[auth-libvirt-default]\nx=1\n').lookup('libvirt', 'h', 'password')).toThrow(/has no 'credentials' item/);
  expect(() => parse('[auth-libvirt-default]\ncredentials=zz\n').lookup('libvirt', 'h', 'password')).toThrow(/'credentials-zz', which does not exist/);
});

test('UTF-8 values (a non-ASCII password) survive as bytes', () => {
  expect(get(parse('[credentials-a]\npassword=Grüße\n[auth-libvirt-default]\ncredentials=a\n'), 'h', 'password')).toBe('Grüße');
});

test.each([
  ['a key before any group', 'password=secret-value\n[credentials-a]\n', 1],
  ['a line that is nothing', '[credentials-a]\nsecret-value\n', 2],
  ['an unclosed group header', '[credentials-a\n', 1],
  ['text after a group header', '[credentials-a]x\n', 1],
  ['an empty group name', '[]\n', 1],
  ['a bad escape', '[credentials-a]\n\npassword=secret-value\\q\n', 3],
  ['a backslash at the end', '[credentials-a]\npassword=secret-value\\\n', 2],
  ['an empty key', '[credentials-a]\n=secret-value\n', 2],
  ['a key with [ ]', '[credentials-a]\npass]word=secret-value\n', 2],
])('%s: an error naming line %d, never quoting it', (_what, text, line) => {
  const e = failure(text);
  expect(e.line).toBe(line);
  expect(e.message).toContain(`/x/auth.conf:${line}:`);
  expect(e.message).not.toContain('secret-value');
});

test('bytes that are not UTF-8, and NUL bytes, are errors', () => {
  expect(failure(Uint8Array.from([...enc('[credentials-a]\npassword=ab'), 0xc3, 0x28, 0x0a])).line).toBe(2);
  expect(failure(Uint8Array.from([...enc('[credentials-a]\npassword=ab'), 0xed, 0xa0, 0x80, 0x0a])).line).toBe(2); // a surrogate
  expect(failure(Uint8Array.from([...enc('[credentials-a]\npassword=ab'), 0xf0, 0x82, 0x82, 0xac])).line).toBe(2); // overlong
  expect(failure(Uint8Array.from([...enc('[credentials-a]\npassword=a'), 0, 0x62])).line).toBe(2);
});

test('a file over 1 MiB is refused', () => {
  expect(failure(new Uint8Array(1024 * 1024 + 1).fill(0x23)).message).toMatch(/larger than/);
});

test('values are copies: zeroing the file bytes (even a Node Buffer) or a looked-up value changes nothing; dispose() zeroes', () => {
  const file = Buffer.from('[credentials-a]\npassword=pw\n[auth-libvirt-default]\ncredentials=a\n');
  const c = AuthConfig.parse('/x', file);
  file.fill(0);
  const v = c.lookup('libvirt', 'h', 'password')!;
  expect(dec(v)).toBe('pw');
  v.fill(0);
  expect(get(c, 'h', 'password')).toBe('pw');
  c.dispose();
  expect(c.hasGroup('credentials-a')).toBe(false);
  expect(get(c, 'h', 'password')).toBeUndefined();
});

test('keys and groups named like Object.prototype members are plain names', () => {
  const c = parse('[__proto__]\nconstructor=1\n[credentials-a]\n__proto__=x\n[auth-libvirt-default]\ncredentials=a\n');
  expect(c.hasGroup('__proto__')).toBe(true);
  expect(get(c, 'h', '__proto__')).toBe('x');
  expect(get(c, 'h', 'toString')).toBeUndefined();
});
