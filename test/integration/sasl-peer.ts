/**
 * Shared by the sasl-* integration tests: the sandbox's SASL daemon, what its log says about each login
 * (mechanism and identity, matched by the client's socket fd through the worker thread's lines), auth.conf
 * files written inside the sandbox folder, and virsh with a given environment as the oracle.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { keyFileValue, type SaslSandboxInfo, type SaslUser } from '../../scripts/sandbox/sasl';
import { sandbox } from '../helpers/sandbox';

export type { SaslSandboxInfo, SaslUser };

/** The SASL daemon of the running sandbox. */
export function sasl(): SaslSandboxInfo {
  return sandbox().sasl;
}

/** One login the daemon logged: the mechanism asked for in SASL_START and, once accepted, the identity. */
export interface Login {
  fd: number;
  mechanism: string;
  username?: string;
  ssf?: number;
}

/** Where the daemon's log ends now (read logins after it with {@link loginsSince}). */
export function logMark(): number {
  return fs.statSync(sasl().logFile).size;
}

/**
 * The logins logged after `mark`. remoteDispatchAuthSaslStart/Step log "Start/Step SASL auth <fd>" first, then,
 * in the same worker thread, "Using SASL mechanism X" (start) and "SASL client username Y" (when accepted).
 */
export function loginsSince(mark: number): Login[] {
  const fd = fs.openSync(sasl().logFile, 'r');
  let text: string;
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(size - mark);
    fs.readSync(fd, buf, 0, buf.length, mark);
    text = buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
  const current = new Map<string, number>();
  const byFd = new Map<number, Login>();
  const logins: Login[] = [];
  for (const line of text.split('\n')) {
    const m = /^\S+ \S+: (\d+): debug : \S+ : (.*)$/.exec(line);
    if (!m) continue;
    const [, thread, msg] = m;
    let x: RegExpExecArray | null;
    if ((x = /^(?:Start|Step) SASL auth (\d+)$/.exec(msg))) current.set(thread, Number(x[1]));
    else if ((x = /^Using SASL mechanism (\S+)\. /.exec(msg)) && current.has(thread)) {
      const login = { fd: current.get(thread)!, mechanism: x[1] };
      byFd.set(login.fd, login);
      logins.push(login);
    } else if ((x = /^SASL client username (.*)$/.exec(msg)) && current.has(thread)) {
      const login = byFd.get(current.get(thread)!);
      if (login) login.username = x[1];
    } else if ((x = /^negotiated an SSF of (\d+)$/.exec(msg)) && current.has(thread)) {
      const login = byFd.get(current.get(thread)!);
      if (login) login.ssf = Number(x[1]);
    }
  }
  return logins;
}

/** A fresh folder for a test's files inside the sandbox folder. */
export function testDir(tag: string): string {
  const dir = path.join(sandbox().root, 'sasl', 'tests', `${tag}-${randomBytes(3).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes an auth.conf giving `user`'s credentials under `[auth-libvirt-<section>]`; `fields` picks which. */
export function writeAuthConf(file: string, user: SaslUser, section: string, fields: ('authname' | 'password')[] = ['authname', 'password']): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const lines = ['[credentials-test]'];
  if (fields.includes('authname')) lines.push(`authname=${user.name}`);
  if (fields.includes('password')) lines.push(`password=${keyFileValue(user.password)}`);
  lines.push(`[auth-libvirt-${section}]`, 'credentials=test', '');
  fs.writeFileSync(file, lines.join('\n'), { mode: 0o600 });
  return file;
}

/** The environment with the auth.conf variables replaced (undefined removes one). */
export function withEnv(vars: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C' };
  delete env.LIBVIRT_AUTH_FILE;
  delete env.XDG_CONFIG_HOME;
  for (const [k, v] of Object.entries(vars)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** virsh -c uri args with `env`, stdin closed (no prompts); resolves with its exit code and output. */
export function virshEnv(uri: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('virsh', ['-c', uri, ...args], { timeout: 60_000, env }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
    child.stdin?.end();
  });
}
