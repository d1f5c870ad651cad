/**
 * Where SASL credentials come from, in libvirt's order (remoteAuthInteract in src/remote/remote_driver.c):
 * first libvirt's auth.conf (`authname` and `password` of the credentials group for service `libvirt` on the
 * URI's host), then the application's credentials callback for whatever is still missing.
 */
import type { SshCredentialRequest } from '../ssh-credentials.js';
import type { AuthConfig } from './auth-config.js';
import { SaslError } from './errors.js';

/** Asked for the SASL authentication name (libvirt's VIR_CRED_AUTHNAME). */
export interface SaslAuthnameRequest {
  type: 'sasl-authname';
  prompt: string;
  /** Whether the answer may be shown while typed: true for a name. */
  echo: true;
  /** The host auth.conf was searched for (the URI's host, `localhost` for a local socket). */
  host: string;
  /** The SASL mechanism about to be used, e.g. `SCRAM-SHA-256`. */
  mechanism: string;
}

/** Asked for the SASL password of `authname` (libvirt's VIR_CRED_PASSPHRASE). */
export interface SaslPasswordRequest {
  type: 'sasl-password';
  prompt: string;
  /** Whether the answer may be shown while typed: false, it is a secret. */
  echo: false;
  authname: string;
  host: string;
  mechanism: string;
}

/** What SASL authentication may ask the application for. */
export type SaslCredentialRequest = SaslAuthnameRequest | SaslPasswordRequest;

/**
 * An answer to a credentials request: a string, or UTF-8 bytes (a Uint8Array answer is zeroed once used, so a
 * secret need never become a string). `null`/`undefined` declines. `true`/`false` answer SSH host-key questions
 * and are not valid for SASL requests.
 */
export type CredentialAnswer = string | Uint8Array | boolean | null | undefined;

/** The credentials callback for SASL requests; it may be async. Its waits count against the open timeout. */
export type SaslCredentialsCallback = (request: SaslCredentialRequest) => CredentialAnswer | Promise<CredentialAnswer>;

/** Every request a connection's credentials callback may get: SSH's (from the Node transports) and SASL's. */
export type CredentialRequest = SshCredentialRequest | SaslCredentialRequest;

/**
 * The credentials callback of a connection (like libvirt's virConnectAuth): answers SSH and SASL requests, told
 * apart by their `type`. It may be async; its waits count against the open timeout.
 */
export type CredentialsCallback = (request: CredentialRequest) => CredentialAnswer | Promise<CredentialAnswer>;

/** The SASL options of a connection (part of `ConnectionOptions`). */
export interface SaslConnectOptions {
  /**
   * Answers what auth.conf does not hold (SASL's user name and password) and, through the Node transports, SSH's
   * questions. Without it, missing credentials fail the open. (Declared as a method so that a callback written
   * for SASL's requests alone, or SSH's alone, is accepted too.)
   */
  credentials?(request: CredentialRequest): CredentialAnswer | Promise<CredentialAnswer>;
  /**
   * Loads libvirt's auth.conf when SASL first needs it, or null when there is none. The Node entry reads the
   * file libvirt would ($LIBVIRT_AUTH_FILE, the URI's `authfile=`, $XDG_CONFIG_HOME/libvirt/auth.conf,
   * /etc/libvirt/auth.conf); elsewhere pass one made with `AuthConfig.parse`.
   */
  authConfig?: () => Promise<AuthConfig | null>;
  /** The host auth.conf's `[auth-libvirt-HOST]` is looked up for (the URI's host; null or absent: `localhost`). */
  authHost?: string | null;
}

/** Credentials for one exchange; {@link dispose} zeroes the password. */
export interface SaslCredentials {
  authname: string;
  password: Uint8Array;
  /** Where each came from, for debug lines: `auth.conf <path>` or `the credentials callback`. */
  sources: { authname: string; password: string };
  dispose(): void;
}

const UTF8 = /* @__PURE__ */ new TextEncoder();
const STRICT = /* @__PURE__ */ new TextDecoder('utf-8', { fatal: true });

/** Resolves when `p` does, or rejects with the signal's reason once it aborts (the open's bound). */
function bounded<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

/** Gathers the user name and password for `mechanism`: auth.conf first, then the callback. */
export async function saslCredentials(options: SaslConnectOptions, mechanism: string, signal: AbortSignal | undefined): Promise<SaslCredentials> {
  const host = options.authHost ?? 'localhost';
  let config: AuthConfig | null = null;
  let fromFile: { authname?: Uint8Array; password?: Uint8Array; username?: boolean } = {};
  if (options.authConfig !== undefined) {
    config = await bounded(options.authConfig(), signal);
    if (config !== null) {
      try {
        fromFile = {
          authname: config.lookup('libvirt', host, 'authname'),
          password: config.lookup('libvirt', host, 'password'),
          username: config.lookup('libvirt', host, 'username')?.fill(0) !== undefined,
        };
      } finally {
        config.dispose();
      }
    }
  }
  const fileSource = `auth.conf ${config?.path ?? ''}`.trim();
  const missing = (what: string, why: string): SaslError => {
    const where = config === null ? 'no auth.conf was found' : `${config.path} has no ${what} for [auth-libvirt-${host}] or [auth-libvirt-default]`;
    const hint = what === 'authname' && fromFile.username ? " (it has 'username', but libvirt's SASL uses 'authname')" : '';
    return new SaslError('ERR_SASL_NO_CREDENTIALS', `the daemon asks for a SASL ${what === 'authname' ? 'user name' : 'password'} (${mechanism}) for ${host}: ${where}${hint}, and ${why}`, { mechanism });
  };
  const ask = async (request: SaslCredentialRequest): Promise<Uint8Array> => {
    const what = request.type === 'sasl-authname' ? 'authname' : 'password';
    if (options.credentials === undefined) throw missing(what, 'there is no credentials callback to ask');
    let answer: CredentialAnswer;
    try {
      answer = await bounded(Promise.resolve().then(() => options.credentials!(request)), signal);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new SaslError('ERR_SASL_NO_CREDENTIALS', `the credentials callback failed when asked for a SASL ${what === 'authname' ? 'user name' : 'password'}`, { mechanism, cause: err });
    }
    if (answer === null || answer === undefined) throw missing(what, 'the credentials callback declined');
    if (typeof answer === 'string') return UTF8.encode(answer);
    if (answer instanceof Uint8Array) {
      const copy = Uint8Array.prototype.slice.call(answer) as Uint8Array; // a copy even of a Node Buffer
      answer.fill(0);
      return copy;
    }
    throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', `the credentials callback answered a SASL ${what} request with a ${typeof answer}`, { mechanism });
  };

  const sources = { authname: fileSource, password: fileSource };
  let name = fromFile.authname;
  let password = fromFile.password;
  try {
    if (name === undefined) {
      sources.authname = 'the credentials callback';
      name = await ask({ type: 'sasl-authname', prompt: `SASL user name for libvirt on ${host}: `, echo: true, host, mechanism });
    }
    const authname = decodeName(name, mechanism);
    if (password === undefined) {
      sources.password = 'the credentials callback';
      password = await ask({ type: 'sasl-password', prompt: `Password for ${authname} on ${host}: `, echo: false, authname, host, mechanism });
    }
    if (password.includes(0)) throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', 'the SASL password contains a NUL byte', { mechanism });
    const pw = password;
    return { authname, password: pw, sources, dispose: () => pw.fill(0) };
  } catch (err) {
    password?.fill(0);
    throw err;
  } finally {
    name?.fill(0);
  }
}

function decodeName(bytes: Uint8Array, mechanism: string): string {
  let name: string;
  try {
    name = STRICT.decode(bytes);
  } catch {
    throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', 'the SASL user name is not valid UTF-8', { mechanism });
  }
  if (name === '' || name.includes('\0')) throw new SaslError('ERR_SASL_INVALID_CREDENTIALS', 'the SASL user name is empty or contains a NUL character', { mechanism });
  return name;
}
