/**
 * libvirt-rpc's browser-safe entry: the error classes, the RPC engine's connection, the generated tables and
 * header constants, the object layer (Connect, Domain, DomainSnapshot, DomainCheckpoint) and typed XML.
 * Nothing here imports Node: open connections with `Connect.openWith(transport)` over a pipe of your own, or
 * install a URI opener with `setUriOpener`. The Node entry (src/index.ts) adds `connect(uri)`.
 */

export * from './errors';
export { RemoteConnection, formatVersion, type ConnectionOptions } from './protocol/connection';
export type { CallOptions, ProcedureInfo, ProgramInfo } from './protocol/program';
export type { Transport, TransportSink } from './protocol/transport';
export type { CloseInfo, RpcMessage } from './protocol/rpc-client';
export { GENERATED_FROM_LIBVIRT, headers, remote, qemu, lxc } from '../generated';

export {
  Connect,
  setUriOpener,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type ConnectOptions,
  type OpenWithOptions,
  type UriOpener,
  type DomainHandle,
} from './objects/connect';
export { Domain, type DomainInfo, type DomainJobInfo } from './objects/domain';
export { DomainSnapshot, NO_DOMAIN_SNAPSHOT } from './objects/domain-snapshot';
export { DomainCheckpoint, NO_DOMAIN_CHECKPOINT } from './objects/domain-checkpoint';
export { DOMAIN_CONSTANTS, SNAPSHOT_CONSTANTS, CHECKPOINT_CONSTANTS } from './objects/constants';
export type { TypedValue } from './objects/typed-params';
export { uuidBytes, uuidString } from './objects/support';
export * from './objects/xml';
