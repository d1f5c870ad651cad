/**
 * What runs at the far end of the SSH connection, decided as libvirt's remote driver decides it (doRemoteOpen in
 * src/remote/remote_driver.c, virNetClientSSHHelperCommand in src/rpc/virnetclient.c):
 *
 * - `proxy=native` runs `virt-ssh-helper '<uri>'` (with `-r` when read-only);
 * - `proxy=netcat` runs `nc -U <socket>` (with `-q0` when that nc needs it to exit at EOF);
 * - `proxy=auto` runs a shell snippet that uses virt-ssh-helper when the remote host has it, else nc;
 * - `proxy=direct` (an option of this library, not of libvirt) runs nothing: it opens an OpenSSH
 *   `direct-streamlocal@openssh.com` channel straight to the daemon's socket, for hosts with neither helper
 *   (the server must allow stream-local forwarding).
 *
 * With no `proxy` parameter libvirt picks: netcat when `socket=` is given (virt-ssh-helper cannot take a socket
 * path), native for session URIs (their socket path depends on the remote user's environment), else auto. A
 * `netcat=` path turns auto into netcat, and is refused with native. The socket for nc is computed on this side
 * with the local rules (src/remote/remote_sockets.c), exactly as libvirt does, which is why it is only reliable
 * for system URIs.
 */

import { UriError } from '../errors.js';
import { chooseSocket, wantsSessionDaemon } from './socket-paths.js';
import type { LibvirtUri, RemoteProxy } from './uri.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The proxy values this transport understands: libvirt's three, and `direct`. */
export type SshProxy = RemoteProxy | 'direct';

/** How the byte pipe is made at the far end. */
export type RemoteEnd =
  /** An exec channel running `command`. */
  | { kind: 'exec'; proxy: 'auto' | 'netcat' | 'native'; command: string; socket: string | null }
  /** A `direct-streamlocal@openssh.com` channel to `socket`. */
  | { kind: 'direct'; proxy: 'direct'; socket: string };

/** Inputs of {@link planRemoteEnd}. */
export interface RemoteEndOptions {
  readOnly: boolean;
  env: Env;
  /** The local effective uid: libvirt decides "session" by the local user (remoteGetURIDaemonInfo). */
  uid: number;
  homeDir?: string;
  exists: (path: string) => boolean;
}

// virBufferEscapeShell quotes only strings holding one of these.
const SHELL_META = /[\r\t\n !"#$&'()*;<>?[\\\]^`{|}~]/;

/** Quotes `text` for /bin/sh as libvirt's virBufferEscapeShell does (unchanged when it needs no quoting). */
export function shellEscape(text: string): string {
  if (text === '') return "''";
  if (!SHELL_META.test(text)) return text;
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * Two levels of quoting: the SSH server hands the command to the login shell, which runs `sh -c '...'`, which
 * parses the inner text again (virNetClientDoubleEscapeShell).
 */
export function doubleShellEscape(text: string): string {
  return shellEscape(shellEscape(text));
}

/** The proxy libvirt would use for `uri` when the URI has no `proxy` parameter, or the one it names. */
export function chooseProxy(uri: LibvirtUri, uid: number): SshProxy {
  const given = uri.remote.proxy as SshProxy | undefined;
  if (given !== undefined) return given;
  if (uri.remote.socket !== undefined) return 'netcat';
  if (wantsSessionDaemon(uri, uid)) return 'native';
  return 'auto';
}

/**
 * The remote command for an exec channel, byte for byte what libvirt sends (so that an `authorized_keys`
 * `command=` restriction written for libvirt's client matches this one too). One difference: the socket path is
 * quoted here when it holds shell metacharacters, where libvirt pastes it unquoted (and such a path would break
 * libvirt's command).
 */
export function sshProxyCommand(
  proxy: 'auto' | 'netcat' | 'native',
  netcat: string | undefined,
  socket: string | null,
  driverUri: string,
  readOnly: boolean,
): string {
  let effective = proxy;
  // A netcat path means the user wants the nc proxy, not virt-ssh-helper.
  if (effective === 'auto' && netcat !== undefined) effective = 'netcat';
  if (effective === 'native' && netcat !== undefined) {
    throw new UriError('the netcat parameter cannot be used with proxy=native (virt-ssh-helper does not use nc)');
  }
  const helper = `virt-ssh-helper${readOnly ? ' -r ' : ' '}'${doubleShellEscape(driverUri)}'`;
  if (effective === 'native') return `sh -c '${helper}'`;
  if (socket === null) throw new UriError(`proxy=${effective} needs the daemon's socket path`);
  const nc = doubleShellEscape(netcat ?? 'nc');
  // Debian's nc needs -q0 to exit when its input ends; it says "requires an argument" when -q is given alone.
  // libvirt pastes the socket path bare; quoted the same way as the nc path when it needs quoting, else as is.
  const sock = SHELL_META.test(socket) ? `'${doubleShellEscape(socket)}'` : socket;
  const ncCommand = `if '${nc}' -q 2>&1 | grep "requires an argument" >/dev/null 2>&1; then ARG=-q0;else ARG=;fi;'${nc}' $ARG -U ${sock}`;
  if (effective === 'netcat') return `sh -c '${ncCommand}'`;
  return `sh -c 'which virt-ssh-helper 1>/dev/null 2>&1; if test $? = 0; then     ${helper}; else    ${ncCommand}; fi'`;
}

/** Decides the far end for `uri`: the proxy, the socket (when one is needed) and the command. */
export function planRemoteEnd(uri: LibvirtUri, options: RemoteEndOptions): RemoteEnd {
  let proxy = chooseProxy(uri, options.uid);
  if (proxy === 'auto' && uri.remote.netcat !== undefined) proxy = 'netcat';
  let socket: string | null = null;
  if (proxy !== 'native') {
    // remoteGetUNIXSocket: ssh always uses libvirtd's socket in auto mode, and refuses mode=direct.
    socket = chooseSocket({
      uri, readOnly: options.readOnly, env: options.env, exists: options.exists, uid: options.uid, homeDir: options.homeDir,
    }).path;
  }
  if (proxy === 'direct') {
    if (uri.remote.netcat !== undefined) throw new UriError('the netcat parameter cannot be used with proxy=direct (no remote command runs)');
    return { kind: 'direct', proxy, socket: socket! };
  }
  // virt-ssh-helper gets the name with mode and socket kept (remoteConnectFormatURI with unmask, newer libvirt).
  const command = sshProxyCommand(proxy, uri.remote.netcat, socket, uri.proxyName, options.readOnly);
  return { kind: 'exec', proxy, command, socket };
}
