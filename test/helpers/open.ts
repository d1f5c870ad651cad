/** Opens a low-level RemoteConnection for a libvirt URI, the way `connect()` does, for engine tests. */
import { execFile } from 'node:child_process';
import { ConnectionOptions, RemoteConnection } from '../../src/protocol/connection';
import { openTransport } from '../../src/transport';
import { parseUri, remoteOpenName } from '../../src/transport/uri';

export async function openUri(uri: string, opts: Partial<ConnectionOptions> = {}): Promise<RemoteConnection> {
  const parsed = parseUri(uri);
  const transport = await openTransport(parsed, { readOnly: opts.readOnly, timeout: 10000 });
  return RemoteConnection.open(transport, { name: remoteOpenName(parsed), timeout: 10000, ...opts });
}

/** Runs virsh against a URI (bounded) and returns its stdout. */
export function virsh(uri: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('virsh', ['-c', uri, ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
