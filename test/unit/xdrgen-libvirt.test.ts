/** The generator on libvirt's real protocol folders: 11.3.0 (committed output) and 9.0.0 (generated here). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generateLibvirt } from '../../scripts/xdrgen/main';
import * as gen from '../../generated';
import { remote } from '../../generated';
import * as headers from '../../generated/libvirt-headers';
import { xdrDecode, xdrEncode } from '../../src/protocol/xdr';

const SHARED = path.resolve(__dirname, '..', '..', '..', 'shared', 'protocol');
const procCount = (dir: string): number =>
  new Set(fs.readFileSync(path.join(SHARED, dir, 'remote_protocol.x'), 'utf8').match(/^\s*REMOTE_PROC_\w+\s*=/gm)!.map((s) => s.trim())).size;

test('the REMOTE table has one entry per REMOTE_PROC_ constant (453 in 11.3.0)', () => {
  expect(procCount('libvirt-11.3.0')).toBe(453);
  expect(gen.remote_procedures.length).toBe(453);
  const numbers = gen.remote_procedures.map((p) => p.number);
  expect(new Set(numbers).size).toBe(453);
  expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
});

test('every program is there with its number and version', () => {
  expect(gen.remote_program).toMatchObject({ name: 'REMOTE', program: 0x20008086, version: 1 });
  expect(gen.qemu_program).toMatchObject({ name: 'QEMU', program: 0x20008087, version: 1 });
  expect(gen.lxc_program).toMatchObject({ name: 'LXC', program: 0x00068000, version: 1 });
  expect(gen.admin_program).toMatchObject({ name: 'ADMIN', program: 0x06900690, version: 1 });
  expect(gen.keepalive_program.procedures.map((p) => p.name)).toEqual(['KEEPALIVE_PROC_PING', 'KEEPALIVE_PROC_PONG']);
  expect(gen.virnet.VIR_NET_MESSAGE_MAX).toBe(33554432);
  expect(gen.GENERATED_FROM_LIBVIRT).toBe('11.3.0');
});

test('procedure entries carry codecs, priority, streams and events', () => {
  const byName = new Map(gen.remote_procedures.map((p) => [p.name, p]));
  const list = byName.get('REMOTE_PROC_DOMAIN_LIST_ALL_SNAPSHOTS')!;
  expect(list).toMatchObject({ number: 274, method: 'domainListAllSnapshots', priority: 'high', stream: null, message: null });
  expect(list.args!.name).toBe('remote_domain_list_all_snapshots_args');
  expect(list.ret!.name).toBe('remote_domain_list_all_snapshots_ret');
  expect(byName.get('REMOTE_PROC_STORAGE_VOL_UPLOAD')).toMatchObject({ stream: 'write', sparseFlag: 'VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM' });
  expect(byName.get('REMOTE_PROC_DOMAIN_OPEN_CONSOLE')).toMatchObject({ stream: 'read' });
  const lifecycle = byName.get('REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE')!;
  expect(lifecycle.message!.name).toBe('remote_domain_event_callback_lifecycle_msg');
  expect(byName.get('REMOTE_PROC_CONNECT_CLOSE')).toMatchObject({ args: null, ret: null });
  const events = gen.remote_procedures.filter((p) => p.message);
  expect(events.length).toBeGreaterThan(30);
  expect(gen.qemu_program.procedures.find((p) => p.name === 'QEMU_PROC_DOMAIN_MONITOR_EVENT')!.message!.name).toBe('qemu_domain_monitor_event_msg');
});

test('constants taken from C headers are resolved, not hard-coded', () => {
  expect(remote.REMOTE_SECURITY_LABEL_MAX).toBe(4097);
  expect(remote.REMOTE_SECURITY_MODEL_MAX).toBe(257);
  expect(headers.VIR_UUID_BUFLEN).toBe(16);
  expect(headers.VIR_TYPED_PARAM_FIELD_LENGTH).toBe(80);
  expect(headers.VIR_TYPED_PARAM_STRING).toBe(7);
});

test('header enums and flags, error names and event ids', () => {
  expect(headers.virDomainSnapshotCreateFlags).toMatchObject({ VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE: 1, VIR_DOMAIN_SNAPSHOT_CREATE_VALIDATE: 1 << 9 });
  expect(headers.VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL).toBe(1 << 10);
  expect(headers.VIR_DOMAIN_SNAPSHOT_REVERT_RESET_NVRAM).toBe(1 << 3);
  expect(headers.virDomainCheckpointListFlags.VIR_DOMAIN_CHECKPOINT_LIST_TOPOLOGICAL).toBe(1 << 1);
  expect(headers.VIR_DOMAIN_CHECKPOINT_XML_SIZE).toBe(1 << 2);
  expect(headers.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ENFORCE_STATS).toBe(2 ** 31);
  expect(headers.virErrorNumberNames[42]).toBe('VIR_ERR_NO_DOMAIN');
  expect(headers.virErrorNumberNames[72]).toBe('VIR_ERR_NO_DOMAIN_SNAPSHOT');
  expect(headers.virErrorNumberNames[headers.VIR_ERR_NO_DOMAIN_CHECKPOINT]).toBe('VIR_ERR_NO_DOMAIN_CHECKPOINT');
  expect(headers.virErrorDomainNames[10]).toBe('VIR_FROM_QEMU');
  expect(headers.VIR_DOMAIN_EVENT_ID_LIFECYCLE).toBe(0);
  expect(headers.eventIdEnums.virNetworkEventID.VIR_NETWORK_EVENT_ID_LIFECYCLE).toBe(0);
  // Sentinels (#ifdef VIR_ENUM_SENTINELS) are not part of the public set.
  expect('VIR_DOMAIN_EVENT_ID_LAST' in headers).toBe(false);
  expect(headers.VIR_DOMAIN_SCHEDULER_CPU_SHARES).toBe('cpu_shares');
});

describe('libvirt 9.0.0', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'xdrgen-9-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('generates, with 443 REMOTE procedures', () => {
    const files = generateLibvirt(path.join(SHARED, 'libvirt-9.0.0'), out);
    expect(procCount('libvirt-9.0.0')).toBe(443);
    const text = files.get('remote-protocol.ts')!;
    expect(text.startsWith('// Code generated by scripts/xdrgen from libvirt 9.0.0. DO NOT EDIT.')).toBe(true);
    const descriptors = files.get('remote-procedures.ts')!;
    expect(descriptors.match(/^export const \w+: ProcedureInfo<.*name: 'REMOTE_PROC_/gm)!.length).toBe(443);
    expect(descriptors).not.toContain('REMOTE_PROC_DOMAIN_SET_THROTTLE_GROUP');
    const table = files.get('remote-table.ts')!;
    expect(table.slice(table.indexOf('export const remote_procedures')).match(/^ {2}\w+,$/gm)!.length).toBe(443);
  });

  test('a libvirt source tree layout is accepted too', () => {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'libvirt-tree-'));
    try {
      const src = path.join(SHARED, 'libvirt-9.0.0');
      for (const [f, dir] of [['remote_protocol.x', 'src/remote'], ['qemu_protocol.x', 'src/remote'], ['lxc_protocol.x', 'src/remote'], ['virnetprotocol.x', 'src/rpc'], ['virkeepaliveprotocol.x', 'src/rpc'], ['admin_protocol.x', 'src/admin']]) {
        fs.mkdirSync(path.join(tree, dir), { recursive: true });
        fs.copyFileSync(path.join(src, f), path.join(tree, dir, f));
      }
      fs.cpSync(path.join(src, 'include'), path.join(tree, 'include'), { recursive: true });
      fs.writeFileSync(path.join(tree, 'meson.build'), "project('libvirt', 'c', version: '9.0.0')\n");
      const files = generateLibvirt(tree, out);
      expect(files.get('remote-protocol.ts')).toBe(generateLibvirt(src, out).get('remote-protocol.ts'));
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
});

test('regenerating 11.3.0 gives exactly the committed files', () => {
  const dir = path.resolve(__dirname, '..', '..', 'generated');
  const files = generateLibvirt(path.join(SHARED, 'libvirt-11.3.0'), dir);
  for (const [name, text] of files) expect(fs.readFileSync(path.join(dir, name), 'utf8') === text).toBe(true);
});

test('types of one layout share their functions and keep their own codec; other field names keep theirs', () => {
  // { name, uuid } twice: one pair of functions, two codecs that name their own type.
  expect(remote.dec_remote_nonnull_storage_pool).toBe(remote.dec_remote_nonnull_network);
  expect(remote.enc_remote_nonnull_storage_pool).toBe(remote.enc_remote_nonnull_network);
  expect(remote.xdr_remote_nonnull_storage_pool.name).toBe('remote_nonnull_storage_pool');
  const pool = { name: 'p', uuid: new Uint8Array(16).fill(3) };
  expect(xdrDecode(remote.xdr_remote_nonnull_storage_pool, xdrEncode(remote.xdr_remote_nonnull_network, pool))).toEqual(pool);
  // One hyper each, but hv_ver and lib_ver: the decoded objects need their own field names.
  expect(remote.dec_remote_connect_get_lib_version_ret).not.toBe(remote.dec_remote_connect_get_version_ret);
  const bytes = xdrEncode(remote.xdr_remote_connect_get_lib_version_ret, { lib_ver: 9000000n });
  expect(xdrDecode(remote.xdr_remote_connect_get_lib_version_ret, bytes)).toEqual({ lib_ver: 9000000n });
  expect(xdrDecode(remote.xdr_remote_connect_get_version_ret, bytes)).toEqual({ hv_ver: 9000000n });
  // Errors still name the type decoded, not the one whose functions it borrows.
  expect(() => xdrDecode(remote.xdr_remote_nonnull_storage_pool, new Uint8Array(4))).toThrow(/^remote_nonnull_storage_pool\.uuid: /);
});
