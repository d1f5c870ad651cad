/**
 * What runs at the far end of an SSH connection, for every proxy and mode: the choice libvirt makes when the URI
 * names no proxy, the exact command strings (libvirt's virNetClientSSHHelperCommand, byte for byte), the socket
 * path for nc, the refusals, and (by running each command through /bin/sh, as sshd does, with stand-in
 * virt-ssh-helper and nc programs) the arguments the remote programs really receive.
 */

import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UriError } from '../../src/errors';
import { chooseProxy, doubleShellEscape, planRemoteEnd, shellEscape, sshProxyCommand, type RemoteEndOptions } from '../../src/transport/ssh-command';
import { parseUri, type LibvirtUri } from '../../src/transport/uri';

const env = { XDG_RUNTIME_DIR: '/run/user/1000', HOME: '/home/u' };
const user: RemoteEndOptions = { readOnly: false, env, uid: 1000, exists: () => false };

/** A URI with proxy=direct, which this library adds to libvirt's values. */
function direct(text: string): LibvirtUri {
  const uri = parseUri(text);
  return { ...uri, remote: { ...uri.remote, proxy: 'direct' as never } };
}

describe('shell quoting (virBufferEscapeShell)', () => {
  it('leaves plain words alone and single-quotes the rest', () => {
    expect(shellEscape('nc')).toBe('nc');
    expect(shellEscape('/usr/bin/nc-1.0_x')).toBe('/usr/bin/nc-1.0_x');
    expect(shellEscape('')).toBe("''");
    expect(shellEscape('a b')).toBe("'a b'");
    expect(shellEscape("it's")).toBe("'it'\\''s'");
    expect(doubleShellEscape('qemu:///system')).toBe('qemu:///system');
  });
});

describe('which proxy when the URI names none (doRemoteOpen)', () => {
  it.each([
    ['qemu+ssh://h/system', 1000, 'auto'],
    ['qemu+ssh://h/session', 1000, 'native'],
    ['test+ssh://h/default', 1000, 'native'],
    ['qemu+ssh://h/session', 0, 'auto'], // the local uid decides, as in libvirt
    ['qemu+ssh://h/system?socket=/s', 1000, 'netcat'],
    ['qemu+ssh://h/session?socket=/s', 1000, 'netcat'],
    ['qemu+ssh://h/system?proxy=native&socket=/s', 1000, 'native'],
    ['qemu+ssh://h/session?proxy=netcat', 1000, 'netcat'],
  ])('%s with local uid %i uses %s', (text, uid, want) => {
    expect(chooseProxy(parseUri(text), uid)).toBe(want);
  });
});

describe('the command strings', () => {
  const nc = (nc: string, sock: string) =>
    `if '${nc}' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'${nc}' $ARG -U ${sock}`;

  it('native: virt-ssh-helper with the name, -r when read-only', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/session'), user)).toEqual({
      kind: 'exec', proxy: 'native', socket: null, command: "sh -c 'virt-ssh-helper 'qemu:///session''",
    });
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=native'), { ...user, readOnly: true })).toMatchObject({
      command: "sh -c 'virt-ssh-helper -r 'qemu:///system''",
    });
  });

  it('netcat: nc -U with the system socket, or -sock-ro when read-only', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=netcat'), user)).toEqual({
      kind: 'exec', proxy: 'netcat', socket: '/var/run/libvirt/libvirt-sock',
      command: `sh -c '${nc('nc', '/var/run/libvirt/libvirt-sock')}'`,
    });
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=netcat'), { ...user, readOnly: true })).toMatchObject({
      socket: '/var/run/libvirt/libvirt-sock-ro',
    });
  });

  it('netcat for a session URI: the socket in the local runtime folder, as libvirt computes it', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/session?proxy=netcat'), user)).toMatchObject({
      socket: '/run/user/1000/libvirt/libvirt-sock',
    });
  });

  it('auto: the helper when the remote host has it, else nc', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system'), user)).toEqual({
      kind: 'exec', proxy: 'auto', socket: '/var/run/libvirt/libvirt-sock',
      command: "sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     virt-ssh-helper 'qemu:///system'; " +
        `else    ${nc('nc', '/var/run/libvirt/libvirt-sock')}; fi'`,
    });
  });

  it('a netcat path turns auto into netcat and is used in the command', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?netcat=/opt/nc'), user)).toMatchObject({
      proxy: 'netcat', command: `sh -c '${nc('/opt/nc', '/var/run/libvirt/libvirt-sock')}'`,
    });
  });

  it('an explicit socket is used as given', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/session?socket=/tmp/s/libvirt-sock'), user)).toMatchObject({
      proxy: 'netcat', socket: '/tmp/s/libvirt-sock',
    });
  });

  it('mode=legacy, mode=auto: libvirtd socket; mode=direct with nc is refused, as libvirt refuses it', () => {
    for (const mode of ['legacy', 'auto']) {
      expect(planRemoteEnd(parseUri(`qemu+ssh://h/system?proxy=netcat&mode=${mode}`), user)).toMatchObject({
        socket: '/var/run/libvirt/libvirt-sock',
      });
    }
    expect(() => planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=netcat&mode=direct'), user)).toThrow(UriError);
    expect(() => planRemoteEnd(parseUri('qemu+ssh://h/system?mode=direct'), user)).toThrow(/mode=direct/);
  });

  it('native passes mode and socket on to virt-ssh-helper in its URI', () => {
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=native&mode=direct&x=1'), user)).toMatchObject({
      command: "sh -c 'virt-ssh-helper '''\\''qemu:///system?mode=direct&x=1'\\'''''",
    });
  });

  it('refuses a netcat path with proxy=native and with proxy=direct', () => {
    expect(() => planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=native&netcat=nc'), user)).toThrow(/netcat parameter cannot be used with proxy=native/);
    expect(() => planRemoteEnd(direct('qemu+ssh://h/system?netcat=nc'), user)).toThrow(/proxy=direct/);
  });

  it('direct: a stream-local channel to the socket, no command', () => {
    expect(planRemoteEnd(direct('qemu+ssh://h/system'), user)).toEqual({ kind: 'direct', proxy: 'direct', socket: '/var/run/libvirt/libvirt-sock' });
    expect(planRemoteEnd(direct('qemu+ssh://h/session?socket=/x/sock'), user)).toEqual({ kind: 'direct', proxy: 'direct', socket: '/x/sock' });
    expect(planRemoteEnd(direct('qemu+ssh://h/system'), { ...user, readOnly: true })).toMatchObject({ socket: '/var/run/libvirt/libvirt-sock-ro' });
  });

  it('the name= parameter is what virt-ssh-helper gets', () => {
    expect(sshProxyCommand('native', undefined, null, 'qemu:///session', false)).toBe("sh -c 'virt-ssh-helper 'qemu:///session''");
    expect(planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=native&name=test:///default'), user)).toMatchObject({
      command: "sh -c 'virt-ssh-helper 'test:///default''",
    });
  });
});

describe('what the remote programs receive (run through /bin/sh as sshd runs it)', () => {
  let dir: string;
  let bin: string;
  let tools: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'libvirt-rpc-ssh-cmd-'));
    bin = join(dir, 'bin');
    mkdirSync(bin);
    const script = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    // Prints each argument in brackets. Debian's nc complains about a bare -q; this one does too.
    script('virt-ssh-helper', 'printf "helper"; for a in "$@"; do printf "[%s]" "$a"; done');
    script('nc', 'if [ "$1" = "-q" ] && [ $# -eq 1 ]; then echo "nc: option requires an argument -- q"; exit 1; fi\nprintf "nc"; for a in "$@"; do printf "[%s]" "$a"; done');
    mkdirSync(join(dir, 'odd dir'));
    // Only the stand-ins and the few tools the snippet itself needs; the real virt-ssh-helper stays out of reach.
    tools = join(dir, 'tools');
    mkdirSync(tools);
    for (const t of ['sh', 'which', 'grep']) execFileSync('ln', ['-s', execFileSync('/bin/sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).trim(), join(tools, t)]);
    script('../odd dir/my nc\'s', 'printf "odd"; for a in "$@"; do printf "[%s]" "$a"; done');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (command: string, path: string): string =>
    execFileSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: path } });

  it('auto runs the helper when it is installed, with the URI as one argument', () => {
    const end = planRemoteEnd(parseUri('qemu+ssh://h/system?a=b%20c&d=%27'), { ...user, readOnly: true });
    expect(run((end as { command: string }).command, `${bin}:${tools}`)).toBe("helper[-r][qemu:///system?a=b%20c&d=%27]");
  });

  it('auto falls back to nc (with -q0 for an nc that needs it) when the helper is missing', () => {
    const onlyNc = join(dir, 'only-nc');
    mkdirSync(onlyNc);
    execFileSync('ln', ['-s', join(bin, 'nc'), join(onlyNc, 'nc')]);
    const end = planRemoteEnd(parseUri('qemu+ssh://h/system'), user);
    expect(run((end as { command: string }).command, `${onlyNc}:${tools}`)).toBe('nc[-q0][-U][/var/run/libvirt/libvirt-sock]');
  });

  it('mode and socket reach virt-ssh-helper inside its one URI argument', () => {
    const end = planRemoteEnd(parseUri('qemu+ssh://h/system?proxy=native&mode=direct&x=1'), user);
    expect(run((end as { command: string }).command, `${bin}:${tools}`)).toBe('helper[qemu:///system?mode=direct&x=1]');
  });

  it('netcat paths and socket paths with spaces and quotes arrive intact', () => {
    const end = planRemoteEnd(parseUri(`qemu+ssh://h/system?netcat=${encodeURIComponent(join(dir, "odd dir/my nc's"))}` +
      `&socket=${encodeURIComponent("/tmp/a b/it's sock")}`), user);
    expect(run((end as { command: string }).command, tools)).toBe("odd[-U][/tmp/a b/it's sock]");
  });
});
