// Consumer check: the Node entry points used with their types, compiled with `strict` and `skipLibCheck: false`
// (as check.cts and check.mts under node16/nodenext, as check.ts under bundler). Never run.
import { Duplex } from 'node:stream';
import {
  CHANNELS, computeRetention, connect, DomainSnapshot, fromDuplex, KeepaliveTimeoutError, LibvirtRpcError,
  PolicyError, RemoteError, ScheduleLockedError, SshError, TlsError, type ConnectOptions, type SnapshotDescription,
} from 'libvirt-rpc';
import { Connect, describeSnapshot, type Transport } from 'libvirt-rpc/core';
import { remote_procedures, type RemoteProcedures } from 'libvirt-rpc/raw';
import { DomainScheduler, simulate, validatePolicy, type RetentionSnapshot } from 'libvirt-rpc/scheduler';
import { openTransport, parseUri, type LibvirtUri, type SshCredentialsCallback } from 'libvirt-rpc/transport';

export async function snapshotNames(uri: string, domain: string, options: ConnectOptions = {}): Promise<string[]> {
  const conn = await connect(uri, options);
  try {
    const dom = await conn.getDomainByName(domain);
    const roots = await dom.listAllSnapshots(DomainSnapshot.LIST_ROOTS);
    const info: SnapshotDescription = await roots[0]!.describe();
    const version: bigint = (await conn.raw.remote.connectGetLibVersion()).lib_ver;
    const typed: RemoteProcedures['connectGetLibVersion'] = conn.raw.remote.connectGetLibVersion;
    void typed;
    return [info.name, String(version), String(remote_procedures.length)];
  } finally {
    await conn.close();
  }
}

export async function overOwnPipe(pipe: Duplex, name: string): Promise<Connect> {
  const transport: Transport = fromDuplex(pipe, 'my pipe');
  return Connect.openWith(transport, { name });
}

export function classify(e: unknown): string {
  if (e instanceof TlsError || e instanceof SshError) return e.code;
  if (e instanceof KeepaliveTimeoutError) return 'keepalive';
  if (e instanceof RemoteError) return e.remote.codeName ?? String(e.remote.code);
  if (e instanceof PolicyError) return e.field;
  if (e instanceof ScheduleLockedError) return e.lease.owner;
  return e instanceof LibvirtRpcError ? e.code : 'other';
}

export function retention(snapshots: RetentionSnapshot[]): number {
  const policy = validatePolicy({ kind: 'aligned', baseMs: 3_600_000, levels: 4, slots: 2, keepLast: 3 });
  const kept = computeRetention(snapshots, policy, { now: Date.now() });
  void simulate;
  void DomainScheduler;
  return kept.keep.length;
}

export async function open(uri: string, credentials: SshCredentialsCallback): Promise<Transport> {
  const parsed: LibvirtUri = parseUri(uri);
  return openTransport(parsed, { credentials, timeout: 10_000 });
}

export const channels: string[] = [CHANNELS.callStart, CHANNELS.callEnd, CHANNELS.callError];
export const parse = (xml: string): string => describeSnapshot(xml).name;
