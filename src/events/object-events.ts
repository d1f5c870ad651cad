/**
 * Events of networks, storage pools, node devices and secrets: each family has its own
 * CONNECT_<FAMILY>_EVENT_REGISTER_ANY (with a callback id, and an optional object filter) and its own message
 * procedures, as libvirt's remote driver registers them (remoteConnectNetworkEventRegisterAny and friends).
 */
import * as H from '../../generated/libvirt-headers.js';
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { uuidString } from '../objects/support.js';
import { enumNames, named, nameOf, type EventSpec, type FamilySpec, type NamedObject } from './family.js';

const NETWORK = /* @__PURE__ */ enumNames(H.virNetworkEventLifecycleType, 'VIR_NETWORK_EVENT_');
const NETWORK_METADATA = /* @__PURE__ */ enumNames(H.virNetworkMetadataType, 'VIR_NETWORK_METADATA_');
const POOL = /* @__PURE__ */ enumNames(H.virStoragePoolEventLifecycleType, 'VIR_STORAGE_POOL_EVENT_');
const NODE_DEVICE = /* @__PURE__ */ enumNames(H.virNodeDeviceEventLifecycleType, 'VIR_NODE_DEVICE_EVENT_');
const SECRET = /* @__PURE__ */ enumNames(H.virSecretEventLifecycleType, 'VIR_SECRET_EVENT_');
const SECRET_USAGE = /* @__PURE__ */ enumNames(H.virSecretUsageType, 'VIR_SECRET_USAGE_TYPE_');

/** A lifecycle event's fields: the event's name and its detail (no family defines detail names yet). */
interface Lifecycle {
  readonly event: string;
  readonly eventCode: number;
  readonly detail: number;
}

/** Network events by name. */
export interface NetworkEventMap {
  lifecycle: { family: 'network'; type: 'lifecycle'; network: NamedObject } & Lifecycle;
  'metadata-change': { family: 'network'; type: 'metadata-change'; network: NamedObject; metadataType: string; metadataTypeCode: number; nsuri: string | null };
}
/** Storage pool events by name. */
export interface StoragePoolEventMap {
  lifecycle: { family: 'storage-pool'; type: 'lifecycle'; pool: NamedObject } & Lifecycle;
  refresh: { family: 'storage-pool'; type: 'refresh'; pool: NamedObject };
}
/** Node device events by name. */
export interface NodeDeviceEventMap {
  lifecycle: { family: 'node-device'; type: 'lifecycle'; device: { name: string } } & Lifecycle;
  update: { family: 'node-device'; type: 'update'; device: { name: string } };
}
/** A secret as events name it. */
export interface SecretRef {
  readonly uuid: string;
  /** `volume`, `ceph`, `iscsi`, `tls`, `vtpm` or `none`. */
  readonly usageType: string;
  readonly usageID: string;
}
/** Secret events by name. */
export interface SecretEventMap {
  lifecycle: { family: 'secret'; type: 'lifecycle'; secret: SecretRef } & Lifecycle;
  'value-changed': { family: 'secret'; type: 'value-changed'; secret: SecretRef };
}

export type NetworkEventName = keyof NetworkEventMap;
export type StoragePoolEventName = keyof StoragePoolEventMap;
export type NodeDeviceEventName = keyof NodeDeviceEventMap;
export type SecretEventName = keyof SecretEventMap;

const lifecycle = (m: { event: number; detail: number }, names: readonly string[]): Lifecycle => ({ event: nameOf(names, m.event), eventCode: m.event, detail: m.detail });

function /* @__PURE__ */ spec<M>(id: number, name: string, message: EventSpec['message'], since: string, transform: (m: M) => object): EventSpec {
  return { id, name, message, since, transform: transform as (m: never) => object };
}

export const NETWORK_FAMILY: FamilySpec = {
  name: 'network',
  register: R.connectNetworkEventRegisterAny as FamilySpec['register'],
  deregister: R.connectNetworkEventDeregisterAny,
  registerArgs: (eventID, net) => ({ eventID, net: net ?? null }),
  events: [
    /* @__PURE__ */ spec<remote.remote_network_event_lifecycle_msg>(0, 'lifecycle', R.networkEventLifecycle, '1.2.1', (m) => ({
      family: 'network', type: 'lifecycle', network: named(m.net), ...lifecycle(m, NETWORK),
    })),
    /* @__PURE__ */ spec<remote.remote_network_event_callback_metadata_change_msg>(1, 'metadata-change', R.networkEventCallbackMetadataChange, '9.8.0', (m) => ({
      family: 'network', type: 'metadata-change', network: named(m.net), metadataType: nameOf(NETWORK_METADATA, m.type), metadataTypeCode: m.type, nsuri: m.nsuri,
    })),
  ],
};

export const STORAGE_POOL_FAMILY: FamilySpec = {
  name: 'storage-pool',
  register: R.connectStoragePoolEventRegisterAny as FamilySpec['register'],
  deregister: R.connectStoragePoolEventDeregisterAny,
  registerArgs: (eventID, pool) => ({ eventID, pool: pool ?? null }),
  events: [
    /* @__PURE__ */ spec<remote.remote_storage_pool_event_lifecycle_msg>(0, 'lifecycle', R.storagePoolEventLifecycle, '2.0.0', (m) => ({
      family: 'storage-pool', type: 'lifecycle', pool: named(m.pool), ...lifecycle(m, POOL),
    })),
    /* @__PURE__ */ spec<remote.remote_storage_pool_event_refresh_msg>(1, 'refresh', R.storagePoolEventRefresh, '2.0.0', (m) => ({
      family: 'storage-pool', type: 'refresh', pool: named(m.pool),
    })),
  ],
};

export const NODE_DEVICE_FAMILY: FamilySpec = {
  name: 'node-device',
  register: R.connectNodeDeviceEventRegisterAny as FamilySpec['register'],
  deregister: R.connectNodeDeviceEventDeregisterAny,
  registerArgs: (eventID, dev) => ({ eventID, dev: dev ?? null }),
  events: [
    /* @__PURE__ */ spec<remote.remote_node_device_event_lifecycle_msg>(0, 'lifecycle', R.nodeDeviceEventLifecycle, '2.2.0', (m) => ({
      family: 'node-device', type: 'lifecycle', device: { name: m.dev.name }, ...lifecycle(m, NODE_DEVICE),
    })),
    /* @__PURE__ */ spec<remote.remote_node_device_event_update_msg>(1, 'update', R.nodeDeviceEventUpdate, '2.2.0', (m) => ({
      family: 'node-device', type: 'update', device: { name: m.dev.name },
    })),
  ],
};

const secretRef = (s: remote.remote_nonnull_secret): SecretRef => ({ uuid: uuidString(s.uuid), usageType: nameOf(SECRET_USAGE, s.usageType), usageID: s.usageID });

export const SECRET_FAMILY: FamilySpec = {
  name: 'secret',
  register: R.connectSecretEventRegisterAny as FamilySpec['register'],
  deregister: R.connectSecretEventDeregisterAny,
  registerArgs: (eventID, secret) => ({ eventID, secret: secret ?? null }),
  events: [
    /* @__PURE__ */ spec<remote.remote_secret_event_lifecycle_msg>(0, 'lifecycle', R.secretEventLifecycle, '3.0.0', (m) => ({
      family: 'secret', type: 'lifecycle', secret: secretRef(m.secret), ...lifecycle(m, SECRET),
    })),
    /* @__PURE__ */ spec<remote.remote_secret_event_value_changed_msg>(1, 'value-changed', R.secretEventValueChanged, '3.0.0', (m) => ({
      family: 'secret', type: 'value-changed', secret: secretRef(m.secret),
    })),
  ],
};
