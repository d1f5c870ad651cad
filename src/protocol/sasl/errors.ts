/**
 * The errors of SASL authentication and of libvirt's auth.conf. Messages name mechanisms, hosts, user names,
 * files and line numbers; never a password, a proof, a nonce-derived value or a line of the credentials file.
 */
import { AuthError, brandError } from '../../errors.js';

/** The specific failures of SASL authentication. */
export type SaslErrorCode =
  | 'ERR_SASL_NO_MECHANISM' // the daemon offers no mechanism this client implements and allows here
  | 'ERR_SASL_MECHANISM_NOT_OFFERED' // auth=sasl.MECH names a mechanism the daemon does not offer
  | 'ERR_SASL_MECHANISM_UNSUPPORTED' // auth=sasl.MECH names a mechanism this client does not implement
  | 'ERR_SASL_INSECURE_CHANNEL' // the channel is not confidential (plain TCP): libvirt demands a SASL security layer
  | 'ERR_SASL_NO_CREDENTIALS' // a user name or password is needed and neither auth.conf nor the callback gave one
  | 'ERR_SASL_INVALID_CREDENTIALS' // a credential cannot be used (SASLprep refuses it, or it has a NUL byte)
  | 'ERR_SASL_REJECTED' // the daemon refused the credentials ("authentication failed")
  | 'ERR_SASL_SERVER_SIGNATURE' // the daemon could not prove it knows the password (SCRAM ServerSignature)
  | 'ERR_SASL_PROTOCOL'; // the daemon's SASL messages broke the mechanism's rules

/** Extra facts a {@link SaslError} may carry (none of them secret). */
export interface SaslErrorDetails {
  cause?: unknown;
  /** The mechanism in use or asked for. */
  mechanism?: string;
  /** The mechanisms the daemon offered (SASL_INIT's list). */
  offered?: readonly string[];
}

/** A SASL authentication failure; `code` says which. */
export class SaslError extends AuthError {
  static {
    brandError(this, 'SaslError');
  }

  override readonly code: SaslErrorCode;
  readonly mechanism: string | undefined;
  readonly offered: readonly string[] | undefined;

  constructor(code: SaslErrorCode, message: string, details: SaslErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.mechanism = details.mechanism;
    this.offered = details.offered;
  }
}

/** libvirt's auth.conf cannot be read or breaks its rules (libvirt reports VIR_ERR_CONF_SYNTAX). */
export class AuthConfigError extends AuthError {
  static {
    brandError(this, 'AuthConfigError');
  }

  override readonly code: string = 'ERR_AUTH_CONFIG';
  /** The file concerned. */
  readonly path: string;
  /** The 1-based line, for syntax errors. */
  readonly line: number | undefined;

  constructor(path: string, message: string, options: { line?: number; cause?: unknown } = {}) {
    super(`${path}${options.line === undefined ? '' : `:${options.line}`}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = path;
    this.line = options.line;
  }
}
