/**
 * A client process driven over a line protocol: one JSON command per stdin line, one JSON answer per stdout
 * line. Every wait is bounded; a client that dies or hangs fails the benchmark with its stderr.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

/** What a measured run answers. */
export interface RunResult {
  calls: number;
  wallNs: number;
  /** user + system CPU time of the client process during the run. */
  cpuNs: number;
}

export class Peer {
  readonly name: string;
  readonly pid: number;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  #stderr = '';

  private constructor(name: string, child: ChildProcessWithoutNullStreams) {
    this.name = name;
    this.#child = child;
    this.pid = child.pid!;
    child.stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-4000);
    });
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  /** Starts `command args` and waits (at most `startMs`) for its `ready` line. */
  static async start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env, startMs = 60_000): Promise<Peer> {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    const peer = new Peer(name, child);
    await peer.#next('start-up', startMs);
    return peer;
  }

  /** libvirt's C client: bench/compare/c-client.py under Debian's /usr/bin/python3 (python3-libvirt). */
  static c(env: NodeJS.ProcessEnv = process.env): Promise<Peer> {
    return Peer.start('C', '/usr/bin/python3', [path.join(__dirname, 'c-client.py')], env);
  }

  /** This client, loaded from the checkout at `libRoot` (this one by default). */
  static ours(name: string, libRoot?: string, baseEnv: NodeJS.ProcessEnv = process.env): Promise<Peer> {
    const tsRun = path.resolve(__dirname, '..', '..', 'scripts', 'ts-run.cjs');
    const args = [tsRun, path.join(__dirname, 'ours-client.ts'), ...(libRoot ? ['--lib', libRoot] : [])];
    // The client runs as a user's program would: no debug log, no inspector, no extra flags.
    const env = { ...baseEnv, NODE_DEBUG: '', NODE_OPTIONS: '' };
    return Peer.start(name, process.execPath, args, env);
  }

  /** Sends a command and waits (at most `timeoutMs`) for its answer; rejects when it failed. */
  async send<T = Record<string, unknown>>(cmd: Record<string, unknown>, timeoutMs = 120_000): Promise<T> {
    this.#child.stdin.write(`${JSON.stringify(cmd)}\n`);
    const answer = JSON.parse(await this.#next(String(cmd.op), timeoutMs)) as { ok: boolean; error?: string };
    if (!answer.ok) throw new Error(`${this.name} client: ${String(cmd.op)} failed: ${answer.error}`);
    return answer as T;
  }

  /** A measured run. */
  run(cmd: Record<string, unknown>): Promise<RunResult> {
    return this.send<RunResult>(cmd);
  }

  /** Asks the client to close its connections and exit; kills it after 10 s. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    const t = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }

  async #next(what: string, timeoutMs: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} client: no answer to ${what} within ${timeoutMs} ms\n${this.#stderr}`)), timeoutMs);
    });
    try {
      const r = await Promise.race([this.#lines.next(), limit]);
      if (r.done) throw new Error(`${this.name} client exited during ${what}:\n${this.#stderr}`);
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  }
}
