/** The scheduler's metadata records, config validation, and failure handling: pure parts, no daemon. */
import { ConnectionClosedError, RemoteError, XmlError } from '../../src/errors';
import { parseDuration, validateScheduleConfig } from '../../src/scheduler/config';
import { backoffDelay, classifyFailure } from '../../src/scheduler/failures';
import { emptyRecords, isComplete, recordsFromXml, recordsToXml, snapshotName, type SnapshotRecord } from '../../src/scheduler/records';
import { LEGACY_KEY, mergeRecords, recordKey, viewFromDomainXml } from '../../src/scheduler/store';

const remoteError = (codeName: string, message: string) =>
  new RemoteError({ code: 0, codeName, domain: 10, domainName: 'VIR_FROM_QEMU', message, level: 2, str1: null, str2: null, str3: null, int1: 0, int2: 0 }, 'REMOTE_PROC_DOMAIN_SNAPSHOT_CREATE_XML');

test('records round-trip through the metadata XML, with libvirt\'s namespace prefix on the way back', () => {
  const r = emptyRecords();
  r.lock = { owner: 'host/1/abc', expires: 1_700_000_000_000 };
  r.state = { failures: 2, nextAttempt: 1_700_000_001_000, lastError: 'cannot acquire state change lock & "x" <y>', paused: null };
  r.snapshots.push(
    { name: 'lvrpc-a', kind: 'internal', started: 1, completed: 5, quiesced: true, pinned: false, parent: null },
    { name: 'lvrpc-b', kind: 'checkpoint', started: 10, completed: null, quiesced: false, pinned: true, parent: 'lvrpc-a' },
  );
  expect(recordsFromXml(recordsToXml(r))).toEqual(r);
  const prefixed = recordsToXml(r).replace(/<(\/?)(\w)/g, '<$1lvrpc:$2').replace('<lvrpc:schedule', '<lvrpc:schedule xmlns:lvrpc="https://libvirt-rpc.dev/xmlns/scheduler/1"');
  expect(recordsFromXml(prefixed)).toEqual(r);
});

test('damaged metadata is an XmlError, never a silent empty schedule', () => {
  expect(() => recordsFromXml('<schedule><snapshot name="x" kind="internal"/></schedule>')).toThrow(XmlError);
  expect(() => recordsFromXml('<schedule><snapshot name="x" kind="weird" started="1"/></schedule>')).toThrow(/kind weird/);
  expect(() => recordsFromXml('<other/>')).toThrow(/not <schedule>/);
  expect(() => recordsFromXml('<!DOCTYPE x><schedule/>')).toThrow(XmlError);
});

test('completion before creation is incomplete (the DSS 0.1.1 rule); names are valid for checkpoints too', () => {
  expect(isComplete({ name: 'a', kind: 'internal', started: 10, completed: 9, quiesced: false, pinned: false, parent: null })).toBe(false);
  expect(isComplete({ name: 'a', kind: 'internal', started: 10, completed: null, quiesced: false, pinned: false, parent: null })).toBe(false);
  expect(snapshotName('lvrpc', Date.UTC(2026, 10, 22, 3, 4, 5, 678))).toBe('lvrpc-20261122T030405.678Z');
  expect(snapshotName('lvrpc', 0)).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]*$/);
});

test('config validation names the field; durations read as humans write them', () => {
  expect(parseDuration('90s', 'x')).toBe(90_000);
  expect(parseDuration('1.5h', 'x')).toBe(5_400_000);
  expect(parseDuration(250, 'x')).toBe(250);
  expect(() => parseDuration('soon', 'config.every')).toThrow('config.every: expected a duration');
  const ok = validateScheduleConfig({ domain: 'vm', policy: { baseMs: '1h', levels: 8, slots: 2, keepLast: 3 }, every: '30m' });
  expect(ok).toMatchObject({ domain: 'vm', everyMs: 1_800_000, kind: 'internal', quiesce: 'no', maxFailures: 5 });
  expect(ok.policy).toMatchObject({ kind: 'aligned', baseMs: 3_600_000 });
  expect(() => validateScheduleConfig({ policy: { baseMs: 1, levels: 1, slots: 1, keepLast: 0 } })).toThrow(/config\.policy\.keepLast/);
  expect(() => validateScheduleConfig({ policy: { baseMs: 1, levels: 1, slots: 1, keepLast: 1 }, kind: 'memory' })).toThrow('config.kind: expected one of internal, disk-only, checkpoint');
  expect(() => validateScheduleConfig({ policy: { baseMs: 1, levels: 1, slots: 1, keepLast: 1 }, evry: 1 })).toThrow('config.evry: unknown field');
  expect(() => validateScheduleConfig({ policy: { baseMs: 1, levels: 1, slots: 1, keepLast: 1 }, backoff: { minMs: 5 } })).toThrow('no busy loop');
  expect(() => validateScheduleConfig({})).toThrow('config.policy: required');
});

test('failures: daemon busy or away is transient, a refusal is permanent', () => {
  expect(classifyFailure(remoteError('VIR_ERR_OPERATION_TIMEOUT', 'cannot acquire state change lock')).transient).toBe(true);
  expect(classifyFailure(remoteError('VIR_ERR_AGENT_UNRESPONSIVE', 'Guest agent is not responding')).transient).toBe(true);
  expect(classifyFailure(new ConnectionClosedError('gone')).transient).toBe(true);
  expect(classifyFailure(remoteError('VIR_ERR_CONFIG_UNSUPPORTED', 'internal snapshots need qcow2')).transient).toBe(false);
  expect(classifyFailure(new Error('bug')).transient).toBe(false);
});

test('backoff grows exponentially with jitter, never below the minimum nor above the maximum', () => {
  const o = { minMs: 1000, maxMs: 60_000 };
  expect([1, 2, 3, 4].map((f) => backoffDelay(f, o, () => 0.5))).toEqual([1000, 2000, 4000, 8000]);
  expect(backoffDelay(20, o, () => 0.5)).toBe(60_000);
  for (let f = 1; f < 30; f++) {
    for (const r of [0, 0.25, 0.999]) {
      const d = backoffDelay(f, o, () => r);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(60_000);
    }
  }
});

describe('format 2: one element per snapshot and writer, merged on read', () => {
  const rec = (over: Partial<SnapshotRecord>): SnapshotRecord => ({ name: 'lvrpc-a', kind: 'internal', started: 10, completed: null, quiesced: false, pinned: false, parent: null, ...over });

  test('a complete record wins over another writer\'s incomplete one, a known parent over an unknown one; pinned if any pins', () => {
    const merged = mergeRecords([
      { key: 'k1', writer: 'b', record: rec({ started: 9 }) },
      { key: 'k2', writer: 'a', record: rec({ started: 10, completed: 20, parent: null, parentUnknown: true }) },
      { key: 'k3', writer: 'c', record: rec({ started: 10, completed: 21, parent: 'lvrpc-0' }) },
      { key: 'k4', writer: 'd', record: rec({ started: 11, pinned: true }) },
      { key: 'k5', writer: 'a', record: rec({ name: 'lvrpc-0', started: 1, completed: 2 }) },
    ]);
    expect(merged.snapshots).toEqual([rec({ name: 'lvrpc-0', started: 1, completed: 2 }), rec({ started: 10, completed: 21, parent: 'lvrpc-0', pinned: true })]);
    expect(merged.keys.get('lvrpc-a')).toEqual(['k1', 'k2', 'k3', 'k4']);
  });

  test('the domain XML\'s elements are found by namespace, whatever their prefix; others are left alone', () => {
    const ns2 = 'https://libvirt-rpc.dev/xmlns/scheduler/2';
    const keyA = recordKey('lvrpc-a', 'host/1/x');
    expect(keyA).toBe(`${ns2}/record/lvrpc-a/host%2F1%2Fx`);
    const xml = `<domain type='qemu'><name>vm</name><metadata>
      <app:other xmlns:app="https://example.com/app"><record name="not-ours"/></app:other>
      <lvrpc:record xmlns:lvrpc="${keyA}" writer="host/1/x" name="lvrpc-a" kind="internal" started="10" completed="20" quiesced="no"/>
      <x:record xmlns:x="${recordKey('lvrpc-a', 'b')}" writer="b" name="lvrpc-a" kind="internal" started="9" quiesced="no"/>
      <lvrpc:state xmlns:lvrpc="${ns2}/state" failures="2" next-attempt="99" last-error="busy"/>
      <lvrpc:lock xmlns:lvrpc="${ns2}/lock" owner="host/1/x" token="7" expires="1000"/>
      <lvrpc:schedule xmlns:lvrpc="https://libvirt-rpc.dev/xmlns/scheduler/1" version="1"><lvrpc:snapshot name="lvrpc-old" kind="internal" started="1" completed="2" quiesced="no"/></lvrpc:schedule>
    </metadata></domain>`;
    const view = viewFromDomainXml(xml);
    expect(view.records.snapshots.map((s) => [s.name, s.completed])).toEqual([['lvrpc-old', 2], ['lvrpc-a', 20]]);
    expect(view.records.state).toEqual({ failures: 2, nextAttempt: 99, lastError: 'busy', paused: null });
    expect(view.records.lock).toEqual({ owner: 'host/1/x', token: 7, expires: 1000 });
    expect(view.keys.get('lvrpc-a')).toEqual([keyA, recordKey('lvrpc-a', 'b')]);
    expect(view.keys.get('lvrpc-old')).toEqual([LEGACY_KEY]);
    expect(view.legacy?.snapshots.map((s) => s.name)).toEqual(['lvrpc-old']);
    expect(view.hasState).toBe(true);
    expect(viewFromDomainXml("<domain type='qemu'><name>vm</name></domain>").records).toEqual(emptyRecords());
  });

  test('a damaged element is an XmlError, never a silent empty schedule', () => {
    const bad = `<domain><metadata><l:record xmlns:l="${recordKey('x', 'a')}" name="x" kind="internal"/></metadata></domain>`;
    expect(() => viewFromDomainXml(bad)).toThrow(/has no started/);
  });
});
