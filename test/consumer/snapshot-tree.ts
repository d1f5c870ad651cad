// Consumer check: a browser program (bundled with esbuild for the budget in README.md's "Entry points"):
// connects through a WebSocket it hands to Connect.openWith, walks a domain's snapshot tree, creates a snapshot
// and a checkpoint from typed specs, and reads their XML into typed objects.
import {
  Connect, DomainCheckpoint, DomainSnapshot, checkpointSpecToXml, describeCheckpoint, describeSnapshot,
  snapshotSpecToXml, type Transport, type TransportSink,
} from 'libvirt-rpc/core';

function webSocketTransport(ws: WebSocket): Transport {
  let sink: TransportSink | null = null;
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (ev: MessageEvent<ArrayBuffer>) => sink?.data(new Uint8Array(ev.data));
  ws.onclose = () => sink?.closed();
  return {
    description: `websocket:${ws.url}`,
    attach: (s) => { sink = s; },
    write: (chunk) => { ws.send(chunk); return true; },
    whenWritable: () => Promise.resolve(),
    end: () => ws.close(),
    destroy: () => ws.close(),
  };
}

async function printTree(snapshot: DomainSnapshot, depth: number, out: string[]): Promise<void> {
  const info = describeSnapshot(await snapshot.getXMLDescription());
  out.push(`${'  '.repeat(depth)}${info.name} (${info.state}, ${info.creationTime?.toISOString() ?? 'no date'})`);
  for (const child of await snapshot.listAllChildren()) await printTree(child, depth + 1, out);
}

export async function main(url: string, domain: string): Promise<string[]> {
  const conn = await Connect.openWith(webSocketTransport(new WebSocket(url)), { name: 'qemu:///system' });
  const dom = await conn.getDomainByName(domain);
  const out: string[] = [];
  for (const root of await dom.listAllSnapshots(DomainSnapshot.LIST_ROOTS)) await printTree(root, 0, out);
  await dom.createSnapshot(snapshotSpecToXml({ name: 'from-the-browser', description: 'made in a browser' }));
  await dom.createCheckpoint(checkpointSpecToXml({ name: 'cp-browser' }));
  for (const cp of await dom.listAllCheckpoints(DomainCheckpoint.LIST_TOPOLOGICAL)) {
    out.push(describeCheckpoint(await cp.getXMLDescription()).name);
  }
  out.push(`state ${(await dom.getState())[0] === 1 ? 'running' : 'not running'}`);
  await conn.close();
  return out;
}
