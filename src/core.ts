/**
 * libvirt-rpc's browser-safe entry: the error classes, the RPC engine's connection, the generated tables and
 * header constants, the object layer (Connect, Domain, DomainSnapshot, DomainCheckpoint, StoragePool, StorageVol),
 * byte streams with their WHATWG adapters, and typed XML. Nothing here imports Node: open connections with
 * `Connect.openWith(transport)` over a pipe of your own (a WebSocket to a bridge: `openWebSocketTransport`), or
 * install a URI opener with `setUriOpener`. The Node entry (src/index.ts) adds `connect(uri)`.
 */

export * from './errors.js';
export { RemoteConnection, formatVersion, type ConnectionOptions } from './protocol/connection.js';
export type { CallOptions, ProcedureInfo, ProgramId, ProgramInfo } from './protocol/program.js';
export type { Transport, TransportSink } from './protocol/transport.js';
export {
  openWebSocketTransport,
  WebSocketTransport,
  WebSocketError,
  BRIDGE_CLOSE,
  DEFAULT_WEBSOCKET_TIMEOUT_MS,
  DEFAULT_WEBSOCKET_HIGH_WATER_MARK,
  type WebSocketLike,
  type WebSocketConstructor,
  type WebSocketErrorCode,
  type WebSocketTransportOptions,
} from './protocol/websocket-transport.js';
export type { CloseInfo } from './protocol/rpc-client.js';
export { KeepaliveTimeoutError, DEFAULT_KEEPALIVE, type KeepaliveOptions } from './protocol/keepalive.js';
export { SaslError, AuthConfigError, type SaslErrorCode, type SaslErrorDetails } from './protocol/sasl/errors.js';
export { AuthConfig } from './protocol/sasl/auth-config.js';
export { SASL_MECHANISMS, type SaslMechanism } from './protocol/sasl/mechanisms.js';
export type {
  SaslConnectOptions,
  SaslCredentialRequest,
  SaslAuthnameRequest,
  SaslPasswordRequest,
  SaslCredentialsCallback,
  CredentialRequest,
  CredentialsCallback,
  CredentialAnswer,
} from './protocol/sasl/credentials.js';
export { setCallTracer, setDebugLog, type CallTrace, type CallEndTrace, type CallErrorTrace, type CallTracer, type DebugLog } from './protocol/observe.js';
export { GENERATED_FROM_LIBVIRT } from '../generated/version.js';
export * as headers from '../generated/libvirt-headers.js';
export * as remote from '../generated/remote-protocol.js';
export * as qemu from '../generated/qemu-protocol.js';
export * as lxc from '../generated/lxc-protocol.js';
export * as remoteProcedures from '../generated/remote-procedures.js';
export * as qemuProcedures from '../generated/qemu-procedures.js';
export * as lxcProcedures from '../generated/lxc-procedures.js';

export {
  Connect,
  setUriOpener,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type ConnectOptions,
  type OpenWithOptions,
  type UriOpener,
  type UriAuth,
  type DomainHandle,
  type TransportFactory,
} from './objects/connect.js';
export {
  DaemonClosedError,
  ReconnectingError,
  ReconnectFailedError,
  type ConnectCloseInfo,
  type DaemonCloseReason,
  type ReconnectPolicy,
} from './objects/reconnect.js';
export { Domain, type DomainInfo, type DomainJobInfo } from './objects/domain.js';
export { DomainSnapshot, NO_DOMAIN_SNAPSHOT } from './objects/domain-snapshot.js';
export {
  DELETE_CHILDREN_CRASH_SINCE,
  SubtreeDeleteError,
  UnsafeSnapshotDeleteError,
  type SubtreeDeleteOptions,
  type SubtreeProgress,
} from './objects/snapshot-subtree.js';
export { DomainCheckpoint, NO_DOMAIN_CHECKPOINT } from './objects/domain-checkpoint.js';
export {
  Stream,
  STREAM_PACKET_MAX,
  DEFAULT_HIGH_WATER,
  isHole,
  type StreamHole,
  type StreamItem,
  type StreamOpenOptions,
} from './protocol/stream.js';
export { toReadableStream, toWritableStream } from './protocol/stream-web.js';
export { StoragePool, type StoragePoolInfo } from './objects/storage-pool.js';
export { StorageVol, type StorageVolInfo } from './objects/storage-vol.js';
export { STORAGE_POOL_CONSTANTS, STORAGE_VOL_CONSTANTS } from './objects/storage-constants.js';
export {
  HoleFinder,
  HOLE_BLOCK,
  receiveAll,
  receiveItems,
  sendAll,
  sendItems,
  writableSink,
  type DownloadSink,
  type TransferOptions,
  type TransferProgress,
  type UploadSource,
} from './objects/transfer.js';
export { SCREENSHOT_MAX_BYTES, type Screenshot, type ScreenshotOptions } from './objects/domain-streams.js';
export { DOMAIN_CONSTANTS, SNAPSHOT_CONSTANTS, CHECKPOINT_CONSTANTS } from './objects/constants.js';
export type { TypedValue } from './objects/typed-params.js';
export { uuidBytes, uuidString } from './objects/support.js';
export * from './objects/xml/index.js';
