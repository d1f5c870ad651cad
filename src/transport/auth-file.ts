/**
 * Finding and reading libvirt's auth.conf, as virAuthGetConfigFilePathURI (src/util/virauth.c) finds it:
 *
 * 1. `$LIBVIRT_AUTH_FILE`, when set (used as given, even if it cannot be read: that is then an error);
 * 2. the URI's first `authfile` parameter (the name compared exactly, unlike the remote driver's parameters);
 * 3. `$XDG_CONFIG_HOME/libvirt/auth.conf` (default `$HOME/.config/libvirt/auth.conf`), when readable;
 * 4. `/etc/libvirt/auth.conf`, when readable;
 * else there is none. The file is read only when SASL needs a credential, as libvirt reads it.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { AuthConfig, AUTH_CONFIG_MAX_BYTES } from '../protocol/sasl/auth-config.js';
import { AuthConfigError } from '../protocol/sasl/errors.js';
import { debug } from '../protocol/observe.js';
import type { LibvirtUri } from './uri.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The system-wide auth.conf (libvirt's SYSCONFDIR is /etc on Debian). */
export const SYSTEM_AUTH_FILE = '/etc/libvirt/auth.conf';

/** Where to look, and how. */
export interface AuthFileOptions {
  env: Env;
  /** Home folder when `HOME` is unset. */
  homeDir?: string;
  /** Whether a file can be read (access(R_OK)); defaults to the real check. */
  readable?: (file: string) => boolean;
}

function canRead(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** The auth.conf libvirt would use for `uri`, and why; `path` null when there is none. */
export function locateAuthFile(uri: LibvirtUri | null, options: AuthFileOptions): { path: string | null; source: string } {
  const { env } = options;
  const readable = options.readable ?? canRead;
  const fromEnv = env['LIBVIRT_AUTH_FILE'];
  if (fromEnv !== undefined) return { path: fromEnv, source: 'LIBVIRT_AUTH_FILE' };
  const param = uri?.params.find((p) => p.name === 'authfile');
  if (param !== undefined) return { path: param.value, source: 'the URI\'s authfile parameter' };
  // g_get_user_config_dir(): $XDG_CONFIG_HOME when set and not empty, else $HOME/.config.
  const home = env['HOME'] || options.homeDir;
  const configDir = env['XDG_CONFIG_HOME'] || (home ? path.join(home, '.config') : undefined);
  if (configDir !== undefined) {
    const user = path.join(configDir, 'libvirt', 'auth.conf');
    if (readable(user)) return { path: user, source: 'the user\'s config folder' };
  }
  if (readable(SYSTEM_AUTH_FILE)) return { path: SYSTEM_AUTH_FILE, source: 'the system config folder' };
  return { path: null, source: 'none found' };
}

/**
 * Reads and parses an auth.conf; the file's bytes are zeroed once parsed. Throws {@link AuthConfigError}.
 * Read synchronously: the file is small (at most AUTH_CONFIG_MAX_BYTES is accepted), and fs/promises' readFile
 * takes four thread-pool round trips (open, fstat, read, close), which made a PLAIN open over a unix socket
 * cost about 1.5x a direct one.
 */
export async function readAuthFile(file: string): Promise<AuthConfig> {
  if (file === '') throw new AuthConfigError("''", 'the auth file path is empty');
  let data: Uint8Array;
  try {
    // The size is checked before reading, so a huge file is refused without being read.
    const size = statSync(file).size;
    if (size > AUTH_CONFIG_MAX_BYTES) throw new AuthConfigError(file, `the file is larger than ${AUTH_CONFIG_MAX_BYTES} bytes`);
    data = readFileSync(file);
  } catch (err) {
    if (err instanceof AuthConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new AuthConfigError(file, `cannot read libvirt's auth file: ${code}`, { cause: err });
  }
  try {
    if (data.length > AUTH_CONFIG_MAX_BYTES) throw new AuthConfigError(file, `the file is larger than ${AUTH_CONFIG_MAX_BYTES} bytes`);
    return AuthConfig.parse(file, data);
  } finally {
    data.fill(0);
  }
}

/** The lazy loader `ConnectionOptions.authConfig` takes: locates and reads the file on first use. */
export function authConfigLoader(uri: LibvirtUri | null, options: AuthFileOptions): () => Promise<AuthConfig | null> {
  return async () => {
    const { path: file, source } = locateAuthFile(uri, options);
    debug(() => `auth.conf: ${file === null ? 'none' : `${file} (from ${source})`}`);
    return file === null ? null : readAuthFile(file);
  };
}
