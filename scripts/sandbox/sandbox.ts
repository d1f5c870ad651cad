/**
 * The sandbox's life cycle: start a private, unprivileged libvirtd in session mode (unix, TCP and TLS) with an
 * sshd in front of it and a small QEMU guest; report on it; stop every process it started, by pid.
 * The JSON info file in the sandbox folder is how tests (test/helpers/sandbox.ts) find it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createGuest, GuestInfo, virsh } from './guest';
import { ensurePool, PoolInfo } from './pool';
import { makeSsh, makeTls, sshdConfig } from './pki';
import { descendants, freePorts, isRunning, run, SandboxError, spawnDaemon, tailFile, terminate, waitFor } from './proc';
import { prepareSasl, saslDaemonVersion, saslLayout, saslPids, startSaslDaemon, type SaslSandboxInfo } from './sasl';
import {
  chownTree, daemonEnv, ensurePackages, ensureUser, isRoot, isSandboxDir, Layout, layout, prepareRootDir, sandboxRoot,
  withLock, wipeForStart, writeLibvirtConfig, writeSshCommand, xdgEnv,
} from './setup';

/** Name of the guest every sandbox starts. */
export const GUEST_NAME = 'sandbox-guest';
/** Name of the (stopped) guest of the SASL daemon. */
export const SASL_GUEST_NAME = 'sasl-guest';

/** Everything a test needs to reach the sandbox. Written to `<root>/info.json`. */
export interface SandboxInfo {
  /** The one folder that holds every file of the sandbox. */
  root: string;
  /** The unprivileged user that runs libvirtd, sshd and QEMU. */
  user: string;
  uid: number;
  gid: number;
  libvirtdPid: number;
  sshdPid: number;
  /** Daemon version, e.g. `9.0.0`. */
  libvirtVersion: string;
  /** libvirtd's own log file (warnings and errors). */
  logFile: string;
  /** XDG_* and HOME of the daemon (and of every SSH session). */
  env: Record<string, string>;
  unixSocket: string;
  /** `qemu+unix:///session?socket=<unixSocket>` */
  unixUri: string;
  tcpPort: number;
  /** `qemu+tcp://127.0.0.1:<tcpPort>/session` (auth none) */
  tcpUri: string;
  /** `test+unix:///default?socket=<unixSocket>`: libvirt's test driver, through the daemon. */
  testUri: string;
  tls: {
    port: number;
    /** `qemu+tls://127.0.0.1:<port>/session?pkipath=<pkiDir>` */
    uri: string;
    /** The same without pkipath. */
    baseUri: string;
    /** cacert.pem, clientcert.pem, clientkey.pem (libvirt's pkipath layout). */
    pkiDir: string;
    /** Only cacert.pem: the daemon demands a client certificate this folder lacks. */
    caOnlyDir: string;
    /** pkipath layout made from an unrelated CA. */
    wrongCaPkiDir: string;
    caCert: string;
    /** subjectAltName of the server certificate: 127.0.0.1 and localhost. */
    serverHostnames: string[];
  };
  ssh: {
    host: string;
    port: number;
    user: string;
    /** `qemu+ssh://<user>@127.0.0.1:<port>/session` */
    uri: string;
    /**
     * Connects as printed, with libvirt-rpc (keyfile, known_hosts) and with libvirt's own client (the `command=`
     * wrapper that uses the sandbox's known_hosts): what `npm run sandbox -- env` prints.
     */
    libvirtUri: string;
    /** The wrapper around `ssh` used by libvirtUri. */
    command: string;
    keyFile: string;
    encryptedKeyFile: string;
    passphrase: string;
    unauthorizedKeyFile: string;
    /** `[127.0.0.1]:<port>` with the real host key (localhost is deliberately not listed). */
    knownHosts: string;
    /** `[127.0.0.1]:<port>` with another key. */
    wrongKnownHosts: string;
    /** knownHosts with the host hashed (`ssh-keygen -H`). */
    hashedKnownHosts: string;
    /** `SHA256:...` */
    hostKeyFingerprint: string;
    /** The daemon socket as the remote side sees it (for `nc -U`, `socket=`). */
    remoteSocket: string;
  };
  guest: GuestInfo;
  /** The second daemon, whose unix, TLS and TCP listeners demand SASL (./sasl.ts). */
  sasl: SaslSandboxInfo;
  /** A directory storage pool for volume tests. */
  pool: PoolInfo;
  startedAt: string;
}

/** What {@link startSandbox} did. */
export interface StartResult {
  info: SandboxInfo;
  /** False when a running sandbox was reused. */
  started: boolean;
}

type Log = (line: string) => void;

/** Reads the info file of the sandbox at `root`, or null when there is none. */
export function readInfo(root = sandboxRoot()): SandboxInfo | null {
  try {
    return JSON.parse(fs.readFileSync(layout(root).info, 'utf8')) as SandboxInfo;
  } catch {
    return null;
  }
}

function writeInfo(l: Layout, info: SandboxInfo): void {
  const tmp = `${l.info}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o644 });
  if (isRoot()) fs.chownSync(tmp, info.uid, info.gid);
  fs.renameSync(tmp, l.info);
}

/** The daemon answers `virsh version` on `uri`; returns its version. */
async function daemonVersion(step: string, uri: string, timeout = 10_000): Promise<string> {
  const { stdout } = await run(step, 'virsh', ['-c', uri, 'version', '--daemon'], { timeout });
  const m = /Running against daemon:\s*(\S+)/.exec(stdout);
  if (!m) throw new SandboxError(step, `unexpected \`virsh version\` output:\n${stdout}`);
  return m[1];
}

function logTail(l: Layout): string {
  const parts = [['libvirtd log', tailFile(l.libvirtdLog)], ['libvirtd stderr', tailFile(l.libvirtdOut)], ['sshd log', tailFile(l.sshdLog, 10)],
    ['SASL libvirtd stderr', tailFile(saslLayout(l).libvirtdOut, 10)]];
  return parts.filter(([, t]) => t).map(([n, t]) => `--- ${n} (tail) ---\n${t}`).join('\n');
}

/**
 * Whether the sandbox described by `info` still runs and answers. A daemon that runs but is slow to answer (a
 * loaded machine) is given up to `patienceMs` before it counts as hung: other test runs may be using it.
 */
async function healthy(info: SandboxInfo, patienceMs = 30_000): Promise<boolean> {
  if (!isRunning(info.libvirtdPid, 'libvirtd') || !isRunning(info.sshdPid, 'sshd') || !isRunning(info.sasl?.libvirtdPid, 'libvirtd')) return false;
  const gone = () => (isRunning(info.libvirtdPid, 'libvirtd') ? null : new SandboxError('check the running sandbox', 'libvirtd exited'));
  const r = await waitFor(() => daemonVersion('check the running sandbox', info.unixUri, 5_000).then(() => true), patienceMs, 500, gone);
  return r.ok;
}

/**
 * Brings back what of a sandbox died (libvirtd after a crash, sshd), in place: same folder, configuration,
 * ports and keys. libvirtd reattaches to the QEMU guests that still run (qemuProcessReconnect in
 * src/qemu/qemu_process.c, from their status files under $XDG_RUNTIME_DIR/libvirt/qemu/run), so whoever else
 * uses this sandbox keeps its guests and its URIs. Returns false when that does not work (files gone, a port
 * taken by someone else); the caller then starts afresh. Records what it started in the info file either way.
 */
async function revive(l: Layout, old: SandboxInfo, log: Log): Promise<boolean> {
  if (![l.libvirtdConf, l.sshdConf, l.sshCommand, old.tls.pkiDir, old.ssh.keyFile].every((f) => fs.existsSync(f))) return false;
  // The SASL daemon is not restarted in place (its users and listeners are made with it): start afresh.
  if (old.sasl && !isRunning(old.sasl.libvirtdPid, 'libvirtd')) return false;
  const env = daemonEnv(l, { user: old.user, uid: old.uid, gid: old.gid });
  const info = { ...old };
  if (!isRunning(old.libvirtdPid, 'libvirtd')) {
    log(`libvirtd (pid ${old.libvirtdPid}) is gone: restarting it in place; guests that still run are kept`);
    info.libvirtdPid = spawnDaemon('libvirtd', ['--listen', '--config', l.libvirtdConf], l.libvirtdOut, env);
  }
  if (!isRunning(old.sshdPid, 'sshd')) {
    log(`sshd (pid ${old.sshdPid}) is gone: restarting it on port ${old.ssh.port}`);
    info.sshdPid = spawnDaemon('/usr/sbin/sshd', ['-D', '-e', '-f', l.sshdConf], l.sshdLog, env);
  }
  writeInfo(l, info);
  const gone = () => (isRunning(info.libvirtdPid, 'libvirtd') ? null : new SandboxError('restart libvirtd', 'libvirtd exited'));
  const up = await waitFor(() => daemonVersion('reach libvirtd over unix', info.unixUri, 5_000).then(() => true), 30_000, 100, gone);
  if (!up.ok) return false;
  const reachable = await Promise.all([
    daemonVersion('reach libvirtd over TCP', info.tcpUri),
    daemonVersion('reach libvirtd over TLS', info.tls.uri),
    waitFor(async () => {
      await run('log in over SSH', l.sshCommand, ['-p', String(info.ssh.port), '-i', info.ssh.keyFile, `${info.ssh.user}@127.0.0.1`, 'true'], { timeout: 10_000 });
      return true;
    }, 15_000, 100).then((r) => {
      if (!r.ok) throw r.lastError ?? new SandboxError('log in over SSH', 'no answer within 15 s');
    }),
  ]).then(() => true, (err: Error) => {
    log(`restarting in place did not work (${err.message.split('\n')[0]}): starting afresh`);
    return false;
  });
  return reachable;
}

/** Makes sure the sandbox guest exists and runs (tests may have stopped it); returns it. */
async function ensureGuest(info: SandboxInfo): Promise<GuestInfo> {
  const state = await virsh(info, ['domstate', GUEST_NAME]).then((r) => r.stdout.trim(), () => null);
  if (state === null) return createGuest(info, GUEST_NAME);
  if (state !== 'running') {
    if (state === 'paused') await virsh(info, ['resume', GUEST_NAME]);
    else await virsh(info, ['start', GUEST_NAME], 60_000);
  }
  const uuid = (await virsh(info, ['domuuid', GUEST_NAME])).stdout.trim();
  return { ...info.guest, uuid };
}

/**
 * Starts the sandbox at `root`, or reuses the one that runs there. Fails with a {@link SandboxError} that names
 * the failing step and quotes the daemon's log; whatever it had started is stopped again then.
 */
export async function startSandbox(opts: { root?: string; log?: Log; holder?: number } = {}): Promise<StartResult> {
  const root = opts.root ?? sandboxRoot();
  const log = opts.log ?? (() => undefined);
  return withLock(root, async () => {
    const l = layout(root);
    let old = readInfo(root);
    const running = old !== null && (await healthy(old));
    // A daemon that died (a crash) is restarted in place rather than wiped: its guests and ports stay.
    const died = old !== null && (!isRunning(old.libvirtdPid, 'libvirtd') || !isRunning(old.sshdPid, 'sshd'));
    const revived = !running && died && (await revive(l, old!, log));
    if (running || revived) {
      old = readInfo(root)!;
      const guest = await ensureGuest(old);
      const info = { ...old, guest, pool: await ensurePool(old) };
      writeInfo(l, info);
      log(`${running ? 'reusing' : 'revived'} the sandbox in ${root} (libvirtd pid ${old.libvirtdPid})`);
      register(l, info, opts.holder, false);
      return { info, started: false };
    }
    old = readInfo(root);
    if (old) {
      log('the last sandbox here no longer answers: ending whatever of it still runs');
      await stopProcesses(l, old, log);
    }
    await ensurePackages(log);
    const user = await ensureUser(l.home, log);
    wipeForStart(l);
    const [tcpPort, tlsPort, sshPort] = await freePorts(3);
    const [tls, ssh] = await Promise.all([makeTls(l.pki), makeSsh(l.ssh, sshPort)]);
    writeLibvirtConfig(l, { tcp: tcpPort, tls: tlsPort }, { key: tls.serverKey, cert: tls.serverCert, ca: tls.caCert });
    const sasl = await prepareSasl(l, { key: tls.serverKey, cert: tls.serverCert, ca: tls.caCert, pkiDir: tls.pkiDir });
    fs.writeFileSync(l.sshdConf, sshdConfig({ port: sshPort, user: user.user, files: ssh, pidFile: l.sshdPid, sessionEnv: xdgEnv(l) }));
    writeSshCommand(l, ssh.knownHosts);
    if (isRoot()) chownTree(root, user.uid, user.gid);
    const env = daemonEnv(l, user);
    await run('check that the sandbox user can use the folder', '/bin/sh', ['-c', 'test -w "$1" && test -w "$2"', 'sh', root, l.runtime], env);

    const unixUri = `qemu+unix:///session?socket=${l.socket}`;
    const sshBase = `qemu+ssh://${user.user}@127.0.0.1:${sshPort}/session`;
    const info: SandboxInfo = {
      root, user: user.user, uid: user.uid, gid: user.gid, libvirtdPid: 0, sshdPid: 0, libvirtVersion: '',
      logFile: l.libvirtdLog, env: xdgEnv(l), unixSocket: l.socket, unixUri,
      tcpPort, tcpUri: `qemu+tcp://127.0.0.1:${tcpPort}/session`, testUri: `test+unix:///default?socket=${l.socket}`,
      tls: {
        port: tlsPort, uri: `qemu+tls://127.0.0.1:${tlsPort}/session?pkipath=${tls.pkiDir}`,
        baseUri: `qemu+tls://127.0.0.1:${tlsPort}/session`, pkiDir: tls.pkiDir, caOnlyDir: tls.caOnlyDir,
        wrongCaPkiDir: tls.wrongCaPkiDir, caCert: tls.caCert, serverHostnames: tls.serverHostnames,
      },
      ssh: {
        host: '127.0.0.1', port: sshPort, user: user.user, uri: sshBase,
        // known_hosts is for libvirt-rpc (and libvirt's libssh transports); command= is libvirt's ssh wrapper.
        libvirtUri: `${sshBase}?keyfile=${ssh.keyFile}&known_hosts=${ssh.knownHosts}&command=${l.sshCommand}&no_tty=1`, command: l.sshCommand,
        keyFile: ssh.keyFile, encryptedKeyFile: ssh.encryptedKeyFile, passphrase: ssh.passphrase,
        unauthorizedKeyFile: ssh.unauthorizedKeyFile, knownHosts: ssh.knownHosts, wrongKnownHosts: ssh.wrongKnownHosts,
        hashedKnownHosts: ssh.hashedKnownHosts, hostKeyFingerprint: ssh.hostKeyFingerprint, remoteSocket: l.socket,
      },
      guest: { name: GUEST_NAME, uuid: '', disk: '', dir: '' },
      sasl,
      pool: { name: '', path: '' },
      startedAt: new Date().toISOString(),
    };

    try {
      log(`starting libvirtd (session mode, user ${user.user}) and sshd on 127.0.0.1:${sshPort}`);
      info.libvirtdPid = spawnDaemon('libvirtd', ['--listen', '--config', l.libvirtdConf], l.libvirtdOut, env);
      // sshd must be started by its absolute path: it re-executes itself for every connection.
      info.sshdPid = spawnDaemon('/usr/sbin/sshd', ['-D', '-e', '-f', l.sshdConf], l.sshdLog, env);
      info.sasl.libvirtdPid = startSaslDaemon(l, user);
      writeInfo(l, info); // from here on `stop` can find what we started, even if the rest fails

      const libvirtdGone = () => (isRunning(info.libvirtdPid, 'libvirtd') ? null : new SandboxError('start libvirtd', 'libvirtd exited'));
      const up = await waitFor(async () => {
        info.libvirtVersion = await daemonVersion('reach libvirtd over unix', unixUri, 5_000);
        return true;
      }, 30_000, 100, libvirtdGone);
      if (!up.ok) throw up.lastError ?? new SandboxError('reach libvirtd over unix', 'no answer within 30 s');
      await Promise.all([
        daemonVersion('reach libvirtd over TCP', info.tcpUri),
        daemonVersion('reach libvirtd over TLS', info.tls.uri),
        run('reach the test driver', 'virsh', ['-c', info.testUri, 'domstate', 'test'], { timeout: 10_000 }),
        waitFor(() => saslDaemonVersion(info.sasl, 5_000).then(() => true), 30_000, 100,
          () => (isRunning(info.sasl.libvirtdPid, 'libvirtd') ? null : new SandboxError('start the SASL libvirtd', 'it exited'))).then((r) => {
          if (!r.ok) throw r.lastError ?? new SandboxError('reach the SASL libvirtd', 'no answer within 30 s');
        }),
        waitFor(async () => {
          await run('log in over SSH', l.sshCommand, ['-p', String(sshPort), '-i', ssh.keyFile, `${user.user}@127.0.0.1`, 'test', '-S', l.socket], { timeout: 10_000 });
          return true;
        }, 15_000, 100, () => (isRunning(info.sshdPid, 'sshd') ? null : new SandboxError('start sshd', 'sshd exited'))).then((r) => {
          if (!r.ok) throw r.lastError ?? new SandboxError('log in over SSH', 'no answer within 15 s');
        }),
      ]);
      log(`libvirt ${info.libvirtVersion} answers; creating and starting ${GUEST_NAME}`);
      // The SASL daemon gets a defined, stopped guest for examples (README's SASL section).
      const saslHost = { ...info, unixUri: info.sasl.unixUriWithAuthFile };
      [info.guest] = await Promise.all([createGuest(info, GUEST_NAME), createGuest(saslHost, SASL_GUEST_NAME, { start: false })]);
      info.pool = await ensurePool(info);
      writeInfo(l, info);
      register(l, info, opts.holder, true);
      return { info, started: true };
    } catch (err) {
      const tail = logTail(l);
      await stopProcesses(l, info, () => undefined).catch(() => undefined);
      fs.rmSync(l.info, { force: true });
      const base = err instanceof SandboxError ? err : new SandboxError('start the sandbox', String(err), { cause: err });
      base.message += tail ? `\n${tail}` : '';
      throw base;
    }
  });
}

/** The QEMU processes the daemon started, from its pid files: name -> pid. */
function qemuPids(l: Layout): Map<string, number> {
  const out = new Map<string, number>();
  let files: string[] = [];
  try {
    files = fs.readdirSync(l.qemuRun).filter((f) => f.endsWith('.pid'));
  } catch {
    return out;
  }
  for (const f of files) {
    const pid = Number(fs.readFileSync(path.join(l.qemuRun, f), 'utf8').trim());
    if (isRunning(pid, 'qemu')) out.set(f.slice(0, -4), pid);
  }
  return out;
}

/** Destroys running guests, then ends QEMU, libvirtd, sshd and their children by pid. */
async function stopProcesses(l: Layout, info: SandboxInfo, log: Log): Promise<void> {
  if (isRunning(info.libvirtdPid, 'libvirtd')) {
    const names = await virsh(info, ['list', '--name'], 10_000).then((r) => r.stdout.split('\n').map((s) => s.trim()).filter(Boolean), () => []);
    await Promise.all(names.map((n) => virsh(info, ['destroy', n], 30_000).then(() => log(`destroyed guest ${n}`), () => undefined)));
  }
  if (info.sasl && isRunning(info.sasl.libvirtdPid, 'libvirtd')) {
    const host = { ...info, unixUri: info.sasl.unixUriWithAuthFile };
    const names = await virsh(host, ['list', '--name'], 10_000).then((r) => r.stdout.split('\n').map((s) => s.trim()).filter(Boolean), () => []);
    await Promise.all(names.map((n) => virsh(host, ['destroy', n], 30_000).then(() => log(`destroyed SASL guest ${n}`), () => undefined)));
  }
  const pids = new Set<number>(qemuPids(l).values());
  const sshdPid = Number(tailFile(l.sshdPid, 1).trim()) || 0;
  const more = saslPids(info.sasl).map(({ pid, name }) => [pid, name] as const);
  for (const [pid, name] of [[info.libvirtdPid, 'libvirtd'], [info.sshdPid, 'sshd'], [sshdPid, 'sshd'], ...more] as const) {
    if (!isRunning(pid, name)) continue;
    pids.add(pid);
    for (const child of descendants(pid)) pids.add(child);
  }
  if (!pids.size) return;
  const left = await terminate([...pids]);
  log(`ended ${pids.size - left.length} process(es): ${[...pids].join(' ')}`);
  if (left.length) throw new SandboxError('stop the sandbox', `processes still running after SIGKILL: ${left.join(' ')}`);
}

/**
 * Records who uses the sandbox. A test run (`holder`, its pid) is listed until it calls releaseSandbox, and a
 * sandbox that a test run started is marked so that the last run out stops it. A start by hand that reuses
 * the sandbox clears that mark: then the sandbox stays up after the tests.
 */
function register(l: Layout, info: SandboxInfo, holder: number | undefined, started: boolean): void {
  if (holder === undefined) {
    if (!started) fs.rmSync(l.autoStarted, { force: true });
    return;
  }
  fs.mkdirSync(l.holders, { recursive: true });
  fs.writeFileSync(path.join(l.holders, String(holder)), '');
  if (started) fs.writeFileSync(l.autoStarted, '');
  if (!isRoot()) return;
  chownTree(l.holders, info.uid, info.gid);
  if (started) fs.chownSync(l.autoStarted, info.uid, info.gid);
}

/**
 * A test run (`holder`) is done with the sandbox. It is stopped when `stop` is not false, no other live test
 * run uses it, and a test run (not a person) started it. Returns what happened.
 */
export async function releaseSandbox(opts: { root?: string; holder: number; stop?: boolean; log?: Log }): Promise<'stopped' | 'in use' | 'kept'> {
  const root = opts.root ?? sandboxRoot();
  if (!isSandboxDir(root)) return 'kept';
  const l = layout(root);
  return withLock(root, async () => {
    fs.rmSync(path.join(l.holders, String(opts.holder)), { force: true });
    const others = (fs.existsSync(l.holders) ? fs.readdirSync(l.holders) : []).map(Number).filter((p) => isRunning(p, ''));
    if (others.length) return 'in use';
    if (opts.stop === false || !fs.existsSync(l.autoStarted)) return 'kept';
    const info = readInfo(root);
    if (info) await stopProcesses(l, info, opts.log ?? (() => undefined));
    fs.rmSync(l.info, { force: true });
    fs.rmSync(l.autoStarted, { force: true });
    return 'stopped';
  });
}

/** Stops the sandbox at `root`; with `clean`, also removes its folder. Returns false if nothing ran. */
export async function stopSandbox(opts: { root?: string; clean?: boolean; log?: Log } = {}): Promise<boolean> {
  const root = opts.root ?? sandboxRoot();
  const log = opts.log ?? (() => undefined);
  if (!fs.existsSync(root)) return false;
  if (!isSandboxDir(root)) throw new SandboxError('stop the sandbox', `${root} is not a sandbox folder`);
  const l = layout(root);
  const ran = await withLock(root, async () => {
    const info = readInfo(root);
    if (!info) return false;
    await stopProcesses(l, info, log);
    fs.rmSync(l.info, { force: true });
    return true;
  });
  if (opts.clean) {
    fs.rmSync(root, { recursive: true, force: true });
    log(`removed ${root}`);
  }
  return ran;
}

/** What runs, for `status`. */
export interface SandboxStatus {
  root: string;
  info: SandboxInfo | null;
  libvirtd: boolean;
  sshd: boolean;
  /** Daemon version when it answered over the unix socket. */
  answers: string | null;
  /** Running QEMU guests: name -> pid. */
  guests: Record<string, number>;
}

/** Looks at the sandbox at `root` without changing anything. */
export async function sandboxStatus(root = sandboxRoot()): Promise<SandboxStatus> {
  const info = readInfo(root);
  const l = layout(root);
  const libvirtd = isRunning(info?.libvirtdPid, 'libvirtd');
  return {
    root, info, libvirtd,
    sshd: isRunning(info?.sshdPid, 'sshd'),
    answers: info && libvirtd ? await daemonVersion('status', info.unixUri, 5_000).catch(() => null) : null,
    guests: Object.fromEntries(qemuPids(l)),
  };
}

export { prepareRootDir, sandboxRoot };
