/**
 * The scheduler's own records, kept in the domain's `<metadata>`.
 *
 * libvirt stores only a snapshot's creation time (in seconds). The scheduler records, for every snapshot or
 * checkpoint it makes: when it started and completed (ms), its kind, and whether the guest was quiesced. It
 * also keeps its failure state and an advisory lease there, so everything survives a crash of the scheduler and
 * a restart of the daemon. A snapshot without a record is not the scheduler's and is never touched.
 *
 * Layout (format 2). libvirt keeps one metadata element per namespace URI and replaces it whole
 * (virDomainSetMetadata), with no compare-and-swap, so no two writers ever share an element:
 * - `SCHEDULER_NS2/record/<snapshot>/<writer>`: one `<record>` per snapshot and per scheduler that wrote it.
 *   Readers merge them ({@link mergeRecords}); a write can never overwrite another scheduler's record.
 * - `SCHEDULER_NS2/state`: the failure state (`<state>`), last writer wins.
 * - `SCHEDULER_NS2/lock`: the advisory lease (`<lock>`), last writer wins (see lease.ts).
 * Format 1 (one `<schedule>` element at {@link SCHEDULER_NS} holding everything) is still read, and moved to
 * format 2 by the first scheduler that holds the lease.
 */
import { XmlError } from '../errors.js';
import { parseXml, type XmlElement } from '../objects/xml/parse.js';
import { escapeAttribute } from '../objects/xml/xml-writer.js';
import type { RetentionSnapshot, SnapshotKind } from './retention.js';

/** The XML namespace of the scheduler's format-1 metadata element (read, and moved to format 2). */
export const SCHEDULER_NS = 'https://libvirt-rpc.dev/xmlns/scheduler/1';
/** The base of the format-2 namespaces: `/record/<snapshot>/<writer>`, `/state`, `/lock`. */
export const SCHEDULER_NS2 = 'https://libvirt-rpc.dev/xmlns/scheduler/2';
/** The namespace prefix libvirt writes the element with. */
export const SCHEDULER_PREFIX = 'lvrpc';

/** The lifecycle of one snapshot or checkpoint the scheduler made. */
export interface SnapshotRecord {
  /** The libvirt snapshot (or checkpoint) name. */
  name: string;
  kind: SnapshotKind;
  /** When creation started, ms since the epoch. */
  started: number;
  /** When creation completed, ms since the epoch; null while incomplete. */
  completed: number | null;
  /** Whether the guest's file systems were quiesced (through the guest agent). */
  quiesced: boolean;
  /** Never deleted by the policy. */
  pinned: boolean;
  /** The libvirt parent (a data dependency for disk-only snapshots and checkpoints), when known. */
  parent: string | null;
  /** The lookup of the parent failed after creation: no pass prunes until a later one finds it. */
  parentUnknown?: boolean;
}

/** A lease on the domain's schedule. */
export interface LockLease {
  /** Who holds it, e.g. `host/pid/random`. */
  owner: string;
  /** When it lapses, ms since the epoch, unless renewed. */
  expires: number;
  /** Fencing token: one more than the lease it replaced; a holder checks it before every change. */
  token?: number;
}

/** Consecutive failures and what follows from them. */
export interface FailureState {
  /** Consecutive failed creation attempts. */
  failures: number;
  /** The next attempt is not made before this time (ms since the epoch); 0 when there is no backoff. */
  nextAttempt: number;
  /** The last failure's message (never secrets: libvirt error text). */
  lastError: string | null;
  /** When set, the schedule is paused, and this says why; cleared by an explicit resume. */
  paused: string | null;
}

/** Everything the scheduler keeps for one domain. */
export interface ScheduleRecords {
  snapshots: SnapshotRecord[];
  lock: LockLease | null;
  state: FailureState;
}

/** Records of a domain the scheduler has never touched. */
export function emptyRecords(): ScheduleRecords {
  return { snapshots: [], lock: null, state: { failures: 0, nextAttempt: 0, lastError: null, paused: null } };
}

const KINDS: readonly SnapshotKind[] = ['internal', 'external', 'disk-only', 'memory', 'checkpoint'];

/** Serializes records as the format-1 metadata element (libvirt adds the namespace prefix). */
export function recordsToXml(r: ScheduleRecords): string {
  const out = ['<schedule version="1">'];
  if (r.lock) out.push(`<lock${attr('owner', r.lock.owner)}${attr('expires', r.lock.expires)}${r.lock.token !== undefined ? attr('token', r.lock.token) : ''}/>`);
  out.push(stateToXml(r.state, 'state'));
  for (const x of r.snapshots) out.push(`<snapshot${snapshotAttributes(x)}/>`);
  out.push('</schedule>');
  return out.join('');
}

/** A `<state>` element. */
export function stateToXml(s: FailureState, tag = 'state'): string {
  return (
    `<${tag}${attr('failures', s.failures)}${attr('next-attempt', s.nextAttempt)}` +
    `${s.lastError !== null ? attr('last-error', s.lastError) : ''}${s.paused !== null ? attr('paused', s.paused) : ''}/>`
  );
}

/** A whole-number attribute of a metadata element (ms since the epoch, counts). */
export function intAttribute(el: XmlElement, name: string, where: string, required = true): number | null {
  const v = el.attributes.get(name);
  if (v === undefined) {
    if (required) throw new XmlError(`scheduler metadata: ${where} has no ${name}`);
    return null;
  }
  if (!/^\d{1,16}$/.test(v)) throw new XmlError(`scheduler metadata: ${where} ${name} must be a whole number`);
  return Number(v);
}

/** The attributes of one snapshot's record, as format 1's `<snapshot>` and format 2's `<record>` write them. */
export function snapshotAttributes(x: SnapshotRecord): string {
  return (
    `${attr('name', x.name)}${attr('kind', x.kind)}${attr('started', x.started)}` +
    `${x.completed !== null ? attr('completed', x.completed) : ''}${attr('quiesced', x.quiesced ? 'yes' : 'no')}` +
    `${x.pinned ? attr('pinned', 'yes') : ''}${x.parent !== null ? attr('parent', x.parent) : ''}` +
    `${x.parentUnknown ? attr('parent-unknown', 'yes') : ''}`
  );
}

/** ` name="value"`, escaped. */
export function attr(n: string, v: string | number): string {
  return ` ${n}="${escapeAttribute(String(v))}"`;
}

/** Reads one snapshot's record from a `<snapshot>` or `<record>` element. */
export function snapshotFromElement(el: XmlElement, tag: string): SnapshotRecord {
  const name = el.attributes.get('name');
  if (!name) throw new XmlError(`scheduler metadata: <${tag}> has no name`);
  const where = `<${tag} name="${name}">`;
  const kind = el.attributes.get('kind') as SnapshotKind;
  if (!KINDS.includes(kind)) throw new XmlError(`scheduler metadata: ${where} has kind ${kind}, not one of ${KINDS.join(', ')}`);
  const r: SnapshotRecord = {
    name,
    kind,
    started: intAttribute(el, 'started', where)!,
    completed: intAttribute(el, 'completed', where, false),
    quiesced: el.attributes.get('quiesced') === 'yes',
    pinned: el.attributes.get('pinned') === 'yes',
    parent: el.attributes.get('parent') ?? null,
  };
  if (el.attributes.get('parent-unknown') === 'yes') r.parentUnknown = true;
  return r;
}

/** Reads a `<state>` element. */
export function stateFromElement(el: XmlElement): FailureState {
  return {
    failures: intAttribute(el, 'failures', '<state>')!,
    nextAttempt: intAttribute(el, 'next-attempt', '<state>')!,
    lastError: el.attributes.get('last-error') ?? null,
    paused: el.attributes.get('paused') ?? null,
  };
}

/** Reads a `<lock>` element. */
export function lockFromElement(el: XmlElement): LockLease {
  const owner = el.attributes.get('owner');
  if (!owner) throw new XmlError('scheduler metadata: <lock> has no owner');
  const lock: LockLease = { owner, expires: intAttribute(el, 'expires', '<lock>')! };
  const token = intAttribute(el, 'token', '<lock>', false);
  if (token !== null) lock.token = token;
  return lock;
}

/** The local name of an element (libvirt returns metadata with its namespace prefix). */
export function localName(el: XmlElement): string {
  return el.name.replace(/^[^:]+:/, '');
}

/** Parses the format-1 metadata element (as libvirt returns it, with its prefix); throws XmlError when damaged. */
export function recordsFromXml(xml: string): ScheduleRecords {
  return recordsFromElement(parseXml(xml, { maxLength: 16 * 1024 * 1024 }));
}

/** Reads a parsed format-1 `<schedule>` element. */
export function recordsFromElement(root: XmlElement): ScheduleRecords {
  if (localName(root) !== 'schedule') throw new XmlError(`scheduler metadata: root element is <${root.name}>, not <schedule>`);
  const r = emptyRecords();
  for (const el of root.children) {
    const tag = localName(el);
    if (tag === 'lock') r.lock = lockFromElement(el);
    else if (tag === 'state') r.state = stateFromElement(el);
    else if (tag === 'snapshot') r.snapshots.push(snapshotFromElement(el, 'snapshot'));
  }
  return r;
}

/**
 * Whether a record describes a complete snapshot. The DSS 0.1.1 rule: no completion, or a completion before the
 * creation, means incomplete: never counted, never a chain parent.
 */
export function isComplete(s: SnapshotRecord): boolean {
  return s.completed !== null && s.completed >= s.started;
}

/**
 * The name of a snapshot started at `t`: `<prefix>-YYYYMMDDTHHMMSS.mmmZ` (UTC), valid for snapshots and for
 * checkpoints (whose names libvirt restricts to `[a-zA-Z0-9_.-]`).
 */
export function snapshotName(prefix: string, t: number): string {
  return `${prefix}-${new Date(t).toISOString().replace(/[-:]/g, '')}`;
}

/** What the retention function needs of the scheduler's records. */
export function retentionSnapshots(records: readonly SnapshotRecord[]): RetentionSnapshot[] {
  return records.map((s) => ({ id: s.name, created: s.started, completed: s.completed, pinned: s.pinned, parent: s.parent, kind: s.kind }));
}

/** A valid name prefix: the start of a name valid for snapshots and checkpoints alike, up to 64 characters. */
export const SNAPSHOT_PREFIX_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,63}$/;
