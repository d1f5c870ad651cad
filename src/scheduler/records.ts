/**
 * The scheduler's own records, kept in the domain's `<metadata>` under the project's namespace.
 *
 * libvirt stores only a snapshot's creation time (in seconds). The scheduler records, for every snapshot or
 * checkpoint it makes: when it started and completed (ms), its kind, and whether the guest was quiesced. It
 * also keeps its lock lease and its failure state there, so everything survives a crash of the scheduler and
 * a restart of the daemon. A snapshot without a record is not the scheduler's and is never touched.
 */
import { XmlError } from '../errors.js';
import { parseXml, type XmlElement } from '../objects/xml/parse.js';
import { escapeAttribute } from '../objects/xml/xml-writer.js';
import type { RetentionSnapshot, SnapshotKind } from './retention.js';

/** The XML namespace of the scheduler's metadata element. */
export const SCHEDULER_NS = 'https://libvirt-rpc.dev/xmlns/scheduler/1';
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
}

/** A lease on the domain's schedule. */
export interface LockLease {
  /** Who holds it, e.g. `host/pid/random`. */
  owner: string;
  /** When it lapses, ms since the epoch, unless renewed. */
  expires: number;
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

/** Serializes records as the metadata element (libvirt adds the namespace prefix). */
export function recordsToXml(r: ScheduleRecords): string {
  const a = (n: string, v: string | number): string => ` ${n}="${escapeAttribute(String(v))}"`;
  const out = ['<schedule version="1">'];
  if (r.lock) out.push(`<lock${a('owner', r.lock.owner)}${a('expires', r.lock.expires)}/>`);
  const s = r.state;
  out.push(
    `<state${a('failures', s.failures)}${a('next-attempt', s.nextAttempt)}` +
      `${s.lastError !== null ? a('last-error', s.lastError) : ''}${s.paused !== null ? a('paused', s.paused) : ''}/>`,
  );
  for (const x of r.snapshots) {
    out.push(
      `<snapshot${a('name', x.name)}${a('kind', x.kind)}${a('started', x.started)}` +
        `${x.completed !== null ? a('completed', x.completed) : ''}${a('quiesced', x.quiesced ? 'yes' : 'no')}` +
        `${x.pinned ? a('pinned', 'yes') : ''}${x.parent !== null ? a('parent', x.parent) : ''}/>`,
    );
  }
  out.push('</schedule>');
  return out.join('');
}

function int(el: XmlElement, name: string, where: string, required = true): number | null {
  const v = el.attributes.get(name);
  if (v === undefined) {
    if (required) throw new XmlError(`scheduler metadata: ${where} has no ${name}`);
    return null;
  }
  if (!/^\d{1,16}$/.test(v)) throw new XmlError(`scheduler metadata: ${where} ${name} must be a whole number`);
  return Number(v);
}

/** Parses the metadata element (as libvirt returns it, with its prefix); throws XmlError when it is damaged. */
export function recordsFromXml(xml: string): ScheduleRecords {
  const root = parseXml(xml, { maxLength: 16 * 1024 * 1024 });
  if (root.name.replace(/^[^:]+:/, '') !== 'schedule') throw new XmlError(`scheduler metadata: root element is <${root.name}>, not <schedule>`);
  const r = emptyRecords();
  for (const el of root.children) {
    const tag = el.name.replace(/^[^:]+:/, '');
    if (tag === 'lock') {
      const owner = el.attributes.get('owner');
      if (!owner) throw new XmlError('scheduler metadata: <lock> has no owner');
      r.lock = { owner, expires: int(el, 'expires', '<lock>')! };
    } else if (tag === 'state') {
      r.state = {
        failures: int(el, 'failures', '<state>')!,
        nextAttempt: int(el, 'next-attempt', '<state>')!,
        lastError: el.attributes.get('last-error') ?? null,
        paused: el.attributes.get('paused') ?? null,
      };
    } else if (tag === 'snapshot') {
      const name = el.attributes.get('name');
      if (!name) throw new XmlError('scheduler metadata: <snapshot> has no name');
      const where = `<snapshot name="${name}">`;
      const kind = el.attributes.get('kind') as SnapshotKind;
      if (!KINDS.includes(kind)) throw new XmlError(`scheduler metadata: ${where} has kind ${kind}, not one of ${KINDS.join(', ')}`);
      r.snapshots.push({
        name,
        kind,
        started: int(el, 'started', where)!,
        completed: int(el, 'completed', where, false),
        quiesced: el.attributes.get('quiesced') === 'yes',
        pinned: el.attributes.get('pinned') === 'yes',
        parent: el.attributes.get('parent') ?? null,
      });
    }
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
