/**
 * The sandbox's SASL daemon: a second unprivileged libvirtd (session mode, its own XDG folders under
 * `<root>/sasl`) whose unix socket, TLS and TCP listeners all demand SASL (`auth_unix_rw`, `auth_tls`,
 * `auth_tcp = "sasl"`). libvirtd has one auth setting per listener kind, and the main sandbox daemon's
 * listeners stay `none` for every other test, so SASL gets a daemon of its own.
 *
 * Cyrus SASL finds its configuration through SASL_CONF_PATH (`<root>/sasl/sasl2/libvirt.conf`: libvirt's
 * application name is "libvirt"), which enables SCRAM-SHA-256, SCRAM-SHA-1, PLAIN and DIGEST-MD5 and points at a
 * sasldb made by saslpasswd2 in the same folder. On plain TCP the daemon offers only mechanisms with a security
 * layer (DIGEST-MD5 here), as libvirt demands SSF >= 56 there. Nothing outside the sandbox folder is touched.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DaemonUser, Layout } from './setup';
import { daemonEnv, xdgEnv } from './setup';
import { freePorts, isRunning, run, RunOptions, spawnDaemon } from './proc';

/** A SASL user of the sandbox's sasldb. */
export interface SaslUser {
  name: string;
  password: string;
}

/** Everything a test needs to reach the SASL daemon (`SandboxInfo.sasl`). */
export interface SaslSandboxInfo {
  libvirtdPid: number;
  /** libvirtd's log, with debug lines of rpc.netsaslcontext and daemon.remote: mechanism and identity per login. */
  logFile: string;
  /** XDG_* and HOME of this daemon. */
  env: Record<string, string>;
  unixSocket: string;
  /** `qemu+unix:///session?socket=<unixSocket>` (no credentials: add auth.conf or a callback). */
  unixUri: string;
  /** unixUri with `authfile=<authFile>`, for virsh and the guest helpers. */
  unixUriWithAuthFile: string;
  tcpPort: number;
  /** `qemu+tcp://127.0.0.1:<tcpPort>/session`: SASL over plain TCP (the daemon offers DIGEST-MD5 only). */
  tcpUri: string;
  tlsPort: number;
  /** `qemu+tls://127.0.0.1:<tlsPort>/session?pkipath=<the sandbox's client PKI>` */
  tlsUri: string;
  /** Folder of Cyrus's libvirt.conf (SASL_CONF_PATH) and the sasldb. */
  saslConfDir: string;
  sasldb: string;
  /** The mechanisms Cyrus is configured with, as mech_list. */
  mechanisms: string[];
  /**
   * alice (ASCII password), bob (non-ASCII, NFC), carol (spaces and a backslash: auth.conf escapes), dave, and eve,
   * whose password SASLprep changes (a SOFT HYPHEN), stored unprepared as Cyrus's tools store it.
   */
  users: Record<'alice' | 'bob' | 'carol' | 'dave' | 'eve', SaslUser>;
  /** An auth.conf giving alice's credentials for hosts `localhost` and `127.0.0.1`. */
  authFile: string;
  /** Where QEMU pid files of this daemon's guests go. */
  qemuRun: string;
}

/** Paths of the SASL daemon under the sandbox folder. The cache stays under `<root>/cache`, which a restart keeps. */
export function saslLayout(l: Layout) {
  const p = (...parts: string[]) => path.join(l.root, 'sasl', ...parts);
  return {
    dir: p(),
    home: p('home'),
    config: p('config'),
    runtime: p('runtime'),
    cache: path.join(l.cache, 'sasl-daemon'),
    data: p('data'),
    log: p('log'),
    saslConf: p('sasl2'),
    libvirtdConf: p('config', 'libvirt', 'libvirtd.conf'),
    qemuConf: p('config', 'libvirt', 'qemu.conf'),
    socket: p('runtime', 'libvirt', 'libvirt-sock'),
    qemuRun: p('runtime', 'libvirt', 'qemu', 'run'),
    libvirtdLog: p('log', 'libvirtd.log'),
    libvirtdOut: p('log', 'libvirtd.stderr.log'),
    authFile: p('auth.conf'),
  };
}

const MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'PLAIN', 'DIGEST-MD5'];

/** GKeyFile escaping of a value (\s for leading/trailing spaces, \\ for a backslash). */
export function keyFileValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/^ /, '\\s').replace(/ $/, '\\s');
}

/** Writes the daemon's configuration, the sasldb (saslpasswd2) and an auth.conf; picks the ports. */
export async function prepareSasl(l: Layout, tls: { key: string; cert: string; ca: string; pkiDir: string }): Promise<SaslSandboxInfo> {
  const s = saslLayout(l);
  for (const d of [s.home, s.config, s.cache, s.data, s.log, s.saslConf, path.dirname(s.libvirtdConf)]) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(s.runtime, { recursive: true, mode: 0o700 });
  const [tcpPort, tlsPort] = await freePorts(2);
  const q = (v: string) => JSON.stringify(v);
  fs.writeFileSync(s.libvirtdConf, [
    '# libvirtd.conf of the libvirt-rpc sandbox\'s SASL daemon (scripts/sandbox/sasl.ts). Generated at every start.',
    'listen_tcp = 1',
    'listen_tls = 1',
    'listen_addr = "127.0.0.1"',
    `tcp_port = ${q(String(tcpPort))}`,
    `tls_port = ${q(String(tlsPort))}`,
    'auth_unix_rw = "sasl"',
    'auth_tcp = "sasl"',
    'auth_tls = "sasl"',
    `key_file = ${q(tls.key)}`,
    `cert_file = ${q(tls.cert)}`,
    `ca_file = ${q(tls.ca)}`,
    // The mechanism ("Using SASL mechanism X") and identity ("SASL client username Y") of every login.
    'log_filters = "1:rpc.netsaslcontext 1:daemon.remote"',
    `log_outputs = ${q(`1:file:${s.libvirtdLog}`)}`,
    '',
  ].join('\n'));
  fs.writeFileSync(s.qemuConf, 'stdio_handler = "file"\n');
  const sasldb = path.join(s.saslConf, 'passwd.db');
  fs.writeFileSync(path.join(s.saslConf, 'libvirt.conf'), `mech_list: ${MECHANISMS.map((m) => m.toLowerCase()).join(' ')}\nsasldb_path: ${sasldb}\n`);
  const rand = () => randomBytes(9).toString('base64url');
  const users = {
    alice: { name: 'alice', password: `alice-${rand()}` },
    bob: { name: 'bob', password: `Grüße-Jürgen-${rand()}` },
    carol: { name: 'carol', password: ` carol ${rand()}\\x ` },
    dave: { name: 'dave', password: `dave-${rand()}` },
    eve: { name: 'eve', password: `eve\u00ad${rand()}` },
  };
  for (const u of Object.values(users)) {
    // -p: the password from stdin (up to the newline); -c: create the user; -a libvirt: Cyrus's application.
    await run(`create SASL user ${u.name}`, 'saslpasswd2', ['-p', '-c', '-a', 'libvirt', '-f', sasldb, u.name], { input: `${u.password}\n`, redact: [u.password] });
  }
  fs.writeFileSync(s.authFile, [
    '# libvirt auth.conf for the sandbox\'s SASL daemon (scripts/sandbox/sasl.ts)',
    '[credentials-alice]',
    `authname=${users.alice.name}`,
    `password=${keyFileValue(users.alice.password)}`,
    '[auth-libvirt-localhost]',
    'credentials=alice',
    '[auth-libvirt-127.0.0.1]',
    'credentials=alice',
    '',
  ].join('\n'), { mode: 0o600 });
  const unixUri = `qemu+unix:///session?socket=${s.socket}`;
  return {
    libvirtdPid: 0, logFile: s.libvirtdLog, env: saslEnv(l), unixSocket: s.socket, unixUri,
    unixUriWithAuthFile: `${unixUri}&authfile=${s.authFile}`,
    tcpPort, tcpUri: `qemu+tcp://127.0.0.1:${tcpPort}/session`,
    tlsPort, tlsUri: `qemu+tls://127.0.0.1:${tlsPort}/session?pkipath=${tls.pkiDir}`,
    saslConfDir: s.saslConf, sasldb, mechanisms: MECHANISMS, users, authFile: s.authFile, qemuRun: s.qemuRun,
  };
}

/** XDG folders of the SASL daemon. */
function saslEnv(l: Layout): Record<string, string> {
  const s = saslLayout(l);
  return { ...xdgEnv(l), HOME: s.home, XDG_CONFIG_HOME: s.config, XDG_RUNTIME_DIR: s.runtime, XDG_CACHE_HOME: s.cache, XDG_DATA_HOME: s.data };
}

/** Starts the SASL daemon (after the folder was given to the daemon user); returns its pid. */
export function startSaslDaemon(l: Layout, u: DaemonUser): number {
  const s = saslLayout(l);
  const base: RunOptions = daemonEnv(l, u);
  const env = { ...base.env, ...saslEnv(l), SASL_CONF_PATH: s.saslConf };
  return spawnDaemon('libvirtd', ['--listen', '--config', s.libvirtdConf], s.libvirtdOut, { ...base, cwd: s.home, env });
}

/** The daemon answers `virsh version` over its unix socket with the sandbox's auth.conf; returns its version. */
export async function saslDaemonVersion(info: SaslSandboxInfo, timeout = 10_000): Promise<string> {
  const { stdout } = await run('reach the SASL libvirtd', 'virsh', ['-c', info.unixUriWithAuthFile, 'version', '--daemon'], { timeout });
  const m = /Running against daemon:\s*(\S+)/.exec(stdout);
  if (!m) throw new Error(`unexpected \`virsh version\` output:\n${stdout}`);
  return m[1];
}

/** Pids to end for the SASL daemon: libvirtd and the QEMU processes in its pid files. */
export function saslPids(info: SaslSandboxInfo | undefined): { pid: number; name: string }[] {
  if (info === undefined) return [];
  const out = [{ pid: info.libvirtdPid, name: 'libvirtd' }];
  let files: string[] = [];
  try {
    files = fs.readdirSync(info.qemuRun).filter((f) => f.endsWith('.pid'));
  } catch {
    return out;
  }
  for (const f of files) {
    const pid = Number(fs.readFileSync(path.join(info.qemuRun, f), 'utf8').trim());
    if (isRunning(pid, 'qemu')) out.push({ pid, name: 'qemu' });
  }
  return out;
}
