/**
 * Which unix socket libvirt's client connects to, as src/remote/remote_sockets.c (libvirt 9.0) decides it.
 *
 * - System daemons listen in `/var/run/libvirt/` (libvirt deliberately writes `$LOCALSTATEDIR/run`, not `/run`,
 *   because the path may be used on a remote host); read-only connections use the `-sock-ro` twin.
 * - Session daemons listen in `$XDG_RUNTIME_DIR/libvirt/`, or `$XDG_CACHE_HOME/libvirt/`, or `$HOME/.cache/libvirt/`
 *   (virGetUserRuntimeDirectory via GLib); there is no read-only session socket.
 * - Each driver has a modular daemon `virt<driver>d` with socket `virt<driver>d-sock`; the monolithic libvirtd
 *   has `libvirt-sock`. With no URI the direct choice is virtproxyd, which also listens on `libvirt-sock`.
 * - `mode=auto` takes the modular socket if it exists, else libvirtd's if it exists, else the build's default
 *   (legacy in libvirt 9.0). Transports other than unix (ssh's netcat) always use libvirtd's path in auto mode.
 *
 * Pure apart from the `exists` callback, so every rule is testable.
 */

import { UriError } from '../errors.js';
import type { LibvirtUri, RemoteMode } from './uri.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The fixed system socket folder libvirt's client uses. */
export const SYSTEM_SOCKET_DIR = '/var/run/libvirt';

/** Inputs to {@link chooseSocket}. */
export interface SocketChoiceOptions {
  /** The parsed URI, or null when there is none (the daemon then probes for a driver). */
  uri: LibvirtUri | null;
  /** A read-only connection: picks the `-sock-ro` socket of a system daemon. */
  readOnly?: boolean;
  /** Environment (XDG_RUNTIME_DIR, XDG_CACHE_HOME, HOME); the CLI passes `process.env`. */
  env: Env;
  /** Whether a path exists (libvirt's virFileExists). */
  exists: (path: string) => boolean;
  /** The effective uid; root (0) never uses session daemons. */
  uid: number;
  /** The home folder from the password database, used when `HOME` is unset (as GLib does). */
  homeDir?: string;
  /** The build-time default when neither socket exists (libvirt's `remote_default_mode`, legacy in 9.0). */
  defaultMode?: 'direct' | 'legacy';
}

/** The chosen socket. */
export interface SocketChoice {
  /** Socket path. */
  path: string;
  /** Which daemon serves it, e.g. `virtqemud`, `libvirtd`; null when the URI's `socket` parameter named it. */
  daemon: string | null;
  /** How it was chosen. */
  mode: 'direct' | 'legacy' | 'explicit';
  /** Whether a per-user session daemon was wanted. */
  session: boolean;
}

/**
 * Whether libvirt would use the per-user session daemon (remoteGetURIDaemonInfo): only when not root, and then
 * for URIs whose path is `/session`, for `test+...` URIs, and when there is no URI at all.
 *
 * One addition: libvirt runs plain `test:///...` URIs inside the client and never sends them to a daemon; this
 * library has no in-process driver, so it treats them like `test+unix:///...` (a session daemon when not root).
 */
export function wantsSessionDaemon(uri: LibvirtUri | null, uid: number): boolean {
  if (uid === 0) return false;
  if (uri === null) return true;
  if (uri.path === null) return false;
  // libvirt tests the scheme prefix case-sensitively.
  return uri.path === '/session' || uri.scheme.startsWith('test+') || (uri.scheme === 'test' && uri.host === null);
}

/**
 * The per-user runtime folder: `$XDG_RUNTIME_DIR/libvirt`, else the user cache folder `$XDG_CACHE_HOME/libvirt`,
 * else `$HOME/.cache/libvirt` (GLib's g_get_user_runtime_dir and g_get_user_cache_dir; empty variables count
 * as unset).
 */
export function userRuntimeDir(env: Env, homeDir?: string): string {
  const set = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === '' ? undefined : v;
  };
  let base = set('XDG_RUNTIME_DIR') ?? set('XDG_CACHE_HOME');
  if (base === undefined) {
    const home = set('HOME') ?? homeDir;
    if (home === undefined) {
      throw new UriError('cannot locate the session daemon socket: XDG_RUNTIME_DIR and HOME are both unset');
    }
    base = join(home, '.cache');
  }
  return join(base, 'libvirt');
}

/** Chooses the unix socket for `options.uri` as libvirt's client would. */
export function chooseSocket(options: SocketChoiceOptions): SocketChoice {
  const { uri, readOnly = false, env, exists, uid, homeDir, defaultMode = 'legacy' } = options;
  const session = wantsSessionDaemon(uri, uid);
  if (uri !== null && uri.remote.socket !== undefined) {
    // An explicit socket parameter wins, used exactly as given.
    return { path: uri.remote.socket, daemon: null, mode: 'explicit', session };
  }
  const transport = uri === null ? 'unix' : uri.transport;
  if (transport !== 'unix' && transport !== 'ssh') {
    throw new UriError(`the ${transport} transport does not use a unix socket`);
  }
  const socketPath = (prefix: string): string =>
    session ? join(userRuntimeDir(env, homeDir), `${prefix}-sock`) : `${SYSTEM_SOCKET_DIR}/${prefix}-${readOnly ? 'sock-ro' : 'sock'}`;

  const direct = uri === null
    ? { daemon: 'virtproxyd', path: socketPath('libvirt') }
    : { daemon: `virt${uri.driver}d`, path: socketPath(`virt${uri.driver}d`) };
  const legacy = { daemon: 'libvirtd', path: socketPath('libvirt') };

  let mode: RemoteMode = uri?.remote.mode ?? 'auto';
  if (mode === 'auto') {
    if (transport === 'unix') {
      if (exists(direct.path)) mode = 'direct';
      else if (exists(legacy.path)) mode = 'legacy';
      else mode = defaultMode;
    } else {
      mode = 'legacy';
    }
  }
  if (mode === 'direct') {
    if (transport !== 'unix') {
      throw new UriError(`mode=direct cannot be used with the ${transport} transport (libvirt refuses it too)`);
    }
    return { ...direct, mode: 'direct', session };
  }
  return { ...legacy, mode: 'legacy', session };
}

/** Joins two path pieces with one `/` (GLib's g_build_filename collapses repeated separators). */
function join(a: string, b: string): string {
  return `${a.replace(/\/+$/, '')}/${b}`;
}
