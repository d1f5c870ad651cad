/**
 * `connect(uri)` for Node: installs the URI opener behind `Connect.open(uri)` when imported (unix, TCP, TLS and
 * SSH transports from libvirt URIs, auth.conf for SASL). Both the package's main entry and `libvirt-rpc/node`
 * (which carries no typed procedure API, events, scheduler or diagnostics) import it.
 */
// Host string decoders for the XDR reader (Node's isAscii and latin1 Buffer decoding); see xdr.ts.
import './ascii-strings.js';
import { Connect, setUriOpener, type ConnectOptions } from '../objects/connect.js';
import type { CredentialsCallback } from '../protocol/sasl/credentials.js';
import { authConfigLoader } from '../transport/auth-file.js';
import { openTransport, remoteOpenName, resolveUri, type SshCredentialRequest } from '../transport/index.js';

// Connect.open(uri) in Node: the URI (or LIBVIRT_DEFAULT_URI) names a transport; CONNECT_OPEN sends the name
// libvirt's remote driver would send for it.
setUriOpener(async (uri, options) => {
  // Node code (the browser-safe entry is ./core), so the process environment is the default.
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
