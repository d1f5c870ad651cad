/**
 * An in-memory ScheduleStore for scheduler tests without a daemon: the same element layout as the domain
 * metadata store (one record per snapshot and writer, merged on load), plus a write log tests can inspect.
 */
import { emptyRecords, type FailureState, type LockLease, type SnapshotRecord } from '../../src/scheduler/records';
import { mergeRecords, recordKey, type ScheduleStore, type ScheduleView } from '../../src/scheduler/store';

export class MemoryStore implements ScheduleStore {
  readonly elements = new Map<string, { writer: string; record: SnapshotRecord }>();
  state: FailureState | null = null;
  lock: LockLease | null = null;
  /** Every write, in order: `record <name> by <writer>`, `drop <key>`, `state`, `lock <owner|none>`. */
  readonly writes: string[] = [];

  async load(): Promise<ScheduleView> {
    const stored = [...this.elements].map(([key, v]) => ({ key, ...structuredClone(v) }));
    const { snapshots, keys } = mergeRecords(stored);
    const records = emptyRecords();
    records.snapshots = snapshots;
    if (this.state) records.state = structuredClone(this.state);
    records.lock = this.lock ? { ...this.lock } : null;
    return { records, keys, legacy: null, hasState: this.state !== null };
  }

  async putRecord(writer: string, record: SnapshotRecord): Promise<void> {
    this.writes.push(`record ${record.name} by ${writer}`);
    this.elements.set(recordKey(record.name, writer), { writer, record: structuredClone(record) });
  }

  async dropRecords(keys: readonly string[]): Promise<void> {
    for (const k of keys) {
      this.writes.push(`drop ${k}`);
      this.elements.delete(k);
    }
  }

  async putState(state: FailureState): Promise<void> {
    this.writes.push('state');
    this.state = structuredClone(state);
  }

  async loadLock(): Promise<LockLease | null> {
    return this.lock ? { ...this.lock } : null;
  }

  async putLock(lock: LockLease | null): Promise<void> {
    this.writes.push(`lock ${lock?.owner ?? 'none'}`);
    this.lock = lock ? { ...lock } : null;
  }

  /** The merged records, as a scheduler would read them. */
  async records() {
    return (await this.load()).records;
  }
}
