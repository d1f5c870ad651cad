/**
 * Process helpers of the sandbox: run a command with a time bound, find free loopback ports, look at and end
 * processes by pid. Every wait here has a bound; nothing matches processes by name.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { LibvirtRpcError } from '../../src/errors';

/** A sandbox step failed. The message names the step and carries the relevant output (never key material). */
export class SandboxError extends LibvirtRpcError {
  override readonly code: string = 'ERR_SANDBOX';
  /** The step that failed, e.g. `start libvirtd`. */
  readonly step: string;

  constructor(step: string, detail: string, options?: { cause?: unknown }) {
    super(`sandbox: ${step} failed: ${detail}`, options);
    this.step = step;
  }
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Kill the command after this many milliseconds (default 30 s). */
  timeout?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Run as this user and group (only meaningful when we are root). */
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values (a passphrase) shown as `***` if the command line goes into an error message. */
  redact?: string[];
}

/** What a finished command printed. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/** PATH with the sbin folders, where Debian keeps libvirtd and sshd. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs `cmd args...` to completion, bounded by `timeout`. Rejects with a {@link SandboxError} naming `step`
 * and quoting the command's stderr (or stdout) tail when it fails, times out or cannot start.
 */
export function run(step: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeout = opts.timeout ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        timeout,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
        env: opts.env ?? { ...process.env, PATH: `${process.env.PATH ?? ''}:${SYSTEM_PATH}` },
        cwd: opts.cwd,
        uid: opts.uid,
        gid: opts.gid,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (!err) return resolve({ stdout, stderr });
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        const why = e.killed
          ? `timed out after ${timeout} ms`
          : typeof e.code === 'number'
            ? `exit status ${e.code}`
            : (e.message ?? String(err));
        const out = tailText(`${stderr}`.trim() || `${stdout}`.trim(), 15);
        const shown = [cmd, ...args].map((a) => (opts.redact?.includes(a) ? '***' : a)).join(' ');
        reject(new SandboxError(step, `\`${shown}\`: ${why}${out ? `\n${out}` : ''}`));
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/**
 * Starts a long-running daemon in its own session (so it outlives us and our process group), with stdout and
 * stderr appended to `logFile`. Returns its pid. The caller checks that it came up.
 */
export function spawnDaemon(cmd: string, args: readonly string[], logFile: string, opts: RunOptions): number {
  const fd = fs.openSync(logFile, 'a', 0o644);
  try {
    if (opts.uid !== undefined) fs.fchownSync(fd, opts.uid, opts.gid ?? -1);
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env,
      cwd: opts.cwd,
      uid: opts.uid,
      gid: opts.gid,
    });
    child.on('error', () => undefined); // reported through the pid check below
    child.unref();
    if (child.pid === undefined) throw new SandboxError(`start ${cmd}`, 'the process could not be spawned');
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free TCP port on 127.0.0.1, found by binding port 0 (the kernel's pick) and closing again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; ports.size < n && i < 50; i++) ports.add(await freePort());
  if (ports.size < n) throw new SandboxError('pick free ports', `found only ${ports.size} of ${n}`);
  return [...ports];
}

/** The command line of a live (non-zombie) process, or null when `pid` does not run. */
export function processCmdline(pid: number): string | null {
  if (!Number.isInteger(pid) || pid <= 1) return null;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name (which may itself hold spaces or parentheses).
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return null;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return null;
  }
}

/** True when `pid` runs and its command line contains `expect` (guards against a recycled pid). */
export function isRunning(pid: number | null | undefined, expect: string): boolean {
  if (!pid) return false;
  const cmd = processCmdline(pid);
  return cmd !== null && cmd.includes(expect);
}

/** Every live descendant of `pid` (children, grandchildren, ...), from /proc. */
export function descendants(pid: number): number[] {
  const parent = new Map<number, number[]>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(name));
      parent.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length) {
    for (const child of parent.get(todo.pop()!) ?? []) {
      out.push(child);
      todo.push(child);
    }
  }
  return out;
}

/**
 * Sends SIGTERM to each pid, waits up to `graceMs` for all to end, then SIGKILLs the rest and waits up to 2 s
 * more. Returns the pids that still run (normally none).
 */
export async function terminate(pids: readonly number[], graceMs = 10_000): Promise<number[]> {
  const alive = () => pids.filter((p) => processCmdline(p) !== null);
  const signal = (sig: NodeJS.Signals) => {
    for (const p of alive()) {
      try {
        process.kill(p, sig);
      } catch {
        // already gone, or not ours to signal
      }
    }
  };
  signal('SIGTERM');
  for (const [limit, next] of [[graceMs, 'SIGKILL'], [2_000, null]] as const) {
    const deadline = Date.now() + limit;
    while (alive().length && Date.now() < deadline) await sleep(50);
    if (!alive().length || !next) break;
    signal(next);
  }
  return alive();
}

/** The last `lines` lines of a text. */
export function tailText(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** The last `lines` lines of a file, or '' when it cannot be read. */
export function tailFile(file: string, lines = 20): string {
  try {
    return tailText(fs.readFileSync(file, 'utf8').trimEnd(), lines);
  } catch {
    return '';
  }
}

/**
 * Polls `probe` every `intervalMs` until it resolves true or `timeoutMs` passes; returns the last error. When
 * `fatal` returns an error (say, the daemon exited) the wait ends at once with that error.
 */
export async function waitFor(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
  fatal: () => Error | null = () => null,
): Promise<{ ok: boolean; lastError: unknown }> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await probe()) return { ok: true, lastError: null };
    } catch (err) {
      lastError = err;
    }
    const dead = fatal();
    if (dead) return { ok: false, lastError: dead };
    if (Date.now() >= deadline) return { ok: false, lastError };
    await sleep(intervalMs);
  }
}
