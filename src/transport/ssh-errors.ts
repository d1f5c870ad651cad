/**
 * The error class of the SSH transport. Every failure of opening or running an SSH connection is an
 * {@link SshError} with a specific `code`; timeouts and aborts stay {@link TimeoutError} / {@link AbortError}.
 * Messages name hosts, files, fingerprints and what the server said; never a password, passphrase or key.
 */

import { brandError, TransportError } from '../errors.js';

/** The specific failures of an SSH connection. */
export type SshErrorCode =
  | 'ERR_SSH_CONNECT' // the TCP connection to the SSH server failed (refused, unreachable, name not found)
  | 'ERR_SSH_HANDSHAKE' // the SSH handshake failed or the server closed the connection during it
  | 'ERR_SSH_HOST_KEY_UNKNOWN' // known_hosts has no key for the host and the policy does not accept new ones
  | 'ERR_SSH_HOST_KEY_CHANGED' // known_hosts has another key for the host (possible man-in-the-middle)
  | 'ERR_SSH_HOST_KEY_REVOKED' // the host's key is marked @revoked in known_hosts
  | 'ERR_SSH_KNOWN_HOSTS' // known_hosts cannot be read or a new key cannot be added to it
  | 'ERR_SSH_KEY_FILE' // a private key file cannot be read or is not a usable key
  | 'ERR_SSH_PASSPHRASE' // an encrypted key cannot be opened (wrong passphrase, or no way to ask for it)
  | 'ERR_SSH_AUTH' // the server accepted none of the authentication methods tried
  | 'ERR_SSH_CHANNEL' // the server refused the session or stream-local channel, or the exec request
  | 'ERR_SSH_REMOTE_COMMAND'; // the remote proxy command failed (helper missing, nc refused, daemon absent)

/** Extra facts an {@link SshError} may carry (none of them secret). */
export interface SshErrorDetails {
  cause?: unknown;
  /** `host:port` of the SSH server. */
  host?: string;
  /** The server's host key fingerprint, OpenSSH style `SHA256:...`. */
  fingerprint?: string;
  /** The known_hosts file concerned. */
  knownHostsFile?: string;
  /** The key file concerned. */
  keyFile?: string;
  /** The remote command's exit status, when it reported one. */
  exitCode?: number | null;
  /** The signal that ended the remote command, when one did. */
  signal?: string | null;
  /** The remote command's standard error, trimmed and bounded. */
  stderr?: string;
}

/** An SSH transport failure; `code` says which. */
export class SshError extends TransportError {
  static {
    brandError(this, 'SshError');
  }

  override readonly code: SshErrorCode;
  readonly host: string | undefined;
  readonly fingerprint: string | undefined;
  readonly knownHostsFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly exitCode: number | null | undefined;
  readonly signal: string | null | undefined;
  readonly stderr: string | undefined;

  constructor(code: SshErrorCode, message: string, details: SshErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.host = details.host;
    this.fingerprint = details.fingerprint;
    this.knownHostsFile = details.knownHostsFile;
    this.keyFile = details.keyFile;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr;
  }
}

/** Most characters of remote stderr kept in an error. */
export const STDERR_LIMIT = 2000;

/** Trims remote stderr for a message: whitespace at both ends, control characters, at most {@link STDERR_LIMIT}. */
export function boundStderr(text: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '').trim();
  return clean.length > STDERR_LIMIT ? `${clean.slice(0, STDERR_LIMIT)}...` : clean;
}
