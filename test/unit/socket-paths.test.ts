/**
 * Socket choice. The expected paths for "nothing exists" and for the session folders were checked against
 * libvirt 9.0's client (`LIBVIRT_DEBUG=1 virsh -c URI`, lines "Chosen UNIX socket ...") as root and as nobody.
 */

import { UriError } from '../../src/errors';
import { chooseSocket, userRuntimeDir, wantsSessionDaemon } from '../../src/transport/socket-paths';
import { parseUri } from '../../src/transport/uri';

const none = (): boolean => false;
const only = (...paths: string[]) => (p: string): boolean => paths.includes(p);
const XDG = { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/u' };

describe('system daemons (root)', () => {
  const base = { env: XDG, uid: 0 };

  it('falls back to libvirtd\'s socket when no socket exists (libvirt 9.0 builds with legacy default)', () => {
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system'), exists: none })).toEqual({
      path: '/var/run/libvirt/libvirt-sock', daemon: 'libvirtd', mode: 'legacy', session: false,
    });
  });

  it('can be told the build default is direct', () => {
    const c = chooseSocket({ ...base, uri: parseUri('qemu:///system'), exists: none, defaultMode: 'direct' });
    expect(c).toMatchObject({ path: '/var/run/libvirt/virtqemud-sock', daemon: 'virtqemud', mode: 'direct' });
  });

  it('prefers the modular daemon in auto mode when its socket exists', () => {
    const exists = only('/var/run/libvirt/virtqemud-sock', '/var/run/libvirt/libvirt-sock');
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system'), exists })).toMatchObject({
      path: '/var/run/libvirt/virtqemud-sock', daemon: 'virtqemud', mode: 'direct',
    });
  });

  it('uses libvirtd when only its socket exists', () => {
    const exists = only('/var/run/libvirt/libvirt-sock');
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system'), exists }).daemon).toBe('libvirtd');
  });

  it.each([
    ['lxc:///', 'virtlxcd'],
    ['xen:///system', 'virtxend'],
    ['test+unix:///default', 'virttestd'],
    ['vbox:///session', 'virtvboxd'],
    ['remote:///system', 'virtremoted'], // libvirt forms the name from the scheme, even for "remote"
  ])('maps %s to %s', (uri, daemon) => {
    const path = `/var/run/libvirt/${daemon}-sock`;
    expect(chooseSocket({ ...base, uri: parseUri(uri), exists: only(path) })).toMatchObject({ path, daemon, mode: 'direct' });
  });

  it('uses the -ro sockets for read-only connections', () => {
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system'), readOnly: true, exists: none }).path)
      .toBe('/var/run/libvirt/libvirt-sock-ro');
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system?mode=direct'), readOnly: true, exists: none }).path)
      .toBe('/var/run/libvirt/virtqemud-sock-ro');
  });

  it('obeys mode=direct and mode=legacy without looking', () => {
    const exists = jest.fn(() => true);
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system?mode=legacy'), exists }).path).toBe('/var/run/libvirt/libvirt-sock');
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///system?mode=direct'), exists: none }).path).toBe('/var/run/libvirt/virtqemud-sock');
    expect(exists).not.toHaveBeenCalled();
  });

  it('uses the system daemon for /session URIs too when running as root', () => {
    expect(chooseSocket({ ...base, uri: parseUri('qemu:///session'), exists: none }).path).toBe('/var/run/libvirt/libvirt-sock');
  });

  it('with no URI, probes through virtproxyd or libvirtd, both on libvirt-sock', () => {
    expect(chooseSocket({ ...base, uri: null, exists: only('/var/run/libvirt/libvirt-sock') })).toMatchObject({
      path: '/var/run/libvirt/libvirt-sock', daemon: 'virtproxyd', mode: 'direct',
    });
  });
});

describe('session daemons (not root)', () => {
  it('live in $XDG_RUNTIME_DIR/libvirt, with no read-only twin', () => {
    const c = chooseSocket({ uri: parseUri('qemu:///session'), env: XDG, uid: 1000, exists: none, readOnly: true });
    expect(c).toEqual({ path: '/run/user/1000/libvirt/libvirt-sock', daemon: 'libvirtd', mode: 'legacy', session: true });
    expect(chooseSocket({ uri: parseUri('qemu:///session?mode=direct'), env: XDG, uid: 1000, exists: none }).path)
      .toBe('/run/user/1000/libvirt/virtqemud-sock');
  });

  it('fall back to $XDG_CACHE_HOME, then $HOME/.cache, then the password database home', () => {
    expect(userRuntimeDir({ XDG_RUNTIME_DIR: '/run/user/7/', HOME: '/h' })).toBe('/run/user/7/libvirt');
    expect(userRuntimeDir({ XDG_RUNTIME_DIR: '', XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/libvirt');
    expect(userRuntimeDir({ XDG_CACHE_HOME: 'rel' })).toBe('rel/libvirt');
    expect(userRuntimeDir({ HOME: '/home/u' })).toBe('/home/u/.cache/libvirt');
    expect(userRuntimeDir({ HOME: '' }, '/nonexistent')).toBe('/nonexistent/.cache/libvirt');
    expect(() => userRuntimeDir({})).toThrow(UriError);
  });

  it('are used for /session paths, test+ schemes, no URI at all, and plain test:/// (our addition)', () => {
    expect(wantsSessionDaemon(parseUri('qemu:///session'), 1000)).toBe(true);
    expect(wantsSessionDaemon(parseUri('test+unix:///default'), 1000)).toBe(true);
    expect(wantsSessionDaemon(parseUri('test+tcp://h/default'), 1000)).toBe(true);
    expect(wantsSessionDaemon(null, 1000)).toBe(true);
    expect(wantsSessionDaemon(parseUri('test:///default'), 1000)).toBe(true);
    expect(wantsSessionDaemon(parseUri('qemu:///system'), 1000)).toBe(false);
    expect(wantsSessionDaemon(parseUri('qemu:///session/'), 1000)).toBe(false);
    expect(wantsSessionDaemon(parseUri('TEST+unix:///default'), 1000)).toBe(false);
    expect(wantsSessionDaemon(parseUri('test+tcp://h'), 1000)).toBe(false); // no path
    expect(wantsSessionDaemon(parseUri('test:///default'), 0)).toBe(false);
    expect(wantsSessionDaemon(null, 0)).toBe(false);
  });

  it('non-root system URIs still use the system socket', () => {
    expect(chooseSocket({ uri: parseUri('qemu:///system'), env: XDG, uid: 1000, exists: none }).path)
      .toBe('/var/run/libvirt/libvirt-sock');
  });
});

describe('explicit sockets and other transports', () => {
  it('takes socket= as given', () => {
    const c = chooseSocket({ uri: parseUri('qemu+unix:///system?socket=/tmp/s&mode=direct'), env: {}, uid: 0, exists: none });
    expect(c).toEqual({ path: '/tmp/s', daemon: null, mode: 'explicit', session: false });
  });

  it('uses libvirtd\'s path for ssh in auto mode, never looking at local files', () => {
    const exists = jest.fn(() => true);
    const c = chooseSocket({ uri: parseUri('qemu+ssh://h/system'), env: {}, uid: 0, exists });
    expect(c).toMatchObject({ path: '/var/run/libvirt/libvirt-sock', daemon: 'libvirtd', mode: 'legacy' });
    expect(exists).not.toHaveBeenCalled();
  });

  it('refuses mode=direct over ssh, as libvirt does', () => {
    expect(() => chooseSocket({ uri: parseUri('qemu+ssh://h/system?mode=direct'), env: {}, uid: 0, exists: none }))
      .toThrow(/mode=direct cannot be used with the ssh transport/);
  });

  it('has no socket for tcp or tls', () => {
    expect(() => chooseSocket({ uri: parseUri('qemu+tcp://h/system'), env: {}, uid: 0, exists: none }))
      .toThrow(/tcp transport does not use a unix socket/);
    expect(() => chooseSocket({ uri: parseUri('qemu://h/system'), env: {}, uid: 0, exists: none }))
      .toThrow(/tls transport does not use a unix socket/);
  });
});
