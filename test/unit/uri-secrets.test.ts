/**
 * A URI with a password is refused, and the password never shows in the error, whatever characters it holds:
 * `/`, `?` and `#` end the authority for an RFC 3986 parser, so the password is redacted before the URI is
 * parsed, and a parse failure of a URI that may hold one does not quote the pieces it failed on.
 */
import { inspect } from 'node:util';
import { connect, UriError } from '../../src';
import { parseUri } from '../../src/transport/uri';

/** Distinctive secrets: any 4 characters of one in a message can only come from the secret. */
const SECRETS = [
  'Xk9/Qz7Wm', 'Xk9?Qz7Wm', 'Xk9#Qz7Wm', 'Xk9/Qz?Wm#T2', '9731/Qz7Wm', '9731?Qz7Wm', '9731#Qz7Wm',
  'Xk9@Qz7Wm', 'Xk9:Qz7Wm', 'Xk9/Qz7@Wm', 'Xk9%2FQz7Wm', 'Xk9 Qz7Wm', 'Xk9[Qz7]Wm', 'Xk9/@?#Qz7Wm',
];
const SHAPES = [
  (pw: string) => `qemu+ssh://bob:${pw}@host.example/system`,
  (pw: string) => `qemu+ssh://bob:${pw}@host.example:2222/system?keyfile=/k`,
  (pw: string) => `qemu+tls://bob:${pw}@[::1]/system`,
  (pw: string) => `qemu+ssh://bob:${pw}@host.example`,
  (pw: string) => `qemu://:${pw}@host.example/system`,
];

function fragments(secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 4 <= secret.length; i++) out.push(secret.slice(i, i + 4));
  return out;
}

function leaked(text: string, secret: string): string[] {
  return fragments(secret).filter((f) => text.includes(f));
}

describe.each(SECRETS)('password %p', (secret) => {
  test.each(SHAPES.map((s, i) => [i, s(secret)]))('shape %i: refused with UriError, nothing of the password in the error', (_i, uri) => {
    let caught: unknown;
    try {
      parseUri(uri as string);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UriError);
    const text = `${(caught as Error).message}\n${(caught as Error).stack}\n${inspect(caught)}`;
    expect(leaked(text, secret)).toEqual([]);
    expect((caught as Error).message).toMatch(/^invalid libvirt URI '.*\*\*\*/);
  });
});

test('connect() reports the same redacted error', async () => {
  const err = await connect('qemu+ssh://bob:Xk9/Qz?Wm#T2@host.example/system').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UriError);
  expect(leaked((err as Error).message, 'Xk9/Qz?Wm#T2')).toEqual([]);
});

test('URIs without a password keep their full detail in errors', () => {
  expect(() => parseUri('qemu+ssh://bob@host:99999/system')).toThrow("invalid libvirt URI 'qemu+ssh://bob@host:99999/system': port 99999 is out of range (1-65535)");
  expect(() => parseUri('qemu+ssh://host:22/system?socket=/run/a@b&x=%zz')).toThrow(/bad percent-escape '%zz' in the query/);
  // An '@' later in the URI is no password: this one parses.
  expect(parseUri('qemu+ssh://host:22/system?socket=/run/a@b').remote.socket).toBe('/run/a@b');
});

test('a user name with characters that need escaping does not bring the password into the error', () => {
  expect(() => parseUri('qemu+ssh://b[o:Xk9/Qz7Wm@host/system')).toThrow(/^invalid libvirt URI 'qemu\+ssh:\/\/b\[o:\*\*\*@host\/system'/);
  // An IPv6 host with a port and an '@' in the query is no password.
  expect(parseUri('qemu+tls://[::1]:16514/system?pkipath=/p@q').host).toBe('::1');
});
