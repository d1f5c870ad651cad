/**
 * A throwaway libvirtd of a test's own (session mode, unix socket only, as the sandbox's user), for tests that
 * kill or stop the daemon and so must not touch the shared sandbox.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sandbox } from './sandbox';

export interface PrivateDaemon {
  socket: string;
  pid: number;
  /** SIGKILLs the daemon (no clean shutdown). */
  kill(): void;
  /** Kills it if alive and removes its folder. */
  cleanup(): Promise<void>;
}

/** Options of {@link startPrivateDaemon}. */
export interface PrivateDaemonOptions {
  /** Lines of the daemon's own libvirtd.conf (e.g. `max_client_requests = 64`); libvirt's defaults otherwise. */
  config?: string[];
}

export async function startPrivateDaemon(opts: PrivateDaemonOptions = {}): Promise<PrivateDaemon> {
  const sb = sandbox();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lvrpc-private-'));
  const dirs = ['config', 'runtime', 'cache', 'data', 'home'].map((d) => path.join(root, d));
  for (const d of dirs) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const root0 = process.geteuid?.() === 0;
  if (root0) for (const p of [root, ...dirs]) fs.chownSync(p, sb.uid, sb.gid);
  const [config, runtime, cache, data, home] = dirs;
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, XDG_CONFIG_HOME: config, XDG_RUNTIME_DIR: runtime, XDG_CACHE_HOME: cache, XDG_DATA_HOME: data };
  const args: string[] = [];
  if (opts.config) {
    const conf = path.join(config, 'libvirtd.conf');
    fs.writeFileSync(conf, `${opts.config.join('\n')}\n`);
    if (root0) fs.chownSync(conf, sb.uid, sb.gid);
    args.push('--config', conf);
  }
  const child = spawn('/usr/sbin/libvirtd', args, { env, stdio: 'ignore', detached: true, ...(root0 ? { uid: sb.uid, gid: sb.gid } : {}) });
  const pid = child.pid!;
  child.unref();
  const socket = path.join(runtime, 'libvirt', 'libvirt-sock');
  const deadline = Date.now() + 20000;
  while (!fs.existsSync(socket)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private libvirtd did not create ${socket} within 20 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    socket,
    pid,
    kill: () => process.kill(pid, 'SIGKILL'),
    cleanup: async () => {
      if (alive()) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}
