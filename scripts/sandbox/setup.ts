/**
 * Preparing a sandbox start: the Debian packages, the unprivileged user, the one folder that holds everything
 * (and its lock), and the configuration files of libvirtd and sshd.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isRunning, run, RunOptions, SandboxError, sleep, SYSTEM_PATH } from './proc';

/** The checkout these scripts belong to: each checkout has a sandbox of its own by default. */
export const CHECKOUT = path.resolve(__dirname, '..', '..');
/** The dedicated system user that runs the daemons when the sandbox is started by root. */
export const SANDBOX_USER = 'lvrpc-sandbox';
/** Debian packages the sandbox needs. */
export const PACKAGES = [
  'libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-clients', 'qemu-system-x86', 'qemu-utils',
  'openssh-server', 'openssh-client', 'netcat-openbsd', 'openssl', 'sasl2-bin', 'libsasl2-modules',
];
const MARKER = '.libvirt-rpc-sandbox';
const LOCK = '.lock';

/**
 * The sandbox folder: `LIBVIRT_RPC_SANDBOX_DIR` when set, else one per checkout, derived from its path
 * (`/tmp/lvrpc-sandbox-<name>-<hash>`), so that test runs from two checkouts never share (and restart) one
 * daemon. Test runs from one checkout share its sandbox, each registered as a holder.
 */
export function sandboxRoot(env: NodeJS.ProcessEnv = process.env, checkout = CHECKOUT): string {
  if (env.LIBVIRT_RPC_SANDBOX_DIR) return path.resolve(env.LIBVIRT_RPC_SANDBOX_DIR);
  const resolved = path.resolve(checkout);
  const hash = createHash('sha256').update(resolved).digest('hex').slice(0, 10);
  // The folder name, in characters a sandbox folder may hold, short enough for the unix socket path inside it.
  const name = path.basename(resolved).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 24);
  return path.join(os.tmpdir(), `lvrpc-sandbox-${name ? `${name}-` : ''}${hash}`);
}

/** Every path of a sandbox, derived from its folder. */
export function layout(root: string) {
  const p = (...parts: string[]) => path.join(root, ...parts);
  return {
    root,
    info: p('info.json'),
    // Test runs that use the sandbox (one empty file per pid), and whether a test run started it.
    holders: p('holders'),
    autoStarted: p('auto-started'),
    home: p('home'),
    config: p('config'),
    runtime: p('runtime'),
    cache: p('cache'),
    data: p('data'),
    log: p('log'),
    pki: p('pki'),
    ssh: p('ssh'),
    libvirtdConf: p('config', 'libvirt', 'libvirtd.conf'),
    qemuConf: p('config', 'libvirt', 'qemu.conf'),
    // libvirt's session daemon puts its socket at $XDG_RUNTIME_DIR/libvirt/libvirt-sock.
    socket: p('runtime', 'libvirt', 'libvirt-sock'),
    // ...and its QEMU pid files at $XDG_RUNTIME_DIR/libvirt/qemu/run/<name>.pid.
    qemuRun: p('runtime', 'libvirt', 'qemu', 'run'),
    libvirtdLog: p('log', 'libvirtd.log'),
    libvirtdOut: p('log', 'libvirtd.stderr.log'),
    sshdLog: p('log', 'sshd.log'),
    sshdConf: p('ssh', 'sshd_config'),
    sshdPid: p('ssh', 'sshd.pid'),
    sshCommand: p('ssh', 'ssh-command'),
  };
}
/** The paths of one sandbox. */
export type Layout = ReturnType<typeof layout>;

/** Checks that `root` can hold a sandbox: absolute, plain characters (it goes into config files and URIs). */
export function validateRoot(root: string): void {
  if (!path.isAbsolute(root) || !/^[A-Za-z0-9._/+-]+$/.test(root) || root === '/') {
    throw new SandboxError('choose the sandbox folder', `${JSON.stringify(root)} must be an absolute path of [A-Za-z0-9._/+-]`);
  }
  // sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
  if (Buffer.byteLength(layout(root).socket) > 107) {
    throw new SandboxError('choose the sandbox folder', `${root} is too long for a unix socket path inside it`);
  }
}

/** True when we run as root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

const BINARIES: Record<string, string> = {
  libvirtd: 'libvirt-daemon', virsh: 'libvirt-clients', 'virt-ssh-helper': 'libvirt-clients',
  'qemu-system-x86_64': 'qemu-system-x86', 'qemu-img': 'qemu-utils', sshd: 'openssh-server', ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client', nc: 'netcat-openbsd', openssl: 'openssl', saslpasswd2: 'sasl2-bin',
};

function onPath(bin: string): boolean {
  return SYSTEM_PATH.split(':').some((dir) => fs.existsSync(path.join(dir, bin)));
}

function qemuDriverPresent(): boolean {
  const libs = ['/usr/lib64', '/usr/lib', ...fs.readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}`)];
  return libs.some((d) => fs.existsSync(path.join(d, 'libvirt', 'connection-driver', 'libvirt_driver_qemu.so')));
}

/** Cyrus SASL's SCRAM plugin (libsasl2-modules), which the SASL daemon needs. */
function saslScramPresent(): boolean {
  const libs = ['/usr/lib', ...fs.readdirSync('/usr/lib').filter((d) => d.endsWith('-linux-gnu')).map((d) => `/usr/lib/${d}`)];
  return libs.some((d) => fs.existsSync(path.join(d, 'sasl2', 'libscram.so.2')));
}

/** The packages whose programs are missing. */
export function missingPackages(): string[] {
  const missing = new Set(Object.entries(BINARIES).filter(([bin]) => !onPath(bin)).map(([, pkg]) => pkg));
  if (!qemuDriverPresent()) missing.add('libvirt-daemon-driver-qemu');
  if (!saslScramPresent()) missing.add('libsasl2-modules');
  return PACKAGES.filter((p) => missing.has(p));
}

/** Installs missing packages when root; otherwise fails with the exact command to run. */
export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const missing = missingPackages();
  if (!missing.length) return;
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}`;
  if (!isRoot()) throw new SandboxError('check the Debian packages', `missing ${missing.join(', ')}; as root run:\n  ${cmd}`);
  log(`installing ${missing.join(', ')} (apt-get)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: SYSTEM_PATH };
  await run('apt-get update', 'apt-get', ['update', '-q'], { env, timeout: 600_000 });
  await run('apt-get install', 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...PACKAGES], { env, timeout: 1_200_000 });
  const still = missingPackages();
  if (still.length) throw new SandboxError('install the Debian packages', `still missing after apt-get: ${still.join(', ')}`);
}

/** Who runs the daemons. */
export interface DaemonUser {
  user: string;
  uid: number;
  gid: number;
}

/**
 * As root: makes sure the dedicated user exists (a system user with /bin/sh and its home in the sandbox, whose
 * password field is `*`, not a `!` lock, so an sshd without PAM lets it in with a key). Otherwise: ourselves.
 */
export async function ensureUser(home: string, log: (line: string) => void): Promise<DaemonUser> {
  if (!isRoot()) {
    const me = os.userInfo();
    return { user: me.username, uid: me.uid, gid: me.gid };
  }
  const entry = async () => {
    const r = await run('look up the sandbox user', 'getent', ['passwd', SANDBOX_USER]).catch(() => null);
    return r?.stdout.trim().split(':') ?? null;
  };
  let pw = await entry();
  if (!pw) {
    await run('create the sandbox user', 'useradd', [
      '--system', '--user-group', '--home-dir', home, '--no-create-home', '--shell', '/bin/sh',
      '--password', '*', '--comment', 'libvirt-rpc test sandbox', SANDBOX_USER,
    ]);
    pw = await entry();
    if (!pw) throw new SandboxError('create the sandbox user', `${SANDBOX_USER} does not exist after useradd`);
  } else if (pw[5] !== home || pw[6] !== '/bin/sh') {
    // Another sandbox folder was used before: move the user's home here (sshd starts sessions in it). usermod
    // refuses while another sandbox runs as the user; its sessions then start in that home, which is harmless
    // (HOME and the XDG folders come from sshd_config's SetEnv).
    await run('update the sandbox user', 'usermod', ['--home', home, '--shell', '/bin/sh', SANDBOX_USER]).catch((err: Error) =>
      log(`warning: ${err.message.split('\n').slice(-1)[0]}; the user's home stays ${pw![5]}`),
    );
  }
  return { user: SANDBOX_USER, uid: Number(pw[2]), gid: Number(pw[3]) };
}

/** Holds the sandbox lock (a pid file inside the folder) while `fn` runs; waits at most 120 s for it. */
export async function withLock<T>(root: string, fn: () => Promise<T>): Promise<T> {
  prepareRootDir(root);
  const lock = path.join(root, LOCK);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lock, 'utf8').trim() || 0);
      if (!isRunning(holder, '')) {
        fs.rmSync(lock, { force: true }); // its holder died
        continue;
      }
      if (Date.now() > deadline) throw new SandboxError('lock the sandbox', `process ${holder} holds ${lock}`);
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Creates the sandbox folder or checks an existing one: a real directory (not a symlink), owned by us or the
 * sandbox user, and either empty or marked as a sandbox. Never adopts a folder that holds anything else.
 */
export function prepareRootDir(root: string): void {
  validateRoot(root);
  fs.mkdirSync(path.dirname(root), { recursive: true });
  try {
    fs.mkdirSync(root, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = fs.lstatSync(root);
  if (!st.isDirectory()) throw new SandboxError('prepare the sandbox folder', `${root} is not a directory`);
  // Only a folder of ours (or, as root, of the sandbox user) is adopted: /tmp is shared with other users.
  const owners = [process.getuid?.() ?? -1];
  if (isRoot()) owners.push(passwdUid(SANDBOX_USER) ?? -1);
  if (!owners.includes(st.uid)) throw new SandboxError('prepare the sandbox folder', `${root} belongs to uid ${st.uid}, not to us`);
  const marker = path.join(root, MARKER);
  const entries = fs.readdirSync(root).filter((e) => e !== LOCK);
  if (entries.length && !entries.includes(MARKER)) {
    throw new SandboxError('prepare the sandbox folder', `${root} is not empty and is not a sandbox folder (no ${MARKER}); refusing to use it`);
  }
  fs.writeFileSync(marker, 'This folder belongs to the libvirt-rpc sandbox (scripts/sandbox); `npm run sandbox -- stop --clean` removes it.\n');
}

/** The uid of `user` from /etc/passwd, or null. */
function passwdUid(user: string): number | null {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  return line ? Number(line.split(':')[2]) : null;
}

/** True when `root` is a sandbox folder (safe to wipe). */
export function isSandboxDir(root: string): boolean {
  return fs.existsSync(path.join(root, MARKER));
}

/**
 * Empties the sandbox folder for a fresh start, keeping the marker, the lock and QEMU's capability cache
 * (libvirt revalidates that cache against the QEMU binary, and probing QEMU anew costs seconds).
 */
export function wipeForStart(l: Layout): void {
  for (const entry of fs.readdirSync(l.root)) {
    if (entry === MARKER || entry === LOCK || entry === 'cache') continue;
    fs.rmSync(path.join(l.root, entry), { recursive: true, force: true });
  }
  fs.rmSync(path.join(l.cache, 'libvirt', 'qemu', 'log'), { recursive: true, force: true });
  for (const dir of [l.home, l.config, l.cache, l.data, l.log, l.pki, l.ssh, path.dirname(l.libvirtdConf)]) {
    fs.mkdirSync(dir, { recursive: true });
  }
  fs.mkdirSync(l.runtime, { recursive: true, mode: 0o700 });
}

/** Gives the whole tree to the daemon user (lchown: symlinks are not followed). */
export function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

/** The XDG folders (and HOME) of the sandbox: the daemon's environment and every SSH session's. */
export function xdgEnv(l: Layout): Record<string, string> {
  return {
    HOME: l.home,
    XDG_CONFIG_HOME: l.config,
    XDG_RUNTIME_DIR: l.runtime,
    XDG_CACHE_HOME: l.cache,
    XDG_DATA_HOME: l.data,
    // A client in an SSH session must never spawn a second session daemon (libvirt's remote driver honours it).
    LIBVIRT_AUTOSTART: '0',
  };
}

/** The environment the daemons start with: nothing inherited from the caller but the locale. */
export function daemonEnv(l: Layout, u: DaemonUser): RunOptions {
  return {
    uid: isRoot() ? u.uid : undefined,
    gid: isRoot() ? u.gid : undefined,
    cwd: l.home,
    env: { ...xdgEnv(l), USER: u.user, LOGNAME: u.user, PATH: SYSTEM_PATH, LANG: 'C.UTF-8' },
  };
}

/** Writes libvirtd.conf and qemu.conf (session mode reads them from $XDG_CONFIG_HOME/libvirt/). */
export function writeLibvirtConfig(l: Layout, ports: { tcp: number; tls: number }, tls: { key: string; cert: string; ca: string }): void {
  const q = (s: string) => JSON.stringify(s);
  fs.writeFileSync(l.libvirtdConf, [
    '# libvirtd.conf of the libvirt-rpc sandbox (scripts/sandbox). Generated at every start.',
    'listen_tcp = 1',
    'listen_tls = 1',
    'listen_addr = "127.0.0.1"',
    `tcp_port = ${q(String(ports.tcp))}`,
    `tls_port = ${q(String(ports.tls))}`,
    'auth_unix_rw = "none"',
    'auth_tcp = "none"',
    'auth_tls = "none"',
    // tls_no_verify_certificate stays at its default 0: the daemon demands and checks a client certificate.
    `key_file = ${q(tls.key)}`,
    `cert_file = ${q(tls.cert)}`,
    `ca_file = ${q(tls.ca)}`,
    `log_outputs = ${q(`3:file:${l.libvirtdLog}`)}`,
    '',
  ].join('\n'));
  fs.writeFileSync(l.qemuConf, [
    '# qemu.conf of the libvirt-rpc sandbox. No virtlogd here: QEMU writes its log file itself.',
    'stdio_handler = "file"',
    '',
  ].join('\n'));
}

/** The `command=` wrapper for libvirt's own ssh transport: trusts only the sandbox's known_hosts file. */
export function writeSshCommand(l: Layout, knownHosts: string): void {
  fs.writeFileSync(l.sshCommand, [
    '#!/bin/sh',
    '# ssh for libvirt\'s own client (qemu+ssh URI parameter command=): libvirt runs plain `ssh`, which would',
    '# use ~/.ssh/known_hosts; this one uses the sandbox\'s known_hosts and touches nothing outside the sandbox.',
    `exec ssh -F none -o UserKnownHostsFile=${knownHosts} -o GlobalKnownHostsFile=/dev/null \\`,
    '  -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes "$@"',
    '',
  ].join('\n'), { mode: 0o755 });
}
