/**
 * The TLS transport (libvirtd's port 16514), following libvirt's client: credentials are found as
 * virNetTLSContextLocateCredentials does (src/rpc/virnettlscontext.c), the server is checked as
 * virNetTLSContextValidCertificate does, and after the handshake the daemon's one-byte verdict is read as
 * virNetClientSetTLSSession does (src/rpc/virnetclient.c) before the pipe is handed to the RPC engine.
 *
 * The URI's `tls_priority` is a GnuTLS priority string with no OpenSSL equivalent; it is not applied, and Node's
 * defaults (TLS 1.2 or newer) are used.
 */

import { existsSync, readFileSync } from 'node:fs';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { AbortError, InvalidArgumentError, TimeoutError, TransportError } from '../errors.js';
import type { Transport } from '../protocol/transport.js';
import { DuplexTransport } from './node-stream.js';

type Env = Readonly<Record<string, string | undefined>>;

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
  override readonly code: TlsErrorCode;
  /** The file concerned, for credential errors. */
  readonly path: string | undefined;

  constructor(code: TlsErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
  }
}

/** Where libvirt's client looks for its TLS files, and what it tried first. */
export interface TlsCredentialPaths {
  cacert: string;
  cacrl: string;
  cert: string;
  key: string;
  /** Every path considered for each file, in order, for error messages. */
  searched: { cacert: string[]; cert: string[]; key: string[] };
}

const PKI = '/etc/pki';
const SYSTEM = {
  cacert: `${PKI}/CA/cacert.pem`,
  cacrl: `${PKI}/CA/cacrl.pem`,
  cert: `${PKI}/libvirt/clientcert.pem`,
  key: `${PKI}/libvirt/private/clientkey.pem`,
};

/**
 * virNetTLSContextLocateCredentials for a client: an explicit `pkipath` is used as is, whether or not the files
 * exist; otherwise a non-root user's `$HOME/.pki/libvirt/` is used file by file where files exist (certificate and
 * key only as a pair), and the system locations fill the gaps.
 */
export function locateTlsCredentials(options: {
  pkipath?: string;
  uid: number;
  env: Env;
  homeDir?: string;
  exists?: (path: string) => boolean;
}): TlsCredentialPaths {
  const exists = options.exists ?? existsSync;
  if (options.pkipath !== undefined) {
    const dir = options.pkipath.replace(/\/+$/, '');
    const p = { cacert: `${dir}/cacert.pem`, cacrl: `${dir}/cacrl.pem`, cert: `${dir}/clientcert.pem`, key: `${dir}/clientkey.pem` };
    return { ...p, searched: { cacert: [p.cacert], cert: [p.cert], key: [p.key] } };
  }
  const found: Partial<Record<'cacert' | 'cacrl' | 'cert' | 'key', string>> = {};
  const searched = { cacert: [] as string[], cert: [] as string[], key: [] as string[] };
  const home = options.env['HOME'] || options.homeDir;
  if (options.uid !== 0 && home) {
    const dir = `${home.replace(/\/+$/, '')}/.pki/libvirt`;
    const user = { cacert: `${dir}/cacert.pem`, cacrl: `${dir}/cacrl.pem`, cert: `${dir}/clientcert.pem`, key: `${dir}/clientkey.pem` };
    searched.cacert.push(user.cacert);
    searched.cert.push(user.cert);
    searched.key.push(user.key);
    if (exists(user.cacert)) found.cacert = user.cacert;
    if (exists(user.cacrl)) found.cacrl = user.cacrl;
    if (exists(user.cert) && exists(user.key)) {
      found.cert = user.cert;
      found.key = user.key;
    }
  }
  if (found.cacert === undefined) searched.cacert.push(SYSTEM.cacert);
  if (found.cert === undefined) {
    searched.cert.push(SYSTEM.cert);
    searched.key.push(SYSTEM.key);
  }
  return {
    cacert: found.cacert ?? SYSTEM.cacert,
    cacrl: found.cacrl ?? SYSTEM.cacrl,
    cert: found.cert ?? SYSTEM.cert,
    key: found.key ?? SYSTEM.key,
    searched,
  };
}

/** Options of {@link openTlsTransport}. */
export interface TlsTransportOptions {
  /** Host to connect to and to verify the certificate against (libvirt uses the URI's host, else `localhost`). */
  host: string;
  /** Port; libvirt's default is 16514. */
  port: number;
  /** The URI's `pkipath`. */
  pkipath?: string;
  /** The URI's `no_verify`: accept any server certificate, as libvirt does. */
  noVerify?: boolean;
  /** The URI's `no_sanity`: skip the check of our own certificate and CA before connecting. */
  noSanity?: boolean;
  /** Effective uid; non-root users look in `$HOME/.pki/libvirt` first. */
  uid: number;
  env: Env;
  homeDir?: string;
  exists?: (path: string) => boolean;
  /** Bound on the whole opening (reading files, TCP connect, handshake, status byte), in ms. */
  timeout: number;
  signal?: AbortSignal;
}

interface LoadedCredentials {
  ca: Buffer;
  crl?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  paths: TlsCredentialPaths;
}

/** Checks a timeout in ms: Node's timers turn anything above 2^31-1 into 1 ms, so that is refused. */
export function checkTimeout(timeout: number): void {
  if (!(Number.isFinite(timeout) && timeout > 0 && timeout <= 0x7fffffff)) {
    throw new InvalidArgumentError(`timeout must be a number of ms between 1 and ${0x7fffffff}, not ${timeout}`);
  }
}

/** Opens a TLS connection to a libvirt daemon and returns it once the daemon has said yes. */
export async function openTlsTransport(options: TlsTransportOptions): Promise<Transport> {
  checkTimeout(options.timeout);
  const where = `${isIP(options.host) === 6 ? `[${options.host}]` : options.host}:${options.port}`;
  const deadline = Date.now() + options.timeout;
  const creds = await bounded(loadCredentials(options), options, `TLS to ${where}: reading credentials`);
  if (!options.noSanity) sanityCheckCached(creds, credentialsKey(creds));
  return handshake(options, creds, where, Math.max(0, deadline - Date.now()));
}

async function bounded<T>(work: Promise<T>, o: TlsTransportOptions, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError(`${what} did not finish within ${o.timeout} ms`)), o.timeout);
        onAbort = () => reject(new AbortError(`${what}: aborted`, { cause: o.signal?.reason }));
        if (o.signal?.aborted) onAbort();
        else o.signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
  }
}

async function loadCredentials(o: TlsTransportOptions): Promise<LoadedCredentials> {
  const paths = locateTlsCredentials(o);
  const exists = o.exists ?? existsSync;
  // Read synchronously: a few KB from local files, where an asynchronous read is four hand-offs to the thread
  // pool (open, stat, read, close) per file, which on a loaded machine cost more than the read itself.
  const read = async (path: string, what: string): Promise<Buffer> => {
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        throw new TlsError('ERR_TLS_MISSING_FILE', `TLS ${what} ${path} does not exist`, { cause: err, path });
      }
      throw new TlsError('ERR_TLS_UNREADABLE_FILE', `cannot read TLS ${what} ${path}: ${code ?? (err as Error).message}`, { cause: err, path });
    }
  };
  let ca: Buffer;
  try {
    ca = await read(paths.cacert, 'CA certificate');
  } catch (err) {
    if (err instanceof TlsError && err.code === 'ERR_TLS_MISSING_FILE') {
      const where = paths.searched.cacert.join(', then ');
      throw new TlsError('ERR_TLS_MISSING_FILE',
        `TLS CA certificate not found: looked for ${where}${o.pkipath === undefined ? ' (set pkipath=DIR in the URI to use another folder)' : ''}`,
        { cause: err, path: paths.cacert });
    }
    throw err;
  }
  const out: LoadedCredentials = { ca, paths };
  if (exists(paths.cacrl)) out.crl = await read(paths.cacrl, 'CA revocation list');
  // A client without certificate and key goes on without them, as libvirt does; the daemon decides.
  if (exists(paths.cert) && exists(paths.key)) {
    out.cert = await read(paths.cert, 'client certificate');
    out.key = await read(paths.key, 'client key');
  }
  return out;
}

/**
 * Credentials are re-read from disk on every connect (as libvirt does), but parsing, chain and key checks and the
 * OpenSSL context depend only on the bytes read: they are cached by content, and a cached check still honours
 * the certificates' validity period. A handful of entries: one per PKI folder in use.
 */
const CACHE_LIMIT = 16;
const checkedUntil = new Map<string, { from: number; to: number }>();
const contexts = new Map<string, tls.SecureContext>();

function credentialsKey(creds: LoadedCredentials): string {
  const parts = [creds.ca, creds.crl, creds.cert, creds.key].map((b) => (b ? b.toString('latin1') : ''));
  return parts.join('\u0000');
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= CACHE_LIMIT) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** {@link sanityCheck}, skipped when these exact bytes passed it and their certificates are still in date. */
function sanityCheckCached(creds: LoadedCredentials, key: string): void {
  const hit = checkedUntil.get(key);
  const now = Date.now();
  if (hit && hit.from <= now && now <= hit.to) return;
  remember(checkedUntil, key, sanityCheck(creds));
}

/** The OpenSSL context for these credentials, built once per content. */
function secureContext(creds: LoadedCredentials, key: string): tls.SecureContext {
  let ctx = contexts.get(key);
  if (!ctx) {
    ctx = tls.createSecureContext({
      ca: creds.ca,
      ...(creds.crl ? { crl: creds.crl } : {}),
      ...(creds.cert !== undefined ? { cert: creds.cert, key: creds.key } : {}),
    });
    remember(contexts, key, ctx);
  }
  return ctx;
}

/**
 * virNetTLSContextSanityCheckCredentials, on the points OpenSSL would otherwise only report vaguely. Returns the
 * period in which every certificate checked is valid.
 */
function sanityCheck(creds: LoadedCredentials): { from: number; to: number } {
  const { paths } = creds;
  const bad = (message: string, path: string, cause?: unknown): never => {
    throw new TlsError('ERR_TLS_BAD_CREDENTIALS', message, { cause, path });
  };
  const now = Date.now();
  const period = { from: -Infinity, to: Infinity };
  const blocks = creds.ca.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) bad(`TLS CA certificate ${paths.cacert} contains no PEM certificate`, paths.cacert);
  const cas = blocks.map((pem) => {
    let ca: X509Certificate | undefined;
    try {
      ca = new X509Certificate(pem);
    } catch (err) {
      bad(`TLS CA certificate ${paths.cacert} cannot be parsed`, paths.cacert, err);
    }
    checkTimes(ca!, 'CA certificate', paths.cacert, now, bad);
    period.from = Math.max(period.from, Date.parse(ca!.validFrom));
    period.to = Math.min(period.to, Date.parse(ca!.validTo));
    if (!ca!.ca) bad(`TLS CA certificate ${paths.cacert} (${ca!.subject.replace(/\n/g, ', ')}) is not a CA (basic constraints)`, paths.cacert);
    return ca!;
  });
  if (creds.cert === undefined || creds.key === undefined) return period;
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(creds.cert);
  } catch (err) {
    bad(`TLS client certificate ${paths.cert} cannot be parsed`, paths.cert, err);
  }
  checkTimes(cert!, 'client certificate', paths.cert, now, bad);
  period.from = Math.max(period.from, Date.parse(cert!.validFrom));
  period.to = Math.min(period.to, Date.parse(cert!.validTo));
  if (cert!.ca) bad(`TLS client certificate ${paths.cert} is a CA certificate, not a client one`, paths.cert);
  if (!cas.some((ca) => cert!.checkIssued(ca) && cert!.verify(ca.publicKey))) {
    bad(`TLS client certificate ${paths.cert} was not issued by the CA in ${paths.cacert}`, paths.cert);
  }
  try {
    if (!cert!.checkPrivateKey(createPrivateKey(creds.key))) {
      bad(`TLS client key ${paths.key} does not belong to the certificate ${paths.cert}`, paths.key);
    }
  } catch (err) {
    if (err instanceof TlsError) throw err;
    bad(`TLS client key ${paths.key} cannot be loaded (it must be an unencrypted PEM key)`, paths.key, err);
  }
  return period;
}

function checkTimes(c: X509Certificate, what: string, path: string, now: number, bad: (m: string, p: string) => never): void {
  if (Date.parse(c.validTo) < now) bad(`TLS ${what} ${path} expired on ${c.validTo}`, path);
  if (Date.parse(c.validFrom) > now) bad(`TLS ${what} ${path} is not valid before ${c.validFrom}`, path);
}

type Step = 'connecting' | 'in the TLS handshake' | "waiting for the daemon's status byte";

function handshake(o: TlsTransportOptions, creds: LoadedCredentials, where: string, timeout: number): Promise<Transport> {
  return new Promise<Transport>((resolve, reject) => {
    let step: Step = 'connecting';
    let settled = false;
    const haveCert = creds.cert !== undefined;
    // Node builds the server's certificate as an object for its own identity check; keep it for ours (below)
    // rather than have getPeerCertificate() build it again.
    let peerSeen: tls.PeerCertificate | undefined;
    const socket = tls.connect({
      host: o.host,
      port: o.port,
      secureContext: secureContext(creds, credentialsKey(creds)),
      ...(isIP(o.host) ? {} : { servername: o.host }),
      // Verification is done below, after the handshake, so each failure gets its own error.
      rejectUnauthorized: false,
      checkServerIdentity: (_host, cert) => {
        peerSeen = cert;
        return undefined;
      },
    });
    socket.setNoDelay(true); // small RPC frames should not wait for Nagle's algorithm
    // One TLS record per RPC message. Node coalesces queued writes (_writev) into one SSL_write, so pipelined
    // calls would share a record; libvirtd (seen with 9.0.0) reads one message of such a record and leaves the
    // rest in GnuTLS's buffer, where poll() cannot see it, until other traffic (its 5 s keepalive) wakes it.
    // Without _writev, Writable writes queued chunks one by one, each its own record, as libvirt's client does.
    (socket as unknown as { _writev: unknown })._writev = null;
    const timer = setTimeout(
      () => fail(new TimeoutError(`TLS to ${where}: no progress within ${o.timeout} ms while ${step}`)),
      timeout,
    );
    const onAbort = (): void => fail(new AbortError(`TLS to ${where}: aborted while ${step}`, { cause: o.signal?.reason }));
    const noCert = (how: string): TlsError => new TlsError('ERR_TLS_CLIENT_CERT_REQUIRED',
      `TLS to ${where}: the daemon requires a client certificate and we have none (${how}); looked for ` +
      `${creds.paths.searched.cert.join(' or ')} with key ${creds.paths.searched.key.join(' or ')}`);
    const rejected = (how: string, cause?: unknown): TlsError => new TlsError('ERR_TLS_REJECTED',
      `TLS to ${where}: the daemon refused our client certificate ${creds.paths.cert} or our address (${how})`, { cause });

    const onError = (err: NodeJS.ErrnoException): void => {
      const code = err.code ?? '';
      if (step === 'connecting') {
        fail(new TransportError(`cannot connect to ${where}: ${err.message}`, { cause: err }));
      } else if (/CERTIFICATE_REQUIRED/.test(code) || (!haveCert && /ALERT_HANDSHAKE_FAILURE/.test(code))) {
        fail(noCert(`TLS alert ${code}`));
      } else if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|DECRYPT_ERROR)/.test(code)) {
        fail(rejected(`TLS alert ${code}`, err));
      } else if (step === 'in the TLS handshake') {
        const how = code === 'ECONNRESET' ? 'was cut off: the connection closed' : `failed: ${err.message}`;
        fail(new TlsError('ERR_TLS_HANDSHAKE', `TLS handshake with ${where} ${how}`, { cause: err }));
      } else {
        fail(haveCert ? rejected(err.message, err) : noCert(err.message));
      }
    };
    const onClose = (): void => {
      if (step === 'connecting') fail(new TransportError(`cannot connect to ${where}: the connection closed`));
      else if (step === 'in the TLS handshake') fail(new TlsError('ERR_TLS_HANDSHAKE', `TLS handshake with ${where} was cut off: the daemon closed the connection`));
      // The daemon closes without its status byte when it refuses us (virNetServerClientCheckAccess).
      else fail(haveCert ? rejected('it closed the connection without the status byte') : noCert('it closed the connection after the handshake'));
    };
    const onConnect = (): void => {
      step = 'in the TLS handshake';
    };
    const onSecure = (): void => {
      if (!o.noVerify) {
        // virNetTLSContextValidCertificate: chain to our CA (OpenSSL also checks dates, purpose, the CRL) ...
        if (!socket.authorized) {
          const reason = String(socket.authorizationError ?? 'unknown reason');
          return fail(new TlsError('ERR_TLS_UNTRUSTED_SERVER',
            `TLS to ${where}: the server's certificate is not trusted by the CA in ${creds.paths.cacert} (${reason}); ` +
            'add no_verify=1 to the URI to skip this check'));
        }
        // ... and the certificate names the host we dialled (gnutls_x509_crt_check_hostname).
        const peer = peerSeen ?? socket.getPeerCertificate();
        const mismatch = tls.checkServerIdentity(o.host, peer);
        if (mismatch) {
          const names = peer.subjectaltname || `CN=${peer.subject?.CN ?? '?'}`;
          return fail(new TlsError('ERR_TLS_HOSTNAME_MISMATCH',
            `TLS to ${where}: the server's certificate is for ${names}, not ${o.host}; ` +
            'connect by a name the certificate lists, or add no_verify=1 to the URI', { cause: mismatch }));
        }
      }
      // libvirt's no_verify=1 skips that whole check (requireValidCert = false) but not the status byte.
      step = "waiting for the daemon's status byte";
      socket.on('data', onData);
    };
    // After accepting us, the daemon sends one encrypted byte, '\1'; on refusal it just closes the connection.
    const onData = (chunk: Buffer): void => {
      socket.pause();
      socket.removeListener('data', onData);
      if (chunk[0] !== 1) return fail(rejected(`its status byte was ${chunk[0]}, not 1`));
      if (chunk.length > 1) socket.unshift(chunk.subarray(1));
      finish();
    };
    const detach = (): void => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      socket.removeListener('error', onError);
      socket.removeListener('close', onClose);
      socket.removeListener('connect', onConnect);
      socket.removeListener('secureConnect', onSecure);
      socket.removeListener('data', onData);
    };
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      detach();
      socket.on('error', () => undefined); // late errors of a socket we are abandoning
      socket.destroy();
      reject(err);
    }
    function finish(): void {
      if (settled) return;
      settled = true;
      detach();
      resolve(new DuplexTransport(socket, `tls:${where}`));
    }
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.once('connect', onConnect);
    socket.once('secureConnect', onSecure);
    if (o.signal?.aborted) onAbort();
    else o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
