/**
 * Key material of the sandbox, made fresh at every start: a TLS CA with server and client certificates (plus
 * an unrelated CA for negative tests), and SSH host and client keys with matching, mismatching and hashed
 * known_hosts files. Everything is written under the sandbox folder; nothing here is secret beyond the test.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from './proc';

/** Where the TLS files went. */
export interface TlsFiles {
  /** The server side, as libvirtd's key_file, cert_file and ca_file use them. */
  serverKey: string;
  serverCert: string;
  caCert: string;
  /** A client folder laid out as libvirt's `pkipath` expects: cacert.pem, clientcert.pem, clientkey.pem. */
  pkiDir: string;
  /** A folder with only cacert.pem: trusts the server but has no client certificate. */
  caOnlyDir: string;
  /** A pkipath folder made from an unrelated CA: its CA does not trust the server, its client cert is not trusted. */
  wrongCaPkiDir: string;
  /** Host names in the server certificate's subjectAltName. */
  serverHostnames: string[];
}

const SUBJECT = '/O=libvirt-rpc sandbox';

/**
 * Makes the TLS material with openssl under `dir`. Keys are P-256 EC keys (fast to make); the extensions are
 * the ones libvirt's virnettlscontext.c checks: CA:TRUE and keyCertSign on CAs; CA:FALSE, digitalSignature and
 * keyEncipherment on the others, with serverAuth or clientAuth as the extended key usage.
 */
export async function makeTls(dir: string): Promise<TlsFiles> {
  const p = (...parts: string[]) => path.join(dir, ...parts);
  for (const d of ['ca', 'wrong-ca', 'server', 'client', 'ca-only', 'wrong-ca-client']) fs.mkdirSync(p(d), { recursive: true });
  const hostnames = ['127.0.0.1', 'localhost'];

  const ca = async (sub: string, cn: string) =>
    run(`make TLS CA ${sub}`, 'openssl', [
      'req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', p(sub, 'cakey.pem'), '-out', p(sub, 'cacert.pem'), '-days', '3650', '-subj', `${SUBJECT}/CN=${cn}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
  const leaf = async (caSub: string, outSub: string, stem: string, cn: string, ext: string[]) => {
    const extFile = p(outSub, `${stem}.ext`);
    fs.writeFileSync(extFile, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', ...ext, ''].join('\n'));
    await run(`make TLS ${stem} key`, 'openssl', [
      'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', p(outSub, `${stem}key.pem`), '-out', p(outSub, `${stem}.csr`), '-subj', `${SUBJECT}/CN=${cn}`,
    ]);
    await run(`sign TLS ${stem} certificate`, 'openssl', [
      'x509', '-req', '-in', p(outSub, `${stem}.csr`), '-CA', p(caSub, 'cacert.pem'), '-CAkey', p(caSub, 'cakey.pem'),
      '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '3650', '-extfile', extFile,
      '-out', p(outSub, `${stem}cert.pem`),
    ]);
    fs.rmSync(p(outSub, `${stem}.csr`));
    fs.rmSync(extFile);
  };

  await Promise.all([ca('ca', 'libvirt-rpc sandbox CA'), ca('wrong-ca', 'unrelated CA')]);
  await Promise.all([
    leaf('ca', 'server', 'server', '127.0.0.1', [
      'extendedKeyUsage=serverAuth',
      `subjectAltName=${hostnames.map((h) => (/^[\d.]+$/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',')}`,
    ]),
    leaf('ca', 'client', 'client', 'libvirt-rpc sandbox client', ['extendedKeyUsage=clientAuth']),
    leaf('wrong-ca', 'wrong-ca-client', 'client', 'unrelated client', ['extendedKeyUsage=clientAuth']),
  ]);
  fs.copyFileSync(p('ca', 'cacert.pem'), p('server', 'cacert.pem'));
  fs.copyFileSync(p('ca', 'cacert.pem'), p('client', 'cacert.pem'));
  fs.copyFileSync(p('ca', 'cacert.pem'), p('ca-only', 'cacert.pem'));
  fs.copyFileSync(p('wrong-ca', 'cacert.pem'), p('wrong-ca-client', 'cacert.pem'));
  for (const key of [p('ca', 'cakey.pem'), p('wrong-ca', 'cakey.pem'), p('server', 'serverkey.pem'), p('client', 'clientkey.pem'), p('wrong-ca-client', 'clientkey.pem')]) {
    fs.chmodSync(key, 0o600);
  }
  return {
    serverKey: p('server', 'serverkey.pem'),
    serverCert: p('server', 'servercert.pem'),
    caCert: p('ca', 'cacert.pem'),
    pkiDir: p('client'),
    caOnlyDir: p('ca-only'),
    wrongCaPkiDir: p('wrong-ca-client'),
    serverHostnames: hostnames,
  };
}

/** Where the SSH files went. */
export interface SshFiles {
  hostKey: string;
  /** authorized_keys: the plain and the encrypted client key, not the unauthorized one. */
  authorizedKeys: string;
  keyFile: string;
  encryptedKeyFile: string;
  passphrase: string;
  unauthorizedKeyFile: string;
  knownHosts: string;
  wrongKnownHosts: string;
  hashedKnownHosts: string;
  /** The host key's fingerprint as `ssh-keygen -l -E sha256` prints it: `SHA256:...`. */
  hostKeyFingerprint: string;
}

/** Makes the SSH keys and known_hosts files under `dir` for a server on 127.0.0.1:`port` (ssh-keygen). */
export async function makeSsh(dir: string, port: number): Promise<SshFiles> {
  fs.mkdirSync(dir, { recursive: true });
  const p = (name: string) => path.join(dir, name);
  const passphrase = `sandbox-${randomBytes(9).toString('base64url')}`;
  const keygen = (step: string, file: string, pass: string, comment: string) =>
    run(step, 'ssh-keygen', ['-q', '-t', 'ed25519', '-N', pass, '-C', comment, '-f', file], { redact: [passphrase] });
  await Promise.all([
    keygen('make the sshd host key', p('ssh_host_ed25519_key'), '', 'libvirt-rpc sandbox host'),
    keygen('make the wrong host key', p('wrong_host_ed25519_key'), '', 'some other host'),
    keygen('make the client key', p('id_ed25519'), '', 'libvirt-rpc sandbox client'),
    keygen('make the encrypted client key', p('id_ed25519_encrypted'), passphrase, 'libvirt-rpc sandbox encrypted client'),
    keygen('make the unauthorized client key', p('id_ed25519_unauthorized'), '', 'not authorized'),
  ]);
  const pub = (name: string) => fs.readFileSync(p(`${name}.pub`), 'utf8').trim();
  fs.writeFileSync(p('authorized_keys'), `${pub('id_ed25519')}\n${pub('id_ed25519_encrypted')}\n`, { mode: 0o600 });

  // A known_hosts entry for a non-default port is written `[host]:port` (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT).
  const hostField = `[127.0.0.1]:${port}`;
  const entry = (name: string) => `${hostField} ${pub(name).split(' ').slice(0, 2).join(' ')}\n`;
  fs.writeFileSync(p('known_hosts'), entry('ssh_host_ed25519_key'));
  fs.writeFileSync(p('known_hosts_wrong'), entry('wrong_host_ed25519_key'));
  fs.writeFileSync(p('known_hosts_hashed'), entry('ssh_host_ed25519_key'));
  await run('hash known_hosts', 'ssh-keygen', ['-H', '-f', p('known_hosts_hashed')]);
  fs.rmSync(p('known_hosts_hashed.old'), { force: true });
  fs.rmSync(p('wrong_host_ed25519_key'));
  fs.rmSync(p('wrong_host_ed25519_key.pub'));

  const { stdout } = await run('fingerprint the host key', 'ssh-keygen', ['-l', '-E', 'sha256', '-f', p('ssh_host_ed25519_key.pub')]);
  const fingerprint = /SHA256:[A-Za-z0-9+/=]+/.exec(stdout)?.[0];
  if (!fingerprint) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
  return {
    hostKey: p('ssh_host_ed25519_key'),
    authorizedKeys: p('authorized_keys'),
    keyFile: p('id_ed25519'),
    encryptedKeyFile: p('id_ed25519_encrypted'),
    passphrase,
    unauthorizedKeyFile: p('id_ed25519_unauthorized'),
    knownHosts: p('known_hosts'),
    wrongKnownHosts: p('known_hosts_wrong'),
    hashedKnownHosts: p('known_hosts_hashed'),
    hostKeyFingerprint: fingerprint,
  };
}

/** Inputs of {@link sshdConfig}. */
export interface SshdConfigInput {
  port: number;
  user: string;
  files: SshFiles;
  pidFile: string;
  /** Environment every SSH session gets, so virt-ssh-helper and `nc -U` find the sandbox daemon. */
  sessionEnv: Record<string, string>;
}

/**
 * sshd_config for an unprivileged sshd: it can only log its own user in, so UsePAM is off and StrictModes too
 * (the sandbox files belong to whoever made them). Password authentication stays on so that a wrong password
 * is refused by the server itself, as a real host would.
 */
export function sshdConfig(c: SshdConfigInput): string {
  const env = Object.entries(c.sessionEnv).map(([k, v]) => `${k}=${v}`);
  return [
    '# sshd of the libvirt-rpc sandbox (scripts/sandbox). Generated at every start.',
    `Port ${c.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${c.files.hostKey}`,
    `PidFile ${c.pidFile}`,
    `AuthorizedKeysFile ${c.files.authorizedKeys}`,
    `AllowUsers ${c.user}`,
    'UsePAM no',
    'StrictModes no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    'PermitUserEnvironment no',
    // OpenSSH >= 7.8: these variables are set in every session (session.c do_setup_env).
    `SetEnv ${env.join(' ')}`,
    // direct-streamlocal (a channel straight to the daemon socket) is allowed only when local forwarding is:
    // sshd's do_authenticated grants channel permissions from AllowTcpForwarding, not from the StreamLocal option.
    'AllowStreamLocalForwarding yes',
    'AllowTcpForwarding local',
    'X11Forwarding no',
    'PrintMotd no',
    'PrintLastLog no',
    'UseDNS no',
    'MaxStartups 64:30:128',
    'MaxSessions 32',
    'LogLevel INFO',
    '',
  ].join('\n');
}
