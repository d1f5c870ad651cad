/**
 * What a libvirtd has seen, from its own admin interface: `virt-admin srv-clients-list libvirtd` lists the
 * connected clients with their ids, which the daemon numbers 1, 2, 3... in the order it accepts them
 * (virNetServerNextClientID), so the id of a new client counts every connection the daemon ever accepted.
 * A session daemon's admin socket only admits its own user, so virt-admin runs as that user.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export interface DaemonUser {
  uid: number;
  gid: number;
}

/** The ids of the clients connected to the session daemon whose XDG_RUNTIME_DIR is `runtimeDir`. */
export function daemonClientIds(runtimeDir: string, user: DaemonUser): Promise<number[]> {
  const socket = path.join(runtimeDir, 'libvirt', 'libvirt-admin-sock');
  return new Promise((resolve, reject) => {
    execFile(
      'virt-admin',
      ['-c', `libvirtd:///session?socket=${socket}`, 'srv-clients-list', 'libvirtd'],
      { uid: user.uid, gid: user.gid, env: { PATH: '/usr/bin:/bin', XDG_RUNTIME_DIR: runtimeDir, HOME: runtimeDir }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`virt-admin srv-clients-list failed: ${stderr || err.message}`));
        // " Id   Transport   Connected since" then a rule, then one row per client.
        resolve(stdout.split('\n').map((l) => /^\s*(\d+)\s/.exec(l)).filter((m) => m !== null).map((m) => Number(m![1])));
      },
    );
  });
}
