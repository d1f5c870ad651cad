/**
 * libvirt-rpc's main entry for Node: everything of the browser-safe core (./core), the scheduler
 * (./scheduler), the transports (./transport) and the typed procedure API (./raw), plus `connect(uri)`, which
 * opens unix, TCP, TLS and SSH transports from libvirt URIs. Importing it installs `conn.raw.remote.*`, the
 * URI opener behind `Connect.open(uri)`, and the diagnostics_channel publisher.
 */
import { Connect, setUriOpener, type ConnectOptions, type CredentialsCallback } from './core.js';
import { authConfigLoader } from './transport/auth-file.js';
import { openTransport, remoteOpenName, resolveUri, type SshCredentialRequest } from './transport/index.js';
// The Node entry carries the whole typed procedure API (conn.raw.remote.*) and publishes calls on
// diagnostics_channel; both install themselves when imported.
import './raw.js';
import './diagnostics.js';
import './events/index.js';
// Host string decoders for the XDR reader (Node's isAscii and latin1 Buffer decoding); see xdr.ts.
import './node/ascii-strings.js';

export * from './core.js';
export * from './events/index.js';
export { CHANNELS } from './diagnostics.js';
export { typedApi, remote_procedures, remote_program, qemu_procedures, qemu_program, lxc_procedures, lxc_program } from './raw.js';
export type { RemoteProcedures, RemoteMessages, QemuProcedures, QemuMessages, LxcProcedures, LxcMessages } from './raw.js';
export * from './scheduler/index.js';
export {
  openTransport,
  parseUri,
  remoteOpenName,
  fromDuplex,
  DuplexTransport,
  TlsError,
  SshError,
  LIBVIRTD_TCP_PORT,
  LIBVIRTD_TLS_PORT,
  DEFAULT_OPEN_TIMEOUT_MS,
  type OpenTransportOptions,
  type LibvirtUri,
  type RemoteParams,
  type UriTransport,
  type TlsErrorCode,
  type SshErrorCode,
  type SshCredentialsCallback,
  type SshCredentialRequest,
  type SshCredentialAnswer,
  type SshPassphraseRequest,
  type SshPasswordRequest,
  type SshKeyboardInteractiveRequest,
  type SshHostKeyRequest,
} from './transport/index.js';
export { authConfigLoader, locateAuthFile, readAuthFile, SYSTEM_AUTH_FILE } from './transport/auth-file.js';
export * from './node/index.js';

// Connect.open(uri) in Node: the URI (or LIBVIRT_DEFAULT_URI) names a transport; CONNECT_OPEN sends the name
// libvirt's remote driver would send for it.
setUriOpener(async (uri, options) => {
  // This file is the Node entry (the browser-safe entry is ./core), so the process environment is the default.
  const env = options.env ?? process.env;
  const parsed = resolveUri(uri, env);
  const credentials = options.credentials;
  const transport = await openTransport(parsed, {
    env,
    timeout: options.timeout,
    signal: options.signal,
    readOnly: options.readOnly,
    transport: options.transport,
    credentials: credentials && sshAnswers(credentials),
  });
  // virConnectGetURI gives back the URI the client opened; with none at all, the daemon's answer (getURI asks).
  // SASL: the URI's auth= parameter, and auth.conf as libvirt finds it, looked up for the URI's host
  // (VIR_URI_SERVER: "localhost" when the URI names none, as for a unix socket).
  return {
    transport,
    name: remoteOpenName(parsed),
    uri: parsed === null ? null : parsed.input,
    auth: { auth: parsed?.remote.auth, authHost: parsed?.host ?? 'localhost', authConfig: authConfigLoader(parsed, { env }) },
  };
});

/** Options of {@link connect}: the core's `ConnectOptions` (its credentials callback also answers SSH requests). */
export type NodeConnectOptions = ConnectOptions;

/** The SSH transport takes strings: a Uint8Array answer is decoded (and zeroed). */
function sshAnswers(cb: CredentialsCallback) {
  return async (request: SshCredentialRequest) => {
    const answer = await cb(request);
    if (!(answer instanceof Uint8Array)) return answer;
    const text = new TextDecoder().decode(answer);
    answer.fill(0);
    return text;
  };
}

/**
 * Opens a connection to a libvirt URI, e.g. `qemu:///system`, `qemu+ssh://host/system`, `test:///default`
 * (null or empty: `LIBVIRT_DEFAULT_URI`, else the local daemon's choice). Same as `Connect.open(uri, options)`.
 */
export function connect(uri?: string | null, options?: NodeConnectOptions): Promise<Connect> {
  return Connect.open(uri, options);
}
