/**
 * Where the scheduler keeps its records: the domain's `<metadata>` (virDomainSetMetadata with the scheduler's
 * namespaces), written to the live definition and, for a persistent domain, to its configuration too, so they
 * survive the scheduler, the daemon and a guest restart.
 *
 * libvirt replaces a metadata element whole and has no compare-and-swap (wire quirk: virDomainDefSetMetadata in
 * src/conf/domain_conf.c drops the element of the namespace URI, then adds the new one; elements of other URIs
 * are untouched), so the store never lets two schedulers share an element (records.ts has the layout): each
 * writes its own record of each snapshot, readers merge
 * ({@link mergeRecords}). Two schedulers running at once can delay each other's writes as they like: neither can
 * overwrite the other's record. Only the failure state and the advisory lease are shared, last writer wins.
 */
import * as R from '../../generated/remote-procedures.js';
import * as headers from '../../generated/libvirt-headers.js';
import { RemoteError } from '../errors.js';
import type { Domain } from '../objects/domain.js';
import { parseXml, type XmlElement } from '../objects/xml/parse.js';
import type { CallOptions } from '../protocol/program.js';
import {
  attr,
  emptyRecords,
  isComplete,
  localName,
  lockFromElement,
  recordsFromElement,
  SCHEDULER_NS,
  SCHEDULER_NS2,
  SCHEDULER_PREFIX,
  snapshotAttributes,
  snapshotFromElement,
  stateFromElement,
  stateToXml,
  type FailureState,
  type LockLease,
  type ScheduleRecords,
  type SnapshotRecord,
} from './records.js';

export { ScheduleLockedError, LeaseLostError } from './lease.js';

/** One scheduler's record of one snapshot, and the key that removes it. */
export interface StoredRecord {
  key: string;
  writer: string;
  record: SnapshotRecord;
}

/** Everything stored for a domain. */
export interface ScheduleView {
  /** The records of every writer merged by snapshot name, the failure state and the lease. */
  records: ScheduleRecords;
  /** The keys of every stored record of each snapshot (what removing the snapshot's records removes). */
  keys: Map<string, string[]>;
  /** Format-1 records still there (their key is {@link LEGACY_KEY}), to be moved to format 2. */
  legacy: ScheduleRecords | null;
  /** Whether a format-2 state element exists. */
  hasState: boolean;
}

/** The key of the format-1 element: removing it removes every format-1 record. */
export const LEGACY_KEY = SCHEDULER_NS;

/** Loads and changes a domain's scheduler records, one element at a time. */
export interface ScheduleStore {
  load(opts?: CallOptions): Promise<ScheduleView>;
  /** Writes `writer`'s record of one snapshot; touches no other writer's record. */
  putRecord(writer: string, record: SnapshotRecord, opts?: CallOptions): Promise<void>;
  /** Removes stored records by key (as a view lists them). */
  dropRecords(keys: readonly string[], opts?: CallOptions): Promise<void>;
  putState(state: FailureState, opts?: CallOptions): Promise<void>;
  /** The lease as stored now (one small read). */
  loadLock(opts?: CallOptions): Promise<LockLease | null>;
  /** Writes the lease, or removes it (null). */
  putLock(lock: LockLease | null, opts?: CallOptions): Promise<void>;
}

/** The key of `writer`'s record of snapshot `name`: a namespace URI of its own. */
export function recordKey(name: string, writer: string): string {
  return `${SCHEDULER_NS2}/record/${encodeURIComponent(name)}/${encodeURIComponent(writer)}`;
}

const STATE_NS = `${SCHEDULER_NS2}/state`;
const LOCK_NS = `${SCHEDULER_NS2}/lock`;
const RECORD_NS = `${SCHEDULER_NS2}/record/`;

/**
 * Merges stored records by snapshot name: a complete record wins over an incomplete one (only the scheduler
 * whose creation succeeded completes it; another one's record of the same name is its losing attempt), one with
 * a known parent over one without, then the earliest start; `pinned` if any record pins it.
 */
export function mergeRecords(stored: readonly StoredRecord[]): { snapshots: SnapshotRecord[]; keys: Map<string, string[]> } {
  const best = new Map<string, { r: SnapshotRecord; writer: string; pinned: boolean }>();
  const keys = new Map<string, string[]>();
  const rank = (r: SnapshotRecord) => (isComplete(r) ? 0 : 2) + (r.parentUnknown ? 1 : 0);
  for (const { key, writer, record } of stored) {
    (keys.get(record.name) ?? keys.set(record.name, []).get(record.name)!).push(key);
    const cur = best.get(record.name);
    if (cur === undefined) {
      best.set(record.name, { r: record, writer, pinned: record.pinned });
      continue;
    }
    const better = rank(record) - rank(cur.r) || record.started - cur.r.started || (writer < cur.writer ? -1 : writer > cur.writer ? 1 : 0);
    const pinned = cur.pinned || record.pinned;
    best.set(record.name, better < 0 ? { r: record, writer, pinned } : { ...cur, pinned });
  }
  const snapshots = [...best.values()].map((b) => ({ ...b.r, pinned: b.pinned }));
  snapshots.sort((a, b) => a.started - b.started || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { snapshots, keys };
}

/** The namespace URI an element of `<metadata>` declares, if it is one of the scheduler's. */
function schedulerNamespace(el: XmlElement): string | null {
  for (const [name, value] of el.attributes) {
    if ((name === 'xmlns' || name.startsWith('xmlns:')) && (value === SCHEDULER_NS || value.startsWith(`${SCHEDULER_NS2}/`))) return value;
  }
  return null;
}

/** Reads the scheduler's elements out of a domain's XML. */
export function viewFromDomainXml(xml: string): ScheduleView {
  const root = parseXml(xml);
  const metadata = root.children.find((c) => c.name === 'metadata');
  const stored: StoredRecord[] = [];
  let legacy: ScheduleRecords | null = null;
  let state: FailureState | null = null;
  let lock: LockLease | null = null;
  for (const el of metadata?.children ?? []) {
    const ns = schedulerNamespace(el);
    if (ns === null) continue;
    if (ns === SCHEDULER_NS) legacy = recordsFromElement(el);
    else if (ns === STATE_NS && localName(el) === 'state') state = stateFromElement(el);
    else if (ns === LOCK_NS && localName(el) === 'lock') lock = lockFromElement(el);
    else if (ns.startsWith(RECORD_NS) && localName(el) === 'record') {
      stored.push({ key: ns, writer: el.attributes.get('writer') ?? '', record: snapshotFromElement(el, 'record') });
    }
  }
  for (const record of legacy?.snapshots ?? []) stored.push({ key: LEGACY_KEY, writer: '(format 1)', record });
  const { snapshots, keys } = mergeRecords(stored);
  const records = emptyRecords();
  records.snapshots = snapshots;
  records.state = state ?? legacy?.state ?? records.state;
  records.lock = lock;
  return { records, keys, legacy, hasState: state !== null };
}

/** Records in the domain's `<metadata>` element. */
export class DomainMetadataStore implements ScheduleStore {
  readonly #domain: Domain;

  constructor(domain: Domain) {
    this.#domain = domain;
  }

  async load(opts?: CallOptions): Promise<ScheduleView> {
    // The domain's XML holds every element; metadata of one namespace alone (DOMAIN_GET_METADATA) would need
    // every writer's URI known in advance.
    return viewFromDomainXml(await this.#domain.getXMLDescription(0, opts));
  }

  putRecord(writer: string, record: SnapshotRecord, opts?: CallOptions): Promise<void> {
    return this.#set(recordKey(record.name, writer), `<record${attr('writer', writer)}${snapshotAttributes(record)}/>`, opts);
  }

  async dropRecords(keys: readonly string[], opts?: CallOptions): Promise<void> {
    for (const key of new Set(keys)) await this.#set(key, null, opts);
  }

  putState(state: FailureState, opts?: CallOptions): Promise<void> {
    return this.#set(STATE_NS, stateToXml(state), opts);
  }

  async loadLock(opts?: CallOptions): Promise<LockLease | null> {
    try {
      const { metadata } = await this.#raw.call(
        R.domainGetMetadata,
        { dom: this.#domain.handle, type: headers.VIR_DOMAIN_METADATA_ELEMENT, uri: LOCK_NS, flags: headers.VIR_DOMAIN_AFFECT_CURRENT },
        opts,
      );
      return lockFromElement(parseXml(metadata));
    } catch (e) {
      if (e instanceof RemoteError && e.remote.codeName === 'VIR_ERR_NO_DOMAIN_METADATA') return null;
      throw e;
    }
  }

  putLock(lock: LockLease | null, opts?: CallOptions): Promise<void> {
    const xml = lock === null ? null : `<lock${attr('owner', lock.owner)}${attr('expires', lock.expires)}${lock.token !== undefined ? attr('token', lock.token) : ''}/>`;
    return this.#set(LOCK_NS, xml, opts);
  }

  get #raw() {
    return this.#domain.getConnect().raw;
  }

  /** Writes (or, with null, removes) the element of namespace `uri`. */
  async #set(uri: string, xml: string | null, opts?: CallOptions): Promise<void> {
    // The live definition when running, and the configuration too when there is one, so the records outlive
    // both the daemon and a guest restart (libvirt refuses AFFECT_LIVE for an inactive domain).
    const [active, persistent] = await Promise.all([this.#domain.isActive(opts), this.#domain.isPersistent(opts)]);
    const flags = (active ? headers.VIR_DOMAIN_AFFECT_LIVE : 0) | (persistent || !active ? headers.VIR_DOMAIN_AFFECT_CONFIG : 0);
    await this.#raw.call(
      R.domainSetMetadata,
      { dom: this.#domain.handle, type: headers.VIR_DOMAIN_METADATA_ELEMENT, metadata: xml, key: xml === null ? null : SCHEDULER_PREFIX, uri, flags },
      opts,
    );
  }
}
