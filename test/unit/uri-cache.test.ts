/**
 * parseUri answers a URI parsed before from a small cache: the same frozen object, which nobody can change
 * under another caller; bad URIs are refused every time.
 */
import { UriError } from '../../src/errors';
import { parseUri } from '../../src/transport/uri';

test('the same URI gives the same frozen result, parameters included', () => {
  const text = 'qemu+ssh://root@host:2222/system?keyfile=/k&sshauth=agent,privkey&foo=bar';
  const a = parseUri(text);
  expect(parseUri(text)).toBe(a);
  expect(Object.isFrozen(a) && Object.isFrozen(a.params) && Object.isFrozen(a.params[0])).toBe(true);
  expect(Object.isFrozen(a.remote) && Object.isFrozen(a.remote.sshauth) && Object.isFrozen(a.passthrough)).toBe(true);
  expect(() => (a.remote as { keyfile?: string }).keyfile = '/other').toThrow(TypeError);
  expect(parseUri(text).remote.keyfile).toBe('/k');
});

test('bad URIs are refused every time, not cached', () => {
  for (let i = 0; i < 3; i++) expect(() => parseUri('qemu+bogus:///system')).toThrow(UriError);
});

test('many URIs: the cache stays small and still answers correctly', () => {
  for (let i = 0; i < 200; i++) expect(parseUri(`qemu+tcp://h${i}/system`).host).toBe(`h${i}`);
  expect(parseUri('qemu+tcp://h0/system').host).toBe('h0');
});
