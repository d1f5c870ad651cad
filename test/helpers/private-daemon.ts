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
  /** The running daemon's pid (a new one after restart()). */
  pid: number;
  /** The daemon's folder (XDG_* and HOME under it). */
  root: string;
  /** SIGKILLs the daemon (no clean shutdown). */
  kill(): void;
  /** Starts the daemon again in the same folder (same socket) after kill(); waits for its socket. */
  restart(): Promise<void>;
  /**
   * Stops it if alive (SIGTERM, then SIGKILL if it has not exited within 10 s) and removes its folder. A
   * libvirtd killed outright while it probes QEMU's capabilities leaves the daemonized probe process
   * (`qemu-system-* -machine none -daemonize`) running for good; stopped with SIGTERM it ends the probe itself.
   */
  cleanup(): Promise<void>;
}

/** Options of {@link startPrivateDaemon}. */
export interface PrivateDaemonOptions {
  /** Contents of its libvirtd.conf (e.g. log_filters and log_outputs); none by default. */
  libvirtdConf?: string;
  /** Lines added to its libvirtd.conf (e.g. `max_client_requests = 64`); libvirt's defaults otherwise. */
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
  if (opts.libvirtdConf !== undefined || opts.config !== undefined) {
    // A session libvirtd reads $XDG_CONFIG_HOME/libvirt/libvirtd.conf.
    const conf = path.join(config, 'libvirt', 'libvirtd.conf');
    fs.mkdirSync(path.dirname(conf), { recursive: true });
    const lines = opts.config === undefined ? '' : `${opts.config.join('\n')}\n`;
    const text = opts.libvirtdConf ?? '';
    fs.writeFileSync(conf, `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${lines}`);
    if (root0) for (const p of [path.dirname(conf), conf]) fs.chownSync(p, sb.uid, sb.gid);
  }
  const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: home, XDG_CONFIG_HOME: config, XDG_RUNTIME_DIR: runtime, XDG_CACHE_HOME: cache, XDG_DATA_HOME: data };
  const socket = path.join(runtime, 'libvirt', 'libvirt-sock');
  let pid = 0;
  const spawnDaemon = async () => {
    fs.rmSync(socket, { force: true });
    const child = spawn('/usr/sbin/libvirtd', [], { env, stdio: 'ignore', detached: true, ...(root0 ? { uid: sb.uid, gid: sb.gid } : {}) });
    pid = child.pid!;
    child.unref();
    const deadline = Date.now() + 20000;
    while (!fs.existsSync(socket)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`private libvirtd did not create ${socket} within 20 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await spawnDaemon();
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
    get pid() {
      return pid;
    },
    root,
    kill: () => process.kill(pid, 'SIGKILL'),
    restart: async () => {
      for (let i = 0; i < 250 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      await spawnDaemon();
    },
    cleanup: async () => {
      if (alive()) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 200 && alive(); i++) await new Promise((r) => setTimeout(r, 50));
      if (alive()) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
      // A libvirtd killed before (kill(), or the SIGKILL above) leaves its QEMU capability probe (`qemu -machine
      // none -daemonize`, whose -qmp path is under this daemon's folder) running forever: end the processes that
      // name this folder.
      for (const other of processesNaming(root)) {
        try {
          process.kill(other, 'SIGKILL');
        } catch {
          // gone already
        }
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Pids of processes whose command line names something under `folder` (a folder of this test's own). */
function processesNaming(folder: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`${folder}/`)) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}
