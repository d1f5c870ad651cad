/**
 * The error classes of libvirt-rpc.
 *
 * Every error the library throws is a {@link LibvirtRpcError} with a stable string `code`. Each class is branded
 * with a stable name under a `Symbol.for()` key ({@link brandError}), as undici brands its errors: `instanceof`
 * answers by that brand, so it works across two copies of the package (a bundle and node_modules, say), and
 * `err.name` comes from it, so both survive minifiers, which rename classes (`constructor.name` does not).
 */

/** On a branded class's prototype: the brand names of the class and its ancestors, nearest first. */
const BRANDS = /* @__PURE__ */ Symbol.for('libvirt-rpc.error');
/** On a branded class (own property): its brand name. */
const BRAND_NAME = /* @__PURE__ */ Symbol.for('libvirt-rpc.error.name');

type Branded = { [BRAND_NAME]?: string; prototype: { [BRANDS]?: readonly string[] } };

/**
 * Brands an error class with a stable `name` (call it once per class, in a `static {}` block): `err.name` is
 * `name`, and `instanceof` the class holds for any error branded with `name` or a subclass of it, from any copy
 * of the package. A subclass that is not branded keeps the ordinary prototype-chain `instanceof` and takes its
 * `name` from its constructor.
 */
export function brandError(cls: abstract new (...args: never[]) => Error, name: string): void {
  const parent = Object.getPrototypeOf(cls.prototype) as { [BRANDS]?: readonly string[] };
  const inherited = Object.hasOwn(parent, BRANDS) ? parent[BRANDS]! : [];
  Object.defineProperty(cls, BRAND_NAME, { value: name });
  Object.defineProperty(cls.prototype, BRANDS, { value: Object.freeze([name, ...inherited]) });
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, configurable: true });
}

/** Base class of every error thrown by libvirt-rpc. */
export class LibvirtRpcError extends Error {
  static {
    brandError(this, 'LibvirtRpcError');
  }

  /** A stable, machine-readable name for the kind of failure, e.g. `ERR_PROTOCOL`. */
  readonly code: string = 'ERR_LIBVIRT_RPC';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    // A subclass without a brand of its own (outside this package) is named after its constructor.
    if (!Object.hasOwn(new.target, BRAND_NAME)) this.name = new.target.name;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    const cls = this as unknown as Branded;
    if (!Object.hasOwn(cls, BRAND_NAME)) return Function.prototype[Symbol.hasInstance].call(this, value);
    if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
    const brands = (value as { [BRANDS]?: unknown })[BRANDS];
    return Array.isArray(brands) && brands.includes(cls[BRAND_NAME]);
  }
}

/** XDR data that cannot be encoded or decoded. `path` names the field that failed, outermost first. */
export class XdrError extends LibvirtRpcError {
  static {
    brandError(this, 'XdrError');
  }

  override readonly code: string = 'ERR_XDR';
  /** Field path segments, outermost first, e.g. `['remote_x_ret', '.snapshots', '[3]', '.name']`. */
  readonly path: string[];
  /** What went wrong at that field, without the path. */
  readonly detail: string;

  constructor(detail: string, path: string[] = []) {
    super(XdrError.#format(detail, path));
    this.detail = detail;
    this.path = path;
  }

  /** The field path as one string, e.g. `remote_x_ret.snapshots[3].name`. */
  get fieldPath(): string {
    return this.path.join('');
  }

  /** Adds an outer path segment and refreshes the message. Used by generated codecs as errors unwind. */
  within(segment: string): this {
    this.path.unshift(segment);
    this.message = XdrError.#format(this.detail, this.path);
    return this;
  }

  static #format(detail: string, path: string[]): string {
    return path.length ? `${path.join('')}: ${detail}` : detail;
  }
}

/** The peer broke the wire protocol (framing, headers, undecodable payload). Fatal to the connection. */
export class ProtocolError extends LibvirtRpcError {
  static {
    brandError(this, 'ProtocolError');
  }

  override readonly code: string = 'ERR_PROTOCOL';
}

/** The connection closed (or was never open) while the operation needed it. */
export class ConnectionClosedError extends LibvirtRpcError {
  static {
    brandError(this, 'ConnectionClosedError');
  }

  override readonly code: string = 'ERR_CONNECTION_CLOSED';
}

/** An operation did not finish within its time bound. */
export class TimeoutError extends LibvirtRpcError {
  static {
    brandError(this, 'TimeoutError');
  }

  override readonly code: string = 'ERR_TIMEOUT';
}

/** An operation was cancelled through its `AbortSignal`. */
export class AbortError extends LibvirtRpcError {
  static {
    brandError(this, 'AbortError');
  }

  override readonly code: string = 'ERR_ABORTED';
}

/** A libvirt URI that cannot be parsed or is not supported. */
export class UriError extends LibvirtRpcError {
  static {
    brandError(this, 'UriError');
  }

  override readonly code: string = 'ERR_URI';
}

/** The transport (socket, TLS, SSH) failed to open or broke. */
export class TransportError extends LibvirtRpcError {
  static {
    brandError(this, 'TransportError');
  }

  override readonly code: string = 'ERR_TRANSPORT';
}

/** Authentication with the daemon (or with an SSH server) failed or is not possible. */
export class AuthError extends LibvirtRpcError {
  static {
    brandError(this, 'AuthError');
  }

  override readonly code: string = 'ERR_AUTH';
}

/** A caller-supplied value (flags, spec, option) is invalid; nothing was sent. */
export class InvalidArgumentError extends LibvirtRpcError {
  static {
    brandError(this, 'InvalidArgumentError');
  }

  override readonly code: string = 'ERR_INVALID_ARGUMENT';
}

/** XML from the daemon or the user that cannot be parsed safely. */
export class XmlError extends LibvirtRpcError {
  static {
    brandError(this, 'XmlError');
  }

  override readonly code: string = 'ERR_XML';
}

/** The fields of libvirt's `remote_error` (virNetMessageError), with symbolic names resolved. */
export interface RemoteErrorInfo {
  /** virErrorNumber, e.g. 72. */
  code: number;
  /** Its name, e.g. `VIR_ERR_NO_DOMAIN_SNAPSHOT`, or `VIR_ERR_<n>` when this release does not know it. */
  codeName: string;
  /** virErrorDomain, e.g. 10. */
  domain: number;
  /** Its name, e.g. `VIR_FROM_QEMU`. */
  domainName: string;
  message: string | null;
  /** virErrorLevel: 1 warning, 2 error. */
  level: number;
  str1: string | null;
  str2: string | null;
  str3: string | null;
  int1: number;
  int2: number;
  /** The name of the domain the error concerns, when the daemon sent one (libvirt marks it unused). */
  domainObjectName?: string | null;
  /** The name of the network the error concerns, when the daemon sent one (likewise unused). */
  networkObjectName?: string | null;
}

/** An error reported by the daemon, carrying the whole `remote_error`. */
export class RemoteError extends LibvirtRpcError {
  static {
    brandError(this, 'RemoteError');
  }

  override readonly code: string = 'ERR_REMOTE';
  /** The daemon's error, with `VIR_ERR_*` and `VIR_FROM_*` names. */
  readonly remote: RemoteErrorInfo;
  /** The procedure that failed, e.g. `REMOTE_PROC_DOMAIN_SNAPSHOT_LOOKUP_BY_NAME`. */
  readonly procedure: string;

  constructor(remote: RemoteErrorInfo, procedure: string) {
    super(`${procedure}: ${remote.message ?? remote.codeName} (${remote.codeName}, ${remote.domainName})`);
    this.remote = remote;
    this.procedure = procedure;
  }

  /** virErrorNumber name, e.g. `VIR_ERR_NO_DOMAIN`. */
  get errorName(): string {
    return this.remote.codeName;
  }
}

/** The daemon does not know a procedure (it predates it). */
export class UnsupportedProcedureError extends RemoteError {
  static {
    brandError(this, 'UnsupportedProcedureError');
  }

  override readonly code: string = 'ERR_UNSUPPORTED_PROCEDURE';
  /** The daemon's libvirt version as `major.minor.micro`, when known. */
  readonly daemonVersion: string | null;

  constructor(remote: RemoteErrorInfo, procedure: string, daemonVersion: string | null) {
    super(remote, procedure);
    this.daemonVersion = daemonVersion;
    this.message = `${procedure} is not supported by the daemon${daemonVersion ? ` (libvirt ${daemonVersion})` : ''}: ${remote.message ?? remote.codeName}`;
  }
}

/**
 * A stream (volume upload or download, console, screenshot) cannot go on for a local reason. The daemon's own
 * stream errors are {@link RemoteError}s.
 */
export class StreamError extends LibvirtRpcError {
  static {
    brandError(this, 'StreamError');
  }

  override readonly code: string = 'ERR_STREAM';
}

/** An operation on a stream that was finished or aborted (libvirt's "stream is closed"). */
export class StreamClosedError extends StreamError {
  static {
    brandError(this, 'StreamClosedError');
  }

  override readonly code: string = 'ERR_STREAM_CLOSED';
}

/**
 * A stream's incoming data went past its hard bound: the transport could not hold the daemon back (it has no
 * `pause`). The stream is aborted; the connection stays open.
 */
export class StreamOverflowError extends StreamError {
  static {
    brandError(this, 'StreamOverflowError');
  }

  override readonly code: string = 'ERR_STREAM_OVERFLOW';
}
