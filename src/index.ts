/**
 * libvirt-rpc's main entry for Node: everything of the browser-safe core (./core), the scheduler
 * (./scheduler), the transports (./transport), the typed procedure API (./raw) and events, plus the Node
 * helpers of ./node: `connect(uri)`, which opens unix, TCP, TLS and SSH transports from libvirt URIs, files as
 * upload sources and download sinks, Node stream adapters. Importing it installs `conn.raw.remote.*`,
 * `conn.events`, the URI opener behind `Connect.open(uri)`, and the diagnostics_channel publisher.
 */
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
