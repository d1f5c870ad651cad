/**
 * The libvirt URI parser. Every expected `remoteName` below is what libvirt 9.0's own client sent for the same
 * URI (read from `LIBVIRT_DEBUG=1 virsh -c URI`, line "proceeding with name = ..."), so these tests pin the
 * behaviour of doRemoteOpen, quirks included.
 */

import fc from 'fast-check';
import { UriError } from '../../src/errors';
import {
  LIBVIRTD_TCP_PORT, LIBVIRTD_TLS_PORT, defaultUri, parseUri, remoteOpenName, resolveUri,
} from '../../src/transport/uri';

describe('parseUri: the pieces of a URI', () => {
  it.each([
    // [uri, transport, transportName, user, host, port, path]
    ['qemu:///system', 'unix', null, null, null, null, '/system'],
    ['qemu:///session', 'unix', null, null, null, null, '/session'],
    ['test:///default', 'unix', null, null, null, null, '/default'],
    ['qemu://compute1.libvirt.org/system', 'tls', null, null, 'compute1.libvirt.org', null, '/system'],
    ['xen+ssh://rjones@towada/system', 'ssh', 'ssh', 'rjones', 'towada', null, '/system'],
    ['test+tcp://localhost:5000/default', 'tcp', 'tcp', null, 'localhost', 5000, '/default'],
    ['qemu+tls://host.example:16515/system', 'tls', 'tls', null, 'host.example', 16515, '/system'],
    ['qemu+tcp:///system', 'tcp', 'tcp', null, null, null, '/system'],
    ['qemu+libssh2://user@host/system', 'ssh', 'libssh2', 'user', 'host', null, '/system'],
    ['qemu+libssh://user@host/system', 'ssh', 'libssh', 'user', 'host', null, '/system'],
    ['qemu+unix:///system', 'unix', 'unix', null, null, null, '/system'],
    ['qemu+TCP://h/system', 'tcp', 'tcp', null, 'h', null, '/system'],
    ['qemu+tcp://[::1]/system', 'tcp', 'tcp', null, '::1', null, '/system'],
    ['qemu+tcp://[::1]:99/system', 'tcp', 'tcp', null, '::1', 99, '/system'],
    ['qemu+tcp://[fe80::1%25eth0]:5/x', 'tcp', 'tcp', null, 'fe80::1%eth0', 5, '/x'],
    ['qemu+tcp://us%40er@h%41/sys%74em', 'tcp', 'tcp', 'us@er', 'hA', null, '/system'],
    ['qemu+tcp://h:0/system', 'tcp', 'tcp', null, 'h', null, '/system'], // port 0 means unset in viruri.c
    ['qemu+tcp://:123/system', 'tcp', 'tcp', null, null, null, '/system'], // empty server: no server, no port
    ['qemu+ssh://user@/system', 'ssh', 'ssh', 'user', null, null, '/system'],
    ['qemu+tcp://h', 'tcp', 'tcp', null, 'h', null, null],
    ['qemu:/system', 'unix', null, null, null, null, '/system'],
  ])('%s', (uri, transport, transportName, user, host, port, path) => {
    const u = parseUri(uri);
    expect(u.transport).toBe(transport);
    expect(u.transportName).toBe(transportName);
    expect(u.user).toBe(user);
    expect(u.host).toBe(host);
    expect(u.port).toBe(port);
    expect(u.path).toBe(path);
    expect(u.input).toBe(uri);
  });

  it('keeps the driver as written and lower-cases only the transport', () => {
    const u = parseUri('QEMU+TCP://h/system');
    expect(u.driver).toBe('QEMU');
    expect(u.scheme).toBe('QEMU+TCP');
    expect(u.transportName).toBe('tcp');
  });

  it('exports libvirt\'s default ports', () => {
    expect(LIBVIRTD_TCP_PORT).toBe(16509);
    expect(LIBVIRTD_TLS_PORT).toBe(16514);
  });
});

describe('parseUri: the name sent in REMOTE_PROC_CONNECT_OPEN (as libvirt 9.0 computes it)', () => {
  it.each([
    ['qemu:///system', 'qemu:///system'],
    ['qemu:///session', 'qemu:///session'],
    ['lxc:///', 'lxc:///'],
    ['xen:///system', 'xen:///system'],
    ['test+tcp://localhost:5000/default', 'test:///default'],
    ['xen://towada/system?no_verify=1', 'xen:///system'],
    ['qemu+unix:///system?socket=/opt/libvirt/run/libvirt/libvirt-sock', 'qemu:///system'],
    ['qemu+libssh2://user@host/system?known_hosts=/home/user/.ssh/known_hosts', 'qemu:///system'],
    ['qemu+tcp://user@host:1234/system?foo=bar&name2=x%20y&no_verify=1&socket=/x&mode=legacy', 'qemu:///system?foo=bar&name2=x%20y'],
    ['qemu+tcp://[::1]/system#frag', 'qemu:///system#frag'],
    ['qemu+tcp://h/system?a=1&a=2&b&c=', 'qemu:///system?a=1&a=2&b=&c='],
    ['qemu+tcp://h', 'qemu://'],
    ['qemu+tcp://h/', 'qemu:///'],
    ['qemu+tcp://h?x=1', 'qemu://?x=1'],
    ['qemu+tcp://h#f', 'qemu://#f'],
    ['qemu:system', 'qemu://system'],
    ['QEMU+TCP://h/system', 'QEMU:///system'],
    // Values are decoded, then re-encoded keeping only A-Z a-z 0-9 - _ . ~; '+' is literal, not a space.
    ['qemu+tcp://h/system?a=x+y&b=%2F&c=%41&d=a%26b&e=%3D', 'qemu:///system?a=x%2By&b=%2F&c=A&d=a%26b&e=%3D'],
    ['qemu+tcp://h/system?v=-_.~!*()%27,:@/?', 'qemu:///system?v=-_.~%21%2A%28%29%27%2C%3A%40%2F%3F'],
    ['qemu+tcp://h/x?q=a?b/c', 'qemu:///x?q=a%3Fb%2Fc'],
    ['qemu+tcp://h/system?x=%C3%A9', 'qemu:///system?x=%C3%A9'],
    // Parameter names are written back decoded and unescaped.
    ['qemu+tcp://h/system?a%20b=1&c%3Dd=2', 'qemu:///system?a b=1&c=d=2'],
    ['qemu+tcp://h/x?%41%3d=v%26', 'qemu:///x?A==v%26'],
    // Paths: decoded, then escaped except unreserved and / ; @ & = + $ , (':' is escaped).
    ['qemu+tcp://h/sys%74em', 'qemu:///system'],
    ['qemu+tcp://h/a%20b', 'qemu:///a%20b'],
    ["qemu+tcp://h/a:b;c@d&e=f+g$h,i!j*k'l(m)n~o", "qemu:///a%3Ab;c@d&e=f+g$h,i!j*k'l(m)n~o"],
    ['qemu+tcp://h/a%3Fb%23c%25d%5B%5D', 'qemu:///a%3Fb%23c%25d%5B%5D'],
    ['qemu+tcp://h/a%C3%A9', 'qemu:///a%C3%A9'],
    ['qemu+tcp://h/x/%2F', 'qemu:///x//'],
    ['qemu+tcp://h//system', 'qemu:////system'],
    ['qemu+tcp://h/system/?x', 'qemu:///system/?x='],
    // Fragments keep reserved characters.
    ['qemu+tcp://h/system#a%20b:c?d', 'qemu:///system#a%20b:c?d'],
    ['qemu+tcp://h/x#', 'qemu:///x#'],
    ['qemu+tcp://h/x#%23', 'qemu:///x#%23'],
    // virURIParseParams: '&' separates; ';' only when no '&' follows at all.
    ['qemu+tcp://h/system?a=1;b=2', 'qemu:///system?a=1&b=2'],
    ['qemu+tcp://h/system?a=1;b=2&c=3', 'qemu:///system?a=1%3Bb%3D2&c=3'],
    ['qemu+tcp://h/x?a=1&b=2;c=3', 'qemu:///x?a=1&b=2&c=3'],
    ['qemu+tcp://h/x?a;b', 'qemu:///x?a=&b='],
    // Empty sections are skipped, "=value" is ignored, "a==1" has the value "=1".
    ['qemu+tcp://h/system?', 'qemu:///system'],
    ['qemu+tcp://h/system?&&a=1&&', 'qemu:///system?a=1'],
    ['qemu+tcp://h/system?=x', 'qemu:///system'],
    ['qemu+tcp://h/system?a==1', 'qemu:///system?a=%3D1'],
    // libxml2's unescape reads "length 0" as "to the end": a lone '=' names the rest of the query.
    ['qemu+tcp://h/x?=', 'qemu:///x?=='],
    ['qemu+tcp://h/x?a&=&b', 'qemu:///x?a=&=&b=&b='],
    // Decoded values are C strings: a NUL ends them.
    ['qemu+tcp://h/x?a=%00', 'qemu:///x?a='],
    // The remote driver's own parameters are removed, matched case-insensitively.
    ['qemu+tcp://h/system?a=1&A=2&NO_VERIFY=1&Socket=/s', 'qemu:///system?a=1&A=2'],
    ['qemu+tcp://h/system?authfile=/x&auth=sasl&no_sanity=1&no_tty=1&command=x&netcat=y&keyfile=k&pkipath=p'
      + '&known_hosts=k&known_hosts_verify=auto&tls_priority=NORMAL&sshauth=agent&proxy=netcat', 'qemu:///system'],
    // name= overrides everything; the last one wins; "remote" URIs send an empty name (the daemon probes).
    ['qemu+tcp://h/system?Name=foo', 'foo'],
    ['qemu+tcp://h/x?name=a&name=b', 'b'],
    ['qemu+tcp://h/x?name=qemu%3A%2F%2F%2Fsystem%3Fa%3Db', 'qemu:///system?a=b'],
    ['qemu+tcp://h/system?name=', ''],
    ['qemu+tcp://h/x?name=%20', ' '],
    ['remote:///system', ''],
    ['remote+tcp://h/system', ''],
    ['REMOTE+tcp://h/x', 'REMOTE:///x'],
  ])('%s sends %j', (uri, name) => {
    expect(parseUri(uri).remoteName).toBe(name);
  });

  it('keeps mode and socket for virt-ssh-helper in proxyName, in their original places', () => {
    const u = parseUri('qemu+ssh://u@h:2222/system?x=1&Socket=/s%20t&mode=direct&keyfile=/k&y=2');
    expect(u.remoteName).toBe('qemu:///system?x=1&y=2');
    expect(u.proxyName).toBe('qemu:///system?x=1&Socket=%2Fs%20t&mode=direct&y=2');
    expect(parseUri('qemu+ssh://h/system?name=qemu:///session&mode=direct').proxyName).toBe('qemu:///session');
    expect(parseUri('remote+ssh://h/system?socket=/s').proxyName).toBe('');
  });

  it('round-trips any parameter value through the name (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', minLength: 1 }).filter((v) => !v.includes('\0')), (value) => {
      const u = parseUri(`qemu+tcp://h/system?k=${encodeURIComponent(value)}&z=1`);
      expect(u.params).toEqual([{ name: 'k', value }, { name: 'z', value: '1' }]);
      const again = parseUri(`qemu+tcp://h${u.remoteName.slice('qemu://'.length)}`);
      expect(again.params).toEqual(u.params);
      expect(again.remoteName).toBe(u.remoteName);
    }));
  });
});

describe('parseUri: remote driver parameters, typed', () => {
  it('types every documented parameter', () => {
    const u = parseUri('qemu+ssh://root@example.com:22/system?name=qemu:///system&command=/opt/ssh&socket=/run/s'
      + '&netcat=/bin/nc&keyfile=/k&no_verify=1&no_tty=0&no_sanity=1&pkipath=/pki&known_hosts=/kh'
      + '&known_hosts_verify=ignore&sshauth=privkey,agent,password,keyboard-interactive&proxy=native&mode=direct'
      + '&tls_priority=NORMAL:-VERS-SSL3.0&auth=sasl&authfile=/a&other=1');
    expect(u.remote).toEqual({
      name: 'qemu:///system', command: '/opt/ssh', socket: '/run/s', netcat: '/bin/nc', keyfile: '/k',
      noVerify: true, noTty: false, noSanity: true, pkipath: '/pki', knownHosts: '/kh', knownHostsVerify: 'ignore',
      sshauth: ['privkey', 'agent', 'password', 'keyboard-interactive'], proxy: 'native', mode: 'direct',
      tlsPriority: 'NORMAL:-VERS-SSL3.0', auth: 'sasl', authfile: '/a',
    });
    expect(u.passthrough).toEqual([{ name: 'other', value: '1' }]);
    expect(u.params).toHaveLength(18);
  });

  it('reads booleans as libvirt does: any decimal integer, non-zero is true', () => {
    expect(parseUri('qemu+tcp://h/x?no_verify=2').remote.noVerify).toBe(true);
    expect(parseUri('qemu+tcp://h/x?no_verify=-1').remote.noVerify).toBe(true);
    expect(parseUri('qemu+tcp://h/x?no_verify=%201').remote.noVerify).toBe(true);
    expect(parseUri('qemu+tcp://h/x?no_verify=0').remote.noVerify).toBe(false);
    expect(parseUri('qemu+tcp://h/x').remote.noVerify).toBeUndefined();
  });

  it('lets the last repeat win, and checks only the last mode/proxy (libvirt does the same)', () => {
    expect(parseUri('qemu:///system?mode=legacy&mode=direct').remote.mode).toBe('direct');
    expect(parseUri('qemu:///system?mode=bogus&mode=legacy').remote.mode).toBe('legacy');
    expect(parseUri('qemu:///system?socket=/a&SOCKET=/b').remote.socket).toBe('/b');
  });

  it('keeps unknown parameters in order, repeats included, and prototype names are just names', () => {
    const u = parseUri('qemu:///system?b=2&a=1&b=3&constructor=x&toString=y');
    expect(u.passthrough).toEqual([
      { name: 'b', value: '2' }, { name: 'a', value: '1' }, { name: 'b', value: '3' },
      { name: 'constructor', value: 'x' }, { name: 'toString', value: 'y' },
    ]);
    expect(u.remoteName).toBe('qemu:///system?b=2&a=1&b=3&constructor=x&toString=y');
  });
});

describe('parseUri: malformed URIs', () => {
  it.each([
    ['', /the URI is empty/],
    ['myalias', /no scheme \(URI aliases/],
    ['/var/run/libvirt/libvirt-sock', /must start with a scheme/],
    ['1qemu://h/system', /must start with a scheme/],
    ['qe_mu+tcp://h/x', /must start with a scheme/],
    ['+tcp://h/system', /must start with a scheme/],
    ['qemu+bogus://h/system', /unknown transport 'bogus'/],
    ['qemu+://h/system', /unknown transport ''/],
    ['qemu++tcp://h/system', /unknown transport '\+tcp'/],
    ['qemu+tcp+x://h/system', /unknown transport 'tcp\+x'/],
    ['qemu+constructor://h/system', /unknown transport 'constructor'/],
    ['qemu+unix://h/system', /unix transport cannot reach the remote host 'h'/],
    ['qemu+ext:///system?command=/bin/nc', /'ext' transport runs a local command and is not supported.*options\.transport/],
    ['qemu+tcp://h:/system', /empty port/],
    ['qemu+tcp://h:12a/x', /port '12a' is not a number/],
    ['qemu+tcp://h:1:2/x', /port '1:2' is not a number/],
    ['qemu+tcp://h:70000/x', /port 70000 is out of range/],
    ['qemu+tcp://::1/system', /IPv6 addresses need brackets/],
    ['qemu+tcp://[::1/x', /no closing '\]'/],
    ['qemu+tcp://[::1]x/x', /unexpected 'x' after the IPv6 address/],
    ['qemu+tcp://[]/x', /empty IPv6 address/],
    ['qemu+tcp://a]b/x', /must be written in brackets/],
    ['qemu+tcp://a@b@h/x', /userinfo contains '@'/],
    ['qemu+tcp://h/a b', /path contains " ", which must be percent-encoded/],
    ['qemu+tcp://h/é', /path contains "é", which must be percent-encoded \(as UTF-8\)/],
    ['qemu+tcp://h/a%zz', /bad percent-escape '%zz' in the path/],
    ['qemu+tcp://h/a%2', /bad percent-escape '%2' in the path/],
    ['qemu+tcp://h/a[1]', /path contains '\['/],
    ['qemu+tcp://h/a|b', /path contains '\|'/],
    ['qemu+tcp://h/a{b}', /path contains '\{'/],
    ['qemu+tcp://h/system?x=%zz', /bad percent-escape '%zz' in the query/],
    ['qemu+tcp://h/system?x=a b', /query contains " "/],
    ['qemu+tcp://h/system?x=[1]', /query contains '\['/],
    ['qemu+tcp://h/system?q="x"', /query contains '"'/],
    ['qemu+tcp://h/x#a#b', /fragment contains '#'/],
    ['qemu+tcp://h/x?a=%FF', /not valid UTF-8/],
    ['qemu+tcp://h/system?no_verify=yes', /no_verify must be an integer such as 0 or 1, not 'yes'/],
    ['qemu+tcp://h/system?no_verify=', /no_verify must be an integer/],
    ['qemu+tcp://h/x?no_verify=0x1', /no_verify must be an integer/],
    ['qemu+tcp://h/x?no_tty=1a', /no_tty must be an integer/],
    ['qemu+tcp://h/x?no_sanity=true', /no_sanity must be an integer/],
    ['qemu+tcp://h/system?mode=foo', /mode must be one of auto, direct, legacy, not 'foo'/],
    ['qemu+tcp://h/x?mode=LEGACY', /mode must be one of/],
    ['qemu+tcp://h/x?mode=legacy&mode=bogus', /mode must be one of .* not 'bogus'/],
    ['qemu+tcp://h/system?proxy=foo', /proxy must be one of auto, netcat, native/],
    ['qemu+tcp://h/x?proxy=NATIVE', /proxy must be one of/],
    ['qemu+libssh://h/x?known_hosts_verify=bogus', /known_hosts_verify must be one of normal, auto, ignore/],
    ['qemu+ssh://h/x?sshauth=agent,foo', /sshauth lists 'foo'/],
    ['qemu+ssh://h/x?sshauth=', /sshauth lists ''/],
  ])('%j is refused: %s', (uri, message) => {
    let caught: unknown;
    try {
      parseUri(uri);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(UriError);
    expect((caught as UriError).code).toBe('ERR_URI');
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).toContain(`'${uri}'`);
  });

  it('refuses a password and never repeats it', () => {
    let caught: Error | undefined;
    try {
      parseUri('qemu+ssh://bob:hunter2@h/system');
    } catch (err) {
      caught = err as Error;
    }
    expect(caught).toBeInstanceOf(UriError);
    expect(caught!.message).toMatch(/password in the URI is not supported/);
    expect(caught!.message).toContain('bob:***@h');
    expect(caught!.message).not.toContain('hunter2');
  });
});

describe('LIBVIRT_DEFAULT_URI', () => {
  it('is used when no URI is given, and only when set and non-empty', () => {
    expect(defaultUri({ LIBVIRT_DEFAULT_URI: 'qemu:///session' })).toBe('qemu:///session');
    expect(defaultUri({ LIBVIRT_DEFAULT_URI: '' })).toBeNull();
    expect(defaultUri({})).toBeNull();
    expect(resolveUri(undefined, { LIBVIRT_DEFAULT_URI: 'test+tcp://h/default' })?.remoteName).toBe('test:///default');
    expect(resolveUri('', { LIBVIRT_DEFAULT_URI: 'qemu:///session' })?.path).toBe('/session');
    expect(resolveUri(null, {})).toBeNull();
  });

  it('does not override an explicit URI, and passes a parsed one through', () => {
    const env = { LIBVIRT_DEFAULT_URI: 'qemu:///session' };
    expect(resolveUri('qemu:///system', env)?.path).toBe('/system');
    const parsed = parseUri('lxc:///');
    expect(resolveUri(parsed, env)).toBe(parsed);
  });

  it('reports a bad default like any other bad URI', () => {
    expect(() => resolveUri(undefined, { LIBVIRT_DEFAULT_URI: 'qemu+bogus:///x' })).toThrow(UriError);
  });

  it('sends an empty name when there is no URI at all (the daemon probes)', () => {
    expect(remoteOpenName(null)).toBe('');
    expect(remoteOpenName(parseUri('qemu:///system'))).toBe('qemu:///system');
  });
});
