/**
 * Which auth.conf libvirt uses (virAuthGetConfigFilePathURI): $LIBVIRT_AUTH_FILE, the URI's authfile=, the
 * user's $XDG_CONFIG_HOME (or $HOME/.config) libvirt/auth.conf when readable, /etc/libvirt/auth.conf when
 * readable. The readability test is injected, so nothing outside a temporary folder is read or written.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AuthConfigError } from '../../src/protocol/sasl/errors';
import { authConfigLoader, locateAuthFile, readAuthFile, SYSTEM_AUTH_FILE } from '../../src/transport/auth-file';
import { parseUri } from '../../src/transport/uri';

const uri = (s: string) => parseUri(s);
const none = () => false;
const all = () => true;

test('$LIBVIRT_AUTH_FILE comes first, even when it cannot be read', () => {
  const r = locateAuthFile(uri('qemu+tls://h/system?authfile=/u'), { env: { LIBVIRT_AUTH_FILE: '/e', XDG_CONFIG_HOME: '/x' }, readable: all });
  expect(r).toEqual({ path: '/e', source: 'LIBVIRT_AUTH_FILE' });
  expect(locateAuthFile(null, { env: { LIBVIRT_AUTH_FILE: '/missing' }, readable: none }).path).toBe('/missing');
});

test('then the URI\'s first authfile= parameter, its name compared exactly', () => {
  expect(locateAuthFile(uri('qemu+tls://h/system?authfile=/u1&authfile=/u2'), { env: {}, readable: all }).path).toBe('/u1');
  expect(locateAuthFile(uri('qemu+tls://h/system?AuthFile=/u'), { env: { XDG_CONFIG_HOME: '/x' }, readable: all }).path).toBe('/x/libvirt/auth.conf');
});

test('then $XDG_CONFIG_HOME/libvirt/auth.conf, or $HOME/.config/libvirt/auth.conf, when readable', () => {
  expect(locateAuthFile(null, { env: { XDG_CONFIG_HOME: '/x', HOME: '/h' }, readable: all }).path).toBe('/x/libvirt/auth.conf');
  expect(locateAuthFile(null, { env: { XDG_CONFIG_HOME: '', HOME: '/h' }, readable: all }).path).toBe('/h/.config/libvirt/auth.conf');
  expect(locateAuthFile(null, { env: {}, homeDir: '/pw', readable: all }).path).toBe('/pw/.config/libvirt/auth.conf');
});

test('then /etc/libvirt/auth.conf when readable; else none', () => {
  const only = (f: string) => (p: string) => p === f;
  expect(locateAuthFile(null, { env: { XDG_CONFIG_HOME: '/x' }, readable: only(SYSTEM_AUTH_FILE) }).path).toBe(SYSTEM_AUTH_FILE);
  expect(locateAuthFile(null, { env: { XDG_CONFIG_HOME: '/x' }, readable: none })).toEqual({ path: null, source: 'none found' });
});

describe('reading', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-authfile-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a readable file is parsed; the loader finds it lazily through the environment', async () => {
    const file = path.join(dir, 'auth.conf');
    fs.writeFileSync(file, '[credentials-a]\nauthname=alice\n[auth-libvirt-default]\ncredentials=a\n', { mode: 0o600 });
    const c = await readAuthFile(file);
    expect(new TextDecoder().decode(c.lookup('libvirt', 'h', 'authname'))).toBe('alice');
    const load = authConfigLoader(null, { env: { LIBVIRT_AUTH_FILE: file } });
    expect((await load())?.path).toBe(file);
    expect(await authConfigLoader(null, { env: { XDG_CONFIG_HOME: dir }, readable: none })()).toBeNull();
  });

  test('a file that cannot be read, and an empty path, are AuthConfigErrors', async () => {
    await expect(readAuthFile(path.join(dir, 'nope.conf'))).rejects.toThrow(AuthConfigError);
    await expect(readAuthFile(path.join(dir, 'nope.conf'))).rejects.toThrow(/ENOENT/);
    await expect(readAuthFile('')).rejects.toThrow(/empty/);
    await expect(readAuthFile(dir)).rejects.toThrow(/EISDIR/);
  });

  test('a file over the size limit is an AuthConfigError naming the limit', async () => {
    const file = path.join(dir, 'huge.conf');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 64 * 1024 * 1024); // sparse: 64 MiB of size, no data
    const err = await readAuthFile(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthConfigError);
    expect((err as Error).message).toMatch(/larger than 1048576 bytes/);
  });
});
