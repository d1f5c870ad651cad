/**
 * The sandbox itself: its daemon answers over unix, TCP, TLS and SSH (checked with libvirt's own virsh and
 * OpenSSH's ssh), runs unprivileged with everything in its folder, runs its guest, serves test:///default, and
 * makes and removes extra guests.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'ssh2';
import { createGuest, removeGuest, sandbox } from '../helpers/sandbox';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command with a time bound; resolves with its exit code and output (never rejects on exit status). */
function sh(cmd: string, args: string[], timeout = 20_000): Promise<Out> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const virsh = (uri: string, ...args: string[]) => sh('virsh', ['-c', uri, ...args]);

/** ssh to the sandbox's sshd with only the given key and known_hosts file, never prompting. */
function ssh(opts: { key?: string; knownHosts?: string }, command: string): Promise<Out> {
  const s = sandbox().ssh;
  return sh('ssh', [
    '-F', 'none', '-p', String(s.port), '-i', opts.key ?? s.keyFile, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${opts.knownHosts ?? s.knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null', `${s.user}@${s.host}`, command,
  ]);
}

describe('sandbox daemon', () => {
  test('runs unprivileged, with every file in its folder', () => {
    const info = sandbox();
    const status = fs.readFileSync(`/proc/${info.libvirtdPid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    expect(uid).toBe(info.uid);
    expect(uid).not.toBe(0);
    for (const p of [info.unixSocket, info.logFile, info.tls.pkiDir, info.ssh.keyFile, info.guest.disk, ...Object.values(info.env).filter((v) => v.startsWith('/'))]) {
      expect(p.startsWith(`${info.root}/`)).toBe(true);
    }
    expect(fs.statSync(info.unixSocket).isSocket()).toBe(true);
  });

  test('answers over the unix socket', async () => {
    const info = sandbox();
    const r = await virsh(info.unixUri, 'version', '--daemon');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Running against daemon: ${info.libvirtVersion}`);
    expect((await virsh(info.unixUri, 'list', '--name')).stdout.split('\n')).toContain(info.guest.name);
  });

  test('answers over TCP', async () => {
    const info = sandbox();
    expect(info.tcpUri).toBe(`qemu+tcp://127.0.0.1:${info.tcpPort}/session`);
    const r = await virsh(info.tcpUri, 'list', '--name');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toContain(info.guest.name);
  });

  test('answers over TLS with the client PKI, for every name in the server certificate', async () => {
    const { tls, guest } = sandbox();
    expect((await virsh(tls.uri, 'version', '--daemon')).stdout).toContain('Running against daemon');
    expect(tls.serverHostnames).toEqual(['127.0.0.1', 'localhost']);
    for (const name of tls.serverHostnames) {
      const r = await virsh(`qemu+tls://${name}:${tls.port}/session?pkipath=${tls.pkiDir}`, 'list', '--name');
      expect(r.stdout.split('\n')).toContain(guest.name);
    }
    for (const f of ['cacert.pem', 'clientcert.pem', 'clientkey.pem']) expect(fs.existsSync(path.join(tls.pkiDir, f))).toBe(true);
  });

  test('TLS demands a client certificate and refuses an unrelated CA', async () => {
    const { tls } = sandbox();
    expect(fs.readdirSync(tls.caOnlyDir)).toEqual(['cacert.pem']);
    const noCert = await virsh(`${tls.baseUri}?pkipath=${tls.caOnlyDir}`, 'list');
    expect(noCert.code).not.toBe(0);
    expect(noCert.stderr).toMatch(/TLS/);
    const wrongCa = await virsh(`${tls.baseUri}?pkipath=${tls.wrongCaPkiDir}`, 'list');
    expect(wrongCa.code).not.toBe(0);
    expect(wrongCa.stderr).toMatch(/certificate/i);
  });

  test('SSH sessions reach the daemon: shell, virt-ssh-helper and nc, as libvirt\'s client uses them', async () => {
    const info = sandbox();
    const shell = await ssh({}, `virsh -c qemu:///session domstate ${info.guest.name}; command -v virt-ssh-helper; command -v nc`);
    expect(shell.stderr).toBe('');
    expect(shell.stdout.split('\n').filter(Boolean)).toEqual(['running', '/usr/bin/virt-ssh-helper', '/usr/bin/nc']);
    // libvirt's client, proxy=auto (virt-ssh-helper) and proxy=netcat (nc -U socket).
    const helper = await virsh(info.ssh.libvirtUri, 'list', '--name');
    expect(helper.stderr).toBe('');
    expect(helper.stdout.split('\n')).toContain(info.guest.name);
    const netcat = await virsh(`${info.ssh.libvirtUri}&proxy=netcat&socket=${info.ssh.remoteSocket}`, 'list', '--name');
    expect(netcat.stdout.split('\n')).toContain(info.guest.name);
  });

  test('SSH direct-streamlocal channels reach the daemon socket (an RPC answers through one)', async () => {
    const s = sandbox().ssh;
    // REMOTE_PROC_AUTH_LIST (66) of program 0x20008086 v1, serial 1, no arguments: a 28-byte frame.
    const call = Buffer.alloc(28);
    [28, 0x20008086, 1, 66, 0, 1, 0].forEach((v, i) => call.writeUInt32BE(v, i * 4));
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const c = new Client();
      const timer = setTimeout(() => (c.end(), reject(new Error('no reply within 10 s'))), 10_000);
      c.on('error', reject).on('ready', () => {
        c.openssh_forwardOutStreamLocal(s.remoteSocket, (err, ch) => {
          if (err) return reject(err);
          let got = Buffer.alloc(0);
          ch.on('data', (d: Buffer) => {
            got = Buffer.concat([got, d]);
            if (got.length >= 4 && got.length >= got.readUInt32BE(0)) {
              clearTimeout(timer);
              c.end();
              resolve(got);
            }
          });
          ch.write(call);
        });
      });
      c.connect({ host: s.host, port: s.port, username: s.user, privateKey: fs.readFileSync(s.keyFile), readyTimeout: 10_000 });
    });
    // A REPLY (type 1) to serial 1 with status OK (0).
    expect([reply.readUInt32BE(16), reply.readUInt32BE(20), reply.readUInt32BE(24)]).toEqual([1, 1, 0]);
  });

  test('SSH host key files: plain and hashed known_hosts accept, the wrong one refuses', async () => {
    const s = sandbox().ssh;
    expect((await ssh({ knownHosts: s.hashedKnownHosts }, 'true')).code).toBe(0);
    expect(fs.readFileSync(s.hashedKnownHosts, 'utf8')).toMatch(/^\|1\|/);
    const wrong = await ssh({ knownHosts: s.wrongKnownHosts }, 'true');
    expect(wrong.code).toBe(255);
    expect(wrong.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    const fp = await sh('ssh-keygen', ['-l', '-E', 'sha256', '-f', s.knownHosts]);
    expect(fp.stdout).toContain(s.hostKeyFingerprint);
    expect(s.hostKeyFingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('SSH client keys: the unauthorized one is refused; the encrypted one opens with the passphrase and is authorized', async () => {
    const s = sandbox().ssh;
    const refused = await ssh({ key: s.unauthorizedKeyFile }, 'true');
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/Permission denied/);
    expect((await sh('ssh-keygen', ['-y', '-P', 'not-the-passphrase', '-f', s.encryptedKeyFile])).code).not.toBe(0);
    const pub = await sh('ssh-keygen', ['-y', '-P', s.passphrase, '-f', s.encryptedKeyFile]);
    expect(pub.code).toBe(0);
    const authorized = fs.readFileSync(path.join(path.dirname(s.keyFile), 'authorized_keys'), 'utf8');
    expect(authorized).toContain(pub.stdout.trim().split(' ')[1]);
  });

  test('runs its QEMU guest', async () => {
    const info = sandbox();
    expect((await virsh(info.unixUri, 'domstate', info.guest.name)).stdout.trim()).toBe('running');
    expect((await virsh(info.unixUri, 'domuuid', info.guest.name)).stdout.trim()).toBe(info.guest.uuid);
    const xml = (await virsh(info.unixUri, 'dumpxml', info.guest.name)).stdout;
    expect(xml).toContain("<domain type='qemu'");
    expect(xml).toContain(info.guest.disk);
  });

  test('serves test:///default through the daemon', async () => {
    const info = sandbox();
    expect(info.testUri).toBe(`test+unix:///default?socket=${info.unixSocket}`);
    const r = await virsh(info.testUri, 'domstate', 'test');
    expect(r.stdout.trim()).toBe('running');
  });

  test('createGuest and removeGuest make and remove a fresh guest', async () => {
    const info = sandbox();
    const name = `sandbox-test-${process.pid}`;
    const g = await createGuest(name);
    try {
      expect((await virsh(info.unixUri, 'domstate', name)).stdout.trim()).toBe('running');
      expect(fs.existsSync(g.disk)).toBe(true);
      expect(g.uuid).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await removeGuest(name);
    }
    expect((await virsh(info.unixUri, 'domstate', name)).code).not.toBe(0);
    expect(fs.existsSync(g.dir)).toBe(false);
    await expect(removeGuest(name)).resolves.toBeUndefined(); // removing a missing guest is fine
    await expect(createGuest('bad name')).rejects.toThrow(/guest name/);
  });

  test('sandbox() says clearly when no sandbox runs', () => {
    const saved = process.env.LIBVIRT_RPC_SANDBOX_DIR;
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'no-sandbox-'));
    process.env.LIBVIRT_RPC_SANDBOX_DIR = empty;
    try {
      expect(() => sandbox()).toThrow(/sandbox is not running/);
    } finally {
      if (saved === undefined) delete process.env.LIBVIRT_RPC_SANDBOX_DIR;
      else process.env.LIBVIRT_RPC_SANDBOX_DIR = saved;
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
