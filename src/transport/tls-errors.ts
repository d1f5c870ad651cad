/**
 * The typed failures of the TLS transport: one class, {@link TlsError}, whose `code` says which step failed.
 */

import { brandError, TransportError } from '../errors.js';

/** The specific failures of a TLS connection. */
export type TlsErrorCode =
  | 'ERR_TLS_MISSING_FILE' // the CA certificate (the one required file) does not exist
  | 'ERR_TLS_UNREADABLE_FILE' // a credential file exists but cannot be read
  | 'ERR_TLS_BAD_CREDENTIALS' // our own certificate, key or CA is unusable (libvirt's sanity check)
  | 'ERR_TLS_UNTRUSTED_SERVER' // the server's certificate does not chain to our CA (or is expired, revoked)
  | 'ERR_TLS_HOSTNAME_MISMATCH' // the server's certificate is for another host
  | 'ERR_TLS_CLIENT_CERT_REQUIRED' // the daemon wants a client certificate and we have none
  | 'ERR_TLS_REJECTED' // the daemon refused our certificate or address (no '\1' status byte)
  | 'ERR_TLS_HANDSHAKE'; // the handshake failed or was cut off

/** A TLS failure; `code` says which. */
export class TlsError extends TransportError {
  static {
    brandError(this, 'TlsError');
  }

  override readonly code: TlsErrorCode;
  /** The file concerned, for credential errors. */
  readonly path: string | undefined;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
  }
}
