/**
 * libvirt-rpc's browser-safe entry: the error classes, the RPC engine's connection, the generated tables and
 * header constants, the object layer (Connect, Domain, DomainSnapshot, DomainCheckpoint) and typed XML.
 * Nothing here imports Node: open connections with `Connect.openWith(transport)` over a pipe of your own, or
 * install a URI opener with `setUriOpener`. The Node entry (src/index.ts) adds `connect(uri)`.
 */

export * from './errors.js';
export { RemoteConnection, formatVersion, type ConnectionOptions } from './protocol/connection.js';
export type { CallOptions, ProcedureInfo, ProgramId, ProgramInfo } from './protocol/program.js';
export type { Transport, TransportSink } from './protocol/transport.js';
export type { CloseInfo } from './protocol/rpc-client.js';
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
  type DomainHandle,
} from './objects/connect.js';
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
export { DOMAIN_CONSTANTS, SNAPSHOT_CONSTANTS, CHECKPOINT_CONSTANTS } from './objects/constants.js';
export type { TypedValue } from './objects/typed-params.js';
export { uuidBytes, uuidString } from './objects/support.js';
export * from './objects/xml/index.js';
