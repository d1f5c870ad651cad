// Consumer check: the browser-safe entry points compiled with `strict`, `skipLibCheck: false`, lib DOM and no
// @types/node: their declarations must not need Node's types. Never run.
import { Connect, DomainCheckpoint, DomainSnapshot, describeSnapshot, XmlError, type Transport, type TransportSink } from 'libvirt-rpc/core';
import { computeRetention, validatePolicy } from 'libvirt-rpc/scheduler';
import { remote_procedures } from 'libvirt-rpc/raw';

/** A WebSocket carrying libvirt's RPC stream (e.g. through websockify). */
export function webSocketTransport(ws: WebSocket): Transport {
  let sink: TransportSink | null = null;
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => sink?.data(new Uint8Array(ev.data));
  ws.onclose = () => sink?.closed();
  return {
    description: `websocket:${ws.url}`,
    attach: (s) => { sink = s; },
    write: (chunk) => { ws.send(chunk); return ws.bufferedAmount < 1 << 20; },
    whenWritable: () => Promise.resolve(),
    end: () => ws.close(),
    destroy: () => ws.close(),
  };
}

export async function tree(ws: WebSocket, domain: string): Promise<string[]> {
  const conn = await Connect.openWith(webSocketTransport(ws), { name: 'qemu:///system' });
  const dom = await conn.getDomainByName(domain);
  const lines: string[] = [];
  for (const s of await dom.listAllSnapshots(DomainSnapshot.LIST_TOPOLOGICAL)) {
    lines.push(`${s.getName()} <- ${(await s.getParent())?.getName() ?? '(root)'}`);
  }
  for (const c of await dom.listAllCheckpoints(DomainCheckpoint.LIST_ROOTS)) lines.push((await c.describe()).name);
  await conn.close();
  return lines;
}

export function parse(xml: string): string {
  try {
    return describeSnapshot(xml).name;
  } catch (e) {
    return e instanceof XmlError ? e.code : 'other';
  }
}

export const kept = (): number => computeRetention([], validatePolicy({ kind: 'dss', unitMs: 86_400_000, intervals: 5 }), { now: 0 }).keep.length;
export const procedures = remote_procedures.length;
