/**
 * The `libvirt-rpc` program as a process: stuck on a daemon that never answers, SIGINT makes it exit 130 and
 * SIGTERM 143 (128 + the signal's number, as shells expect), promptly and without a stack trace. Runs the
 * real entry point through scripts/ts-run.cjs, as `npm run cli` does.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  afterKillMs: number;
}

/** Starts the CLI against `uri`, waits until it has connected, sends `signal`, and reports how it ended. */
async function interruptCli(uri: string, connected: () => Promise<void>, signal: NodeJS.Signals): Promise<Exit> {
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts/ts-run.cjs'), path.join(ROOT, 'src/cli/main.ts'), '-c', uri, 'snapshot-list', 'dom'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  try {
    await connected();
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const t0 = Date.now();
  child.kill(signal);
  const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const end = await exited;
  clearTimeout(guard);
  return { ...end, stdout, stderr, afterKillMs: Date.now() - t0 };
}

let dir: string;
let server: net.Server;
const waiting: (() => void)[] = [];
const sockets = new Set<net.Socket>();

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-signals-'));
  server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    waiting.shift()?.();
  });
  await new Promise<void>((r) => server.listen(path.join(dir, 'sock'), r));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Resolves at the next connection to the silent daemon, rejects after 60 s (a slow machine's startup). */
function nextConnection(): () => Promise<void> {
  const p = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the CLI did not connect within 60 s')), 60_000);
    waiting.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
  return () => p;
}

test('SIGINT exits 130 and SIGTERM 143 while a call hangs', async () => {
  const uri = `qemu+unix:///session?socket=${path.join(dir, 'sock')}`;
  // One process at a time: the silent server tells connections apart only by their order.
  const int = await interruptCli(uri, nextConnection(), 'SIGINT');
  const term = await interruptCli(uri, nextConnection(), 'SIGTERM');
  for (const [exit, code] of [[int, 130], [term, 143]] as const) {
    expect({ code: exit.code, signal: exit.signal, stdout: exit.stdout, stderr: exit.stderr }).toEqual({ code, signal: null, stdout: '', stderr: '' });
    expect(exit.afterKillMs).toBeLessThan(5000);
  }
}, 150_000);

/** CPU time the process has used, in seconds (Linux /proc), or 0 when it cannot be read. */
function cpuSeconds(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

test('a CPU-bound command (schedule simulate of 10 million snapshots) exits 130 on SIGINT and 143 on SIGTERM', async () => {
  const args = ['schedule', 'simulate', '--base', '10ms', '--levels', '40', '--slots', '4', '--keep-last', '3', '--for', '27h'];
  // Warm ts-run's cache first, so the CPU time measured below is the simulation's.
  await new Promise((r) => spawn(process.execPath, [path.join(ROOT, 'scripts/ts-run.cjs'), path.join(ROOT, 'src/cli/main.ts'), '--version'], { cwd: ROOT }).on('exit', r));
  const interrupt = async (signal: NodeJS.Signals) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts/ts-run.cjs'), path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => void (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => void (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (c, s) => resolve({ code: c, signal: s })));
    // Busy for a while (its modules load in well under that): deep in the simulation, which takes far longer.
    for (const end = Date.now() + 60_000; cpuSeconds(child.pid!) < 0.6 && child.exitCode === null; ) {
      if (Date.now() > end) throw new Error('the simulation did not start within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const t0 = Date.now();
    child.kill(signal);
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const end = await exited;
    clearTimeout(guard);
    return { ...end, output, afterKillMs: Date.now() - t0 };
  };
  const [int, term] = await Promise.all([interrupt('SIGINT'), interrupt('SIGTERM')]);
  for (const [exit, code] of [[int, 130], [term, 143]] as const) {
    expect({ code: exit.code, signal: exit.signal, output: exit.output }).toEqual({ code, signal: null, output: '' });
    expect(exit.afterKillMs).toBeLessThan(10_000);
  }
}, 180_000);
