/**
 * `Domain`: a guest, in the shape of Sys::Virt::Domain, with its snapshot, checkpoint and backup calls. A
 * domain handle is (name, UUID, id) and travels with the object: `getName()`, `getUUIDString()` and `getID()`
 * need no call, as in libvirt's C API. Every other method asks the daemon and takes `{ signal?, timeout? }` last.
 */
import * as R from '../../generated/remote-procedures.js';
import type * as remote from '../../generated/remote-protocol.js';
import { REMOTE_DOMAIN_SNAPSHOT_LIST_MAX } from '../../generated/remote-protocol.js';
import { DOMAIN_CONSTANTS, withConstants } from './constants.js';
import type { Connect } from './connect.js';
import { DomainCheckpoint } from './domain-checkpoint.js';
import { DomainSnapshot } from './domain-snapshot.js';
import { openChannel, openConsole, screenshot, type Screenshot, type ScreenshotOptions } from './domain-streams.js';
import type { Stream } from '../protocol/stream.js';
import { Deadline, checkFlags, checkName, namesUpTo, oneCall, uuidString, xmlOf, type CallOptions } from './support.js';
import { typedParamsToRecord, type TypedValue } from './typed-params.js';
import {
  backupSpecToXml,
  checkpointSpecToXml,
  describeBackup,
  snapshotSpecToXml,
  type BackupDescription,
  type BackupSpec,
  type CheckpointSpec,
  type SnapshotSpec,
} from './xml/index.js';

const numOf = (r: { num: number }): number => r.num;
const namesOf = (r: { names: string[] }): string[] => r.names;

/** What `getInfo()` returns (virDomainInfo); memory in KiB, CPU time in ns. */
export interface DomainInfo {
  state: number;
  maxMem: number;
  memory: number;
  nrVirtCpu: number;
  cpuTime: number;
}

/** What `getJobInfo()` returns (virDomainJobInfo); `type` is a `Domain.JOB_*` value, times in ms, sizes in bytes. */
export interface DomainJobInfo {
  type: number;
  timeElapsed: number;
  timeRemaining: number;
  dataTotal: number;
  dataProcessed: number;
  dataRemaining: number;
  memTotal: number;
  memProcessed: number;
  memRemaining: number;
  fileTotal: number;
  fileProcessed: number;
  fileRemaining: number;
}

/**
 * A domain. Constants are libvirt's, under Sys::Virt's names: `Domain.STATE_*` (states and reasons),
 * `Domain.LIST_*` (for `Connect.listAllDomains`), `XML_*`, `START_*`, `DESTROY_*`, `UNDEFINE_*`, `JOB_*`,
 * `BACKUP_BEGIN_*`.
 */
export class Domain extends /* @__PURE__ */ withConstants(DOMAIN_CONSTANTS) {
  readonly #connect: Connect;
  #handle: remote.remote_nonnull_domain;

  /** A handle for a domain the daemon named (made by Connect's lookups); no call is made. */
  constructor(connect: Connect, handle: remote.remote_nonnull_domain) {
    super();
    this.#connect = connect;
    this.#handle = { name: handle.name, uuid: new Uint8Array(handle.uuid), id: handle.id };
  }

  /** The wire handle (name, UUID, id), for use with `connect.raw.remote`. */
  get handle(): remote.remote_nonnull_domain {
    return this.#handle;
  }

  /** The connection the domain was reached through. */
  getConnect(): Connect {
    return this.#connect;
  }

  get #raw() {
    return this.#connect.raw;
  }

  get #dom() {
    return this.#handle;
  }

  /** The domain's name. */
  getName(): string {
    return this.#handle.name;
  }

  /** The domain's UUID as 16 bytes (a copy). */
  getUUID(): Uint8Array {
    return new Uint8Array(this.#handle.uuid);
  }

  /** The domain's UUID as `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`. */
  getUUIDString(): string {
    return uuidString(this.#handle.uuid);
  }

  /** The id of a running domain as last seen by this handle, -1 when shut off (as libvirt's virDomainGetID). */
  getID(): number {
    return this.#handle.id;
  }

  /** The domain's XML; `Domain.XML_*` flags (DOMAIN_GET_XML_DESC). */
  getXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return oneCall(() => this.#raw.call(R.domainGetXmlDesc, { dom: this.#dom, flags: checkFlags(flags) }, opts, xmlOf));
  }

  /** `[state, reason]`: a `Domain.STATE_*` state and its reason (DOMAIN_GET_STATE). */
  async getState(flags = 0, opts?: CallOptions): Promise<[number, number]> {
    const r = await this.#raw.call(R.domainGetState, { dom: this.#dom, flags: checkFlags(flags) }, opts);
    return [r.state, r.reason];
  }

  /** State, memory, vCPUs and CPU time (DOMAIN_GET_INFO). */
  async getInfo(opts?: CallOptions): Promise<DomainInfo> {
    const r = await this.#raw.call(R.domainGetInfo, { dom: this.#dom }, opts);
    return { state: r.state, maxMem: Number(r.maxMem), memory: Number(r.memory), nrVirtCpu: r.nrVirtCpu, cpuTime: Number(r.cpuTime) };
  }

  /** Whether the domain is running (or paused) (DOMAIN_IS_ACTIVE). */
  async isActive(opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.domainIsActive, { dom: this.#dom }, opts)).active !== 0;
  }

  /** Whether the domain has a persistent definition (DOMAIN_IS_PERSISTENT). */
  async isPersistent(opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.domainIsPersistent, { dom: this.#dom }, opts)).persistent !== 0;
  }

  /**
   * Starts the domain; `Domain.START_*` flags. Always DOMAIN_CREATE_WITH_FLAGS, whose reply carries the new
   * id (libvirt's remote driver does a second lookup after plain DOMAIN_CREATE to learn it).
   */
  async create(flags = 0, opts?: CallOptions): Promise<void> {
    const r = await this.#raw.call(R.domainCreateWithFlags, { dom: this.#dom, flags: checkFlags(flags) }, opts);
    this.#handle = { ...this.#handle, id: r.dom.id };
  }

  /** Stops the domain at once (DOMAIN_DESTROY, or DOMAIN_DESTROY_FLAGS with `Domain.DESTROY_*` flags). */
  async destroy(flags = 0, opts?: CallOptions): Promise<void> {
    if (checkFlags(flags) === 0) await this.#raw.call(R.domainDestroy, { dom: this.#dom }, opts);
    else await this.#raw.call(R.domainDestroyFlags, { dom: this.#dom, flags }, opts);
    // remoteDomainDestroy: a destroyed domain has no id any more.
    this.#handle = { ...this.#handle, id: -1 };
  }

  /** Pauses the domain's CPUs (DOMAIN_SUSPEND). */
  async suspend(opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.domainSuspend, { dom: this.#dom }, opts);
  }

  /** Resumes a paused domain (DOMAIN_RESUME). */
  async resume(opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.domainResume, { dom: this.#dom }, opts);
  }

  /** Removes the persistent definition; `Domain.UNDEFINE_*` flags (DOMAIN_UNDEFINE_FLAGS). */
  async undefine(flags = 0, opts?: CallOptions): Promise<void> {
    await this.#raw.call(R.domainUndefineFlags, { dom: this.#dom, flags: checkFlags(flags) }, opts);
  }

  // ---- snapshots ----

  /**
   * Creates a snapshot from `<domainsnapshot>` XML or a typed spec; `DomainSnapshot.CREATE_*` flags (with
   * `CREATE_REDEFINE` the XML restores metadata) (DOMAIN_SNAPSHOT_CREATE_XML).
   */
  async createSnapshot(xmlOrSpec: string | SnapshotSpec, flags = 0, opts?: CallOptions): Promise<DomainSnapshot> {
    const xml = typeof xmlOrSpec === 'string' ? xmlOrSpec : snapshotSpecToXml(xmlOrSpec);
    const r = await this.#raw.call(R.domainSnapshotCreateXml, { dom: this.#dom, xml_desc: xml, flags: checkFlags(flags) }, opts);
    return new DomainSnapshot(this, r.snap.name);
  }

  /** The snapshot named `name`; rejects with VIR_ERR_NO_DOMAIN_SNAPSHOT when there is none. */
  async getSnapshotByName(name: string, opts?: CallOptions): Promise<DomainSnapshot> {
    const r = await this.#raw.call(R.domainSnapshotLookupByName, { dom: this.#dom, name: checkName(name, 'name'), flags: 0 }, opts);
    return new DomainSnapshot(this, r.snap.name);
  }

  /** Every snapshot matching `DomainSnapshot.LIST_*` flags, in one call (DOMAIN_LIST_ALL_SNAPSHOTS). */
  listAllSnapshots(flags = 0, opts?: CallOptions): Promise<DomainSnapshot[]> {
    return oneCall(() => this.#raw.call(R.domainListAllSnapshots, { dom: this.#dom, need_results: 1, flags: checkFlags(flags) }, opts,
      (r) => r.snapshots.map((s) => new DomainSnapshot(this, s.name))));
  }

  /** How many snapshots match `flags` (DOMAIN_SNAPSHOT_NUM). */
  numOfSnapshots(flags = 0, opts?: CallOptions): Promise<number> {
    return oneCall(() => this.#raw.call(R.domainSnapshotNum, { dom: this.#dom, flags: checkFlags(flags) }, opts, numOf));
  }

  /**
   * Names of the snapshots matching `flags`, the legacy way (libvirt's C API, Sys::Virt's list_snapshot_names):
   * DOMAIN_SNAPSHOT_LIST_NAMES, in one call (see {@link namesUpTo}; libvirt asks DOMAIN_SNAPSHOT_NUM first).
   * Like libvirt, this fails past REMOTE_DOMAIN_SNAPSHOT_LIST_MAX (16384) names; listAllSnapshots has no such
   * limit.
   */
  async listSnapshotNames(flags = 0, opts?: CallOptions): Promise<string[]> {
    const d = new Deadline(opts);
    checkFlags(flags);
    return namesUpTo(
      REMOTE_DOMAIN_SNAPSHOT_LIST_MAX,
      (maxnames) => this.#raw.call(R.domainSnapshotListNames, { dom: this.#dom, maxnames, flags }, d.next(), namesOf),
      () => this.numOfSnapshots(flags, d.next()),
    );
  }

  /**
   * The snapshots matching `flags` as objects: {@link listSnapshotNames}, then a lookup of each (pipelined);
   * a snapshot deleted in between is left out, as Sys::Virt's list_snapshots does.
   */
  async listSnapshots(flags = 0, opts?: CallOptions): Promise<DomainSnapshot[]> {
    const d = new Deadline(opts);
    const names = await this.listSnapshotNames(flags, d.next());
    return DomainSnapshot.lookupNames(this, names, d);
  }

  /** Whether the domain has a current snapshot (DOMAIN_HAS_CURRENT_SNAPSHOT). */
  async hasCurrentSnapshot(flags = 0, opts?: CallOptions): Promise<boolean> {
    return (await this.#raw.call(R.domainHasCurrentSnapshot, { dom: this.#dom, flags: checkFlags(flags) }, opts)).result !== 0;
  }

  /** The current snapshot; rejects with VIR_ERR_NO_DOMAIN_SNAPSHOT when there is none (DOMAIN_SNAPSHOT_CURRENT). */
  async currentSnapshot(flags = 0, opts?: CallOptions): Promise<DomainSnapshot> {
    const r = await this.#raw.call(R.domainSnapshotCurrent, { dom: this.#dom, flags: checkFlags(flags) }, opts);
    return new DomainSnapshot(this, r.snap.name);
  }

  // ---- checkpoints ----

  /**
   * Creates a checkpoint from `<domaincheckpoint>` XML or a typed spec; `DomainCheckpoint.CREATE_*` flags
   * (DOMAIN_CHECKPOINT_CREATE_XML).
   */
  async createCheckpoint(xmlOrSpec: string | CheckpointSpec, flags = 0, opts?: CallOptions): Promise<DomainCheckpoint> {
    const xml = typeof xmlOrSpec === 'string' ? xmlOrSpec : checkpointSpecToXml(xmlOrSpec);
    const r = await this.#raw.call(R.domainCheckpointCreateXml, { dom: this.#dom, xml_desc: xml, flags: checkFlags(flags) }, opts);
    return new DomainCheckpoint(this, r.checkpoint.name);
  }

  /** The checkpoint named `name`; rejects with VIR_ERR_NO_DOMAIN_CHECKPOINT when there is none. */
  async getCheckpointByName(name: string, opts?: CallOptions): Promise<DomainCheckpoint> {
    const r = await this.#raw.call(R.domainCheckpointLookupByName, { dom: this.#dom, name: checkName(name, 'name'), flags: 0 }, opts);
    return new DomainCheckpoint(this, r.checkpoint.name);
  }

  /** Every checkpoint matching `DomainCheckpoint.LIST_*` flags (DOMAIN_LIST_ALL_CHECKPOINTS). */
  async listAllCheckpoints(flags = 0, opts?: CallOptions): Promise<DomainCheckpoint[]> {
    const r = await this.#raw.call(R.domainListAllCheckpoints, { dom: this.#dom, need_results: 1, flags: checkFlags(flags) }, opts);
    return r.checkpoints.map((c) => new DomainCheckpoint(this, c.name));
  }

  // ---- backups and jobs ----

  /**
   * Starts a backup job (DOMAIN_BACKUP_BEGIN) from `<domainbackup>` XML or a typed spec, optionally creating
   * a checkpoint (XML or spec) at the same instant; `Domain.BACKUP_BEGIN_*` flags. The job runs on after this
   * resolves: watch it with {@link getJobInfo} / {@link getJobStats}, stop it with {@link abortJob}.
   */
  async backupBegin(backup: string | BackupSpec, checkpoint?: string | CheckpointSpec | null, flags = 0, opts?: CallOptions): Promise<void> {
    const backupXml = typeof backup === 'string' ? backup : backupSpecToXml(backup);
    const checkpointXml = checkpoint === undefined || checkpoint === null ? null
      : typeof checkpoint === 'string' ? checkpoint : checkpointSpecToXml(checkpoint);
    await this.#raw.call(R.domainBackupBegin, { dom: this.#dom, backup_xml: backupXml, checkpoint_xml: checkpointXml, flags: checkFlags(flags) }, opts);
  }

  /** The running backup job's `<domainbackup>` XML (DOMAIN_BACKUP_GET_XML_DESC). */
  async backupGetXMLDescription(flags = 0, opts?: CallOptions): Promise<string> {
    return (await this.#raw.call(R.domainBackupGetXmlDesc, { dom: this.#dom, flags: checkFlags(flags) }, opts)).xml;
  }

  /** The running backup job's XML read into typed fields. */
  async backupDescribe(flags = 0, opts?: CallOptions): Promise<BackupDescription> {
    return describeBackup(await this.backupGetXMLDescription(flags, opts));
  }

  /** Progress of the domain's current job; `type` is `Domain.JOB_NONE` when there is none (DOMAIN_GET_JOB_INFO). */
  async getJobInfo(opts?: CallOptions): Promise<DomainJobInfo> {
    const r = await this.#raw.call(R.domainGetJobInfo, { dom: this.#dom }, opts);
    return {
      type: r.type,
      timeElapsed: Number(r.timeElapsed), timeRemaining: Number(r.timeRemaining),
      dataTotal: Number(r.dataTotal), dataProcessed: Number(r.dataProcessed), dataRemaining: Number(r.dataRemaining),
      memTotal: Number(r.memTotal), memProcessed: Number(r.memProcessed), memRemaining: Number(r.memRemaining),
      fileTotal: Number(r.fileTotal), fileProcessed: Number(r.fileProcessed), fileRemaining: Number(r.fileRemaining),
    };
  }

  /**
   * `[type, stats]` of the current job, or with `Domain.JOB_STATS_COMPLETED` of the last completed one
   * (DOMAIN_GET_JOB_STATS); stats are libvirt's typed parameters by field name (e.g. `operation`, `success`).
   */
  async getJobStats(flags = 0, opts?: CallOptions): Promise<[number, Record<string, TypedValue>]> {
    const r = await this.#raw.call(R.domainGetJobStats, { dom: this.#dom, flags: checkFlags(flags) }, opts);
    return [r.type, typedParamsToRecord(r.params)];
  }

  /** Aborts the domain's current job (DOMAIN_ABORT_JOB, or DOMAIN_ABORT_JOB_FLAGS with flags). */
  async abortJob(flags = 0, opts?: CallOptions): Promise<void> {
    if (checkFlags(flags) === 0) await this.#raw.call(R.domainAbortJob, { dom: this.#dom }, opts);
    else await this.#raw.call(R.domainAbortJobFlags, { dom: this.#dom, flags }, opts);
  }

  // ---- streams ----

  /**
   * Opens a console (`devname`, e.g. `serial0`; null: the first one) as a duplex stream: `send` types into
   * it, `receive` reads what the guest writes (DOMAIN_OPEN_CONSOLE). `Domain.OPEN_CONSOLE_FORCE` takes the
   * console from another client, `OPEN_CONSOLE_SAFE` refuses consoles that cannot be shared safely.
   */
  openConsole(devname: string | null = null, flags = 0, opts?: CallOptions): Promise<Stream<void>> {
    return openConsole(this.#raw, this.#dom, devname, flags, opts);
  }

  /** Opens a channel device (e.g. `org.qemu.guest_agent.0`) as a duplex stream (DOMAIN_OPEN_CHANNEL). */
  openChannel(name: string | null, flags = 0, opts?: CallOptions): Promise<Stream<void>> {
    return openChannel(this.#raw, this.#dom, name, flags, opts);
  }

  /** A screenshot of `screen` (0: the first): its MIME type and bytes (DOMAIN_SCREENSHOT and its stream). */
  screenshot(screen = 0, flags = 0, opts?: ScreenshotOptions): Promise<Screenshot> {
    return screenshot(this.#raw, this.#dom, screen, flags, opts);
  }
}

