/**
 * The constants of StoragePool and StorageVol under Sys::Virt's names (Sys::Virt::StoragePool,
 * Sys::Virt::StorageVol), derived from the enums generated from libvirt-storage.h, as ./constants.ts does for
 * domains.
 */
import * as headers from '../../generated/libvirt-headers.js';
import { renamed } from './constants.js';

const POOL = 'VIR_STORAGE_POOL_';
/** StoragePool's constants: STATE_*, BUILD_*, CREATE_*, DELETE_*, DEFINE_*, LIST_* (for listAllStoragePools), XML_INACTIVE. */
export const STORAGE_POOL_CONSTANTS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...renamed(headers.virStoragePoolState, POOL, 'STATE_'),
    ...renamed(headers.virStoragePoolBuildFlags, POOL),
    ...renamed(headers.virStoragePoolCreateFlags, POOL),
    ...renamed(headers.virStoragePoolDeleteFlags, POOL),
    ...renamed(headers.virStoragePoolDefineFlags, POOL),
    ...renamed(headers.virConnectListAllStoragePoolsFlags, 'VIR_CONNECT_LIST_STORAGE_POOLS_', 'LIST_'),
    ...renamed(headers.virStorageXMLFlags, 'VIR_STORAGE_'),
  }))();

const VOL = 'VIR_STORAGE_VOL_';
/**
 * StorageVol's constants: TYPE_*, CREATE_*, DELETE_*, WIPE_ALG_*, RESIZE_*, USE_ALLOCATION, GET_PHYSICAL, and the
 * sparse stream flags under Sys::Virt's names VOL_UPLOAD_SPARSE_STREAM and VOL_DOWNLOAD_SPARSE_STREAM.
 */
export const STORAGE_VOL_CONSTANTS = /* @__PURE__ */ (() =>
  Object.freeze({
    ...renamed(headers.virStorageVolType, VOL, 'TYPE_'),
    ...renamed(headers.virStorageVolCreateFlags, VOL),
    ...renamed(headers.virStorageVolDeleteFlags, VOL),
    ...renamed(headers.virStorageVolWipeAlgorithm, VOL),
    ...renamed(headers.virStorageVolResizeFlags, VOL),
    ...renamed(headers.virStorageVolInfoFlags, VOL),
    ...renamed(headers.virStorageVolUploadFlags, 'VIR_STORAGE_'),
    ...renamed(headers.virStorageVolDownloadFlags, 'VIR_STORAGE_'),
  }))();
