/**
 * The TLS transport (libvirtd's port 16514), following libvirt's client: credentials are found and checked as
 * libvirt does (./tls-credentials.ts), the server is checked as virNetTLSContextValidCertificate does
 * (src/rpc/virnettlscontext.c), and after the handshake the daemon's one-byte verdict is read as
 * virNetClientSetTLSSession does (src/rpc/virnetclient.c) before the pipe is handed to the RPC engine.
 *
 * The URI's `tls_priority` is a GnuTLS priority string with no OpenSSL equivalent; it is not applied, and Node's
 * defaults (TLS 1.2 or newer) are used.
 */

import { isIP } from 'node:net';
import * as tls from 'node:tls';
import { AbortError, TimeoutError, TransportError } from '../errors.js';
import { bounded, type Settle } from '../protocol/bounded.js';
import type { Transport } from '../protocol/transport.js';
import { nextEvent, PeerClosed } from './next-event.js';
import { DuplexTransport } from './node-stream.js';
import { credentialsKey, loadCredentials, sanityCheckCached, secureContext, type LoadedCredentials } from './tls-credentials.js';
import { TlsError } from './tls-errors.js';

export { TlsError, type TlsErrorCode } from './tls-errors.js';
export { locateTlsCredentials, type TlsCredentialPaths } from './tls-credentials.js';

type Env = Readonly<Record<string, string | undefined>>;

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

type Step = 'reading the credentials' | 'connecting' | 'in the TLS handshake' | "waiting for the daemon's status byte";

/**
 * Opens a TLS connection to a libvirt daemon and returns it once the daemon has said yes. Every failure is a
 * {@link TlsError} (or a TransportError, TimeoutError, AbortError); the whole opening is bounded by `timeout`.
 */
export function openTlsTransport(o: TlsTransportOptions): Promise<Transport> {
  const where = `${isIP(o.host) === 6 ? `[${o.host}]` : o.host}:${o.port}`;
  const at = { step: 'reading the credentials' as Step };
  return bounded<Transport>({
    timeout: o.timeout,
    signal: o.signal,
    onTimeout: () => new TimeoutError(`TLS to ${where}: no progress within ${o.timeout} ms while ${at.step}`),
    onAbort: (reason) => new AbortError(`TLS to ${where}: aborted while ${at.step}`, { cause: reason }),
  }, (settle) => openSteps(o, where, at, settle));
}

async function openSteps(o: TlsTransportOptions, where: string, at: { step: Step }, settle: Settle<Transport>): Promise<Transport> {
  // 1. Our credentials: read, checked as libvirt checks them (unless no_sanity), made into an OpenSSL context.
  const creds = await loadCredentials(o);
  const key = credentialsKey(creds);
  if (!o.noSanity) sanityCheckCached(creds, key);
  const context = secureContext(creds, key);

  // 2. TCP, then the TLS handshake.
  at.step = 'connecting';
  const dialled = dial(o, context);
  const { socket } = dialled;
  settle.finally((err) => {
    if (err === null) return;
    socket.on('error', () => undefined); // late errors of a socket we are abandoning
    socket.destroy();
  });
  const failed = (err: Error | PeerClosed): Error => handshakeError(err, at.step, where, creds);
  await nextEvent(socket, 'connect').catch((e: Error) => Promise.reject(failed(e)));
  at.step = 'in the TLS handshake';
  await nextEvent(socket, 'secureConnect').catch((e: Error) => Promise.reject(failed(e)));

  // 3. The server: chained to our CA and named as the host we dialled (no_verify=1 skips exactly this).
  if (!o.noVerify) verifyServer(dialled, o, creds, where);

  // 4. The daemon's verdict: one encrypted byte, '\1'; on refusal it just closes the connection.
  at.step = "waiting for the daemon's status byte";
  const chunk = await nextEvent<Buffer>(socket, 'data').catch((e: Error) => Promise.reject(failed(e)));
  if (chunk[0] !== 1) throw rejected(where, creds, `its status byte was ${chunk[0]}, not 1`);
  if (chunk.length > 1) socket.unshift(chunk.subarray(1));
  return new DuplexTransport(socket, `tls:${where}`, { confidential: true });
}

/** The socket, and the server's certificate once the handshake has shown it. */
interface Dialled {
  socket: tls.TLSSocket;
  peer(): tls.PeerCertificate;
}

function dial(o: TlsTransportOptions, context: tls.SecureContext): Dialled {
  // Node builds the server's certificate as an object for its own identity check; it is kept for ours
  // (verifyServer) rather than have getPeerCertificate() build it again.
  let seen: tls.PeerCertificate | undefined;
  const socket = tls.connect({
    host: o.host,
    port: o.port,
    secureContext: context,
    ...(isIP(o.host) ? {} : { servername: o.host }),
    // Verification is done after the handshake (verifyServer), so each failure gets its own error.
    rejectUnauthorized: false,
    checkServerIdentity: (_host, cert) => {
      seen = cert;
      return undefined;
    },
  });
  socket.setNoDelay(true); // small RPC frames should not wait for Nagle's algorithm
  // One TLS record per RPC message. Node coalesces queued writes (_writev) into one SSL_write, so pipelined
  // calls would share a record; libvirtd (seen with 9.0.0) reads one message of such a record and leaves the
  // rest in GnuTLS's buffer, where poll() cannot see it, until other traffic (its 5 s keepalive) wakes it.
  // Without _writev, Writable writes queued chunks one by one, each its own record, as libvirt's client does.
  (socket as unknown as { _writev: unknown })._writev = null;
  return { socket, peer: () => seen ?? socket.getPeerCertificate() };
}

/** virNetTLSContextValidCertificate: the chain to our CA (OpenSSL also checks dates, purpose, the CRL), then the name. */
function verifyServer({ socket, peer: peerCertificate }: Dialled, o: TlsTransportOptions, creds: LoadedCredentials, where: string): void {
  if (!socket.authorized) {
    const reason = String(socket.authorizationError ?? 'unknown reason');
    throw new TlsError('ERR_TLS_UNTRUSTED_SERVER',
      `TLS to ${where}: the server's certificate is not trusted by the CA in ${creds.paths.cacert} (${reason}); ` +
      'add no_verify=1 to the URI to skip this check');
  }
  // gnutls_x509_crt_check_hostname: the certificate names the host we dialled.
  const peer = peerCertificate();
  const mismatch = tls.checkServerIdentity(o.host, peer);
  if (mismatch) {
    const names = peer.subjectaltname || `CN=${peer.subject?.CN ?? '?'}`;
    throw new TlsError('ERR_TLS_HOSTNAME_MISMATCH',
      `TLS to ${where}: the server's certificate is for ${names}, not ${o.host}; ` +
      'connect by a name the certificate lists, or add no_verify=1 to the URI', { cause: mismatch });
  }
}

function noCert(where: string, creds: LoadedCredentials, how: string): TlsError {
  return new TlsError('ERR_TLS_CLIENT_CERT_REQUIRED',
    `TLS to ${where}: the daemon requires a client certificate and we have none (${how}); looked for ` +
    `${creds.paths.searched.cert.join(' or ')} with key ${creds.paths.searched.key.join(' or ')}`);
}

function rejected(where: string, creds: LoadedCredentials, how: string, cause?: unknown): TlsError {
  return new TlsError('ERR_TLS_REJECTED', `TLS to ${where}: the daemon refused our client certificate ${creds.paths.cert} or our address (${how})`, { cause });
}

/** What a socket error (or the socket closing) at `step` means. */
function handshakeError(err: Error | PeerClosed, step: Step, where: string, creds: LoadedCredentials): Error {
  const haveCert = creds.cert !== undefined;
  if (err instanceof PeerClosed) {
    if (step === 'connecting') return new TransportError(`cannot connect to ${where}: the connection closed`);
    if (step === 'in the TLS handshake') return new TlsError('ERR_TLS_HANDSHAKE', `TLS handshake with ${where} was cut off: the daemon closed the connection`);
    // The daemon closes without its status byte when it refuses us (virNetServerClientCheckAccess).
    return haveCert ? rejected(where, creds, 'it closed the connection without the status byte') : noCert(where, creds, 'it closed the connection after the handshake');
  }
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (step === 'connecting') return new TransportError(`cannot connect to ${where}: ${err.message}`, { cause: err });
  if (/CERTIFICATE_REQUIRED/.test(code) || (!haveCert && /ALERT_HANDSHAKE_FAILURE/.test(code))) return noCert(where, creds, `TLS alert ${code}`);
  if (/ALERT_(UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|DECRYPT_ERROR)/.test(code)) {
    return rejected(where, creds, `TLS alert ${code}`, err);
  }
  if (step === 'in the TLS handshake') {
    const how = code === 'ECONNRESET' ? 'was cut off: the connection closed' : `failed: ${err.message}`;
    return new TlsError('ERR_TLS_HANDSHAKE', `TLS handshake with ${where} ${how}`, { cause: err });
  }
  return haveCert ? rejected(where, creds, err.message, err) : noCert(where, creds, err.message);
}
