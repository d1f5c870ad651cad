/**
 * The sandbox's directory storage pool: volumes for the upload/download tests and `npm run bench:streams`, in
 * the sandbox folder (so `stop --clean` removes them) and owned by the sandbox user, who runs libvirtd.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { virsh, type GuestHost } from './guest';

/** Name of the directory pool every sandbox has. */
export const POOL_NAME = 'sandbox-pool';

/** Where the sandbox's pool is. */
export interface PoolInfo {
  name: string;
  /** The pool's folder: every volume is a file in it. */
  path: string;
}

/** Defines and starts the pool if it is not there or not running; returns it. */
export async function ensurePool(host: GuestHost): Promise<PoolInfo> {
  const dir = path.join(host.root, 'pool');
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chownSync(dir, host.uid, host.gid);
  const info = await virsh(host, ['pool-info', POOL_NAME]).then((r) => r.stdout, () => null);
  if (info === null) {
    const xmlFile = path.join(host.root, 'pool.xml');
    fs.writeFileSync(xmlFile, `<pool type='dir'>\n  <name>${POOL_NAME}</name>\n  <target><path>${dir}</path></target>\n</pool>\n`);
    fs.chownSync(xmlFile, host.uid, host.gid);
    await virsh(host, ['pool-define', xmlFile]);
  }
  if (!/State:\s+running/.test(info ?? '')) await virsh(host, ['pool-start', POOL_NAME]);
  return { name: POOL_NAME, path: dir };
}
