/**
 * Debian's websockify in front of a daemon socket: the standard WebSocket-to-TCP/unix relay, which forwards
 * each read as it comes (so libvirt frames arrive cut and joined anywhere). Stopped by its own pid.
 */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { freePort } from '../../scripts/sandbox/proc';

export interface Websockify {
  url: string;
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

/** Starts websockify on a free loopback port; `target` is `['--unix-target=PATH']` or `['HOST:PORT']`. */
export async function startWebsockify(target: { unix: string } | { tcp: string }): Promise<Websockify> {
  const port = await freePort();
  const args = 'unix' in target ? [`--unix-target=${target.unix}`, `127.0.0.1:${port}`] : [`127.0.0.1:${port}`, target.tcp];
  const child = spawn('websockify', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`websockify exited (${child.exitCode}):\n${out}`);
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`websockify did not listen on ${port} within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `ws://127.0.0.1:${port}/`,
    pid: child.pid!,
    log: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}
