/**
 * `libvirt-rpc ws-bridge` as a child process, the way a user runs it (scripts/ts-run.cjs src/cli/main.ts), with
 * its stderr (the access log) collected. Stopped with SIGTERM, by its own pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

export interface BridgeProcess {
  pid: number;
  /** `ws://127.0.0.1:PORT/` as the bridge printed it. */
  url: string;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** SIGTERM, then waits (bounded) for the exit; resolves to the exit code. */
  stop(): Promise<number | null>;
}

/** What a bridge process that exited said. */
export interface BridgeExit {
  code: number | null;
  stderr: string;
}

function spawnBridge(args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn(process.execPath, [path.join(ROOT, 'scripts', 'ts-run.cjs'), path.join(ROOT, 'src', 'cli', 'main.ts'), 'ws-bridge', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** Starts a bridge and resolves once it listens (bounded: the first run transpiles the sources). */
export function startBridgeProcess(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<BridgeProcess> {
  const child = spawnBridge(args, env);
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ws-bridge did not start within 90 s:\n${stderr}`));
    }, 90_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // The start-up lines: where it listens, then where the token is.
      const m = /listening on (wss?:\/\/\S+)/.exec(stderr);
      if (m && /token file .*\n/.test(stderr)) {
        clearTimeout(timer);
        resolve({
          pid: child.pid!,
          url: m[1],
          log: () => stderr,
          stop: async () => {
            if (child.exitCode === null) child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
            const code = await exited;
            clearTimeout(t);
            return code;
          },
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`ws-bridge exited with ${code} before listening:\n${stderr}`));
    });
  });
}

/** Runs a bridge that is expected to exit by itself; resolves with its exit code and stderr (bounded). */
export function runBridgeToExit(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<BridgeExit> {
  const child = spawnBridge(args, env);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}
